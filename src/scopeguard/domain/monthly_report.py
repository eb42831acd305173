"""What a monthly report says, assembled from the metric facts with the domain functions.

Every figure comes from :func:`~scopeguard.domain.metrics.summarize` (the state at
the end of the month and at the end of the month before) and
:func:`~scopeguard.domain.metrics.issue_evidence`; what happened *during* the
month is the difference between the two states. Nothing here redefines a
metric, so the report always agrees with the API and the panel.

:func:`build_report_data` is pure (facts in, :class:`ReportData` out); the
service layer (:mod:`scopeguard.usecases.reporting`) loads the facts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from scopeguard.domain.contract import Contract, ScopeUnit
from scopeguard.domain.effort import (
    EffortSummary,
    Rates,
    Worklog,
    effort_and_daily_hours,
    summarize_effort,
)
from scopeguard.domain.facts import IssueFacts
from scopeguard.domain.figures import ClientFigures, SyncStatus
from scopeguard.domain.health import Health
from scopeguard.domain.keys import natural_key
from scopeguard.domain.metrics import (
    RevisionRound,
    ScopeSummary,
    UnitFigures,
    issue_evidence,
    summarize,
)
from scopeguard.domain.month import Month
from scopeguard.domain.timeseries import DailySeries, daily_series


class ReportError(Exception):
    """A report cannot be produced; the message says why, for the person who asked."""


class MonthOutsideDataError(ReportError):
    """The month is before the contract started or after the data ends."""


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """Who the report is about and for."""

    key: str
    name: str
    agency: str
    notes: str | None = None
    """The client's own notes block text (``contract.report.notes``)."""
    jira_url: str | None = None
    """The Jira site: issue keys link to ``<jira_url>/browse/<key>``."""
    panel_url: str | None = None
    """The client's ScopeGuard panel, for the complete evidence trails."""


@dataclass(frozen=True, slots=True)
class UnitRow:
    """One unit's figures at the end of the month and of the month before."""

    unit: ScopeUnit
    now: UnitFigures
    before: UnitFigures

    @property
    def creep_month(self) -> float:
        """Creep added during the month."""
        return round(self.now.creep - self.before.creep, 3) + 0.0

    @property
    def creep_percent_month(self) -> float | None:
        """Change of the creep percent during the month, in percentage points."""
        if self.now.creep_percent is None or self.before.creep_percent is None:
            return None
        return round(self.now.creep_percent - self.before.creep_percent, 1) + 0.0


@dataclass(frozen=True, slots=True)
class AddedIssue:
    """An issue that entered the client's scope during the month."""

    key: str
    summary: str
    issue_type: str
    entered_at: datetime
    created: datetime
    reporter: str | None
    approved: bool
    """An approved change request (as of the month's end); otherwise creep."""
    removed: bool
    story_points: float | None
    hours: float | None


@dataclass(frozen=True, slots=True)
class EvidenceRow:
    """A revision round past the issue's allowance, from the issue's changelog."""

    key: str
    summary: str
    round: RevisionRound


@dataclass(frozen=True, slots=True)
class OverLimitIssue:
    """An issue with more revision rounds than the contract includes (at the month's end)."""

    key: str
    summary: str
    revisions: int
    beyond: int
    """Rounds past the allowance (billable)."""
    in_month: int
    """Rounds during the month."""
    reopens: int


@dataclass(frozen=True, slots=True)
class Comparison:
    """One figure at the end of the previous month and of this one."""

    metric: str
    """``creep``, ``creep_percent``, ``revisions``, ``over_limit``, ``reopens``,
    ``overage_rounds``, ``overage_hours``, ``overage_amount`` or ``health``."""
    previous: float | Health | None
    current: float | Health | None

    @property
    def delta(self) -> float | None:
        """``current - previous`` for numbers (rounded like the figures); ``None`` otherwise."""
        if isinstance(self.previous, int | float) and isinstance(self.current, int | float):
            return round(self.current - self.previous, 2) + 0.0
        return None


