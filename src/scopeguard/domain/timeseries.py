"""The daily series: the project's state at the end of each agency day.

One sweep: every ledger entry and revision is dropped into the day it happened
(agency time zone), then the days are walked once keeping running totals. No
day rescans the issues, so the cost is linear in events plus days.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from scopeguard.domain.contract import Contract, ScopeUnit
from scopeguard.domain.facts import IssueFacts
from scopeguard.domain.ledger import (
    UNIT_INDEX,
    UNITS,
    Bucket,
    Entry,
    Totals,
    amount,
    creep_percent,
    creep_quanta,
    empty_totals,
    entries,
)
from scopeguard.domain.timeparse import start_of_day


def end_of_day(day: date, zone: ZoneInfo) -> datetime:
    """The last microsecond of ``day`` in ``zone``.

    ``summarize(facts, contract, end_of_day(d, zone))`` equals the series point
    of day ``d``. Computed in UTC so a zone whose clocks change at midnight
    cannot produce a wall time that does not exist.
    """
    next_start = start_of_day(day + timedelta(days=1), zone).astimezone(UTC)
    return (next_start - timedelta(microseconds=1)).astimezone(zone)


@dataclass(frozen=True, slots=True)
class UnitPoint:
    """Scope amounts in one unit at the end of a day."""

    baseline: float
    added: float
    """Unapproved added scope."""
    approved: float
    inflation: float
    creep: float
    """``added + inflation``."""
    removed: float
    creep_percent: float | None


@dataclass(frozen=True, slots=True)
class DayPoint:
    """The state at the end of one calendar day in the agency's time zone."""

    day: date
    units: Mapping[ScopeUnit, UnitPoint]
    """One entry per unit the contract names."""
    revisions: int
    """Revision rounds so far (cumulative)."""
    reopens: int
    """Reopens so far (cumulative)."""
    logged_hours: float = 0.0
    """Hours logged so far (cumulative; :func:`scopeguard.domain.effort.daily_logged_hours`)."""


@dataclass(frozen=True, slots=True)
class DailySeries:
    """A client's daily series: the state at the end of each agency day, oldest first."""

    timezone: ZoneInfo
    """The agency's zone, whose calendar the days follow."""
    units: tuple[ScopeUnit, ...]
    """The units the contract names, in headline order."""
    days: tuple[DayPoint, ...]

    @property
    def latest(self) -> DayPoint | None:
        """The last day's point (``None`` before the contract starts)."""
        return self.days[-1] if self.days else None


def _unit_point(totals: Totals, unit: ScopeUnit, contracted: float) -> UnitPoint:
    index = UNIT_INDEX[unit]
    return UnitPoint(
        baseline=amount(unit, totals[Bucket.BASELINE][index]),
        added=amount(unit, totals[Bucket.ADDED][index]),
        approved=amount(unit, totals[Bucket.APPROVED][index]),
        inflation=amount(unit, totals[Bucket.INFLATION][index]),
        creep=amount(unit, creep_quanta(totals, unit)),
        removed=amount(unit, totals[Bucket.REMOVED][index]),
        creep_percent=creep_percent(totals, unit, contracted),
    )


def daily_series(
    facts: Iterable[IssueFacts], contract: Contract, tz: ZoneInfo, until: date
) -> list[DayPoint]:
    """One point per agency day from the contract's start to ``min(until, contract end)``.

    Each point is the state at the end of that day: the same figures
    :func:`~scopeguard.domain.metrics.summarize` gives at :func:`end_of_day`.
    Events before the first day are part of the first point.
    """
    return series_of_ledger(
        ((issue, entries(issue, contract)) for issue in facts), contract, tz, until
    )


def series_of_ledger(
    ledger: Iterable[tuple[IssueFacts, list[Entry]]], contract: Contract, tz: ZoneInfo, until: date
) -> list[DayPoint]:
    """:func:`daily_series` from issues' ledger entries already computed."""
    first = contract.start.astimezone(tz).date()
    last = until
    if contract.end is not None:
        last = min(last, contract.end.astimezone(tz).date())
    if last < first:
        return []
    days = (last - first).days + 1
    # bounds[i] is the instant day i ends (the next midnight); timestamps are exact
    # enough: a float near 2e9 s resolves 0.24 µs, finer than datetime's 1 µs.
    bounds = [start_of_day(first + timedelta(days=i + 1), tz).timestamp() for i in range(days)]
    horizon = bounds[-1]
    per_day: list[Totals] = [empty_totals() for _ in range(days)]
    revisions = [0] * days
    reopens = [0] * days
    for issue, issue_entries in ledger:
        last_at: datetime | None = None
        day: Totals | None = None
        for at, bucket, unit, qty in issue_entries:
            # An issue's entries mostly share a moment (three units at once);
            # converting each moment once halves the cost of the sweep.
            if at is not last_at:
                last_at = at
                moment = at.timestamp()
                day = per_day[bisect_right(bounds, moment)] if moment < horizon else None
            if day is not None:
                day[bucket][unit] += qty
        for event in issue.revisions:
            moment = event.at.timestamp()
            if moment >= horizon:
                break  # oldest first: the rest are later still
            index = bisect_right(bounds, moment)
            revisions[index] += 1
            reopens[index] += event.is_reopen

    named = [unit for unit in UNITS if unit in contract.scope]
    running = empty_totals()
    revision_count = reopen_count = 0
    series: list[DayPoint] = []
    for index in range(days):
        today = per_day[index]
        for bucket in Bucket:
            row, delta = running[bucket], today[bucket]
            for unit in range(len(UNITS)):
                row[unit] += delta[unit]
        revision_count += revisions[index]
        reopen_count += reopens[index]
        series.append(
            DayPoint(
                day=first + timedelta(days=index),
                units={unit: _unit_point(running, unit, contract.scope[unit]) for unit in named},
                revisions=revision_count,
                reopens=reopen_count,
            )
        )
    return series
