"""Logged time against the contract: effort per revision round, on creep, burn and the
actual overage.

The scope metrics (:mod:`scopeguard.domain.metrics`) say what the client asked for
beyond the contract; this module says what it cost, from the time people logged
in Jira (worklogs, which Tempo Timesheets writes too). Each worklog is placed by
its ``started`` moment, the time the work was done, never by when it was logged:

* **round** ``n`` of an issue, when ``started`` falls between the issue's ``n``-th
  revision and its next delivery (a move into a review or done-category status);
* **category**, the first that applies: ``revision`` (a round beyond the
  allowance), ``creep`` (an added issue not approved at the moment looked at, or a
  baseline issue whose estimate stood above its baseline value when the work was
  done), ``approved_change`` (an approved change request: billable), else
  ``contracted``.

*Unbilled* hours are the ``revision`` and ``creep`` hours. Only worklogs from the
contract start and from the moment the issue entered the client's scope count,
and only those started at or before the moment looked at. Amounts are summed as
integer seconds, so the order of summation cannot change a figure; hours are
rounded to 0.01 only when shown. The formulas are in the README (*Effort*).

Pure: no I/O. The store hands in :class:`Worklog` records keyed by the client's
issue keys (:mod:`scopeguard.adapters.store.worklogs`).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from math import ceil
from typing import TypedDict
from zoneinfo import ZoneInfo

from scopeguard.domain.contract import Contract, ScopeUnit
from scopeguard.domain.facts import IssueFacts
from scopeguard.domain.keys import sorted_keys
from scopeguard.domain.timeparse import to_utc

SECONDS_PER_HOUR = 3600
_UTC = ZoneInfo("UTC")
PACE_DAYS = 28
"""The burn's *current pace* is the time logged in the last four weeks, per day."""


@dataclass(frozen=True, slots=True)
class Worklog:
    """One entry of logged time on one of the client's issues."""

    id: str
    issue_key: str
    author_account: str | None
    author_name: str | None
    started: datetime
    """When the work began (aware); it decides the round, the day and the week."""
    seconds: int
    created: datetime | None = None
    updated: datetime | None = None
    comment: str | None = None

    def __post_init__(self) -> None:
        if self.started.tzinfo is None:
            raise ValueError(f"worklog {self.id} has a naive started time")


@dataclass(frozen=True, slots=True)
class WorklogRecord:
    """One worklog as read from Jira and stored: on an issue by its Jira id (the store
    hands the client's out as :class:`Worklog`, by issue key)."""

    id: str
    issue_id: str
    author_account: str | None
    author_name: str | None
    started: datetime
    seconds: int
    created: datetime | None
    updated: datetime | None
    comment: str | None


class Category(StrEnum):
    """What a worklog's time was spent on, as far as billing goes."""

    CONTRACTED = "contracted"
    REVISION = "revision"
    """A revision round beyond the per-issue allowance: unbilled."""
    CREEP = "creep"
    """Scope that came in after the baseline without approval, or estimate growth: unbilled."""
    APPROVED_CHANGE = "approved_change"
    """An approved change request: billable on its own change order."""

    @property
    def unbilled(self) -> bool:
        """Time the contract does not pay for."""
        return self in (Category.REVISION, Category.CREEP)


@dataclass(frozen=True, slots=True)
class Rates:
    """What an hour costs: per person (account id), per group, else the contract's rate.

    ``groups`` are ``(group name, member accounts, rate)`` in the configuration's
    order; the first group that has the person wins.
    """

    default: float
    accounts: Mapping[str, float] = field(default_factory=dict)
    groups: tuple[tuple[str, frozenset[str], float], ...] = ()

    def rate(self, account: str | None) -> float:
        """The hourly rate of the person (``None``: an unknown author)."""
        if account is not None:
            found = self.accounts.get(account)
            if found is not None:
                return found
            for _name, members, rate in self.groups:
                if account in members:
                    return rate
        return self.default

    @property
    def per_person(self) -> bool:
        """Whether anybody has a rate of their own."""
        return bool(self.accounts or self.groups)


