"""The agency's half: how fast it answers the client, and the days it left the client alone.

*Responsiveness.* A client's comment or new issue opens a wait on that issue
(unless one is already open there); the agency's next reply or action on the
issue closes it: a comment the client can see, a transition, an assignment, any
change. An internal comment does not: the client cannot see it. Waits count
working hours only, so a message at midnight answered at 09:30 waited half an
hour (:mod:`scopeguard.domain.risk.waits`)::

    responsiveness = median working hours of the window's waits   (p90 beside it)

Per PM: each wait belongs to the client's PM when it began (``clients[].pm``,
else the agency account assigned to most of the client's issues).

*Neglect.* Every action is placed on the working day the agency first sees it
(:meth:`~scopeguard.domain.risk.worktime.WorkingTime.seen_on`: a Friday-night
message is Monday's). The client's activity here is what calls for an answer
(its comments and new issues, as above); the agency's is anything it did on
the client's issues, internal comments included. A day counts once its working
hours are over::

    neglect = working days with client activity and no agency activity
              ÷ working days with client activity

Its evidence also names the issues waiting on the agency longest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from scopeguard.domain.risk.activity import Action, ActionKind, ClientActivity
from scopeguard.domain.risk.approvals import wait_evidence
from scopeguard.domain.risk.people import Side, pm_at
from scopeguard.domain.risk.policy import RiskPolicy
from scopeguard.domain.risk.signals import (
    EVIDENCE_LIMIT,
    NOTHING,
    Evidence,
    EvidenceKind,
    Measurement,
    Window,
)
from scopeguard.domain.risk.stats import median, quantile
from scopeguard.domain.risk.waits import MeasuredWait, Wait, WaitIndex
from scopeguard.domain.risk.worktime import WorkingTime

_PROMPTS = (ActionKind.COMMENT, ActionKind.ISSUE_CREATED)
UNANSWERED_IN_NEGLECT = 5
"""How many of the longest-waiting issues the neglect evidence names."""


def response_waits(activity: ClientActivity) -> list[Wait]:
    """Every wait for the agency on the client's issues (see the module's docstring)."""
    people = activity.people
    waits: list[Wait] = []
    for issue in activity.issues:
        opened: Action | None = None
        for action in issue.actions:
            if action.internal:
                continue
            if action.side is Side.CLIENT:
                if opened is None and action.kind in _PROMPTS:
                    opened = action
            elif action.side is Side.AGENCY and opened is not None:
                pm = pm_at(people.pm, activity.default_pm, opened.at)
                waits.append(Wait(issue.key, opened, action, pm=pm))
                opened = None
        if opened is not None:
            pm = pm_at(people.pm, activity.default_pm, opened.at)
            waits.append(Wait(issue.key, opened, None, pm=pm))
    return waits


def _response_evidence(measured: MeasuredWait, names: dict[str, str]) -> Evidence:
    evidence = wait_evidence(
        measured,
        EvidenceKind.UNANSWERED if measured.open else EvidenceKind.RESPONSE_WAIT,
        names,
        "answered with a",
    )
    opened = measured.wait.opened
    text = opened.text if opened.kind is ActionKind.COMMENT else None
    if text:
        return Evidence(
            issue=evidence.issue,
            at=evidence.at,
            kind=evidence.kind,
            text=" ".join(text.split())[:200],
            actor=names.get(opened.actor, opened.actor) if opened.actor else None,
            detail=evidence.detail,
            hours=evidence.hours,
            comment_id=opened.comment_id,
        )
    return evidence


@dataclass(frozen=True, slots=True)
class PmResponsiveness:
    """One PM's waits across the clients they manage."""

    pm: str
    name: str | None
    waits: int
    median_hours: float
    p90_hours: float
    clients: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ResponsivenessData:
    """The client's waits for the agency, indexed by time."""

    index: WaitIndex
    working: WorkingTime
    names: dict[str, str]

    def waits(self, window: Window) -> list[MeasuredWait]:
        """The waits of ``window`` with their working hours."""
        return self.index.measure(window)

    def measure(self, window: Window, *, evidence: bool = True) -> Measurement:
        """Median and p90 working hours to the agency's answer in ``window``."""
        if not evidence:
            just, still_open = self.index.hours(window)
            if not just:
                return NOTHING
            return Measurement(
                value=median(just),
                basis=len(just),
                details={"p90": quantile(just, 0.9), "unanswered": float(still_open)},
            )
        waits = self.waits(window)
        if not waits:
            return NOTHING
        hours = [w.hours for w in waits]
        found: tuple[Evidence, ...] = ()
        if evidence:
            longest = sorted(waits, key=lambda w: -w.hours)[:EVIDENCE_LIMIT]
            found = tuple(_response_evidence(w, self.names) for w in longest)
        return Measurement(
            value=median(hours),
            basis=len(waits),
            details={
                "p90": quantile(hours, 0.9),
                "unanswered": float(sum(w.open for w in waits)),
            },
            evidence=found,
        )


