"""The scope ledger: each issue's facts as dated amounts moving between buckets.

This is the one place that turns facts into scope amounts. The summary folds an
issue's entries up to a moment; the daily series folds all entries day by day.
Because both read the same entries they agree exactly, and because amounts are
kept as integers (thousandths of a point, seconds) the order of addition cannot
make them differ in the last decimal.
"""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum

from scopeguard.domain.contract import Contract, ScopeUnit
from scopeguard.domain.facts import IssueFacts
from scopeguard.domain.timeparse import to_utc


class Bucket(IntEnum):
    """Where an amount of scope currently sits."""

    BASELINE = 0
    """Scope that was in the contract at the baseline (as estimated then)."""
    ADDED = 1
    """Added after the baseline and not approved: creep."""
    APPROVED = 2
    """Added after the baseline as an approved change request: scope, not creep."""
    INFLATION = 3
    """Estimate growth of baseline issues after the baseline: creep."""
    REMOVED = 4
    """Removed after the baseline. Reported beside the others, never subtracted."""


UNITS: tuple[ScopeUnit, ...] = (ScopeUnit.ISSUES, ScopeUnit.STORY_POINTS, ScopeUnit.HOURS)
UNIT_INDEX: dict[ScopeUnit, int] = {unit: index for index, unit in enumerate(UNITS)}
SCALE: dict[ScopeUnit, int] = {
    ScopeUnit.ISSUES: 1,
    ScopeUnit.STORY_POINTS: 1000,
    ScopeUnit.HOURS: 3600,
}
"""Integer quanta per unit: one issue, a thousandth of a point, one second."""

_ISSUES = 0
_SP = 1
_HOURS = 2
_BASELINE = int(Bucket.BASELINE)
_ADDED = int(Bucket.ADDED)
_APPROVED = int(Bucket.APPROVED)
_INFLATION = int(Bucket.INFLATION)
_REMOVED = int(Bucket.REMOVED)

Entry = tuple[datetime, int, int, int]
"""``(at, bucket, unit, qty)``: ``qty`` quanta of ``UNITS[unit]`` enter ``Bucket(bucket)``
at ``at``. Plain tuples: a summary of a large project makes hundreds of thousands."""

Totals = list[list[int]]
"""``totals[bucket][unit]`` in quanta."""


def empty_totals() -> Totals:
    """All buckets at zero."""
    return [[0, 0, 0] for _ in Bucket]


_Steps = list[tuple[datetime, int]]
_SP_SCALE = SCALE[ScopeUnit.STORY_POINTS]
_HOURS_SCALE = SCALE[ScopeUnit.HOURS]


def _timelines(
    facts: IssueFacts, until: datetime | None
) -> tuple[tuple[int, int, _Steps], tuple[int, int, _Steps]]:
    """Story points and hours over time: ``(unit, value before any change, changes)``.

    Values are in quanta. The current value anchors each timeline; the value
    before the first change is what the changes add up to backwards from it.
    Changes after ``until`` (the removal) are dropped.
    """
    points: _Steps = []
    hours: _Steps = []
    for event in facts.estimate_events:
        if event.unit is ScopeUnit.STORY_POINTS:
            points.append((event.at, round(event.delta * _SP_SCALE)))
        elif event.unit is ScopeUnit.HOURS:
            hours.append((event.at, round(event.delta * _HOURS_SCALE)))
    points_before = round((facts.story_points or 0.0) * _SP_SCALE) - sum(q for _, q in points)
    hours_before = round((facts.hours or 0.0) * _HOURS_SCALE) - sum(q for _, q in hours)
    if until is not None:
        points = [(at, q) for at, q in points if at <= until]
        hours = [(at, q) for at, q in hours if at <= until]
    return (_SP, points_before, points), (_HOURS, hours_before, hours)


def _value(initial: int, steps: _Steps, at: datetime) -> int:
    value = initial
    for when, q in steps:
        if when > at:
            break  # steps are oldest first
        value += q
    return value