@dataclass(frozen=True, slots=True)
class Placement:
    """Where one worklog's time went."""

    worklog: Worklog
    round: int | None
    """The revision round it fell in (1 for the first), ``None`` outside every round."""
    category: Category


class _Issue:
    """An issue's facts prepared for placing many worklogs: rounds and inflation as sorted
    instants."""

    __slots__ = ("counted_from", "facts", "inflated", "inflation_at", "round_ends", "round_starts")

    def __init__(self, facts: IssueFacts, contract: Contract, as_of: datetime) -> None:
        self.facts = facts
        self.counted_from = max(to_utc(contract.start), facts.entered_at)
        starts: list[datetime] = []
        ends: list[datetime] = []
        deliveries = facts.deliveries
        revisions = [r.at for r in facts.revisions if r.at <= as_of]
        for number, at in enumerate(revisions):
            starts.append(at)
            following = revisions[number + 1] if number + 1 < len(revisions) else None
            position = bisect_right(deliveries, at)
            end = deliveries[position] if position < len(deliveries) else None
            if following is not None and (end is None or following < end):
                end = following
            ends.append(end if end is not None else datetime.max.replace(tzinfo=UTC))
        self.round_starts = starts
        self.round_ends = ends
        self.inflation_at, self.inflated = _inflation_steps(facts, contract)

    def round_of(self, started: datetime) -> int | None:
        position = bisect_right(self.round_starts, started)
        if position == 0:
            return None
        return position if started < self.round_ends[position - 1] else None

    def estimate_grown(self, started: datetime) -> bool:
        position = bisect_right(self.inflation_at, started)
        return position > 0 and self.inflated[position - 1]


def _inflation_steps(facts: IssueFacts, contract: Contract) -> tuple[list[datetime], list[bool]]:
    """When a baseline issue's estimate stood above its baseline value, as steps.

    Only the estimate units the contract names count (as for scope creep); added
    issues have no inflation (their whole time is creep or an approved change).
    """
    if facts.is_added:
        return [], []
    units = [u for u in (ScopeUnit.STORY_POINTS, ScopeUnit.HOURS) if u in contract.scope]
    if not units:
        return [], []
    baseline = to_utc(contract.baseline)
    values: dict[ScopeUnit, float] = dict.fromkeys(units, 0.0)
    at_baseline: dict[ScopeUnit, float] | None = None
    moments: list[datetime] = []
    states: list[bool] = []
    for event in facts.estimate_events:
        if event.unit not in values:
            continue
        if at_baseline is None and event.at >= baseline:
            at_baseline = dict(values)
        values[event.unit] += event.delta
        if at_baseline is not None:
            grown = any(values[u] > at_baseline[u] + 1e-9 for u in units)
            if moments and moments[-1] == event.at:
                states[-1] = grown
            else:
                moments.append(event.at)
                states.append(grown)
    return moments, states


def place(
    worklogs: Iterable[Worklog],
    facts: Mapping[str, IssueFacts],
    contract: Contract,
    as_of: datetime,
) -> list[Placement]:
    """Every counted worklog with its round and category as of ``as_of`` (aware).

    A worklog counts when its issue is one of ``facts`` (the client's) and it
    started at or after the contract start and the issue's entry into the scope,
    and at or before ``as_of``.
    """
    return list(_placements(worklogs, facts, contract, as_of))


def _placements(
    worklogs: Iterable[Worklog],
    facts: Mapping[str, IssueFacts],
    contract: Contract,
    as_of: datetime,
) -> Iterator[Placement]:
    """:func:`place`, one placement at a time."""
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    moment = to_utc(as_of)
    allowance = contract.revisions_per_issue
    prepared: dict[str, _Issue] = {}
    for worklog in worklogs:
        issue_facts = facts.get(worklog.issue_key)
        if issue_facts is None:
            continue
        issue = prepared.get(worklog.issue_key)
        if issue is None:
            issue = prepared[worklog.issue_key] = _Issue(issue_facts, contract, moment)
        started = to_utc(worklog.started)
        if started > moment or started < issue.counted_from:
            continue
        number = issue.round_of(started)
        if number is not None and number > allowance:
            category = Category.REVISION
        elif issue_facts.is_added:
            approved = issue_facts.approved_at is not None and issue_facts.approved_at <= moment
            category = Category.APPROVED_CHANGE if approved else Category.CREEP
        elif issue.estimate_grown(started):
            category = Category.CREEP
        else:
            category = Category.CONTRACTED
        yield Placement(worklog, number, category)


