"""Issues and their changelogs built by name, for the metrics' unit tests.

:class:`IssueBuilder` creates an issue and walks it through its history
(``.to("Client Review", at)``, ``.add_label(...)``), writing the change items
Jira would have written. Times are Moscow time unless they carry an offset.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Self
from zoneinfo import ZoneInfo

from scopeguard.domain.contract import Contract, ScopeUnit, WorkflowRules
from scopeguard.domain.metrics import (
    IssueFacts,
    ScopeSummary,
    issue_facts,
    summarize,
)
from scopeguard.domain.model import ChangeItem, Comment, Issue, Status, StatusCategory

MSK = ZoneInfo("Europe/Moscow")


def account_of(name: str) -> str:
    """The account id the builders give a person: ``acc-`` and the first name, lower case."""
    return f"acc-{name.split(maxsplit=1)[0].lower()}"


NEW = StatusCategory.NEW


WIP = StatusCategory.INDETERMINATE


DONE = StatusCategory.DONE


SITE_STATUSES = (
    Status("1", "To Do", NEW),
    Status("3", "In Progress", WIP),
    Status("10", "Client Review", WIP),
    Status("11", "Awaiting Sign-off", WIP),
    Status("12", "Internal Review", WIP),
    Status("13", "Dev Done", WIP),
    Status("20", "Done", DONE),
    Status("21", "Accepted", DONE),
    Status("22", "Closed", DONE),
    Status("23", "Принято клиентом", DONE),
    Status("24", "Contributed", DONE),
)


STATUSES = {status.id: status for status in SITE_STATUSES}


BY_NAME = {status.name: status for status in SITE_STATUSES}


RULES = WorkflowRules()


def msk(text: str) -> datetime:
    """``"2026-09-01 00:30"`` as Moscow time; a text with an offset keeps its own."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=MSK)


def make_contract(**changes: Any) -> Contract:
    """The contract of most scenarios: baseline 1 September 2026, 00:00 Moscow."""
    values: dict[str, Any] = {
        "start": msk("2026-08-01 00:00"),
        "end": msk("2026-12-31 23:59:59.999999"),
        "baseline": msk("2026-09-01 00:00"),
        "scope": {ScopeUnit.ISSUES: 20.0},
        "revisions_per_issue": 2,
    }
    values.update(changes)
    return Contract(**values)


CONTRACT = make_contract()