@dataclass(frozen=True, slots=True)
class EffortIssueRow:
    """Time logged on one issue: this month and to date (totals per issue, never per person)."""

    key: str
    summary: str
    logged_month: float
    unbilled_month: float
    unbilled_to_date: float


@dataclass(frozen=True, slots=True)
class ReportEffort:
    """Logged time against the contract at the month's end and at the end of the month before."""

    now: EffortSummary
    before: EffortSummary
    issues: tuple[EffortIssueRow, ...]
    """Issues with unbilled time this month or to date, most unbilled this month first."""

    @property
    def logged_month(self) -> float:
        """Hours logged during the month."""
        return round(self.now.logged_hours - self.before.logged_hours, 2) + 0.0

    @property
    def unbilled_hours_month(self) -> float:
        """Unbilled hours added during the month."""
        return round(self.now.unbilled_hours - self.before.unbilled_hours, 2) + 0.0

    @property
    def unbilled_amount_month(self) -> float:
        """Their price, in the contract's currency."""
        return round(self.now.unbilled_amount - self.before.unbilled_amount, 2) + 0.0


def _report_effort(
    now: EffortSummary,
    worklogs: Sequence[Worklog],
    by_key: Mapping[str, IssueFacts],
    contract: Contract,
    rates: Rates,
    *,
    previous_end: datetime,
    zone: ZoneInfo,
) -> ReportEffort:
    """The month's effort from ``now`` (the figures at its end) and those at ``previous_end``."""
    before = summarize_effort(worklogs, by_key, contract, rates, previous_end, zone=zone)
    rows = []
    for key, issue in now.by_issue.items():
        earlier = before.by_issue.get(key)
        logged_before = earlier.logged_hours if earlier else 0.0
        unbilled_before = earlier.unbilled_hours if earlier else 0.0
        row = EffortIssueRow(
            key=key,
            summary=by_key[key].summary if key in by_key else "",
            logged_month=round(issue.logged_hours - logged_before, 2) + 0.0,
            unbilled_month=round(issue.unbilled_hours - unbilled_before, 2) + 0.0,
            unbilled_to_date=issue.unbilled_hours,
        )
        if row.unbilled_to_date > 0 or row.unbilled_month != 0:
            rows.append(row)
    rows.sort(key=lambda r: (-r.unbilled_month, -r.unbilled_to_date, natural_key(r.key)))
    return ReportEffort(now, before, tuple(rows))


@dataclass(frozen=True, slots=True)
class ReportData:
    """Everything one monthly report shows."""

    client: ClientInfo
    month: Month
    zone: ZoneInfo
    contract: Contract
    as_of: datetime
    complete: bool
    """The month is over: the figures are final for it."""
    generated_at: datetime
    version: str
    figures: ClientFigures
    """The client's figures as of :attr:`as_of` (the series up to the report's last day)."""
    previous: ScopeSummary
    """The summary as of the end of the previous month."""
    previous_in_contract: bool
    """The previous month's end is inside the contract (so a comparison means something)."""
    units: tuple[UnitRow, ...]
    added: tuple[AddedIssue, ...]
    evidence: tuple[EvidenceRow, ...]
    over_limit: tuple[OverLimitIssue, ...]
    """Most rounds this month first, then most rounds beyond the allowance."""
    comparison: tuple[Comparison, ...]
    revisions_in_month: int
    reopens_in_month: int
    removed_in_month: tuple[str, ...]
    approved_in_month: tuple[str, ...]
    """Issues that became approved change requests during the month (added earlier or now)."""
    has_activity: bool
    effort: ReportEffort | None = None
    """Logged time this month and to date (``None`` when worklogs are not read)."""

    @property
    def summary(self) -> ScopeSummary:
        """The summary as of :attr:`as_of`."""
        return self.figures.summary

    @property
    def series(self) -> DailySeries:
        """The daily series up to the report's last day."""
        return self.figures.series

    @property
    def last_sync(self) -> datetime | None:
        """When the client's data last came from Jira."""
        return self.figures.sync.last_success

    @property
    def headline(self) -> UnitRow:
        """The row of the contract's headline unit."""
        unit = self.summary.scope.unit
        return next(row for row in self.units if row.unit is unit)

    @property
    def overage_month(self) -> float:
        """Overage estimate added during the month, in the contract's currency."""
        return round(self.summary.overage.amount - self.previous.overage.amount, 2) + 0.0

    @property
    def rounds_beyond_in_month(self) -> int:
        """Billable revision rounds (past the allowance) during the month."""
        return self.summary.overage.rounds - self.previous.overage.rounds