def hours(seconds: int) -> float:
    """Seconds as hours, rounded to 0.01 (how every hour figure is shown)."""
    return round(seconds / SECONDS_PER_HOUR, 2) + 0.0


def amount(seconds_by_rate: Mapping[float, int]) -> float:
    """The price of time: per rate, its hours as shown × the rate; summed, to 0.01.

    With one rate this is exactly (hours as shown) × rate, so the figures check out.
    """
    total = sum(hours(seconds) * rate for rate, seconds in sorted(seconds_by_rate.items()))
    return round(total, 2) + 0.0


@dataclass(frozen=True, slots=True)
class RoundHours:
    """Time logged in one revision round of an issue."""

    round: int
    hours: float
    beyond_allowance: bool


@dataclass(frozen=True, slots=True)
class IssueEffort:
    """Time logged on one issue, and how much of it the contract does not pay for."""

    key: str
    logged_hours: float
    unbilled_hours: float
    rounds: tuple[RoundHours, ...]
    """Every revision round of the issue so far, the first first, with its hours (0 when
    nothing was logged in it)."""


@dataclass(frozen=True, slots=True)
class Burn:
    """Logged hours against the contracted hours, and when they run out at the current pace."""

    contracted_hours: float | None
    logged_hours: float
    pace_hours_per_day: float
    """Hours logged per calendar day over the last four weeks (from the contract start)."""
    runs_out_on: date | None
    """The agency day the contracted hours are (or were) used up; ``None`` without an
    hours contract or without any pace."""


@dataclass(frozen=True, slots=True)
class EffortSummary:
    """A client's logged time against the contract at ``as_of``."""

    as_of: datetime
    logged_hours: float
    contracted_hours: float | None
    """``scope.hours`` of the contract, ``None`` when it names no hours."""
    unbilled_hours: float
    unbilled_revision_hours: float
    creep_hours: float
    approved_change_hours: float
    unbilled_amount: float
    currency: str
    per_person_rates: bool
    """Whether the amount used per-person rates (else the contract's ``hourly_rate``)."""
    by_issue: Mapping[str, IssueEffort]
    """Issues with logged time, naturally sorted (each with its rounds so far)."""
    burn: Burn
    worklogs: int
    """Worklogs counted."""

    @property
    def top_unbilled(self) -> list[IssueEffort]:
        """Issues with unbilled time, most first (ties by key order)."""
        ranked = [e for e in self.by_issue.values() if e.unbilled_hours > 0]
        return sorted(ranked, key=lambda e: -e.unbilled_hours)


def empty_effort(contract: Contract, as_of: datetime) -> EffortSummary:
    """The figures of a client with nothing logged."""
    return summarize_effort([], {}, contract, Rates(contract.hourly_rate), as_of, zone=_UTC)


class _Figures(TypedDict):
    """The figures a summary, a person and a week all show (keyword arguments)."""

    logged_hours: float
    unbilled_hours: float
    unbilled_revision_hours: float
    creep_hours: float
    approved_change_hours: float
    unbilled_amount: float


