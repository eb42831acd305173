"""Every client's risk, in one call: :func:`assess_portfolio`.

What it does, in order:

1. reads each client's issues into sided actions
   (:func:`~scopeguard.domain.risk.activity.client_activity`) and prepares every
   signal once per client;
2. for every week (Monday 00:00 in the agency's zone) from the first contract
   start to ``as_of``, measures each client's signals over the ``risk.window_weeks``
   weeks ending with that week (clipped to the client's contract start; the
   current week ends at ``as_of``), normalises them against the other clients in
   that same window and scores both halves: the weekly series and the conflict view;
3. the last of those windows is the headline: measured again with its evidence,
   it gives the score, the level, the verdict and its findings;
4. the early warning (:mod:`~scopeguard.domain.risk.early`) and the PMs' response times.

A client with fewer than ``risk.min_actions`` counted actions in a window, or
whose signals cannot be placed among enough other clients, has no score there:
its status is ``not_enough_data``.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from scopeguard.domain.context import ClientContext
from scopeguard.domain.facts import IssueFacts
from scopeguard.domain.model import Issue
from scopeguard.domain.risk.activity import ClientActivity, client_activity
from scopeguard.domain.risk.agency import (
    PmResponsiveness,
    ResponsivenessData,
    by_pm,
    prepare_neglect,
    prepare_responsiveness,
)
from scopeguard.domain.risk.approvals import prepare_approval_drag
from scopeguard.domain.risk.briefs import prepare_vague_briefs
from scopeguard.domain.risk.churn import (
    prepare_requirement_churn,
    prepare_revision_churn,
    prepare_scope_pressure,
)
from scopeguard.domain.risk.early import EarlyWarning, common_scale, neighbours
from scopeguard.domain.risk.lexicon import PhraseMatcher
from scopeguard.domain.risk.people import ClientPeople
from scopeguard.domain.risk.policy import RiskPolicy
from scopeguard.domain.risk.pressure import prepare_escalation, prepare_pm_change_request
from scopeguard.domain.risk.score import (
    RiskLevel,
    SignalResult,
    combine,
    level_of,
    normalise,
)
from scopeguard.domain.risk.signals import (
    AGENCY_SIGNALS,
    CLIENT_SIGNALS,
    SIDE_OF,
    Measurement,
    Prepared,
    SignalName,
    Window,
    utc,
)
from scopeguard.domain.risk.stats import span
from scopeguard.domain.risk.timing import OffHoursData, prepare_off_hours
from scopeguard.domain.risk.verdict import Reading, Verdict, read
from scopeguard.domain.timeparse import start_of_day


@dataclass(frozen=True, slots=True)
class ClientRecord:
    """What the engine needs of one client: everything phase 2 feeds it from the store.

    ``facts`` are the issues' cached metric facts in the same order as ``issues``;
    when ``None`` they are computed from ``context``.
    """

    key: str
    context: ClientContext
    issues: Sequence[Issue]
    people: ClientPeople
    facts: Sequence[IssueFacts] | None = None


class RiskStatus(StrEnum):
    """Whether a window has a score."""

    OK = "ok"
    NOT_ENOUGH_DATA = "not_enough_data"


class Shortage(StrEnum):
    """Why a window has no score."""

    LITTLE_ACTIVITY = "little_activity"
    """Fewer client actions than ``risk.min_actions``."""
    FEW_PEERS = "few_peers"
    """No signal could be compared with at least ``risk.min_peers`` other clients."""


@dataclass(frozen=True, slots=True)
class WeekRisk:
    """One point of the weekly series and of the conflict view: both halves, one window."""

    week: date
    """The Monday the week starts on (agency zone)."""
    window: Window
    status: RiskStatus
    score: int | None
    agency_score: int | None
    client: Mapping[SignalName, float | None]
    """The client-side signals, normalised 0–1 (``None``: not measured or not placed)."""
    agency: Mapping[SignalName, float | None]
    """The agency-side signals, normalised 0–1."""
    actions: int
    """The client's counted actions in the window."""