def report_months(contract: Contract, zone: ZoneInfo, now: datetime) -> tuple[Month, Month] | None:
    """The first and last month a report can be made for, or ``None`` before the contract.

    From the month the contract starts to the month of ``now`` or of the contract's
    end, whichever is earlier (after the end nothing changes any more).
    """
    first = Month.of(contract.start, zone)
    last_moment = now if contract.end is None else min(now, contract.end)
    last = Month.of(last_moment, zone)
    if now < contract.start or last < first:
        return None
    return first, last


def check_month(contract: Contract, zone: ZoneInfo, now: datetime, month: Month) -> None:
    """Raise :class:`MonthOutsideDataError` unless a report of ``month`` can be made now."""
    months = report_months(contract, zone, now)
    if months is None:
        raise MonthOutsideDataError(
            f"the contract starts on {contract.start.astimezone(zone).date().isoformat()}: "
            "there is no month to report yet"
        )
    first, last = months
    if not first <= month <= last:
        raise MonthOutsideDataError(
            f"{month} is outside the data: reports can be made for {first} to {last}"
        )


def _unit_rows(current: ScopeSummary, previous: ScopeSummary) -> tuple[UnitRow, ...]:
    return tuple(
        UnitRow(unit, figures, previous.scope.by_unit[unit])
        for unit, figures in current.scope.by_unit.items()
    )


def _comparison(previous: ScopeSummary, current: ScopeSummary) -> tuple[Comparison, ...]:
    def figures(summary: ScopeSummary) -> dict[str, float | Health | None]:
        return {
            "creep": summary.scope.creep,
            "creep_percent": summary.scope.creep_percent,
            "revisions": summary.revisions.total,
            "over_limit": len(summary.revisions.over_limit),
            "reopens": summary.reopens.total,
            "overage_rounds": summary.overage.rounds,
            "overage_hours": summary.overage.hours,
            "overage_amount": summary.overage.amount,
            "health": summary.health,
        }

    before, after = figures(previous), figures(current)
    return tuple(Comparison(metric, before[metric], after[metric]) for metric in after)


def _same_state(previous: ScopeSummary, current: ScopeSummary) -> bool:
    # The figures a reader of the report sees: scope lists and per-unit creep,
    # revisions, reopens, overage (the baseline's own estimates are not shown).
    def shown(summary: ScopeSummary) -> tuple[object, ...]:
        scope = summary.scope
        units = {
            unit: replace(figures, baseline=0.0, removed=0.0)
            for unit, figures in scope.by_unit.items()
        }
        return (replace(scope, by_unit=units), summary.revisions, summary.reopens, summary.overage)

    return shown(previous) == shown(current)