class _Tally:
    """Seconds per category, and the unbilled seconds per rate."""

    __slots__ = ("by_category", "unbilled_by_rate")

    def __init__(self) -> None:
        self.by_category: dict[Category, int] = dict.fromkeys(Category, 0)
        self.unbilled_by_rate: dict[float, int] = {}

    def add(self, placement: Placement, rate: float) -> None:
        seconds = placement.worklog.seconds
        self.by_category[placement.category] += seconds
        if placement.category.unbilled:
            self.unbilled_by_rate[rate] = self.unbilled_by_rate.get(rate, 0) + seconds

    @property
    def logged(self) -> int:
        return sum(self.by_category.values())

    @property
    def unbilled(self) -> int:
        return self.by_category[Category.REVISION] + self.by_category[Category.CREEP]

    def figures(self) -> _Figures:
        """The tally as shown: hours rounded once, the unbilled time priced per rate."""
        return _Figures(
            logged_hours=hours(self.logged),
            unbilled_hours=hours(self.unbilled),
            unbilled_revision_hours=hours(self.by_category[Category.REVISION]),
            creep_hours=hours(self.by_category[Category.CREEP]),
            approved_change_hours=hours(self.by_category[Category.APPROVED_CHANGE]),
            unbilled_amount=amount(self.unbilled_by_rate),
        )


def summarize_effort(
    worklogs: Iterable[Worklog],
    facts: Mapping[str, IssueFacts],
    contract: Contract,
    rates: Rates,
    as_of: datetime,
    *,
    zone: ZoneInfo,
) -> EffortSummary:
    """The client's effort figures at ``as_of``; ``zone`` is the agency's (burn days)."""
    gathered = _gather(_placements(worklogs, facts, contract, as_of), contract, rates, as_of, zone)
    return _summarize(gathered, facts, contract, rates, as_of, zone=zone)


def _day_of(worklog: Worklog, zone: ZoneInfo) -> date:
    """The agency day a worklog's time counts on."""
    return worklog.started.astimezone(zone).date()


def _pace_window_start(contract: Contract, moment: datetime) -> datetime:
    return max(to_utc(contract.start), moment - timedelta(days=PACE_DAYS))


class _Gathered:
    """What the summary, its burn and the daily line read of the placements, gathered
    in one pass so that none is kept: a refresh held 200,000 worklogs with their
    placements (~45 MB) to walk them four times."""

    __slots__ = ("count", "per_day", "per_issue", "recent", "round_seconds", "tally")

    def __init__(self) -> None:
        self.tally = _Tally()
        self.per_issue: dict[str, _Tally] = {}
        self.round_seconds: dict[str, dict[int, int]] = {}
        self.per_day: dict[date, int] = {}
        """Seconds per agency day."""
        self.recent = 0
        """Seconds started inside the pace window."""
        self.count = 0


def _gather(
    placements: Iterable[Placement],
    contract: Contract,
    rates: Rates,
    as_of: datetime,
    zone: ZoneInfo,
) -> _Gathered:
    gathered = _Gathered()
    window_start = _pace_window_start(contract, to_utc(as_of))
    tally, per_issue, round_seconds, per_day = (
        gathered.tally,
        gathered.per_issue,
        gathered.round_seconds,
        gathered.per_day,
    )
    for placement in placements:
        worklog = placement.worklog
        seconds = worklog.seconds
        gathered.count += 1
        rate = rates.rate(worklog.author_account)
        tally.add(placement, rate)
        key = worklog.issue_key
        issue_tally = per_issue.get(key)
        if issue_tally is None:
            issue_tally = per_issue[key] = _Tally()
        issue_tally.add(placement, rate)
        if placement.round is not None:
            rounds = round_seconds.setdefault(key, {})
            rounds[placement.round] = rounds.get(placement.round, 0) + seconds
        day = _day_of(worklog, zone)
        per_day[day] = per_day.get(day, 0) + seconds
        if to_utc(worklog.started) > window_start:
            gathered.recent += seconds
    return gathered


