"""The signals' names, sides, weights and the shape of one measurement with its evidence.

Every signal is a pure function of a client's activity and a time window that
returns a :class:`Measurement`: its value (higher is always worse), how many
observations it rests on, a few details, and the events behind it. The score
(:mod:`scopeguard.domain.risk.score`) compares values across clients.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

from scopeguard.domain.risk.people import Side


class SignalName(StrEnum):
    """The ten signals, client side first; the names are the API's keys."""

    OFF_HOURS = "off_hours"
    VAGUE_BRIEFS = "vague_briefs"
    REVISION_CHURN = "revision_churn"
    REQUIREMENT_CHURN = "requirement_churn"
    ESCALATION = "escalation"
    APPROVAL_DRAG = "approval_drag"
    SCOPE_PRESSURE = "scope_pressure"
    PM_CHANGE_REQUEST = "pm_change_request"
    RESPONSIVENESS = "responsiveness"
    NEGLECT = "neglect"


SIDE_OF: Mapping[SignalName, Side] = {
    **{name: Side.CLIENT for name in SignalName},
    SignalName.RESPONSIVENESS: Side.AGENCY,
    SignalName.NEGLECT: Side.AGENCY,
}
"""Which half of "what happened" each signal describes."""

CLIENT_SIGNALS = tuple(name for name in SignalName if SIDE_OF[name] is Side.CLIENT)
AGENCY_SIGNALS = tuple(name for name in SignalName if SIDE_OF[name] is Side.AGENCY)

DEFAULT_WEIGHTS: Mapping[SignalName, float] = {
    SignalName.OFF_HOURS: 1.0,
    SignalName.VAGUE_BRIEFS: 1.0,
    SignalName.REVISION_CHURN: 2.0,
    SignalName.REQUIREMENT_CHURN: 1.0,
    SignalName.ESCALATION: 1.0,
    SignalName.APPROVAL_DRAG: 1.0,
    SignalName.SCOPE_PRESSURE: 2.0,
    SignalName.PM_CHANGE_REQUEST: 1.0,
    SignalName.RESPONSIVENESS: 1.0,
    SignalName.NEGLECT: 1.0,
}
"""Weights within each half (``risk.weights`` overrides them). Revision churn and scope
pressure weigh double: they are what a demanding client costs in hours."""

MIN_SPREAD: Mapping[SignalName, float] = {
    SignalName.OFF_HOURS: 0.05,
    SignalName.VAGUE_BRIEFS: 0.05,
    SignalName.REVISION_CHURN: 0.25,
    SignalName.REQUIREMENT_CHURN: 0.1,
    SignalName.ESCALATION: 0.05,
    SignalName.APPROVAL_DRAG: 2.0,
    SignalName.SCOPE_PRESSURE: 1.0,
    SignalName.PM_CHANGE_REQUEST: 0.5,
    SignalName.RESPONSIVENESS: 1.0,
    SignalName.NEGLECT: 0.1,
}
"""The smallest spread a signal is normalised with, in its own unit (a share, hours,
percentage points a week, requests). When the other clients all look alike their
MAD is 0, and a difference must still be a meaningful one before it counts."""


class EvidenceKind(StrEnum):
    """What kind of event a piece of evidence is."""

    ISSUE_CREATED = "issue_created"
    COMMENT = "comment"
    COMMENT_EDITED = "comment_edited"
    STATUS_CHANGE = "status_change"
    PRIORITY_CHANGE = "priority_change"
    DUE_DATE_CHANGE = "due_date_change"
    DESCRIPTION_EDIT = "description_edit"
    SUMMARY_EDIT = "summary_edit"
    VAGUE_BRIEF = "vague_brief"
    REVISION = "revision"
    REVIEW_WAIT = "review_wait"
    SCOPE_ADDED = "scope_added"
    RESPONSE_WAIT = "response_wait"
    UNANSWERED = "unanswered"
    NEGLECTED_DAY = "neglected_day"


@dataclass(frozen=True, slots=True)
class Evidence:
    """One event behind a figure: which issue, when, what, and the words if it has any."""

    issue: str
    at: datetime
    """When it happened (aware; shown in the agency's zone)."""
    kind: EvidenceKind
    text: str | None = None
    """The quoted words (a comment, a description), cut around what matters."""
    marks: tuple[tuple[int, int], ...] = ()
    """Character spans of ``text`` to mark: the vague phrase, the request."""
    actor: str | None = None
    """Who did it (display name where known, else the account)."""
    detail: str | None = None
    """What changed: ``High → Highest``, ``Client Review → In Progress``, a reason."""
    hours: float | None = None
    """For waits: working hours waited."""
    comment_id: str | None = None
    """For comments: Jira's comment id (the link focuses it)."""


@dataclass(frozen=True, slots=True)
class Measurement:
    """One signal of one client over one window."""

    value: float | None
    """Higher is worse; ``None``: nothing to measure in the window (never a division by zero)."""
    basis: int = 0
    """How many observations the value rests on (actions, issues, waits, days)."""
    details: Mapping[str, float | None] = field(default_factory=dict)
    evidence: tuple[Evidence, ...] = ()


NOTHING = Measurement(None)


@dataclass(frozen=True, slots=True)
class Window:
    """A span of time signals are measured over: ``[start, end)`` in UTC."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("a window needs aware moments")

    @property
    def since(self) -> float:
        """The start as a POSIX timestamp."""
        return self.start.timestamp()

    @property
    def until(self) -> float:
        """The end as a POSIX timestamp."""
        return self.end.timestamp()

    def contains(self, moment: datetime) -> bool:
        """Whether ``moment`` falls in the window."""
        return self.start <= moment < self.end

    def weeks(self, zone: ZoneInfo) -> float:
        """The window's length in weeks of the agency's calendar.

        Wall-clock time between the two local moments, so a Monday-to-Monday
        week is exactly one week even when it holds a change of the clocks.
        """
        start = self.start.astimezone(zone).replace(tzinfo=None)
        end = self.end.astimezone(zone).replace(tzinfo=None)
        return max(0.0, (end - start).total_seconds() / (7 * 86400))

    def clipped(self, start: datetime) -> Window:
        """The window starting no earlier than ``start`` (empty windows keep ``end``)."""
        return Window(min(max(self.start, start), self.end), self.end)


def utc(moment: datetime) -> datetime:
    """``moment`` in UTC (aware only)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return moment.astimezone(UTC)


EVIDENCE_LIMIT = 20
"""At most this many pieces of evidence per signal, the most telling first; ``basis`` says
how many observations there were in all."""


class Prepared(Protocol):
    """A signal read from one client's activity once, measured over any window."""

    def measure(self, window: Window, *, evidence: bool = True) -> Measurement:
        """The signal over ``window``; ``evidence=False`` skips collecting the events."""
        ...
