"""The facts ScopeGuard reasons about: Jira issues, their change items and statuses.

Everything here is plain data, independent of how it was fetched or stored. The
metrics (revisions, reopens, added scope, creep) are functions over these types
and live in :mod:`scopeguard.domain.metrics`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from itertools import pairwise

import msgspec


class StatusCategory(StrEnum):
    """Jira's three status categories. Done-ness is the category, never the name."""

    NEW = "new"
    INDETERMINATE = "indeterminate"
    DONE = "done"

    @classmethod
    def from_jira(cls, key: str | None) -> StatusCategory:
        """Map a ``statusCategory.key`` to a category; ``undefined`` counts as new."""
        if key == "done":
            return cls.DONE
        if key == "indeterminate":
            return cls.INDETERMINATE
        return cls.NEW


@dataclass(frozen=True, slots=True)
class Status:
    """A workflow status of the Jira site, as ``/rest/api/3/status`` lists it."""

    id: str
    name: str
    category: StatusCategory


class ChangeItem(msgspec.Struct, frozen=True, gc=False):
    """One field change inside one changelog history (one history can change several fields).

    A frozen ``msgspec.Struct`` rather than a frozen dataclass, for one reason: a sync
    builds one per change item (800,000 for 20,000 issues with 30 histories), and a
    frozen dataclass's ``__init__`` sets each of its ten fields through
    ``object.__setattr__``, which made building them 1.0 s of a sync's CPU; a Struct
    is built in C (0.1 s). Its fields hold only text and datetimes, so it can stay
    out of the garbage collector's lists (``gc=False``): each collection then has
    800,000 fewer objects to walk. It is as immutable, hashable and comparable as the
    dataclass was.
    """

    history_id: str
    created: datetime
    """When the history was recorded; always timezone-aware."""
    field: str
    """Field name as Jira writes it in the changelog (``status``, ``labels``, ``Story Points``)."""
    field_id: str | None = None
    from_id: str | None = None
    from_string: str | None = None
    to_id: str | None = None
    to_string: str | None = None
    author_account: str | None = None
    author_name: str | None = None

    def __post_init__(self) -> None:
        if self.created.tzinfo is None:
            raise ValueError(f"change item {self.history_id} has a naive timestamp")

    @property
    def is_status_change(self) -> bool:
        return self.field_id == "status" or (self.field_id is None and self.field == "status")


@dataclass(frozen=True, slots=True)
class Comment:
    """A comment: who wrote it when, and, where the sync read them, its text, edit and visibility.

    The scope metrics need only the author and the moment; the client-risk
    signals (:mod:`scopeguard.domain.risk`) read the rest.
    """

    id: str
    created: datetime
    author_account: str | None = None
    author_name: str | None = None
    body: str | None = None
    """The text as plain text: Cloud's Atlassian document turned into text, Data
    Center's wiki markup as it is; ``None`` when the sync did not read it."""
    updated: datetime | None = None
    """When the comment was last edited; ``None`` or ``created`` if it never was."""
    update_author_account: str | None = None
    """Who edited it last (Jira keeps only the last edit)."""
    internal: bool = False
    """Not visible to the client: a service-desk internal note (``jsdPublic: false``)
    or a comment restricted to a role or group. Only the agency writes those."""

    def __post_init__(self) -> None:
        if self.created.tzinfo is None or (
            self.updated is not None and self.updated.tzinfo is None
        ):
            raise ValueError(f"comment {self.id} has a naive timestamp")

    @property
    def edited(self) -> bool:
        """Whether the comment was changed after it was written.

        Jira stamps ``updated`` a moment after ``created`` on some writes, so an
        edit is a change more than a minute later.
        """
        return self.updated is not None and (self.updated - self.created).total_seconds() > 60


@dataclass(frozen=True, slots=True)
class Issue:
    """A Jira issue as ScopeGuard sees it: current fields plus its complete change history."""

    key: str
    id: str
    project_key: str
    issue_type: str
    summary: str
    created: datetime
    updated: datetime
    status: Status
    labels: tuple[str, ...] = ()
    resolution: str | None = None
    story_points: float | None = None
    original_estimate_seconds: int | None = None
    reporter_account: str | None = None
    reporter_name: str | None = None
    changes: tuple[ChangeItem, ...] = field(default=())
    """Every change item of the issue, sorted by ``created`` then history id."""
    comments: tuple[Comment, ...] = ()
    removed_at: datetime | None = None
    """When ScopeGuard found the issue deleted or moved out of the client's JQL."""
    description: str | None = None
    """The current description as plain text (see :attr:`Comment.body`); ``None`` when
    empty or not read. Its earlier versions are in the ``description`` change items."""
    priority: str | None = None
    """The current priority's name (``High``); earlier ones are in ``priority`` change items."""
    due_date: date | None = None
    assignee_account: str | None = None
    creator_account: str | None = None
    """Who created the issue; ``None``: take the reporter (usually the same person)."""

    def __post_init__(self) -> None:
        if self.created.tzinfo is None or self.updated.tzinfo is None:
            raise ValueError(f"issue {self.key} has a naive timestamp")

    @property
    def status_changes(self) -> tuple[ChangeItem, ...]:
        return tuple(c for c in self.changes if c.is_status_change)

    @property
    def created_by(self) -> str | None:
        """The account that created the issue: the creator, else the reporter."""
        return self.creator_account if self.creator_account is not None else self.reporter_account


def sort_changes(items: list[ChangeItem]) -> tuple[ChangeItem, ...]:
    """Order change items chronologically.

    Cloud answers newest first and Data Center oldest first; ids are numeric
    strings that grow over time, so they break ties between histories written in
    the same millisecond. Items of one history keep their order.
    """
    if in_change_order(items):
        # The usual case (Data Center and bulkfetch answer oldest first), checked
        # at a fifth of what sorting costs.
        return tuple(items)

    def key(item: ChangeItem) -> tuple[datetime, int, str]:
        return (item.created, history_number(item.history_id), item.history_id)

    return tuple(sorted(items, key=key))


def history_number(history_id: str) -> int:
    """A history id's place in time: ids are numeric strings that grow (0 for others)."""
    return int(history_id) if history_id.isdigit() else 0


def in_change_order(items: Sequence[ChangeItem]) -> bool:
    """Whether ``items`` already are in :func:`sort_changes`'s order."""
    for earlier, later in pairwise(items):
        if earlier.created < later.created:
            continue
        if earlier.created > later.created:
            return False
        # One moment: one history's items keep their order, two histories' ids decide.
        if earlier.history_id != later.history_id and (
            history_number(earlier.history_id),
            earlier.history_id,
        ) > (history_number(later.history_id), later.history_id):
            return False
    return True
