"""Per-issue facts: everything the metrics need from one issue, dated and cacheable.

:func:`scopeguard.domain.history.issue_facts` reads an issue's changelog once and
produces an :class:`IssueFacts`; the summary and the daily series are folds over
these facts. Storage caches them as JSON (``to_dict`` / ``from_dict``) and
recomputes only the issues a sync changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from scopeguard.domain.contract import ScopeUnit

FACTS_SCHEMA_VERSION = 2
"""Bumped whenever the meaning or shape of :class:`IssueFacts` changes, so cached
facts written by an older version are recomputed instead of misread."""


class RemovalReason(StrEnum):
    """Why an issue left the client's scope."""

    GONE = "deleted_or_moved"
    """The sync no longer finds it under the client's JQL (deleted or moved out)."""
    CANCELLED = "cancelled"
    """Resolved with a resolution the workflow rules list as cancelled (Won't Do, ...)."""


def _dt(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse_dt(value: Any) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError(f"cached facts hold a naive timestamp: {value!r}")
    return moment if moment.tzinfo is UTC else moment.astimezone(UTC)


def _req_dt(value: Any) -> datetime:
    moment = _parse_dt(value)
    if moment is None:
        raise ValueError("cached facts miss a required timestamp")
    return moment


@dataclass(frozen=True, slots=True)
class RevisionEvent:
    """One revision round: a status change sending delivered work back."""

    at: datetime
    history_id: str
    author_account: str | None
    author_name: str | None
    from_status: str
    to_status: str
    is_reopen: bool
    """The work left a done-category status (the client reopened accepted work)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (timestamp as ISO 8601 with offset)."""
        return {
            "at": self.at.isoformat(),
            "history_id": self.history_id,
            "author_account": self.author_account,
            "author_name": self.author_name,
            "from_status": self.from_status,
            "to_status": self.to_status,
            "is_reopen": self.is_reopen,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RevisionEvent:
        """Inverse of :meth:`to_dict`."""
        return cls(
            at=_req_dt(data["at"]),
            history_id=str(data["history_id"]),
            author_account=data.get("author_account"),
            author_name=data.get("author_name"),
            from_status=str(data["from_status"]),
            to_status=str(data["to_status"]),
            is_reopen=bool(data["is_reopen"]),
        )


@dataclass(frozen=True, slots=True)
class EstimateEvent:
    """A change of an issue's story points or original estimate.

    ``delta`` is in the unit's own terms: points for ``story_points``, hours for
    ``hours`` (Jira's seconds divided by 3600).
    """

    at: datetime
    unit: ScopeUnit
    delta: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"at": self.at.isoformat(), "unit": self.unit.value, "delta": self.delta}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EstimateEvent:
        """Inverse of :meth:`to_dict`."""
        return cls(
            at=_req_dt(data["at"]),
            unit=ScopeUnit(data["unit"]),
            delta=float(data["delta"]),
        )


@dataclass(frozen=True, slots=True)
class IssueFacts:
    """What one issue contributes to the metrics, with every fact dated.

    Facts depend on the contract (start, baseline, change-request rules), the
    workflow rules, the status list and the scope options they were computed
    with; see :func:`scopeguard.domain.history.facts_fingerprint`.

    Every moment is in UTC: one canonical form makes cached JSON independent of
    the zones Jira users wrote from and keeps comparisons on the fast path.
    Convert to the agency's zone for display.
    """

    key: str
    summary: str
    issue_type: str
    created: datetime
    entered_at: datetime
    """When the issue first came into the client's scope: its creation, or when it
    was moved into the client's project / got the scope label."""
    added_at: datetime | None
    """``entered_at`` when that is at or after the baseline; ``None`` for baseline scope."""
    approved_at: datetime | None
    """When an added issue became an approved change request; ``None`` if it never did
    (and always ``None`` for baseline scope)."""
    removed_at: datetime | None
    removal_reason: RemovalReason | None
    revisions: tuple[RevisionEvent, ...]
    """Counted revision rounds, oldest first (already limited to the contract period
    and to the time the issue was in the client's scope)."""
    estimate_events: tuple[EstimateEvent, ...]
    """Every story-point and original-estimate change, oldest first."""
    story_points: float | None
    """Current story points."""
    hours: float | None
    """Current original estimate in hours."""
    status: str
    resolution: str | None

    @property
    def approved(self) -> bool:
        """Whether this added issue is an approved change request (at any time)."""
        return self.approved_at is not None

    @property
    def is_added(self) -> bool:
        """Whether the issue is added scope rather than baseline scope."""
        return self.added_at is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; :meth:`from_dict` restores an equal object."""
        return {
            "v": FACTS_SCHEMA_VERSION,
            "key": self.key,
            "summary": self.summary,
            "issue_type": self.issue_type,
            "created": self.created.isoformat(),
            "entered_at": self.entered_at.isoformat(),
            "added_at": _dt(self.added_at),
            "approved": self.approved,
            "approved_at": _dt(self.approved_at),
            "removed_at": _dt(self.removed_at),
            "removal_reason": None if self.removal_reason is None else self.removal_reason.value,
            "revisions": [r.to_dict() for r in self.revisions],
            "estimate_events": [e.to_dict() for e in self.estimate_events],
            "story_points": self.story_points,
            "hours": self.hours,
            "status": self.status,
            "resolution": self.resolution,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IssueFacts:
        """Restore facts cached by :meth:`to_dict`.

        Raises ``ValueError`` for facts of another schema version: the caller
        should recompute them from the issue.
        """
        version = data.get("v")
        if version != FACTS_SCHEMA_VERSION:
            raise ValueError(f"cached facts have schema version {version!r}")
        reason = data.get("removal_reason")
        points = data.get("story_points")
        hours = data.get("hours")
        return cls(
            key=str(data["key"]),
            summary=str(data["summary"]),
            issue_type=str(data["issue_type"]),
            created=_req_dt(data["created"]),
            entered_at=_req_dt(data["entered_at"]),
            added_at=_parse_dt(data.get("added_at")),
            approved_at=_parse_dt(data.get("approved_at")),
            removed_at=_parse_dt(data.get("removed_at")),
            removal_reason=None if reason is None else RemovalReason(reason),
            revisions=tuple(RevisionEvent.from_dict(r) for r in data.get("revisions", ())),
            estimate_events=tuple(
                EstimateEvent.from_dict(e) for e in data.get("estimate_events", ())
            ),
            story_points=None if points is None else float(points),
            hours=None if hours is None else float(hours),
            status=str(data["status"]),
            resolution=data.get("resolution"),
        )


# --- the compact storage form ---------------------------------------------------
#
# ``to_dict`` is the readable form; storage keeps facts as positional rows with
# timestamps as integer microseconds since the epoch. Rebuilding 20,000 issues'
# facts is the bulk of computing a client's summary and series after a sync,
# and rows decode in about half the time of keyed ISO-timestamp documents.

_FROM_TS = datetime.fromtimestamp


def _us(moment: datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _at(micros: int) -> datetime:
    # Microseconds below 2**53 are exact as a float, and fromtimestamp rounds to
    # the nearest microsecond, so this restores the very instant that was stored.
    return _FROM_TS(micros / 1_000_000, UTC)


def _at_or_none(micros: int | None) -> datetime | None:
    return None if micros is None else _FROM_TS(micros / 1_000_000, UTC)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_UNITS = {unit.value: unit for unit in ScopeUnit}


def facts_to_row(facts: IssueFacts) -> list[Any]:
    """The compact, JSON-ready storage form of ``facts`` (see :func:`facts_from_row`)."""
    return [
        FACTS_SCHEMA_VERSION,
        facts.key,
        facts.summary,
        facts.issue_type,
        _us(facts.created),
        _us(facts.entered_at),
        None if facts.added_at is None else _us(facts.added_at),
        None if facts.approved_at is None else _us(facts.approved_at),
        None if facts.removed_at is None else _us(facts.removed_at),
        None if facts.removal_reason is None else facts.removal_reason.value,
        [
            [
                _us(r.at),
                r.history_id,
                r.author_account,
                r.author_name,
                r.from_status,
                r.to_status,
                r.is_reopen,
            ]
            for r in facts.revisions
        ],
        [[_us(e.at), e.unit.value, e.delta] for e in facts.estimate_events],
        facts.story_points,
        facts.hours,
        facts.status,
        facts.resolution,
    ]


def facts_from_row(row: list[Any]) -> IssueFacts:
    """Rebuild facts stored by :func:`facts_to_row`.

    Raises ``ValueError`` for a row of another schema version (recompute it).
    """
    if not row or row[0] != FACTS_SCHEMA_VERSION:
        raise ValueError(f"cached facts row has schema version {row[:1]!r}")
    (
        _version,
        key,
        summary,
        issue_type,
        created,
        entered,
        added,
        approved,
        removed,
        reason,
        revisions,
        estimates,
        points,
        hours,
        status,
        resolution,
    ) = row
    revision = RevisionEvent
    units = _UNITS
    return IssueFacts(
        key=key,
        summary=summary,
        issue_type=issue_type,
        created=_at(created),
        entered_at=_at(entered),
        added_at=_at_or_none(added),
        approved_at=_at_or_none(approved),
        removed_at=_at_or_none(removed),
        removal_reason=None if reason is None else RemovalReason(reason),
        revisions=tuple(revision(_at(r[0]), r[1], r[2], r[3], r[4], r[5], r[6]) for r in revisions),
        estimate_events=tuple(EstimateEvent(_at(e[0]), units[e[1]], e[2]) for e in estimates),
        story_points=points,
        hours=hours,
        status=status,
        resolution=resolution,
    )