def _summarize(
    gathered: _Gathered,
    facts: Mapping[str, IssueFacts],
    contract: Contract,
    rates: Rates,
    as_of: datetime,
    *,
    zone: ZoneInfo,
) -> EffortSummary:
    tally, per_issue, round_seconds = gathered.tally, gathered.per_issue, gathered.round_seconds
    moment = to_utc(as_of)
    allowance = contract.revisions_per_issue
    by_issue: dict[str, IssueEffort] = {}
    # Equal rounds are one object (they are frozen): most are the same few, a round
    # number with nothing logged in it, and 20,000 issues have ~200,000 of them.
    shared: dict[tuple[int, int], RoundHours] = {}

    def round_hours(number: int, seconds: int) -> RoundHours:
        found = shared.get((number, seconds))
        if found is None:
            found = shared[number, seconds] = RoundHours(number, hours(seconds), number > allowance)
        return found

    # Only issues with logged time: an issue without any has nothing to show here (its
    # rounds are in the revisions), and 20,000 empty entries were most of a refresh.
    for key in sorted_keys(per_issue):
        issue_tally = per_issue[key]
        seconds_of = round_seconds.get(key, {})
        issue_facts = facts.get(key)
        revised = (
            0 if issue_facts is None else sum(1 for r in issue_facts.revisions if r.at <= moment)
        )
        by_issue[key] = IssueEffort(
            key=key,
            logged_hours=hours(issue_tally.logged),
            unbilled_hours=hours(issue_tally.unbilled),
            rounds=tuple(round_hours(n, seconds_of.get(n, 0)) for n in range(1, revised + 1)),
        )
    contracted = contract.scope.get(ScopeUnit.HOURS)
    return EffortSummary(
        as_of=as_of,
        contracted_hours=contracted,
        **tally.figures(),
        currency=contract.currency,
        per_person_rates=rates.per_person,
        by_issue=by_issue,
        burn=_burn(gathered, contract, moment, zone, contracted),
        worklogs=gathered.count,
    )


def _burn(
    gathered: _Gathered,
    contract: Contract,
    moment: datetime,
    zone: ZoneInfo,
    contracted: float | None,
) -> Burn:
    logged = gathered.tally.logged
    window_start = _pace_window_start(contract, moment)
    window_days = max((moment - window_start).total_seconds() / 86_400, 1.0)
    pace = gathered.recent / SECONDS_PER_HOUR / window_days
    runs_out: date | None = None
    if contracted is not None:
        budget = round(contracted * SECONDS_PER_HOUR)
        if logged >= budget:
            # Time runs out on the day the running total reaches the budget: the day of
            # the worklog (in start order) that reaches it, as every earlier day's
            # worklogs started before that one.
            running = 0
            for day in sorted(gathered.per_day):
                running += gathered.per_day[day]
                if running >= budget:
                    runs_out = day
                    break
        elif pace > 0:
            remaining_hours = (budget - logged) / SECONDS_PER_HOUR
            today = moment.astimezone(zone).date()
            runs_out = today + timedelta(days=ceil(remaining_hours / pace - 1e-9))
    return Burn(
        contracted_hours=contracted,
        logged_hours=hours(logged),
        pace_hours_per_day=round(pace, 2) + 0.0,
        runs_out_on=runs_out,
    )


def daily_logged_hours(
    worklogs: Iterable[Worklog],
    facts: Mapping[str, IssueFacts],
    contract: Contract,
    as_of: datetime,
    *,
    zone: ZoneInfo,
    days: Sequence[date],
) -> list[float]:
    """Hours logged up to the end of each of ``days`` (agency days, oldest first),
    cumulative: the point of day ``d`` is :func:`summarize_effort`'s ``logged_hours``
    at the end of ``d``. Work before the first day is in the first point."""
    if not days:
        return []
    per_day: dict[date, int] = {}
    for placement in _placements(worklogs, facts, contract, as_of):
        day = _day_of(placement.worklog, zone)
        per_day[day] = per_day.get(day, 0) + placement.worklog.seconds
    return _daily(per_day, days)


def effort_and_daily_hours(
    worklogs: Iterable[Worklog],
    facts: Mapping[str, IssueFacts],
    contract: Contract,
    rates: Rates,
    as_of: datetime,
    *,
    zone: ZoneInfo,
    days: Sequence[date],
) -> tuple[EffortSummary, list[float]]:
    """:func:`summarize_effort` and :func:`daily_logged_hours` at the same ``as_of``, each
    worklog placed once for both, in one pass (``worklogs`` may be a stream: none is kept)."""
    gathered = _gather(_placements(worklogs, facts, contract, as_of), contract, rates, as_of, zone)
    summary = _summarize(gathered, facts, contract, rates, as_of, zone=zone)
    logged = _daily(gathered.per_day, days) if days else []
    return summary, logged