def entries(facts: IssueFacts, contract: Contract) -> list[Entry]:
    """Every dated movement of one issue's scope between buckets, in all three units.

    Baseline issue: its amount joins BASELINE when it enters the scope, estimate
    changes before the baseline adjust BASELINE, estimate growth from the
    baseline on is INFLATION (net of later decreases, never below zero per
    issue). Removed before the baseline it leaves BASELINE again (it was never
    part of the contract); removed after, its amount at removal is recorded in
    REMOVED.

    Added issue: its amount joins ADDED (or APPROVED when it arrived approved)
    when it enters, follows its estimate changes, moves from ADDED to APPROVED at
    approval, and is recorded in REMOVED when removed while staying where it
    was: a removal is never netted off creep.

    Estimate changes after a removal are ignored. Zero amounts are left out.
    """
    entered = facts.entered_at
    removed = facts.removed_at
    lines: tuple[tuple[int, int, _Steps], ...]
    if facts.estimate_events:
        lines = _timelines(facts, removed)
    else:
        # The common case: estimates never changed, each value is constant.
        lines = (
            (_SP, round((facts.story_points or 0.0) * _SP_SCALE), []),
            (_HOURS, round((facts.hours or 0.0) * _HOURS_SCALE), []),
        )
    out: list[Entry] = []

    if facts.added_at is None:
        baseline = to_utc(contract.baseline)
        out.append((entered, _BASELINE, _ISSUES, 1))
        for unit, initial, steps in lines:
            out.append((entered, _BASELINE, unit, _value(initial, steps, entered)))
            net = 0
            for at, q in steps:
                if at <= entered:
                    continue
                if at < baseline:
                    out.append((at, _BASELINE, unit, q))
                    continue
                grown = max(0, net + q) - max(0, net)
                net += q
                if grown:
                    out.append((at, _INFLATION, unit, grown))
        if removed is not None:
            if removed < baseline:
                out.append((removed, _BASELINE, _ISSUES, -1))
                for unit, initial, steps in lines:
                    out.append((removed, _BASELINE, unit, -_value(initial, steps, removed)))
            else:
                out.append((removed, _REMOVED, _ISSUES, 1))
                for unit, initial, steps in lines:
                    out.append((removed, _REMOVED, unit, _value(initial, steps, removed)))
        return [e for e in out if e[3]]

    approved = facts.approved_at
    if approved is not None and approved < entered:
        approved = entered
    first = _APPROVED if approved == entered else _ADDED
    out.append((entered, first, _ISSUES, 1))
    for unit, initial, steps in lines:
        out.append((entered, first, unit, _value(initial, steps, entered)))
        for at, q in steps:
            if at > entered:
                later = approved is not None and at > approved
                out.append((at, _APPROVED if later else _ADDED, unit, q))
    if approved is not None and first == _ADDED:
        out.append((approved, _ADDED, _ISSUES, -1))
        out.append((approved, _APPROVED, _ISSUES, 1))
        for unit, initial, steps in lines:
            moved = _value(initial, steps, approved)
            out.append((approved, _ADDED, unit, -moved))
            out.append((approved, _APPROVED, unit, moved))
    if removed is not None:
        out.append((removed, _REMOVED, _ISSUES, 1))
        for unit, initial, steps in lines:
            out.append((removed, _REMOVED, unit, _value(initial, steps, removed)))
    return [e for e in out if e[3]]


def creep_quanta(totals: Totals, unit: ScopeUnit) -> int:
    """Creep: unapproved added scope plus estimate inflation (zero for issues)."""
    index = UNIT_INDEX[unit]
    return totals[Bucket.ADDED][index] + totals[Bucket.INFLATION][index]


def amount(unit: ScopeUnit, quanta: int) -> float:
    """Quanta as the unit's amount, rounded to 2 decimals (issues as a whole number)."""
    if unit is ScopeUnit.ISSUES:
        return quanta
    return round(quanta / SCALE[unit], 2) + 0.0  # + 0.0 turns -0.0 into 0.0


def creep_percent(totals: Totals, unit: ScopeUnit, contracted: float) -> float | None:
    """Creep as a percentage of the contracted amount, rounded to 1 decimal.

    ``None`` when nothing is contracted in the unit (no meaningful base).
    """
    if contracted <= 0:
        return None
    creep = creep_quanta(totals, unit) / SCALE[unit]
    return round(creep / contracted * 100, 1) + 0.0