@dataclass(frozen=True, slots=True)
class ClientRisk:
    """One client's risk as of a moment: the score, the verdict, the evidence, the series."""

    client: str
    as_of: datetime
    window: Window
    """The headline window: the ``risk.window_weeks`` weeks ending at ``as_of``."""
    status: RiskStatus
    shortage: Shortage | None
    score: int | None
    level: RiskLevel | None
    agency_score: int | None
    reading: Reading
    signals: Mapping[SignalName, SignalResult]
    weekly: tuple[WeekRisk, ...]
    early_warning: EarlyWarning | None
    actions: int
    """The client's counted actions in the headline window."""

    @property
    def verdict(self) -> Verdict:
        """Whose side to look at first (``none`` without a score)."""
        return self.reading.verdict


@dataclass(frozen=True, slots=True)
class PortfolioRisk:
    """Every client's risk, and the PMs' response times across their clients."""

    as_of: datetime
    clients: Mapping[str, ClientRisk]
    by_pm: tuple[PmResponsiveness, ...]

    def ranking(self) -> tuple[str, ...]:
        """Client keys by score, riskiest first; clients without a score last (by key)."""
        scored = sorted(
            (risk for risk in self.clients.values() if risk.score is not None),
            key=lambda risk: (-(risk.score or 0), risk.client),
        )
        rest = sorted(key for key, risk in self.clients.items() if risk.score is None)
        return (*(risk.client for risk in scored), *rest)


_Prepare = Callable[
    [ClientActivity, RiskPolicy, PhraseMatcher, Mapping[SignalName, Prepared]], Prepared
]
"""A signal's preparation from the activity, the policy, the matcher and the signals
prepared before it (in :data:`PREPARE`'s order)."""


def _after_responsiveness(
    activity: ClientActivity, policy: RiskPolicy, earlier: Mapping[SignalName, Prepared]
) -> Prepared:
    # Neglect's evidence names the open waits: the very waits responsiveness found.
    responses = earlier.get(SignalName.RESPONSIVENESS)
    assert responses is None or isinstance(responses, ResponsivenessData)
    return prepare_neglect(activity, policy, responses)


PREPARE: Mapping[SignalName, _Prepare] = {
    SignalName.OFF_HOURS: lambda a, p, m, e: prepare_off_hours(a, p),
    SignalName.VAGUE_BRIEFS: lambda a, p, m, e: prepare_vague_briefs(a, p, m),
    SignalName.REVISION_CHURN: lambda a, p, m, e: prepare_revision_churn(a, p),
    SignalName.REQUIREMENT_CHURN: lambda a, p, m, e: prepare_requirement_churn(a, p),
    SignalName.ESCALATION: lambda a, p, m, e: prepare_escalation(a, p, m),
    SignalName.APPROVAL_DRAG: lambda a, p, m, e: prepare_approval_drag(a, p),
    SignalName.SCOPE_PRESSURE: lambda a, p, m, e: prepare_scope_pressure(a, p),
    SignalName.PM_CHANGE_REQUEST: lambda a, p, m, e: prepare_pm_change_request(a, p, m),
    SignalName.RESPONSIVENESS: lambda a, p, m, e: prepare_responsiveness(a, p),
    SignalName.NEGLECT: lambda a, p, m, e: _after_responsiveness(a, p, e),
}
"""How each signal is prepared from a client's activity (one entry per signal)."""


@dataclass(slots=True)
class _Client:
    key: str
    activity: ClientActivity
    start: datetime
    prepared: dict[SignalName, Prepared]
    counted: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class _Scored:
    signals: dict[SignalName, SignalResult]
    score: int | None
    agency_score: int | None
    status: RiskStatus
    shortage: Shortage | None
    actions: int


def _monday(moment: datetime, policy: RiskPolicy) -> date:
    day = policy.working.local(moment).date()
    return day - timedelta(days=day.weekday())


def _without(ordered: list[float], own: float) -> list[float]:
    """``ordered`` without the client's own value (that very object: 0.0 is not −0.0)."""
    at = bisect_left(ordered, own)
    while at < len(ordered) and ordered[at] is not own:
        at += 1
    if at == len(ordered):  # not placed by value (NaN): found by identity
        at = next(index for index, value in enumerate(ordered) if value is own)
    return ordered[:at] + ordered[at + 1 :]