class IssueBuilder:
    """Builds an :class:`Issue` and the changelog Jira would have recorded for it."""

    def __init__(
        self,
        key: str,
        created: str,
        *,
        status: str = "To Do",
        issue_type: str = "Task",
        project: str | None = None,
    ) -> None:
        self.key = key
        self.created = msk(created)
        self.status = BY_NAME[status]
        self.issue_type = issue_type
        self.project = project or key.rpartition("-")[0]
        self.labels: list[str] = []
        self.story_points: float | None = None
        self.estimate_seconds: int | None = None
        self.resolution: str | None = None
        self.removed_at: datetime | None = None
        self.changes: list[ChangeItem] = []
        self.comments: list[Comment] = []
        self.summary = f"Summary of {key}"
        self.description: str | None = None
        self.priority: str | None = None
        self.due_date: date | None = None
        self.assignee: str | None = None
        self.creator: str | None = None
        self._next_history = 10_000

    # --- fields as the issue was created with (Jira logs no change for them) ---

    def typed(self, issue_type: str) -> Self:
        self.issue_type = issue_type
        return self

    def labelled(self, *labels: str) -> Self:
        self.labels.extend(labels)
        return self

    def points(self, value: float) -> Self:
        self.story_points = value
        return self

    def estimate_hours(self, hours: float) -> Self:
        self.estimate_seconds = round(hours * 3600)
        return self

    def by(self, name: str) -> Self:
        """Created by ``name`` (reporter and creator)."""
        self.creator = name
        return self

    def titled(self, summary: str) -> Self:
        self.summary = summary
        return self

    def described(self, text: str | None) -> Self:
        self.description = text
        return self

    def prioritised(self, priority: str) -> Self:
        self.priority = priority
        return self

    def due(self, day: str) -> Self:
        self.due_date = date.fromisoformat(day)
        return self

    def assigned(self, name: str) -> Self:
        self.assignee = account_of(name)
        return self

    # --- history ---

    def item(
        self,
        at: str,
        field: str,
        from_string: str | None,
        to_string: str | None,
        *,
        field_id: str | None = None,
        from_id: str | None = None,
        to_id: str | None = None,
        history_id: str | None = None,
        by: str = "Carla Client",
    ) -> Self:
        """Append one change item, in a new history unless ``history_id`` is given."""
        if history_id is None:
            self._next_history += 1
            history_id = str(self._next_history)
        self.changes.append(
            ChangeItem(
                history_id=history_id,
                created=msk(at),
                field=field,
                field_id=field_id,
                from_id=from_id,
                from_string=from_string,
                to_id=to_id,
                to_string=to_string,
                author_account=account_of(by),
                author_name=by,
            )
        )
        return self

    def to(self, status: str, at: str, *, by: str = "Carla Client", ids: bool = True) -> Self:
        """A transition from the current status; ``ids=False`` writes names only (old data)."""
        target = BY_NAME[status]
        self.item(
            at,
            "status",
            self.status.name,
            target.name,
            field_id="status" if ids else None,
            from_id=self.status.id if ids else None,
            to_id=target.id if ids else None,
            by=by,
        )
        self.status = target
        return self

    def add_label(self, label: str, at: str) -> Self:
        before = " ".join(self.labels)
        self.labels.append(label)
        return self.item(at, "labels", before, " ".join(self.labels), field_id="labels")

    def remove_label(self, label: str, at: str) -> Self:
        before = " ".join(self.labels)
        self.labels.remove(label)
        return self.item(at, "labels", before, " ".join(self.labels), field_id="labels")

    def set_points(
        self,
        value: float | None,
        at: str,
        *,
        field: str = "Story Points",
        field_id: str | None = None,
    ) -> Self:
        before = None if self.story_points is None else f"{self.story_points:g}"
        self.story_points = value
        after = None if value is None else f"{value:g}"
        return self.item(at, field, before, after, field_id=field_id)

    def set_estimate_hours(self, hours: float, at: str) -> Self:
        before = None if self.estimate_seconds is None else str(self.estimate_seconds)
        self.estimate_seconds = round(hours * 3600)
        after = str(self.estimate_seconds)
        return self.item(
            at,
            "timeoriginalestimate",
            before,
            after,
            field_id="timeoriginalestimate",
            from_id=before,
            to_id=after,
        )

    def resolve(self, resolution: str | None, at: str, *, status: str = "Done") -> Self:
        """A transition to ``status`` setting the resolution, in one history like Jira's."""
        self.to(status, at)
        history_id = self.changes[-1].history_id
        before, self.resolution = self.resolution, resolution
        return self.item(at, "resolution", before, resolution, history_id=history_id)

    def moved_from(self, old_key: str, at: str, *, new_status: str | None = None) -> Self:
        """Moved into this issue's project from ``old_key``'s (Key + project items)."""
        self._next_history += 1
        history = str(self._next_history)
        old_project = old_key.rpartition("-")[0]
        self.item(at, "Key", old_key, self.key, history_id=history)
        self.item(
            at,
            "project",
            f"{old_project} project",
            f"{self.project} project",
            field_id="project",
            from_id="20001",
            to_id="10001",
            history_id=history,
        )
        if new_status is not None:
            target = BY_NAME[new_status]
            self.item(
                at,
                "status",
                self.status.name,
                target.name,
                field_id="status",
                from_id=self.status.id,
                to_id=target.id,
                history_id=history,
            )
            self.status = target
        return self

    def comment(
        self,
        at: str,
        text: str,
        *,
        by: str = "Carla Client",
        internal: bool = False,
        edited: str | None = None,
        edited_by: str | None = None,
    ) -> Self:
        """A comment; ``edited``: when it was last changed, by ``edited_by`` (else the author)."""
        self.comments.append(
            Comment(
                id=str(20_000 + len(self.comments)),
                created=msk(at),
                author_account=account_of(by),
                author_name=by,
                body=text,
                updated=msk(edited) if edited is not None else msk(at),
                update_author_account=account_of(edited_by or by),
                internal=internal,
            )
        )
        return self

    def edit_description(self, text: str, at: str, *, by: str = "Carla Client") -> Self:
        before, self.description = self.description, text
        return self.item(at, "description", before, text, field_id="description", by=by)

    def edit_summary(self, text: str, at: str, *, by: str = "Carla Client") -> Self:
        before, self.summary = self.summary, text
        return self.item(at, "summary", before, text, field_id="summary", by=by)

    def set_priority(self, priority: str, at: str, *, by: str = "Carla Client") -> Self:
        before, self.priority = self.priority, priority
        return self.item(at, "priority", before, priority, field_id="priority", by=by)

    def set_due(self, day: str, at: str, *, by: str = "Carla Client") -> Self:
        before = None if self.due_date is None else self.due_date.isoformat()
        self.due_date = date.fromisoformat(day)
        return self.item(at, "duedate", before, day, field_id="duedate", by=by)

    def assign(self, name: str, at: str, *, by: str = "Paula Manager") -> Self:
        before, self.assignee = self.assignee, account_of(name)
        return self.item(
            at,
            "assignee",
            None,
            name,
            field_id="assignee",
            from_id=before,
            to_id=self.assignee,
            by=by,
        )

    def removed(self, at: str) -> Self:
        """The sync found the issue gone (deleted or moved out of the client's JQL)."""
        self.removed_at = msk(at)
        return self

    def build(self) -> Issue:
        moments = [
            self.created,
            *(c.created for c in self.changes),
            *(c.updated or c.created for c in self.comments),
        ]
        creator = account_of(self.creator) if self.creator is not None else None
        return Issue(
            key=self.key,
            id=str(abs(hash(self.key)) % 10**8),
            project_key=self.project,
            issue_type=self.issue_type,
            summary=self.summary,
            created=self.created,
            updated=max(moments),
            status=self.status,
            labels=tuple(self.labels),
            resolution=self.resolution,
            story_points=self.story_points,
            original_estimate_seconds=self.estimate_seconds,
            changes=tuple(self.changes),
            comments=tuple(sorted(self.comments, key=lambda c: c.created)),
            removed_at=self.removed_at,
            description=self.description,
            priority=self.priority,
            due_date=self.due_date,
            assignee_account=self.assignee,
            reporter_account=creator,
            reporter_name=self.creator,
            creator_account=creator,
        )


def facts_of(
    builder: IssueBuilder | Issue,
    contract: Contract = CONTRACT,
    rules: WorkflowRules = RULES,
    **options: Any,
) -> IssueFacts:
    issue = builder.build() if isinstance(builder, IssueBuilder) else builder
    return issue_facts(issue, contract, rules, STATUSES, **options)


def summary_of(
    *builders: IssueBuilder,
    as_of: str = "2026-10-15 12:00",
    contract: Contract = CONTRACT,
    rules: WorkflowRules = RULES,
    **options: Any,
) -> ScopeSummary:
    facts = [facts_of(b, contract, rules, **options) for b in builders]
    return summarize(facts, contract, msk(as_of))


def reviewed_and_sent_back(key: str, times: int, *, start: str = "2026-09-02") -> IssueBuilder:
    """A baseline issue the client sent back from review ``times`` times."""
    builder = IssueBuilder(key, "2026-08-10 10:00").to("In Progress", f"{start} 09:00")
    for day in range(times):
        builder.to("Client Review", f"{start} {10 + day}:00")
        builder.to("In Progress", f"{start} {10 + day}:30")
    return builder