def prepare_responsiveness(activity: ClientActivity, policy: RiskPolicy) -> ResponsivenessData:
    """Find the client's waits for the agency once."""
    return ResponsivenessData(
        WaitIndex(response_waits(activity), policy.working), policy.working, dict(activity.names)
    )


def responsiveness(activity: ClientActivity, window: Window, policy: RiskPolicy) -> Measurement:
    """Responsiveness to one client over one window (the module's docstring)."""
    return prepare_responsiveness(activity, policy).measure(window)


def by_pm(
    clients: Mapping[str, tuple[ResponsivenessData, Window]],
    names: Mapping[str, str],
) -> tuple[PmResponsiveness, ...]:
    """Responsiveness per PM across ``clients`` (client key → its waits and the window)."""
    hours: dict[str, list[float]] = {}
    served: dict[str, set[str]] = {}
    for key, (data, window) in clients.items():
        for measured in data.waits(window):
            pm = measured.wait.pm
            if pm is None:
                continue
            hours.setdefault(pm, []).append(measured.hours)
            served.setdefault(pm, set()).add(key)
    return tuple(
        PmResponsiveness(
            pm=pm,
            name=names.get(pm),
            waits=len(values),
            median_hours=median(values),
            p90_hours=quantile(values, 0.9),
            clients=tuple(sorted(served[pm])),
        )
        for pm, values in sorted(hours.items())
    )


# --- neglect --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NeglectData:
    """Working days with the client's and the agency's activity, and the open waits."""

    client_days: Mapping[date, tuple[Action, int]]
    """Day → (the client's first action that day, how many it took)."""
    agency_days: frozenset[date]
    responses: ResponsivenessData
    working: WorkingTime
    names: dict[str, str]

    def _last_day(self, end: datetime) -> date:
        local = self.working.local(end).date()
        window = self.working.window(local)
        if window is not None and window[1] > end:
            return local - timedelta(days=1)
        return local

    def measure(self, window: Window, *, evidence: bool = True) -> Measurement:
        """The share of the client's active days the agency left unanswered, in ``window``."""
        first = self.working.local(window.start).date()
        last = self._last_day(window.end)
        days = [day for day in self.client_days if first <= day <= last]
        if not days:
            return NOTHING
        neglected = sorted((day for day in days if day not in self.agency_days), reverse=True)
        found: tuple[Evidence, ...] = ()
        if evidence:
            waiting = sorted(
                (w for w in self.responses.waits(window) if w.open), key=lambda w: -w.hours
            )[:UNANSWERED_IN_NEGLECT]
            found = tuple(_response_evidence(w, self.names) for w in waiting)
            found += tuple(self._day_evidence(day) for day in neglected)
            found = found[:EVIDENCE_LIMIT]
        return Measurement(
            value=len(neglected) / len(days),
            basis=len(days),
            details={"neglected_days": float(len(neglected))},
            evidence=found,
        )

    def _day_evidence(self, day: date) -> Evidence:
        action, count = self.client_days[day]
        return Evidence(
            issue=action.issue,
            at=action.at,
            kind=EvidenceKind.NEGLECTED_DAY,
            detail=f"{day.isoformat()}: {count} client action(s), no agency action",
            actor=self.names.get(action.actor, action.actor) if action.actor else None,
        )


def prepare_neglect(
    activity: ClientActivity, policy: RiskPolicy, responses: ResponsivenessData | None = None
) -> NeglectData:
    """Place every action on the working day the agency sees it.

    ``responses`` are the client's waits when already prepared (for responsiveness);
    found again when not given.
    """
    working = policy.working
    client_days: dict[date, tuple[Action, int]] = {}
    for action in activity.client_actions:
        if action.kind not in _PROMPTS:
            continue
        day = working.seen_on(action.at)
        known = client_days.get(day)
        client_days[day] = (action, 1) if known is None else (known[0], known[1] + 1)
    agency_days = frozenset(working.seen_on(action.at) for action in activity.agency_actions)
    return NeglectData(
        client_days=client_days,
        agency_days=agency_days,
        responses=responses if responses is not None else prepare_responsiveness(activity, policy),
        working=working,
        names=dict(activity.names),
    )


def neglect(activity: ClientActivity, window: Window, policy: RiskPolicy) -> Measurement:
    """Neglect of one client over one window (the module's docstring)."""
    return prepare_neglect(activity, policy).measure(window)