def _score(
    measured: Mapping[str, Mapping[SignalName, Measurement]],
    actions: Mapping[str, int],
    policy: RiskPolicy,
) -> dict[str, _Scored]:
    """Normalise every client's signals against the others' in the same window, and score."""
    enough = {key for key, count in actions.items() if count >= policy.min_actions}
    weights = {name: policy.weight(name) for name in SignalName}
    # Each signal's values of the clients with enough data, sorted once per window: a
    # client's peers are these without its own (normalising sorts them, so order is free).
    values: dict[SignalName, list[float]] = {}
    for name in SignalName:
        values[name] = sorted(
            value for other in enough if (value := measured[other][name].value) is not None
        )
    scored: dict[str, _Scored] = {}
    for key, signals in measured.items():
        results: dict[SignalName, SignalResult] = {}
        for name in SignalName:
            peers = values[name]
            own = signals[name].value
            if key in enough and own is not None:
                peers = _without(peers, own)
            value = own if key in enough else None
            placed = normalise(name, value, peers, policy.min_peers)
            results[name] = SignalResult(name, SIDE_OF[name], signals[name], placed, weights[name])
        client = combine({n: results[n].normalised for n in CLIENT_SIGNALS}, weights)
        agency = combine({n: results[n].normalised for n in AGENCY_SIGNALS}, weights)
        shortage = None
        if key not in enough:
            shortage = Shortage.LITTLE_ACTIVITY
            client = agency = None
        elif client is None:
            shortage = Shortage.FEW_PEERS
            agency = None
        status = RiskStatus.OK if shortage is None else RiskStatus.NOT_ENOUGH_DATA
        scored[key] = _Scored(results, client, agency, status, shortage, actions[key])
    return scored


def _measure_all(
    clients: Sequence[_Client],
    windows: Mapping[str, Window],
    *,
    evidence: bool,
) -> tuple[dict[str, dict[SignalName, Measurement]], dict[str, int]]:
    measured: dict[str, dict[SignalName, Measurement]] = {}
    actions: dict[str, int] = {}
    for client in clients:
        window = windows.get(client.key)
        if window is None:
            continue
        measured[client.key] = {
            name: prepared.measure(window, evidence=evidence)
            for name, prepared in client.prepared.items()
        }
        actions[client.key] = len(span(client.counted, window.since, window.until))
    return measured, actions


def _weekly(
    clients: Sequence[_Client], policy: RiskPolicy, end: datetime
) -> dict[str, list[WeekRisk]]:
    zone = policy.working.zone
    series: dict[str, list[WeekRisk]] = {client.key: [] for client in clients}
    if not clients:
        return series
    last_week = _monday(end, policy)
    week = min(_monday(client.start, policy) for client in clients)
    while week <= last_week:
        closes = end if week == last_week else start_of_day(week + timedelta(days=7), zone)
        opens = start_of_day(week - timedelta(days=7 * (policy.window_weeks - 1)), zone)
        windows = {
            client.key: Window(utc(max(opens, client.start)), utc(closes))
            for client in clients
            if client.start < closes and _monday(client.start, policy) <= week
        }
        measured, actions = _measure_all(clients, windows, evidence=False)
        for key, scored in _score(measured, actions, policy).items():
            series[key].append(
                WeekRisk(
                    week=week,
                    window=windows[key],
                    status=scored.status,
                    score=scored.score,
                    agency_score=scored.agency_score,
                    client={n: scored.signals[n].normalised for n in CLIENT_SIGNALS},
                    agency={n: scored.signals[n].normalised for n in AGENCY_SIGNALS},
                    actions=scored.actions,
                )
            )
        week += timedelta(days=7)
    return series


def _early(
    clients: Sequence[_Client],
    policy: RiskPolicy,
    end: datetime,
    current: Mapping[str, tuple[int | None, RiskLevel | None]],
) -> dict[str, EarlyWarning]:
    zone = policy.working.zone
    windows: dict[str, Window] = {}
    for client in clients:
        local = client.start.astimezone(zone).replace(tzinfo=None)
        closes = (local + timedelta(weeks=policy.early_weeks)).replace(tzinfo=zone)
        if closes <= end:
            windows[client.key] = Window(utc(client.start), utc(closes))
    measured, actions = _measure_all(clients, windows, evidence=False)
    scored = _score(measured, actions, policy)
    comparable = {
        key: {name: m.value for name, m in signals.items()}
        for key, signals in measured.items()
        if scored[key].status is RiskStatus.OK
    }
    scaled = common_scale(comparable)
    weights = {name: policy.weight(name) for name in SignalName}
    warnings: dict[str, EarlyWarning] = {}
    for key, result in scored.items():
        if result.status is not RiskStatus.OK:
            continue
        near = neighbours(key, scaled, weights, current)
        warnings[key] = EarlyWarning(
            weeks=policy.early_weeks,
            window=windows[key],
            score=result.score,
            level=level_of(result.score, policy.elevated_score, policy.alert_score),
            signals={name: result.signals[name].normalised for name in SignalName},
            resembles=near[0].client if near else None,
            neighbours=near,
        )
    return warnings


