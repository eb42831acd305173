"""A client's issues read as actions: who did what, when, on which side.

:func:`client_activity` turns a client's issues (their creation, every change
item, every comment and comment edit) into :class:`Action` records, each with
the side of whoever took it at that moment (:class:`~scopeguard.domain.risk.people.Sides`).
The signals are folds over these actions. An internal comment (hidden from the
client) is always the agency's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from itertools import chain
from operator import attrgetter
from typing import NamedTuple

from scopeguard.domain.context import ClientContext
from scopeguard.domain.contract import WorkflowRules
from scopeguard.domain.facts import IssueFacts
from scopeguard.domain.model import ChangeItem, Issue, Status, StatusCategory
from scopeguard.domain.risk.lexicon import quote
from scopeguard.domain.risk.people import ClientPeople, Side
from scopeguard.domain.risk.signals import Evidence, EvidenceKind, utc


class ActionKind(StrEnum):
    """What an action did."""

    ISSUE_CREATED = "issue_created"
    COMMENT = "comment"
    COMMENT_EDITED = "comment_edited"
    STATUS = "status_change"
    PRIORITY = "priority_change"
    DUE_DATE = "due_date_change"
    DESCRIPTION = "description_edit"
    SUMMARY = "summary_edit"
    ASSIGNEE = "assignee_change"
    OTHER = "field_change"


PRESSURE_KINDS = frozenset(
    {
        ActionKind.ISSUE_CREATED,
        ActionKind.COMMENT,
        ActionKind.COMMENT_EDITED,
        ActionKind.STATUS,
        ActionKind.PRIORITY,
    }
)
"""The client actions the off-hours signal and the data threshold count: issues
created, comments written or edited, status and priority changes."""

_FIELD_KINDS = {
    "status": ActionKind.STATUS,
    "priority": ActionKind.PRIORITY,
    "duedate": ActionKind.DUE_DATE,
    "due date": ActionKind.DUE_DATE,
    "description": ActionKind.DESCRIPTION,
    "summary": ActionKind.SUMMARY,
    "assignee": ActionKind.ASSIGNEE,
}


def change_kind(item: ChangeItem) -> ActionKind:
    """What a change item changed, by field id where Jira gives one, else by name."""
    known = _KIND_OF.get((item.field_id, item.field))
    if known is None:
        known = _change_kind(item.field_id, item.field)
        if len(_KIND_OF) < 10_000:  # a site has a few hundred fields; a bound all the same
            _KIND_OF[(item.field_id, item.field)] = known
    return known


_KIND_OF: dict[tuple[str | None, str], ActionKind] = {}
"""(field id, field name) → kind: the same few fields change hundreds of thousands of times."""


def _change_kind(field_id: str | None, field: str) -> ActionKind:
    if field_id is not None:
        kind = _FIELD_KINDS.get(field_id.casefold())
        if kind is not None:
            return kind
    if field_id is None or field_id.casefold() == field.casefold():
        return _FIELD_KINDS.get(field.casefold(), ActionKind.OTHER)
    return ActionKind.OTHER


class Action(NamedTuple):
    """One thing someone did on an issue.

    A named tuple, not a dataclass: a large agency has hundreds of thousands of
    actions, and a tuple is built several times faster.
    """

    ts: float
    """When, as a POSIX timestamp (what windows are cut by)."""
    at: datetime
    """When (aware, in the zone Jira wrote it in; shown in the agency's zone)."""
    issue: str
    kind: ActionKind
    side: Side
    actor: str | None
    item: ChangeItem | None = None
    """The change item, for changes."""
    comment_id: str | None = None
    text: str | None = None
    """A comment's text (the current one, after any edit)."""
    internal: bool = False
    """An internal comment, or its edit: never shown to the client."""
    category: StatusCategory | None = None
    """For a status change: the category of the status moved to (``None``: unknown)."""


_TIME = attrgetter("ts")
"""An action's timestamp, the sort key of every action list (a C-level getter)."""


@dataclass(frozen=True, slots=True)
class IssueActivity:
    """One issue with its facts and its actions, oldest first."""

    issue: Issue
    facts: IssueFacts
    actions: tuple[Action, ...]
    created_by: Side
    initial_summary: str
    initial_description: str | None
    """The description as the issue was created (before any logged edit)."""
    initial_priority: str | None
    work_started: datetime | None
    """The first move out of a to-do status (into progress, review or done), UTC."""
    done_at: datetime | None
    """When the issue last entered a done status, if it is done now (UTC)."""

    @property
    def key(self) -> str:
        """The issue key."""
        return self.issue.key


@dataclass(frozen=True, slots=True)
class ClientActivity:
    """A client's issues as actions, with the per-side action lists the signals cut windows from."""

    key: str
    context: ClientContext
    people: ClientPeople
    issues: tuple[IssueActivity, ...]
    client_actions: tuple[Action, ...]
    """The client's actions, oldest first."""
    client_times: tuple[float, ...]
    agency_actions: tuple[Action, ...]
    agency_times: tuple[float, ...]
    default_pm: str | None
    """The agency account assigned to most of the client's issues (the PM when none is set)."""
    names: Mapping[str, str]
    """Account → display name, as the data wrote them."""

    def name(self, account: str | None) -> str | None:
        """A display name for an account (the account itself when no name is known)."""
        if account is None:
            return None
        return self.names.get(account, account)


def _first_from(items: Sequence[ChangeItem], kind: ActionKind) -> tuple[bool, str | None]:
    for item in items:
        if change_kind(item) is kind:
            return True, item.from_string
    return False, None


def _issue_activity(
    issue: Issue,
    facts: IssueFacts,
    context: ClientContext,
    people: ClientPeople,
    names: dict[str, str],
) -> IssueActivity:
    sides = people.sides
    key = issue.key
    actions: list[Action] = []
    created = utc(issue.created)
    creator_side = sides.side(issue.created_by, created)
    actions.append(
        Action(
            created.timestamp(),
            created,
            key,
            ActionKind.ISSUE_CREATED,
            creator_side,
            issue.created_by,
        )
    )
    if (
        issue.created_by is not None
        and issue.created_by == issue.reporter_account
        and issue.reporter_name
    ):
        names.setdefault(issue.created_by, issue.reporter_name)
    statuses = context.statuses
    work_started: datetime | None = None
    last_done: datetime | None = None
    last_at: datetime | None = None
    ts = 0.0
    for item in issue.changes:
        at = item.created
        if at is not last_at:  # the items of one history share their moment
            last_at, ts = at, at.timestamp()
        kind = change_kind(item)
        account = item.author_account
        if account is not None and item.author_name and account not in names:
            names[account] = item.author_name
        side = sides.side(account, at)
        if kind is not ActionKind.STATUS:
            actions.append(Action(ts, at, key, kind, side, account, item))
            continue
        category = statuses.category(item.to_id, item.to_string)
        # Positional (item, comment id, text, internal, category): keywords make a named
        # tuple twice as slow to build, and a client has tens of thousands of these.
        actions.append(Action(ts, at, key, kind, side, account, item, None, None, False, category))
        if category is StatusCategory.DONE:
            last_done = at
        if work_started is None and category in (StatusCategory.INDETERMINATE, StatusCategory.DONE):
            work_started = at
    for comment in issue.comments:
        at = comment.created
        account = comment.author_account
        if account is not None and comment.author_name and account not in names:
            names[account] = comment.author_name
        side = Side.AGENCY if comment.internal else sides.side(account, at)
        actions.append(
            Action(
                at.timestamp(),
                at,
                key,
                ActionKind.COMMENT,
                side,
                account,
                None,  # no change item; then comment id, text, internal (positional: faster)
                comment.id,
                comment.body,
                comment.internal,
            )
        )
        if comment.edited and comment.updated is not None:
            edited = comment.updated
            editor = comment.update_author_account or account
            edit_side = Side.AGENCY if comment.internal else sides.side(editor, edited)
            actions.append(
                Action(
                    edited.timestamp(),
                    edited,
                    key,
                    ActionKind.COMMENT_EDITED,
                    edit_side,
                    editor,
                    None,
                    comment.id,
                    comment.body,
                    comment.internal,
                )
            )
    actions.sort(key=_TIME)
    logged_summary, first_summary = _first_from(issue.changes, ActionKind.SUMMARY)
    logged_description, first_description = _first_from(issue.changes, ActionKind.DESCRIPTION)
    logged_priority, first_priority = _first_from(issue.changes, ActionKind.PRIORITY)
    done = issue.status.category is StatusCategory.DONE
    return IssueActivity(
        issue=issue,
        facts=facts,
        actions=tuple(actions),
        created_by=creator_side,
        initial_summary=(first_summary or issue.summary) if logged_summary else issue.summary,
        initial_description=first_description if logged_description else issue.description,
        initial_priority=first_priority if logged_priority else issue.priority,
        work_started=work_started,
        done_at=(last_done or utc(issue.updated)) if done else None,
    )


def _default_pm(issues: Sequence[IssueActivity], people: ClientPeople) -> str | None:
    """The agency account that was assignee of the most issues (ties: the smallest id)."""
    counts: Counter[str] = Counter()
    for activity in issues:
        issue = activity.issue
        seen: set[str] = set()
        current = issue.assignee_account
        if current is not None and people.sides.is_agency(current, utc(issue.updated)):
            seen.add(current)
        for action in activity.actions:
            item = action.item
            if action.kind is ActionKind.ASSIGNEE and item is not None:
                for account in (item.from_id, item.to_id):
                    if account is not None and people.sides.is_agency(account, action.at):
                        seen.add(account)
        counts.update(seen)
    if not counts:
        return None
    best = max(counts.values())
    return min(account for account, count in counts.items() if count == best)


def client_activity(
    key: str,
    context: ClientContext,
    issues: Sequence[Issue],
    people: ClientPeople,
    facts: Sequence[IssueFacts] | None = None,
) -> ClientActivity:
    """Read a client's issues into actions (see the module's docstring).

    ``facts`` are the issues' cached metric facts in the same order; computed
    from ``context`` when not given. Removed issues are read like the others:
    what happened on them before they left still happened.
    """
    if facts is not None and len(facts) != len(issues):
        raise ValueError("facts must be given for every issue, in the same order")
    names: dict[str, str] = {}
    activities = tuple(
        _issue_activity(
            issue,
            facts[index] if facts is not None else context.facts(issue),
            context,
            people,
            names,
        )
        for index, issue in enumerate(issues)
    )
    # A C-level key and chain: a large client has hundreds of thousands of actions.
    everything = sorted(chain.from_iterable(a.actions for a in activities), key=_TIME)
    client: list[Action] = []
    agency: list[Action] = []
    for action in everything:  # one pass for both sides, in time order
        side = action.side
        if side is Side.CLIENT:
            client.append(action)
        elif side is Side.AGENCY:
            agency.append(action)
    return ClientActivity(
        key=key,
        context=context,
        people=people,
        issues=activities,
        client_actions=tuple(client),
        client_times=tuple(map(_TIME, client)),
        agency_actions=tuple(agency),
        agency_times=tuple(map(_TIME, agency)),
        default_pm=_default_pm(activities, people),
        names=names,
    )


_KIND = {
    ActionKind.ISSUE_CREATED: EvidenceKind.ISSUE_CREATED,
    ActionKind.COMMENT: EvidenceKind.COMMENT,
    ActionKind.COMMENT_EDITED: EvidenceKind.COMMENT_EDITED,
    ActionKind.STATUS: EvidenceKind.STATUS_CHANGE,
    ActionKind.PRIORITY: EvidenceKind.PRIORITY_CHANGE,
    ActionKind.DUE_DATE: EvidenceKind.DUE_DATE_CHANGE,
    ActionKind.DESCRIPTION: EvidenceKind.DESCRIPTION_EDIT,
    ActionKind.SUMMARY: EvidenceKind.SUMMARY_EDIT,
}


def action_evidence(
    action: Action, names: dict[str, str], kind: EvidenceKind | None = None
) -> Evidence:
    """An action as evidence: its text as a short quote, a change as ``from → to``."""
    text = quote(action.text) if action.text else None
    detail = None
    if action.item is not None:
        detail = f"{action.item.from_string or '—'} → {action.item.to_string or '—'}"
    actor = names.get(action.actor, action.actor) if action.actor is not None else None
    return Evidence(
        issue=action.issue,
        at=action.at,
        kind=kind or _KIND.get(action.kind, EvidenceKind.STATUS_CHANGE),
        text=text,
        actor=actor,
        detail=detail,
        comment_id=action.comment_id,
    )


def is_review(context: ClientContext, status_id: str | None, name: str | None) -> bool:
    """Whether a status (as a change item names it) is one the client reviews work in.

    A status renamed since is matched by either name, as the revision rule does.
    """
    return _is_review(
        context.rules, context.statuses.statuses.get(status_id) if status_id else None, name
    )


def review_test(context: ClientContext) -> Callable[[str | None, str | None], bool]:
    """:func:`is_review` for one client, remembering each (status id, name) it was asked.

    A client's status changes name a handful of statuses tens of thousands of
    times; one look-up per change beats hashing the workflow rules for each.
    """
    known: dict[tuple[str | None, str | None], bool] = {}

    def test(status_id: str | None, name: str | None) -> bool:
        key = (status_id, name)
        answer = known.get(key)
        if answer is None:
            answer = known[key] = is_review(context, status_id, name)
        return answer

    return test


@lru_cache(maxsize=4096)
def _is_review(rules: WorkflowRules, current: Status | None, name: str | None) -> bool:
    # Asked for every status change of every issue, with a handful of distinct answers.
    if rules.is_review_status(name):
        return True
    return current is not None and rules.is_review_status(current.name)
