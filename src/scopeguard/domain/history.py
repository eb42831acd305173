"""Reading one issue's changelog into :class:`~scopeguard.domain.facts.IssueFacts`.

This module holds the per-issue definitions: when an issue entered the client's
scope (and so whether it is baseline or added scope), when it became an approved
change request, when and why it was removed, which status changes are revision
rounds and reopens, and how its estimates moved. Everything that aggregates
across issues lives in :mod:`scopeguard.domain.ledger` and
:mod:`scopeguard.domain.metrics`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from itertools import pairwise

from scopeguard.domain.contract import Contract, ScopeUnit, WorkflowRules
from scopeguard.domain.facts import (
    FACTS_SCHEMA_VERSION,
    EstimateEvent,
    IssueFacts,
    RemovalReason,
    RevisionEvent,
)
from scopeguard.domain.keys import project_of
from scopeguard.domain.model import (
    ChangeItem,
    Issue,
    Status,
    StatusCategory,
    history_number,
    in_change_order,
    sort_changes,
)
from scopeguard.domain.timeparse import to_utc

STORY_POINT_FIELD_NAMES = frozenset({"story points", "story point estimate"})
"""Changelog field names (case-insensitive) read as story points whatever their id:
classic projects call the field "Story Points", team-managed ones "Story point estimate"."""
ORIGINAL_ESTIMATE_FIELD = "timeoriginalestimate"

_OPEN_CATEGORIES = (StatusCategory.NEW, StatusCategory.INDETERMINATE)
_SECONDS_PER_HOUR = 3600.0


_Transition = tuple[str | None, str | None, str | None, str | None]
"""(from id, from name, to id, to name) of a status change item."""
_Verdict = tuple[bool, str, str] | None
"""``None`` for no revision, else (is reopen, from display name, to display name)."""


class StatusIndex:
    """The site's statuses, prepared for reading many issues' histories.

    A status is resolved by id; old histories sometimes carry only names, so an
    unknown or missing id falls back to the site's status of that name. A name
    shared by statuses of different categories (team-managed projects reuse
    names) stays unknown rather than guessed, and categories are never inferred
    from the words in a name.

    Build one per sync or request and pass it to :func:`issue_facts` for every
    issue: it remembers each distinct transition's verdict, and a workflow has
    few transitions repeated across hundreds of thousands of changes. It copies
    the mapping, so later changes to the caller's dict do not leak in.
    """

    __slots__ = ("_by_name", "_deliveries", "_statuses", "_verdicts")

    def __init__(self, statuses: Mapping[str, Status]) -> None:
        self._statuses: dict[str, Status] = dict(statuses)
        by_name: dict[str, StatusCategory | None] = {}
        for status in self._statuses.values():
            folded = status.name.casefold()
            if folded not in by_name:
                by_name[folded] = status.category
            elif by_name[folded] != status.category:
                by_name[folded] = None
        self._by_name = by_name
        self._verdicts: dict[WorkflowRules, dict[_Transition, _Verdict]] = {}
        self._deliveries: dict[WorkflowRules, dict[_Transition, bool]] = {}

    @property
    def statuses(self) -> Mapping[str, Status]:
        """The statuses by Jira id."""
        return self._statuses

    def category(self, status_id: str | None, name: str | None) -> StatusCategory | None:
        """The category of a status as a change item names it; ``None`` when unknown."""
        if status_id:
            status = self._statuses.get(status_id)
            if status is not None:
                return status.category
        if name:
            return self._by_name.get(name.casefold())
        return None

    def _memo(self, rules: WorkflowRules) -> dict[_Transition, _Verdict]:
        memo = self._verdicts.get(rules)
        if memo is None:
            memo = self._verdicts[rules] = {}
        return memo

    def _delivery_memo(self, rules: WorkflowRules) -> dict[_Transition, bool]:
        memo = self._deliveries.get(rules)
        if memo is None:
            memo = self._deliveries[rules] = {}
        return memo

    def is_delivery(self, rules: WorkflowRules, to_id: str | None, to_name: str | None) -> bool:
        """Whether moving into this status hands work over: a review status, or one of
        category done (the end of a revision round)."""
        if self.category(to_id, to_name) is StatusCategory.DONE:
            return True
        return self._is_review(rules, to_id, to_name)

    def revision(self, item: ChangeItem, rules: WorkflowRules) -> _Verdict:
        """``None`` unless the status change is a revision round, else
        ``(is reopen, from-status name, to-status name)``; the rule is :meth:`_decide`."""
        memo = self._memo(rules)
        key = (item.from_id, item.from_string, item.to_id, item.to_string)
        if key not in memo:
            memo[key] = self._decide(rules, *key)
        return memo[key]

    def _decide(
        self,
        rules: WorkflowRules,
        from_id: str | None,
        from_name: str | None,
        to_id: str | None,
        to_name: str | None,
    ) -> _Verdict:
        """The revision rule itself, for one transition.

        A revision leaves a review status or a done-category status for a status
        of category new or indeterminate that is not itself a review status; a
        reopen is a revision out of a done-category status. A status of unknown
        category is neither done nor open, so moving into it never counts.
        """
        if self.category(to_id, to_name) not in _OPEN_CATEGORIES:
            return None
        if self._is_review(rules, to_id, to_name):
            return None
        from_done = self.category(from_id, from_name) is StatusCategory.DONE
        if not from_done and not self._is_review(rules, from_id, from_name):
            return None
        return (from_done, self._display(from_id, from_name), self._display(to_id, to_name))

    def _is_review(self, rules: WorkflowRules, status_id: str | None, name: str | None) -> bool:
        # A status renamed since the change was recorded is matched by either name:
        # the configuration names today's statuses, the changelog yesterday's.
        if rules.is_review_status(name):
            return True
        current = self._statuses.get(status_id) if status_id else None
        return current is not None and rules.is_review_status(current.name)

    def _display(self, status_id: str | None, name: str | None) -> str:
        if name:
            return name
        current = self._statuses.get(status_id) if status_id else None
        if current is not None:
            return current.name
        return status_id or "?"


# What a changelog item is about, as far as the metrics care. Plain ints index
# the per-kind lists directly (an Enum's hash is a Python call per item).
_OTHER = 0
_LABELS = 1
_RESOLUTION = 2
_ISSUE_TYPE = 3
_POINTS = 4
_ORIGINAL_ESTIMATE = 5
_STATUS = 6
_MOVE = 7

_FIELD_KINDS: dict[str, int] = {}
"""Memo of field name → kind: a site has a few hundred field names at most, and
the name of every one of hundreds of thousands of items needs classifying."""


def _field_kind(name: str) -> int:
    folded = name.casefold()
    if folded == "status":
        kind = _STATUS
    elif folded in STORY_POINT_FIELD_NAMES:
        kind = _POINTS
    elif folded == ORIGINAL_ESTIMATE_FIELD:
        kind = _ORIGINAL_ESTIMATE
    elif folded == "labels":
        kind = _LABELS
    elif folded == "resolution":
        kind = _RESOLUTION
    elif folded == "issuetype":
        kind = _ISSUE_TYPE
    elif folded in ("key", "project"):
        kind = _MOVE
    else:
        kind = _OTHER
    if len(_FIELD_KINDS) < 10_000:
        _FIELD_KINDS[name] = kind
    return kind


def _in_order(items: list[ChangeItem]) -> list[ChangeItem]:
    # Issue.changes is documented as sorted; checking is linear and cheap, and
    # sorting again when a caller broke the promise keeps the metrics right anyway.
    return items if in_change_order(items) else list(sort_changes(items))


@lru_cache(maxsize=64)
def _folded(names: tuple[str, ...]) -> frozenset[str]:
    """Configured names, casefolded once rather than for each of thousands of issues."""
    return frozenset(name.casefold() for name in names)


def _number(text: str | None, fallback: str | None) -> float | None:
    """A numeric changelog value (``"3"``, ``"7200"``); ``None`` when empty or not a number."""
    for raw in (text, fallback):
        if raw:
            try:
                return float(raw)  # float() itself ignores surrounding whitespace
            except ValueError:
                continue
    return None


def _has_label(text: str | None, wanted: str) -> bool:
    # Jira writes the label field as the space-separated list before and after.
    if not text:
        return False
    return wanted in text.casefold().split()


def _label_since(
    label: str,
    created: datetime,
    current: Sequence[str],
    items: Sequence[ChangeItem],
) -> datetime | None:
    """When ``label`` first appeared on the issue (its creation if it was there from the start).

    Labels compare case-insensitively. Without label changes the current labels
    are the labels at creation (Jira does not log the values an issue is created with).
    """
    wanted = label.casefold()
    if items:
        if _has_label(items[0].from_string, wanted):
            return created
    else:
        for existing in current:
            if existing.casefold() == wanted:
                return created
    for item in items:
        if _has_label(item.to_string, wanted) and not _has_label(item.from_string, wanted):
            return item.created
    return None


def _type_since(
    types: frozenset[str], created: datetime, current: str, items: Sequence[ChangeItem]
) -> datetime | None:
    """When the issue first had one of ``types`` (casefolded) as its issue type."""
    initial = items[0].from_string if items else current
    if (initial or "").casefold() in types:
        return created
    for item in items:
        if (item.to_string or "").casefold() in types:
            return item.created
    return None


def _key_project(key: str | None) -> str | None:
    project = project_of(key)
    return None if project is None else project.casefold()


def _project_entry(
    created: datetime,
    current_project: str,
    projects: frozenset[str],
    moves: dict[str, list[ChangeItem]],
) -> datetime:
    """When the issue first arrived in one of the client's projects.

    A move writes a ``Key`` item (``OTHER-5`` → ``ACME-12``) and a ``project``
    item (project names and ids) into one history. Keys tell the project
    reliably; a ``project`` item alone is matched on key or, failing that, the
    last move is taken to be the one that brought the issue where it is now.
    """
    if not moves:
        return created
    histories = list(moves.values())
    currently_in = current_project.casefold() in projects
    arrivals: list[bool] = []
    departures: list[bool | None] = []
    for index, items in enumerate(histories):
        key_item = next((i for i in items if i.field.casefold() == "key"), None)
        project_item = next((i for i in items if i.field.casefold() != "key"), None)
        to_in: bool
        from_in: bool | None = None
        if key_item is not None and _key_project(key_item.to_string) is not None:
            to_in = _key_project(key_item.to_string) in projects
            from_in = _key_project(key_item.from_string) in projects
        elif project_item is not None:
            targets = {(project_item.to_string or "").casefold(), (project_item.to_id or "")}
            sources = {(project_item.from_string or "").casefold(), (project_item.from_id or "")}
            to_in = bool(targets & projects) or (index == len(histories) - 1 and currently_in)
            from_in = True if sources & projects else None
        else:
            to_in = False
        arrivals.append(to_in)
        departures.append(from_in)
    first_from = departures[0]
    born_in = first_from if first_from is not None else not arrivals[0]
    if born_in:
        return created
    for items, to_in in zip(histories, arrivals, strict=True):
        if to_in:
            return items[0].created
    return created


def _estimate_events(
    items: Sequence[ChangeItem],
    unit: ScopeUnit,
    current: float | None,
    divisor: float,
    updated: datetime,
) -> list[EstimateEvent]:
    """Estimate changes as deltas between consecutive values.

    Deltas follow the values the changelog moved *to*, not the from-values it
    repeats, so a history that records the same "none → 3" twice moves the
    estimate once. If the changelog does not end at the current value (a field
    Jira did not log), the difference is dated at the issue's last update.
    """
    if not items:
        return []
    events: list[EstimateEvent] = []
    previous = (_number(items[0].from_string, items[0].from_id) or 0.0) / divisor
    for item in items:
        value = (_number(item.to_string, item.to_id) or 0.0) / divisor
        if value != previous:
            events.append(EstimateEvent(to_utc(item.created), unit, value - previous))
        previous = value
    now = current or 0.0
    if abs(now - previous) > 1e-9:
        events.append(EstimateEvent(to_utc(max(updated, items[-1].created)), unit, now - previous))
    return events


def issue_facts(
    issue: Issue,
    contract: Contract,
    rules: WorkflowRules,
    statuses: Mapping[str, Status] | StatusIndex,
    story_points_field_id: str | None = None,
    *,
    scope_label: str | None = None,
    project_keys: Collection[str] = (),
) -> IssueFacts:
    """Read one issue's changelog into the dated facts the metrics need.

    ``statuses`` maps Jira status ids to the site's statuses (for categories);
    pass a :class:`StatusIndex` when reading many issues, it is much faster.
    ``scope_label``: when the client's scope is defined by a label, the moment the
    label first appeared is when the issue entered the scope. ``project_keys``:
    the client's Jira projects (default: the issue's own project); moving an
    issue into one of them after the baseline makes it added scope.
    """
    by_id = {ORIGINAL_ESTIMATE_FIELD: _ORIGINAL_ESTIMATE, "project": _MOVE}
    if story_points_field_id:
        by_id[story_points_field_id] = _POINTS
    # Index = kind; _OTHER, _STATUS and _MOVE slots stay unused.
    lists: tuple[list[ChangeItem], ...] = ([], [], [], [], [], [], [], [])
    status_items: list[ChangeItem] = []
    moves: dict[str, list[ChangeItem]] = {}
    kinds = _FIELD_KINDS
    for item in issue.changes:
        field_id = item.field_id
        if field_id == "status":
            status_items.append(item)
            continue
        kind = kinds.get(item.field)
        if kind is None:
            kind = _field_kind(item.field)
        if kind in (_OTHER, _STATUS):
            if field_id is None:
                # Model rule: a field named "status" is the status only without a field id.
                if kind == _STATUS:
                    status_items.append(item)
                continue
            kind = by_id.get(field_id, _OTHER)
            if kind == _OTHER:
                continue
        if kind == _MOVE:
            moves.setdefault(item.history_id, []).append(item)
        elif kind == _POINTS and field_id not in (None, story_points_field_id):
            # Matched by name, yet another field than the configured one: sites
            # can carry both "Story Points" and "Story point estimate", and
            # counting both would count each change twice.
            if story_points_field_id is None:
                lists[kind].append(item)
        else:
            lists[kind].append(item)
    label_items = _in_order(lists[_LABELS])
    type_items = _in_order(lists[_ISSUE_TYPE])
    resolution_items = _in_order(lists[_RESOLUTION])
    point_items = _in_order(lists[_POINTS])
    hour_items = _in_order(lists[_ORIGINAL_ESTIMATE])
    if len(moves) > 1:
        moves = dict(sorted(moves.items(), key=lambda pair: pair[1][0].created))

    projects = frozenset(k.casefold() for k in project_keys) or frozenset(
        {issue.project_key.casefold()}
    )
    entered = _project_entry(issue.created, issue.project_key, projects, moves)
    if scope_label:
        labelled = _label_since(scope_label, issue.created, issue.labels, label_items)
        # A label the history never shows cannot be dated; the sync found the issue
        # under the client's JQL, so count it from creation.
        if labelled is not None and labelled > entered:
            entered = labelled

    added_at = entered if entered >= contract.baseline else None
    approved_at: datetime | None = None
    if added_at is not None:
        approvals: list[datetime] = []
        types = _folded(contract.change_request_issue_types)
        if types:
            typed = _type_since(types, issue.created, issue.issue_type, type_items)
            if typed is not None:
                approvals.append(typed)
        if contract.change_request_label:
            labelled = _label_since(
                contract.change_request_label, issue.created, issue.labels, label_items
            )
            if labelled is not None:
                approvals.append(labelled)
        if approvals:
            approved_at = max(min(approvals), added_at)

    removed_at, reason = _removal(issue, rules, status_items, resolution_items)
    if removed_at is not None and removed_at < entered:
        removed_at = entered

    index = statuses if isinstance(statuses, StatusIndex) else StatusIndex(statuses)
    memo = index._memo(rules)
    # In UTC: comparing with a zone-aware contract moment would consult the zone
    # database for every revision.
    counted_from = to_utc(max(contract.start, entered))
    revisions: list[RevisionEvent] = []
    deliveries: list[datetime] = []
    delivered = index._delivery_memo(rules)
    for item in status_items:
        key = (item.from_id, item.from_string, item.to_id, item.to_string)
        into_delivery = delivered.get(key)
        if into_delivery is None:
            into_delivery = delivered[key] = index.is_delivery(rules, item.to_id, item.to_string)
        if into_delivery and item.history_id not in moves:
            deliveries.append(to_utc(item.created))
        try:
            verdict = memo[key]
        except KeyError:
            verdict = memo[key] = index._decide(rules, *key)
        # The verdict first: it is a dictionary hit, and most status changes are
        # not revisions, so the dearer checks below run for few of them.
        if verdict is None:
            continue
        # A move between projects can remap the status in the same history; that
        # is Jira's bookkeeping, not the client sending work back.
        if item.created < counted_from or item.history_id in moves:
            continue
        is_reopen, from_status, to_status = verdict
        revisions.append(
            RevisionEvent(
                at=to_utc(item.created),
                history_id=item.history_id,
                author_account=item.author_account,
                author_name=item.author_name,
                from_status=from_status,
                to_status=to_status,
                is_reopen=is_reopen,
            )
        )

    # Status changes were not re-sorted (they are most of the items); the few
    # revisions found are, in UTC, where comparing is cheap.
    for earlier, later in pairwise(revisions):
        if later.at < earlier.at:
            revisions.sort(key=lambda r: (r.at, history_number(r.history_id)))
            break
    if any(later < earlier for earlier, later in pairwise(deliveries)):
        deliveries.sort()

    hours_now = (
        None
        if issue.original_estimate_seconds is None
        else issue.original_estimate_seconds / _SECONDS_PER_HOUR
    )
    estimates = _estimate_events(
        point_items, ScopeUnit.STORY_POINTS, issue.story_points, 1.0, issue.updated
    ) + _estimate_events(hour_items, ScopeUnit.HOURS, hours_now, _SECONDS_PER_HOUR, issue.updated)
    estimates.sort(key=lambda e: e.at)

    return IssueFacts(
        key=issue.key,
        summary=issue.summary,
        issue_type=issue.issue_type,
        created=to_utc(issue.created),
        entered_at=to_utc(entered),
        added_at=None if added_at is None else to_utc(added_at),
        approved_at=None if approved_at is None else to_utc(approved_at),
        removed_at=None if removed_at is None else to_utc(removed_at),
        removal_reason=reason if removed_at is not None else None,
        revisions=tuple(revisions),
        estimate_events=tuple(estimates),
        story_points=issue.story_points,
        hours=hours_now,
        status=issue.status.name,
        resolution=issue.resolution,
        deliveries=tuple(deliveries),
    )


def _removal(
    issue: Issue,
    rules: WorkflowRules,
    status_items: Sequence[ChangeItem],
    resolution_items: Sequence[ChangeItem],
) -> tuple[datetime | None, RemovalReason | None]:
    """The earliest of: the sync finding the issue gone, its cancellation."""
    found: list[tuple[datetime, RemovalReason]] = []
    if issue.removed_at is not None:
        found.append((issue.removed_at, RemovalReason.GONE))
    cancelled = _folded(rules.cancelled_resolutions)
    # Only the current resolution counts: a cancellation later undone (the issue
    # reopened and resolved otherwise) no longer removes anything.
    if issue.resolution is not None and issue.resolution.casefold() in cancelled:
        when = next(
            (
                item.created
                for item in reversed(resolution_items)
                if (item.to_string or "").casefold() in cancelled
            ),
            None,
        )
        if when is None:
            # No logged resolution change: the last transition is the best date we have.
            when = max((i.created for i in status_items), default=issue.created)
        found.append((when, RemovalReason.CANCELLED))
    if not found:
        return None, None
    return min(found, key=lambda pair: pair[0])


def facts_fingerprint(
    contract: Contract,
    rules: WorkflowRules,
    statuses: Mapping[str, Status] | StatusIndex,
    story_points_field_id: str | None = None,
    *,
    scope_label: str | None = None,
    project_keys: Collection[str] = (),
) -> str:
    """A hash of every input besides the issue that :func:`issue_facts` depends on.

    Storage keeps it next to cached facts: when it changes (a new baseline, a
    renamed review status, a status moved to another category) every cached fact
    of the client must be recomputed, not only the issues a sync touched.
    """
    known = statuses.statuses if isinstance(statuses, StatusIndex) else statuses
    basis = {
        "v": FACTS_SCHEMA_VERSION,
        "start": contract.start.isoformat(),
        "baseline": contract.baseline.isoformat(),
        "change_request_label": contract.change_request_label,
        "change_request_issue_types": sorted(contract.change_request_issue_types),
        "review_statuses": sorted(rules.review_statuses),
        "cancelled_resolutions": sorted(rules.cancelled_resolutions),
        "statuses": sorted((s.id, s.name, s.category.value) for s in known.values()),
        "story_points_field_id": story_points_field_id,
        "scope_label": scope_label,
        "project_keys": sorted(project_keys),
    }
    encoded = json.dumps(basis, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(encoded).hexdigest()