def build_report_data(
    facts: Sequence[IssueFacts],
    contract: Contract,
    client: ClientInfo,
    month: Month,
    *,
    zone: ZoneInfo,
    now: datetime,
    reporters: Mapping[str, str | None],
    sync: SyncStatus,
    version: str,
    worklogs: Sequence[Worklog] | None = None,
    rates: Rates | None = None,
) -> ReportData:
    """The report of ``month`` from every issue's facts.

    ``now`` is when the report is made: a month still in progress is reported
    as of ``now``. ``reporters`` maps issue keys to who reported them (shown
    for added scope). ``sync`` is the client's sync status. Raises
    :class:`MonthOutsideDataError` for a month outside the contract's data.
    """
    check_month(contract, zone, now, month)
    month_start = month.start(zone)
    as_of = min(month.end(zone), now)
    complete = now > month.end(zone)
    previous_end = month_start - timedelta(microseconds=1)

    current = summarize(facts, contract, as_of)
    previous = summarize(facts, contract, previous_end)
    points = daily_series(facts, contract, zone, as_of.astimezone(zone).date())
    by_key = {item.key: item for item in facts}
    effort: ReportEffort | None = None
    if worklogs is not None:
        rates = rates or Rates(contract.hourly_rate)
        now_effort, logged = effort_and_daily_hours(
            worklogs, by_key, contract, rates, as_of, zone=zone, days=[p.day for p in points]
        )
        effort = _report_effort(
            now_effort, worklogs, by_key, contract, rates, previous_end=previous_end, zone=zone
        )
        points = [replace(p, logged_hours=h) for p, h in zip(points, logged, strict=True)]
    figures = ClientFigures(
        key=client.key,
        name=client.name,
        summary=current,
        series=DailySeries(zone, tuple(contract.scope), tuple(points)),
        sync=sync,
        effort=effort.now if effort is not None else None,
    )

    allowance = contract.revisions_per_issue

    # Scope added this month: keys newly in the summary's added or approved lists.
    before_keys = set(previous.scope.added) | set(previous.scope.approved_changes)
    approved_now = set(current.scope.approved_changes)
    removed_now = set(current.scope.removed)
    added_keys = [
        key
        for key in (*current.scope.added, *current.scope.approved_changes)
        if key not in before_keys
    ]
    added = tuple(
        AddedIssue(
            key=key,
            summary=by_key[key].summary,
            issue_type=by_key[key].issue_type,
            entered_at=by_key[key].entered_at,
            created=by_key[key].created,
            reporter=reporters.get(key),
            approved=key in approved_now,
            removed=key in removed_now,
            story_points=by_key[key].story_points,
            hours=by_key[key].hours,
        )
        for key in sorted(added_keys, key=natural_key)
    )
    approved_in_month = tuple(
        key for key in current.scope.approved_changes if key not in previous.scope.approved_changes
    )
    removed_in_month = tuple(
        key for key in current.scope.removed if key not in previous.scope.removed
    )

    # The evidence: every round past the allowance that happened during the month.
    evidence: list[EvidenceRow] = []
    over_limit: list[OverLimitIssue] = []
    for key in current.revisions.over_limit:
        issue = by_key[key]
        rounds = issue_evidence(issue, allowance=allowance, as_of=as_of)
        in_month = [r for r in rounds if r.at >= month_start]
        evidence.extend(EvidenceRow(key, issue.summary, r) for r in in_month if r.beyond_allowance)
        over_limit.append(
            OverLimitIssue(
                key=key,
                summary=issue.summary,
                revisions=len(rounds),
                beyond=len(rounds) - allowance,
                in_month=len(in_month),
                reopens=current.reopens.by_issue.get(key, 0),
            )
        )
    evidence.sort(key=lambda row: (row.round.at, natural_key(row.key)))
    # The month's most revised first: when the table is cut short, these are what matter.
    over_limit.sort(key=lambda item: (-item.in_month, -item.beyond, natural_key(item.key)))

    return ReportData(
        client=client,
        month=month,
        zone=zone,
        contract=contract,
        as_of=as_of,
        complete=complete,
        generated_at=now,
        version=version,
        figures=figures,
        previous=previous,
        previous_in_contract=previous_end >= contract.start,
        units=_unit_rows(current, previous),
        added=added,
        evidence=tuple(evidence),
        over_limit=tuple(over_limit),
        comparison=_comparison(previous, current),
        revisions_in_month=current.revisions.total - previous.revisions.total,
        reopens_in_month=current.reopens.total - previous.reopens.total,
        removed_in_month=removed_in_month,
        approved_in_month=approved_in_month,
        has_activity=not _same_state(previous, current)
        or (effort is not None and effort.logged_month != 0),
        effort=effort,
    )
