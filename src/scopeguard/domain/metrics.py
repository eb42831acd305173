"""The metrics engine: scope creep, revisions, reopens, overage and health.

Pipeline, designed so storage can cache the expensive part per issue:

1. :func:`issue_facts` (one issue → :class:`IssueFacts`, JSON-cacheable);
2. :func:`summarize` (all facts + contract + moment → :class:`ScopeSummary`);
3. :func:`daily_series` (all facts → one :class:`DayPoint` per agency day).

Every function takes the moment to look at, so the same code answers "what is
the state now" and "what was it on 3 October". The definitions are written in
``docs/metrics.md``; per-issue ones live in :mod:`scopeguard.domain.history`,
scope amounts in :mod:`scopeguard.domain.ledger`, the rest here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from scopeguard.domain.contract import Contract, ScopeUnit
from scopeguard.domain.facts import (
    FACTS_SCHEMA_VERSION,
    EstimateEvent,
    IssueFacts,
    RemovalReason,
    RevisionEvent,
)
from scopeguard.domain.health import Health, HealthFinding, HealthReport, assess_health
from scopeguard.domain.history import StatusIndex, facts_fingerprint, issue_facts
from scopeguard.domain.keys import sorted_keys
from scopeguard.domain.ledger import (
    SCALE,
    UNIT_INDEX,
    UNITS,
    Bucket,
    Entry,
    amount,
    creep_percent,
    creep_quanta,
    empty_totals,
    entries,
)
from scopeguard.domain.timeparse import to_utc
from scopeguard.domain.timeseries import (
    DayPoint,
    UnitPoint,
    daily_series,
    end_of_day,
    series_of_ledger,
)

__all__ = [
    "FACTS_SCHEMA_VERSION",
    "ContractWindow",
    "DayPoint",
    "EstimateEvent",
    "Health",
    "HealthFinding",
    "HealthReport",
    "IssueFacts",
    "Overage",
    "RemovalReason",
    "ReopenFigures",
    "RevisionEvent",
    "RevisionFigures",
    "RevisionRound",
    "ScopeFigures",
    "ScopeSummary",
    "StatusIndex",
    "UnitFigures",
    "UnitPoint",
    "assess_health",
    "daily_series",
    "end_of_day",
    "facts_fingerprint",
    "issue_evidence",
    "issue_facts",
    "summarize",
]


@dataclass(frozen=True, slots=True)
class ContractWindow:
    """The contract's moments, as the summary reports them."""

    start: datetime
    end: datetime | None
    baseline: datetime


@dataclass(frozen=True, slots=True)
class UnitFigures:
    """Scope figures in one unit the contract names."""

    contracted: float
    added: float
    """Unapproved added scope."""
    approved: float
    """Approved change requests."""
    inflation: float
    """Estimate growth of baseline issues after the baseline."""
    creep: float
    """``added + inflation``."""
    creep_percent: float | None
    baseline: float = 0.0
    """Scope in the contract at the baseline, as estimated then."""
    removed: float = 0.0
    """Removed since the baseline (reported beside the rest, never subtracted)."""

    @property
    def in_scope(self) -> float:
        """Baseline + approved changes + creep: the scope being delivered (the chart's top)."""
        return round(self.baseline + self.approved + self.creep, 3) + 0.0


@dataclass(frozen=True, slots=True)
class ScopeFigures:
    """Scope section of the summary; the headline figures are in ``unit``."""

    unit: ScopeUnit
    contracted: float
    baseline_issues: int
    added: tuple[str, ...]
    """Keys of unapproved added issues (creep), naturally sorted."""
    approved_changes: tuple[str, ...]
    removed: tuple[str, ...]
    creep: float
    creep_percent: float | None
    by_unit: Mapping[ScopeUnit, UnitFigures]


