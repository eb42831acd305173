"""The simulated Jira site's data: statuses, projects, issues and their change histories.

The dataset is flavor-neutral: it records what happened (who moved which issue to
which status when) and :mod:`jira_simulator.payloads` turns it into Cloud or
Data Center JSON per request. Mutations mirror what Jira writes to the changelog,
so a scenario built with :meth:`Dataset.transition` and :meth:`Dataset.set_field`
produces the same history items a real Jira would.

History ids are numeric strings handed out in call order; call the mutators in
chronological order (the scenario builders do) and ids grow with time, as in Jira.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from jira_simulator.catalog import (
    DEFAULT_WORKFLOW,
    RESOLUTIONS,
    STATUS_RESOLUTION,
    STORY_POINTS,
    STORY_POINTS_ALIASES,
    issue_type_id,
)
from jira_simulator.jira_types import StatusCategory

JsonDict = dict[str, Any]
Author = tuple[str, str]
"""``(account id, display name)`` of the person acting."""


@dataclass(slots=True, eq=False)
class SimUser:
    """A Jira user. ``account_id`` is the Cloud accountId; ``name`` the DC username."""

    account_id: str
    display_name: str
    time_zone: str
    name: str
    email: str | None = None


@dataclass(frozen=True, slots=True)
class SimStatus:
    """A workflow status of the site."""

    id: str
    name: str
    category: StatusCategory


@dataclass(frozen=True, slots=True)
class SimProject:
    """A Jira project."""

    id: str
    key: str
    name: str


@dataclass(frozen=True, slots=True)
class SimItem:
    """One change item of a history, with Jira's ``from``/``fromString``/``to``/``toString``.

    ``field_id`` may be :data:`~jira_simulator.catalog.STORY_POINTS`, which the
    renderer replaces by the flavor's custom field id and name.
    """

    field: str
    fieldtype: str
    field_id: str
    from_value: str | None
    from_string: str | None
    to_value: str | None
    to_string: str | None


@dataclass(slots=True, eq=False)
class SimHistory:
    """One changelog history: an author, a moment and the items changed together.

    ``raw`` holds the verbatim JSON of histories loaded from real Jira exports; the
    renderer returns it unchanged (ids, timestamps with their original offsets, items).
    """

    id: str
    created: datetime
    author: SimUser | None
    items: tuple[SimItem, ...]
    raw: JsonDict | None = None
    created_text: str | None = None
    """``created`` in Jira's text form for the dataset's zone, cached by the renderer."""

    @property
    def sort_key(self) -> tuple[datetime, int]:
        """Chronological order; the numeric id breaks ties within one millisecond."""
        return (self.created, int(self.id) if self.id.isdigit() else 0)

    def field_ids(self) -> set[str]:
        """Ids of the fields this history changed (field names where Jira gave no id)."""
        if self.raw is not None:
            return {
                str(item.get("fieldId") or item.get("field"))
                for item in self.raw.get("items", [])
                if isinstance(item, dict)
            }
        return {item.field_id for item in self.items}


@dataclass(slots=True, eq=False)
class SimComment:
    """A comment on an issue."""

    id: str
    author: SimUser
    created: datetime
    body: str
    updated: datetime
    update_author: SimUser | None = None
    """Who edited it last (``None``: its author)."""
    internal: bool = False
    """A service-desk internal note: ``jsdPublic: false`` on Cloud."""
    visibility: str | None = None
    """A role the comment is restricted to (``visibility: {type: role, value}``)."""


@dataclass(slots=True, eq=False)
class SimIssue:
    """An issue: current field values plus its complete history, oldest first.

    ``raw_fields`` is set for issues loaded from real exports: their fields are served
    verbatim except those the dataset manages (``status`` always, plus every field a
    later mutation touched, listed in ``touched``).
    """

    id: str
    key: str
    number: int
    project: SimProject
    issue_type: str
    summary: str
    created: datetime
    updated: datetime
    status: SimStatus
    labels: list[str] = field(default_factory=list)
    resolution: str | None = None
    resolution_date: datetime | None = None
    story_points: float | None = None
    original_estimate_seconds: int | None = None
    reporter: SimUser | None = None
    description: str | None = None
    priority: str | None = "Medium"
    assignee: SimUser | None = None
    creator: SimUser | None = None
    """Who created the issue (``None``: the reporter)."""
    due_date: date | None = None
    comments: list[SimComment] = field(default_factory=list)
    histories: list[SimHistory] = field(default_factory=list)
    raw_fields: JsonDict | None = None
    touched: set[str] = field(default_factory=set)
    previous_keys: list[str] = field(default_factory=list)
    deleted: bool = False

    @property
    def project_key(self) -> str:
        """Key of the project the issue is in now."""
        return self.project.key


def _sort_key(history: SimHistory) -> tuple[datetime, int]:
    return history.sort_key


def _points_text(value: float | None) -> str | None:
    # Jira writes whole story points without a decimal part ("3", not "3.0").
    if value is None:
        return None
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _require_aware(moment: datetime, what: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, got {moment!r}")


class Dataset:
    """Everything the simulated Jira site knows.

    ``user_timezone`` is the zone of the user the simulator authenticates as: JQL
    dates are read in it and timestamps are written with its offset, as Jira does.
    All mutators take ``lock``, so tests may change the data while a server thread
    answers requests.
    """

    def __init__(self, user_timezone: str = "Europe/Moscow", base_url_hint: str | None = None):
        self.user_timezone = user_timezone
        self.zone = ZoneInfo(user_timezone)
        self.base_url_hint = base_url_hint.rstrip("/") if base_url_hint else None
        self.lock = threading.RLock()
        self.version = 0
        """Bumped by every mutation; search snapshots and caches are keyed by it."""
        self._statuses: dict[str, SimStatus] = {}
        self._status_names: dict[str, SimStatus] = {}
        self._projects: dict[str, SimProject] = {}
        self._project_ids: set[str] = set()
        self._issues: dict[str, SimIssue] = {}
        self._issue_ids: dict[str, SimIssue] = {}
        self._aliases: dict[str, SimIssue] = {}
        self._project_issues: dict[str, dict[str, SimIssue]] = {}
        self._project_order: dict[str, tuple[int, list[SimIssue]]] = {}
        self._next_number: dict[str, int] = {}
        self._users: dict[str, SimUser] = {}
        self._items: dict[tuple[str | None, ...], SimItem] = {}
        self._next_issue_id = 10000
        self._next_history_id = 10000
        self._next_comment_id = 10000
        self.groups: dict[str, list[SimUser]] = {}
        """Jira groups by name, their members in the order added."""
        self._next_project_id = 10000
        self.me = self.user("712020:agency-pm", "Agency PM", email="pm@agency.example")
        """The user the simulator authenticates requests as (``/myself``)."""

    # -- construction helpers -------------------------------------------------

    @classmethod
    def with_default_workflow(
        cls, user_timezone: str = "Europe/Moscow", base_url_hint: str | None = None
    ) -> Dataset:
        """A dataset with the default agency workflow statuses already added.

        To Do (new), In Progress, Client Review (indeterminate), Done, Принято
        клиентом, Closed and Won't Do (done).
        """
        dataset = cls(user_timezone=user_timezone, base_url_hint=base_url_hint)
        dataset.add_default_workflow()
        return dataset

    def add_default_workflow(self) -> None:
        """Add the default workflow statuses that are missing (matched by name).

        A default whose id is already taken by another status gets a fresh id, so
        this can follow custom :meth:`add_status` calls.
        """
        with self.lock:
            for status in DEFAULT_WORKFLOW:
                if status.name.casefold() in self._status_names:
                    continue
                status_id = status.id if status.id not in self._statuses else self._free_status_id()
                self.add_status(status_id, status.name, status.category)

    def _free_status_id(self) -> str:
        numeric = [int(s) for s in self._statuses if s.isdigit()]
        return str(max([10099, *numeric]) + 1)

    def add_status(
        self,
        id: str,
        name: str,
        category: str | StatusCategory,
        *,
        allow_duplicate_name: bool = False,
    ) -> SimStatus:
        """Register a workflow status; ``category`` is ``new``, ``indeterminate`` or ``done``.

        Ids are unique on a Jira site, and so are names (except between team-managed
        projects: pass ``allow_duplicate_name``; lookups by name then find the first).
        Re-adding an identical status is a no-op; a clash raises ``ValueError``.
        """
        cat = StatusCategory(category)
        status = SimStatus(id=str(id), name=name, category=cat)
        with self.lock:
            by_id = self._statuses.get(status.id)
            if by_id is not None:
                if by_id == status:
                    return by_id
                raise ValueError(f"status id {status.id} is already used by {by_id!r}")
            by_name = self._status_names.get(name.casefold())
            if by_name is not None and not allow_duplicate_name:
                raise ValueError(f"status name {name!r} is already used by {by_name!r}")
            self._statuses[status.id] = status
            self._status_names.setdefault(name.casefold(), status)
            self.version += 1
            return status

    def status(self, name_or_id: str) -> SimStatus:
        """A status by name (any case) or id."""
        found = self._statuses.get(name_or_id) or self._status_names.get(name_or_id.casefold())
        if found is None:
            raise KeyError(
                f"unknown status {name_or_id!r}: add it with add_status() or build the "
                "dataset with Dataset.with_default_workflow()"
            )
        return found

    def find_status(self, name_or_id: str) -> SimStatus | None:
        """Like :meth:`status` but ``None`` when unknown."""
        return self._statuses.get(name_or_id) or self._status_names.get(name_or_id.casefold())

    def status_by_id(self, status_id: str) -> SimStatus | None:
        """A status by id only."""
        return self._statuses.get(status_id)

    @property
    def statuses(self) -> list[SimStatus]:
        """Every status, in the order added."""
        return list(self._statuses.values())

    def add_project(self, key: str, name: str, id: str | None = None) -> SimProject:
        """Register a project; ``id`` is allocated when not given."""
        with self.lock:
            if key in self._projects:
                existing = self._projects[key]
                if existing.name == name and (id is None or id == existing.id):
                    return existing
                raise ValueError(f"project {key} already exists as {existing!r}")
            if id is None:
                while str(self._next_project_id) in self._project_ids:
                    self._next_project_id += 1
                id = str(self._next_project_id)
                self._next_project_id += 1
            elif id in self._project_ids:
                raise ValueError(f"project id {id} is already used")
            project = SimProject(id=id, key=key, name=name)
            self._projects[key] = project
            self._project_ids.add(id)
            self._project_issues[key] = {}
            self._next_number.setdefault(key, 1)
            self.version += 1
            return project

    def project(self, key_or_id: str) -> SimProject:
        """A project by key, id or name (as JQL accepts)."""
        found = self.find_project(key_or_id)
        if found is None:
            raise KeyError(f"unknown project {key_or_id!r}: add it with add_project()")
        return found

    def find_project(self, key_or_id: str) -> SimProject | None:
        """A project by key (any case), id or name; ``None`` when unknown."""
        found = self._projects.get(key_or_id) or self._projects.get(key_or_id.upper())
        if found is not None:
            return found
        for project in self._projects.values():
            if project.id == key_or_id or project.name.casefold() == key_or_id.casefold():
                return project
        return None

    @property
    def projects(self) -> list[SimProject]:
        """Every project, in the order added."""
        return list(self._projects.values())

    def user(
        self,
        account_id: str,
        display_name: str | None = None,
        time_zone: str | None = None,
        *,
        name: str | None = None,
        email: str | None = None,
    ) -> SimUser:
        """The user with ``account_id``, created on first use.

        The DC username defaults to the account id without any ``prefix:`` part.
        """
        existing = self._users.get(account_id)
        if existing is not None:
            return existing
        user = SimUser(
            account_id=account_id,
            display_name=display_name or account_id,
            time_zone=time_zone or self.user_timezone,
            name=name or account_id.rsplit(":", 1)[-1],
            email=email,
        )
        self._users[account_id] = user
        return user

    def _actor(self, author: Author | SimUser | None) -> SimUser:
        if author is None:
            return self.me
        if isinstance(author, SimUser):
            return author
        account, display = author
        return self.user(account, display)

    # -- issues ---------------------------------------------------------------

    def add_issue(
        self,
        project: str,
        summary: str,
        created: datetime,
        *,
        issue_type: str = "Story",
        status: str = "To Do",
        labels: Iterable[str] = (),
        story_points: float | None = None,
        original_estimate_seconds: int | None = None,
        reporter: Author | SimUser | None = None,
        description: str | None = None,
        priority: str | None = "Medium",
        assignee: Author | SimUser | None = None,
        due_date: date | None = None,
    ) -> SimIssue:
        """Create an issue (no history: Jira records none for initial values).

        The key is the project's next number (``ACME-1``, ``ACME-2``…) and the id the
        site's next numeric id.
        """
        _require_aware(created, "created")
        with self.lock:
            proj = self.project(project)
            number = self._allocate_number(proj.key)
            issue = SimIssue(
                id=self._allocate_issue_id(),
                key=f"{proj.key}-{number}",
                number=number,
                project=proj,
                issue_type=issue_type,
                summary=summary,
                created=created,
                updated=created,
                status=self.status(status),
                labels=sorted(set(labels)),
                story_points=story_points,
                original_estimate_seconds=original_estimate_seconds,
                reporter=self._actor(reporter),
                description=description,
                priority=priority,
                assignee=None if assignee is None else self._actor(assignee),
                due_date=due_date,
            )
            if issue.status.category is StatusCategory.DONE:
                issue.resolution = STATUS_RESOLUTION.get(issue.status.name.casefold(), "Done")
                issue.resolution_date = created
            self.register_issue(issue)
            return issue

    def _allocate_number(self, project_key: str) -> int:
        """The project's next issue number (``ACME-<number>``), taken."""
        number = self._next_number[project_key]
        self._next_number[project_key] = number + 1
        return number

    def _allocate_issue_id(self) -> str:
        while str(self._next_issue_id) in self._issue_ids:
            self._next_issue_id += 1
        allocated = str(self._next_issue_id)
        self._next_issue_id += 1
        return allocated

    def register_issue(self, issue: SimIssue) -> None:
        """Index a fully built issue (used by the loaders and the bulk generator)."""
        with self.lock:
            if issue.key in self._issues or issue.key in self._aliases:
                raise ValueError(f"issue key {issue.key} is already used")
            if issue.id in self._issue_ids:
                raise ValueError(f"issue id {issue.id} is already used (by {issue.key})")
            if issue.project.key not in self._projects:
                raise KeyError(f"unknown project {issue.project.key!r}")
            self._issues[issue.key] = issue
            self._issue_ids[issue.id] = issue
            self._project_issues[issue.project.key][issue.key] = issue
            if issue.number >= self._next_number[issue.project.key]:
                self._next_number[issue.project.key] = issue.number + 1
            for history in issue.histories:
                if history.id.isdigit() and int(history.id) >= self._next_history_id:
                    self._next_history_id = int(history.id) + 1
            for comment in issue.comments:
                if comment.id.isdigit() and int(comment.id) >= self._next_comment_id:
                    self._next_comment_id = int(comment.id) + 1
            self.version += 1

    def find_issue(self, key_or_id: str) -> SimIssue | None:
        """An issue by current key, former key (after a move) or id; ``None`` if absent."""
        return (
            self._issues.get(key_or_id)
            or self._aliases.get(key_or_id)
            or self._issue_ids.get(key_or_id)
            or self._issues.get(key_or_id.upper())
            or self._aliases.get(key_or_id.upper())
        )

    def issue(self, key_or_id: str) -> SimIssue:
        """An issue by key, former key or id; ``KeyError`` if it does not exist."""
        found = self.find_issue(key_or_id)
        if found is None:
            raise KeyError(f"no issue {key_or_id!r}")
        return found

    @property
    def issues(self) -> list[SimIssue]:
        """Every live issue, in the order created (a moved issue counts as new)."""
        with self.lock:
            return list(self._issues.values())

    def issues_in_project(self, key: str) -> list[SimIssue]:
        """Live issues of one project, in key-number order."""
        with self.lock:
            cached = self._project_order.get(key)
            if cached is None or cached[0] != self.version:
                # Every search of a project starts here: sorting 20,000 issues per
                # page was a third of a search page's time. Any change bumps `version`.
                found = self._project_issues.get(key, {})
                cached = (self.version, sorted(found.values(), key=lambda issue: issue.number))
                self._project_order[key] = cached
            return list(cached[1])

    def project_issue_count(self, key: str) -> int:
        """How many live issues a project holds."""
        return len(self._project_issues.get(key, {}))

    def _new_history_id(self) -> str:
        allocated = str(self._next_history_id)
        self._next_history_id += 1
        return allocated

    def item(  # noqa: PLR0917 - positional in the order Jira writes an item's keys
        self,
        field_name: str,
        fieldtype: str,
        field_id: str,
        from_value: str | None,
        from_string: str | None,
        to_value: str | None,
        to_string: str | None,
    ) -> SimItem:
        """An interned change item: identical items share one object (memory, render cache)."""
        key = (field_name, fieldtype, field_id, from_value, from_string, to_value, to_string)
        found = self._items.get(key)
        if found is None:
            found = SimItem(
                field_name, fieldtype, field_id, from_value, from_string, to_value, to_string
            )
            self._items[key] = found
        return found

    def _record(
        self,
        issue: SimIssue,
        at: datetime,
        author: Author | SimUser | None,
        items: Sequence[SimItem],
    ) -> SimHistory:
        history = SimHistory(
            id=self._new_history_id(), created=at, author=self._actor(author), items=tuple(items)
        )
        if not issue.histories or issue.histories[-1].sort_key <= history.sort_key:
            issue.histories.append(history)
        else:
            bisect.insort(issue.histories, history, key=_sort_key)
        issue.updated = max(issue.updated, at)
        self.version += 1
        return history

    def _resolution_item(self, old: str | None, new: str | None) -> SimItem:
        return self.item(
            "resolution",
            "jira",
            "resolution",
            RESOLUTIONS.get(old, old) if old else None,
            old,
            RESOLUTIONS.get(new, new) if new else None,
            new,
        )

    def transition(
        self,
        key: str,
        to_status: str,
        at: datetime,
        author: Author | SimUser | None = None,
        *,
        resolution: str | None = None,
    ) -> SimHistory:
        """Move an issue to another status, recording the history Jira would.

        Entering a done-category status from outside it also sets the resolution
        (``Done``, or ``Won't Do`` for that status, or ``resolution``); leaving the
        done category clears it. Both appear as ``resolution`` items.
        """
        _require_aware(at, "at")
        with self.lock:
            issue = self.issue(key)
            target = self.status(to_status)
            old = issue.status
            if target is old:
                raise ValueError(f"{issue.key} is already in {old.name!r}")
            items: list[SimItem] = []
            entering_done = (
                target.category is StatusCategory.DONE and old.category is not StatusCategory.DONE
            )
            leaving_done = (
                old.category is StatusCategory.DONE and target.category is not StatusCategory.DONE
            )
            # Item order as real Jira writes it: resolution before status when
            # resolving, status before resolution when reopening.
            if entering_done:
                name = resolution or STATUS_RESOLUTION.get(target.name.casefold(), "Done")
                items.append(self._resolution_item(issue.resolution, name))
                issue.resolution = name
                issue.resolution_date = at
                issue.touched.update(("resolution", "resolutiondate"))
            items.append(
                self.item("status", "jira", "status", old.id, old.name, target.id, target.name)
            )
            if leaving_done and issue.resolution is not None:
                items.append(self._resolution_item(issue.resolution, None))
                issue.resolution = None
                issue.resolution_date = None
                issue.touched.update(("resolution", "resolutiondate"))
            issue.status = target
            issue.touched.add("status")
            return self._record(issue, at, author, items)

    def set_field(
        self,
        key: str,
        field_id: str,
        value: Any,
        at: datetime,
        author: Author | SimUser | None = None,
    ) -> SimHistory | None:
        """Change a field and record the history item; ``None`` if the value is unchanged.

        Supported: ``summary``, ``description``, ``labels`` (a list), ``issuetype``,
        ``timeoriginalestimate`` (seconds) and story points (``story_points`` or either
        flavor's custom field id).
        """
        _require_aware(at, "at")
        with self.lock:
            issue = self.issue(key)
            fid = STORY_POINTS if field_id in STORY_POINTS_ALIASES else field_id
            item: SimItem
            if fid == "summary":
                new_summary = str(value)
                if new_summary == issue.summary:
                    return None
                item = self.item(
                    "summary", "jira", "summary", None, issue.summary, None, new_summary
                )
                issue.summary = new_summary
            elif fid == "description":
                new_description = None if value is None else str(value)
                if new_description == issue.description:
                    return None
                item = self.item(
                    "description",
                    "jira",
                    "description",
                    None,
                    issue.description,
                    None,
                    new_description,
                )
                issue.description = new_description
            elif fid == "labels":
                new_labels = sorted(set(value or ()))
                if new_labels == issue.labels:
                    return None
                item = self.item(
                    "labels",
                    "jira",
                    "labels",
                    None,
                    " ".join(issue.labels),
                    None,
                    " ".join(new_labels),
                )
                issue.labels = new_labels
            elif fid == STORY_POINTS:
                new_points = None if value is None else float(value)
                if new_points == issue.story_points:
                    return None
                item = self.item(
                    STORY_POINTS,
                    "custom",
                    STORY_POINTS,
                    None,
                    _points_text(issue.story_points),
                    None,
                    _points_text(new_points),
                )
                issue.story_points = new_points
            elif fid == "timeoriginalestimate":
                new_estimate = None if value is None else int(value)
                if new_estimate == issue.original_estimate_seconds:
                    return None
                old_text = (
                    None
                    if issue.original_estimate_seconds is None
                    else str(issue.original_estimate_seconds)
                )
                new_text = None if new_estimate is None else str(new_estimate)
                item = self.item(
                    "timeoriginalestimate",
                    "jira",
                    "timeoriginalestimate",
                    old_text,
                    old_text,
                    new_text,
                    new_text,
                )
                issue.original_estimate_seconds = new_estimate
            elif fid == "issuetype":
                new_type = str(value)
                if new_type == issue.issue_type:
                    return None
                item = self.item(
                    "issuetype",
                    "jira",
                    "issuetype",
                    issue_type_id(issue.issue_type),
                    issue.issue_type,
                    issue_type_id(new_type),
                    new_type,
                )
                issue.issue_type = new_type
            elif fid in ("priority", "duedate", "assignee"):
                changed = self._set_people_field(issue, fid, value)
                if changed is None:
                    return None
                item = changed
            else:
                raise ValueError(f"set_field does not support field {field_id!r}")
            issue.touched.add(fid)
            return self._record(issue, at, author, [item])

    def add_comment(
        self,
        key: str,
        body: str,
        at: datetime,
        author: Author | SimUser | None = None,
        *,
        internal: bool = False,
        visibility: str | None = None,
    ) -> SimComment:
        """Add a comment (comments are not changelog histories, but bump ``updated``).

        ``internal`` makes it a service-desk internal note; ``visibility`` restricts
        it to a project role.
        """
        _require_aware(at, "at")
        with self.lock:
            issue = self.issue(key)
            comment = SimComment(
                id=str(self._next_comment_id),
                author=self._actor(author),
                created=at,
                body=body,
                updated=at,
                internal=internal,
                visibility=visibility,
            )
            self._next_comment_id += 1
            if not issue.comments or issue.comments[-1].created <= at:
                issue.comments.append(comment)
            else:
                bisect.insort(issue.comments, comment, key=lambda c: c.created)
            issue.updated = max(issue.updated, at)
            issue.touched.add("comment")
            self.version += 1
            return comment

    def _set_people_field(self, issue: SimIssue, fid: str, value: Any) -> SimItem | None:
        """Priority (a name), due date (a date) or assignee (an author) changed, as Jira
        records them; ``None`` when unchanged."""
        if fid == "priority":
            new_priority = None if value is None else str(value)
            if new_priority == issue.priority:
                return None
            item = self.item(
                "priority", "jira", "priority", None, issue.priority, None, new_priority
            )
            issue.priority = new_priority
            return item
        if fid == "duedate":
            new_due = (
                value if isinstance(value, date) or value is None else date.fromisoformat(value)
            )
            if new_due == issue.due_date:
                return None
            old_text = None if issue.due_date is None else issue.due_date.isoformat()
            new_text = None if new_due is None else new_due.isoformat()
            item = self.item("duedate", "jira", "duedate", old_text, old_text, new_text, new_text)
            issue.due_date = new_due
            return item
        new_user = None if value is None else self._actor(value)
        if new_user is issue.assignee:
            return None
        old = issue.assignee
        item = self.item(
            "assignee",
            "jira",
            "assignee",
            None if old is None else old.account_id,
            None if old is None else old.display_name,
            None if new_user is None else new_user.account_id,
            None if new_user is None else new_user.display_name,
        )
        issue.assignee = new_user
        return item

    def users_matching(self, text: str) -> list[SimUser]:
        """Users whose account id, user name, display name or email contains ``text``."""
        wanted = text.casefold()
        return [
            user
            for user in self._users.values()
            if any(
                wanted in (part or "").casefold()
                for part in (user.account_id, user.name, user.display_name, user.email)
            )
        ]

    def edit_comment(
        self,
        key: str,
        comment_id: str,
        body: str,
        at: datetime,
        author: Author | SimUser | None = None,
    ) -> SimComment:
        """Edit a comment: Jira keeps only the last edit (``updated``, ``updateAuthor``)."""
        _require_aware(at, "at")
        with self.lock:
            issue = self.issue(key)
            comment = next(c for c in issue.comments if c.id == comment_id)
            comment.body = body
            comment.updated = at
            comment.update_author = self._actor(author)
            issue.updated = max(issue.updated, at)
            issue.touched.add("comment")
            self.version += 1
            return comment

    def add_group_member(self, group: str, user: Author | SimUser) -> SimUser:
        """Put ``user`` into the Jira group ``group`` (created on first use)."""
        with self.lock:
            member = self._actor(user)
            members = self.groups.setdefault(group, [])
            if member not in members:
                members.append(member)
            self.version += 1
            return member

    def move_issue(
        self, key: str, to_project: str, at: datetime, author: Author | SimUser | None = None
    ) -> SimIssue:
        """Move an issue to another project: new key, same id, ``Key`` and ``project`` items.

        The former key keeps resolving (``GET /issue/OLD-1`` and JQL ``key = OLD-1``),
        as in Jira.
        """
        _require_aware(at, "at")
        with self.lock:
            issue = self.issue(key)
            dest = self.project(to_project)
            source = issue.project
            if dest is source:
                raise ValueError(f"{issue.key} is already in project {dest.key}")
            number = self._allocate_number(dest.key)
            old_key = issue.key
            new_key = f"{dest.key}-{number}"
            items = [
                self.item("Key", "jira", "issuekey", None, old_key, None, new_key),
                self.item("project", "jira", "project", source.id, source.name, dest.id, dest.name),
            ]
            del self._issues[old_key]
            del self._project_issues[source.key][old_key]
            self._aliases[old_key] = issue
            issue.previous_keys.append(old_key)
            issue.key = new_key
            issue.number = number
            issue.project = dest
            self._issues[new_key] = issue
            self._project_issues[dest.key][new_key] = issue
            issue.touched.add("project")
            self._record(issue, at, author, items)
            return issue

    def delete_issue(self, key: str) -> None:
        """Delete an issue: it disappears from search, GET answers 404."""
        with self.lock:
            issue = self.issue(key)
            del self._issues[issue.key]
            del self._issue_ids[issue.id]
            del self._project_issues[issue.project.key][issue.key]
            for old in issue.previous_keys:
                self._aliases.pop(old, None)
            issue.deleted = True
            self.version += 1

    def generate_bulk(
        self,
        project: str = "BULK",
        issues: int = 20000,
        histories_per_issue: int = 30,
        start: datetime | None = None,
        seed: int = 1,
    ) -> list[SimIssue]:
        """Add synthetic issues with many histories quickly (benchmarks); see :mod:`.bulk`."""
        from jira_simulator.bulk import generate_bulk  # noqa: PLC0415 - avoids a cycle

        return generate_bulk(
            self,
            project=project,
            issues=issues,
            histories_per_issue=histories_per_issue,
            start=start,
            seed=seed,
        )

    # -- counts ----------------------------------------------------------------

    def history_count(self) -> int:
        """Total number of histories over live issues."""
        with self.lock:
            return sum(len(issue.histories) for issue in self._issues.values())