def assess_portfolio(
    records: Sequence[ClientRecord],
    policy: RiskPolicy,
    matcher: PhraseMatcher,
    as_of: datetime,
) -> PortfolioRisk:
    """Every client's risk as of ``as_of`` (the module's docstring), each against the others.

    Only what happened at or before ``as_of`` counts, so the same data answers
    "now" and "on 3 October".
    """
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    end = utc(as_of) + timedelta(microseconds=1)
    clients: list[_Client] = []
    for record in records:
        activity = client_activity(
            record.key, record.context, record.issues, record.people, record.facts
        )
        prepared: dict[SignalName, Prepared] = {}
        for name, make in PREPARE.items():
            prepared[name] = make(activity, policy, matcher, prepared)
        off_hours = prepared[SignalName.OFF_HOURS]
        assert isinstance(off_hours, OffHoursData)
        start = record.context.contract.start
        if start < end:
            clients.append(_Client(record.key, activity, start, prepared, off_hours.times))

    weekly = _weekly(clients, policy, end)
    opens = start_of_day(
        _monday(end, policy) - timedelta(days=7 * (policy.window_weeks - 1)), policy.working.zone
    )
    headline = {c.key: Window(utc(max(opens, c.start)), end) for c in clients}
    measured, actions = _measure_all(clients, headline, evidence=True)
    scored = _score(measured, actions, policy)
    current = {
        key: (s.score, level_of(s.score, policy.elevated_score, policy.alert_score))
        for key, s in scored.items()
    }
    early = _early(clients, policy, end, current)

    risks: dict[str, ClientRisk] = {}
    for client in clients:
        result = scored[client.key]
        reading = read(result.signals, result.score, result.agency_score, policy.elevated_score)
        risks[client.key] = ClientRisk(
            client=client.key,
            as_of=as_of,
            window=headline[client.key],
            status=result.status,
            shortage=result.shortage,
            score=result.score,
            level=current[client.key][1],
            agency_score=result.agency_score,
            reading=reading if result.status is RiskStatus.OK else _no_reading(reading),
            signals=result.signals,
            weekly=tuple(weekly[client.key]),
            early_warning=early.get(client.key),
            actions=result.actions,
        )
    for record in records:
        if record.key not in risks:
            risks[record.key] = _not_started(record.key, as_of, end)

    names: dict[str, str] = {}
    responses: dict[str, tuple[ResponsivenessData, Window]] = {}
    for client in clients:
        names.update(client.activity.names)
        data = client.prepared[SignalName.RESPONSIVENESS]
        assert isinstance(data, ResponsivenessData)
        responses[client.key] = (data, headline[client.key])
    return PortfolioRisk(as_of=as_of, clients=risks, by_pm=by_pm(responses, names))


def _no_reading(reading: Reading) -> Reading:
    # Without a score there is nothing to tell a side by; the findings stay as evidence.
    return Reading(
        verdict=Verdict.NONE,
        agency_side_bad=False,
        pm_change_requests=reading.pm_change_requests,
        client_findings=(),
        agency_findings=(),
    )


def _not_started(key: str, as_of: datetime, end: datetime) -> ClientRisk:
    """A client whose contract starts after ``as_of``: nothing to measure yet."""
    empty = Measurement(None)
    window = Window(end, end)
    placed = normalise(SignalName.OFF_HOURS, None, [], 1)
    signals = {name: SignalResult(name, SIDE_OF[name], empty, placed, 0.0) for name in SignalName}
    return ClientRisk(
        client=key,
        as_of=as_of,
        window=window,
        status=RiskStatus.NOT_ENOUGH_DATA,
        shortage=Shortage.LITTLE_ACTIVITY,
        score=None,
        level=None,
        agency_score=None,
        reading=Reading(Verdict.NONE, False, (), (), ()),
        signals=signals,
        weekly=(),
        early_warning=None,
        actions=0,
    )