@dataclass(frozen=True, slots=True)
class RevisionFigures:
    """Revision rounds up to the summary's moment."""

    total: int
    per_issue_limit: int
    by_issue: Mapping[str, int]
    """Issues with at least one revision, naturally sorted."""
    over_limit: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ReopenFigures:
    """Reopens (revisions out of a done-category status) up to the summary's moment."""

    total: int
    by_issue: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class Overage:
    """What the work beyond the contract is worth (see ``docs/metrics.md``)."""

    amount: float
    currency: str
    rounds: int
    """Revision rounds beyond the per-issue allowance, summed over issues."""
    hours: float


@dataclass(frozen=True, slots=True)
class ScopeSummary:
    """State of one client project against its contract at ``as_of``."""

    as_of: datetime
    contract: ContractWindow
    scope: ScopeFigures
    revisions: RevisionFigures
    reopens: ReopenFigures
    overage: Overage
    health: Health
    checks: tuple[HealthFinding, ...] = ()
    """Every limit checked (:func:`~scopeguard.domain.health.assess_health`): the
    health badge is their worst grade, and the alert rules read them."""

    @property
    def findings(self) -> tuple[HealthFinding, ...]:
        """The limits in warning or breach."""
        return HealthReport(self.health, self.checks).findings


def _overage(contract: Contract, rounds: int, totals: list[list[int]]) -> Overage:
    if ScopeUnit.HOURS in contract.scope:
        creep_hours = creep_quanta(totals, ScopeUnit.HOURS) / SCALE[ScopeUnit.HOURS]
    elif contract.hours_per_story_point is not None:
        points = creep_quanta(totals, ScopeUnit.STORY_POINTS) / SCALE[ScopeUnit.STORY_POINTS]
        creep_hours = points * contract.hours_per_story_point
    else:
        creep_hours = 0.0
    hours = round(creep_hours + rounds * contract.hours_per_revision, 2) + 0.0
    # The amount is computed from the hours as shown, so hours × rate checks out.
    money = round(hours * contract.hourly_rate, 2) + 0.0
    return Overage(amount=money, currency=contract.currency, rounds=rounds, hours=hours)


def summarize(facts: Iterable[IssueFacts], contract: Contract, as_of: datetime) -> ScopeSummary:
    """The project's state against its contract at ``as_of`` (an aware datetime).

    Only events at or before ``as_of`` count, so a past moment gives the state
    as it was then (with today's knowledge of the histories).
    """
    return _summarize(((issue, entries(issue, contract)) for issue in facts), contract, as_of)


def summary_and_series(
    facts: Iterable[IssueFacts], contract: Contract, as_of: datetime, tz: ZoneInfo, until: date
) -> tuple[ScopeSummary, list[DayPoint]]:
    """:func:`summarize` at ``as_of`` and :func:`daily_series` up to ``until``, together.

    Both fold every issue's ledger entries; computing those once for both is
    about a third of the work of a refresh.
    """
    ledger = [(issue, entries(issue, contract)) for issue in facts]
    return _summarize(ledger, contract, as_of), series_of_ledger(ledger, contract, tz, until)