def _daily(per_day: Mapping[date, int], days: Sequence[date]) -> list[float]:
    before = sum(seconds for day, seconds in per_day.items() if day < days[0])
    running = before
    points: list[float] = []
    for day in days:
        running += per_day.get(day, 0)
        points.append(hours(running))
    return points


# -- per person and per week (the internal view) -----------------------------------------


@dataclass(frozen=True, slots=True)
class WeekEffort:
    """Time logged in one week (Monday 00:00 agency time), by what it was spent on."""

    week: date
    logged_hours: float
    unbilled_hours: float
    unbilled_revision_hours: float
    creep_hours: float
    approved_change_hours: float
    unbilled_amount: float


@dataclass(frozen=True, slots=True)
class PersonEffort:
    """One person's logged time on a client, for the agency's eyes only."""

    account: str | None
    name: str
    rate: float
    logged_hours: float
    unbilled_hours: float
    unbilled_revision_hours: float
    creep_hours: float
    approved_change_hours: float
    unbilled_amount: float
    weeks: tuple[WeekEffort, ...]
    """Weeks in which the person logged time, oldest first."""


@dataclass(frozen=True, slots=True)
class EffortBreakdown:
    """A client's effort per person and per week (internal: never in a client's PDF)."""

    as_of: datetime
    currency: str
    people: tuple[PersonEffort, ...]
    """Most unbilled time first, then most logged, then by name."""
    weeks: tuple[WeekEffort, ...]
    """Everybody's time per week, oldest first."""


def _week_of(moment: datetime, zone: ZoneInfo) -> date:
    day = moment.astimezone(zone).date()
    return day - timedelta(days=day.weekday())


def _week(week: date, tally: _Tally) -> WeekEffort:
    return WeekEffort(week=week, **tally.figures())


def effort_breakdown(
    worklogs: Iterable[Worklog],
    facts: Mapping[str, IssueFacts],
    contract: Contract,
    rates: Rates,
    as_of: datetime,
    *,
    zone: ZoneInfo,
) -> EffortBreakdown:
    """:func:`summarize_effort`'s figures per person (by account, else name) and per week."""
    people: dict[tuple[str | None, str | None], tuple[_Tally, dict[date, _Tally]]] = {}
    weeks: dict[date, _Tally] = {}
    names: dict[str, str] = {}
    for placement in place(worklogs, facts, contract, as_of):
        worklog = placement.worklog
        if worklog.author_account and worklog.author_name:
            names[worklog.author_account] = worklog.author_name
        # One person per account; an author Jira sends without an account, by name.
        who = (worklog.author_account, None if worklog.author_account else worklog.author_name)
        rate = rates.rate(worklog.author_account)
        entry = people.get(who)
        if entry is None:
            entry = people[who] = (_Tally(), {})
        entry[0].add(placement, rate)
        week = _week_of(worklog.started, zone)
        entry[1].setdefault(week, _Tally()).add(placement, rate)
        weeks.setdefault(week, _Tally()).add(placement, rate)
    rows: list[PersonEffort] = []
    for (account, bare_name), (tally, by_week) in people.items():
        rows.append(
            PersonEffort(
                account=account,
                name=names.get(account or "", bare_name or account or "?"),
                rate=rates.rate(account),
                **tally.figures(),
                weeks=tuple(_week(week, by_week[week]) for week in sorted(by_week)),
            )
        )
    rows.sort(key=lambda p: (-p.unbilled_hours, -p.logged_hours, p.name.casefold()))
    return EffortBreakdown(
        as_of=as_of,
        currency=contract.currency,
        people=tuple(rows),
        weeks=tuple(_week(week, weeks[week]) for week in sorted(weeks)),
    )