def _summarize(
    ledger: Iterable[tuple[IssueFacts, list[Entry]]], contract: Contract, as_of: datetime
) -> ScopeSummary:
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    moment = to_utc(as_of)  # facts are in UTC; same-zone comparisons are the fast ones
    totals = empty_totals()
    added: list[str] = []
    approved: list[str] = []
    removed: list[str] = []
    revisions_by_issue: dict[str, int] = {}
    reopens_by_issue: dict[str, int] = {}
    issues = UNIT_INDEX[ScopeUnit.ISSUES]
    for issue, issue_entries in ledger:
        # The issue's own count per bucket decides which key lists it is in.
        own = [0] * len(Bucket)
        for at, bucket, column, qty in issue_entries:
            if at <= moment:
                totals[bucket][column] += qty
                if column == issues:
                    own[bucket] += qty
        if own[Bucket.ADDED] > 0:
            added.append(issue.key)
        if own[Bucket.APPROVED] > 0:
            approved.append(issue.key)
        if own[Bucket.REMOVED] > 0:
            removed.append(issue.key)
        rounds = reopened = 0
        for event in issue.revisions:
            if event.at > moment:
                break  # revisions are stored oldest first
            rounds += 1
            reopened += event.is_reopen
        if rounds:
            revisions_by_issue[issue.key] = rounds
        if reopened:
            reopens_by_issue[issue.key] = reopened

    by_unit: dict[ScopeUnit, UnitFigures] = {}
    for unit in UNITS:
        if unit not in contract.scope:
            continue
        index = UNIT_INDEX[unit]
        by_unit[unit] = UnitFigures(
            contracted=contract.scope[unit],
            added=amount(unit, totals[Bucket.ADDED][index]),
            approved=amount(unit, totals[Bucket.APPROVED][index]),
            inflation=amount(unit, totals[Bucket.INFLATION][index]),
            creep=amount(unit, creep_quanta(totals, unit)),
            creep_percent=creep_percent(totals, unit, contract.scope[unit]),
            baseline=amount(unit, totals[Bucket.BASELINE][index]),
            removed=amount(unit, totals[Bucket.REMOVED][index]),
        )
    headline = contract.headline_unit
    scope = ScopeFigures(
        unit=headline,
        contracted=contract.scope[headline],
        baseline_issues=totals[Bucket.BASELINE][issues],
        added=sorted_keys(added),
        approved_changes=sorted_keys(approved),
        removed=sorted_keys(removed),
        creep=by_unit[headline].creep,
        creep_percent=by_unit[headline].creep_percent,
        by_unit=by_unit,
    )
    allowance = contract.revisions_per_issue
    ordered = sorted_keys(revisions_by_issue)
    revisions = RevisionFigures(
        total=sum(revisions_by_issue.values()),
        per_issue_limit=allowance,
        by_issue={key: revisions_by_issue[key] for key in ordered},
        over_limit=tuple(key for key in ordered if revisions_by_issue[key] > allowance),
    )
    reopens = ReopenFigures(
        total=sum(reopens_by_issue.values()),
        by_issue={key: reopens_by_issue[key] for key in sorted_keys(reopens_by_issue)},
    )
    extra_rounds = sum(max(0, n - allowance) for n in revisions_by_issue.values())
    report = assess_health(scope, revisions, reopens, contract)
    return ScopeSummary(
        as_of=as_of,
        contract=ContractWindow(contract.start, contract.end, contract.baseline),
        scope=scope,
        revisions=revisions,
        reopens=reopens,
        overage=_overage(contract, extra_rounds, totals),
        health=report.level,
        checks=report.checks,
    )


@dataclass(frozen=True, slots=True)
class RevisionRound:
    """One line of an issue's evidence trail."""

    number: int
    """1 for the issue's first revision round."""
    at: datetime
    author: str | None
    """Display name, else account id, of whoever moved the issue back."""
    author_account: str | None
    from_status: str
    to_status: str
    is_reopen: bool
    beyond_allowance: bool
    """The round is past the contract's per-issue allowance (billable)."""
    history_id: str


def issue_evidence(
    facts: IssueFacts,
    *,
    allowance: int | None = None,
    as_of: datetime | None = None,
) -> list[RevisionRound]:
    """The revision rounds of one issue, oldest first, for the evidence trail.

    ``allowance`` (the contract's ``revisions_per_issue``) marks the rounds past
    it; ``as_of`` leaves out later rounds, matching a summary at that moment.
    """
    rounds: list[RevisionRound] = []
    for event in facts.revisions:
        if as_of is not None and event.at > as_of:
            break
        number = len(rounds) + 1
        rounds.append(
            RevisionRound(
                number=number,
                at=event.at,
                author=event.author_name or event.author_account,
                author_account=event.author_account,
                from_status=event.from_status,
                to_status=event.to_status,
                is_reopen=event.is_reopen,
                beyond_allowance=allowance is not None and number > allowance,
                history_id=event.history_id,
            )
        )
    return rounds
