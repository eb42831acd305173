"""Which side to look at first: the conflict view's reading of both halves side by side.

::

    agency side bad = agency score ≥ risk.elevated_score
    a request for another PM in the window:
        agency side bad  → check_pm   ("check the PM first")
        otherwise        → client
    no such request:
        agency side bad  → check_pm
        client score ≥ risk.elevated_score → client
        otherwise        → none

An agency that answers slowly or leaves a client alone is looked at before the
client is blamed, whatever the client's own score: that is the order an agency
head should check in. Every verdict comes with its findings: the signals of
each half that stand out (robust z ≥ 1 against the other clients) with the
events behind them, and the client's requests for another manager, quoted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from scopeguard.domain.risk.people import Side
from scopeguard.domain.risk.score import SignalResult
from scopeguard.domain.risk.signals import Evidence, SignalName

NOTABLE_Z = 1.0
"""A signal stands out when it is at least one spread worse than the other clients' median."""
FINDING_EVIDENCE = 3
"""Events named per finding in the explanation (the signal itself keeps more)."""


class Verdict(StrEnum):
    """Whose side the problem is on, as far as the data tells."""

    CLIENT = "client"
    CHECK_PM = "check_pm"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Finding:
    """A signal that stands out, with the events that make it do so."""

    signal: SignalName
    side: Side
    value: float
    peer_median: float | None
    z: float
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True, slots=True)
class Reading:
    """The verdict with what it rests on."""

    verdict: Verdict
    agency_side_bad: bool
    pm_change_requests: tuple[Evidence, ...]
    client_findings: tuple[Finding, ...]
    agency_findings: tuple[Finding, ...]


def findings(signals: Mapping[SignalName, SignalResult], side: Side) -> tuple[Finding, ...]:
    """The signals of ``side`` that stand out, the most weighty first."""
    found = []
    for result in signals.values():
        z = result.placed.z
        value = result.value
        if result.side is not side or z is None or value is None or z < NOTABLE_Z:
            continue
        found.append(
            (
                -(result.weight * (result.normalised or 0.0)),
                result.name,
                Finding(
                    signal=result.name,
                    side=side,
                    value=value,
                    peer_median=result.placed.peer_median,
                    z=z,
                    evidence=result.measurement.evidence[:FINDING_EVIDENCE],
                ),
            )
        )
    return tuple(finding for _, _, finding in sorted(found, key=lambda f: (f[0], f[1])))


def decide(
    client_score: int | None,
    agency_score: int | None,
    pm_change_requests: int,
    elevated_score: float,
) -> tuple[Verdict, bool]:
    """The verdict (the module's docstring) and whether the agency side reads as bad."""
    agency_bad = agency_score is not None and agency_score >= elevated_score
    if pm_change_requests > 0:
        return (Verdict.CHECK_PM if agency_bad else Verdict.CLIENT), agency_bad
    if agency_bad:
        return Verdict.CHECK_PM, agency_bad
    if client_score is not None and client_score >= elevated_score:
        return Verdict.CLIENT, agency_bad
    return Verdict.NONE, agency_bad


def read(
    signals: Mapping[SignalName, SignalResult],
    client_score: int | None,
    agency_score: int | None,
    elevated_score: float,
) -> Reading:
    """The verdict of one client over one window, with its findings."""
    requests = signals.get(SignalName.PM_CHANGE_REQUEST)
    asked = requests.measurement.evidence if requests is not None else ()
    count = int(requests.value or 0) if requests is not None else 0
    verdict, agency_bad = decide(client_score, agency_score, count, elevated_score)
    return Reading(
        verdict=verdict,
        agency_side_bad=agency_bad,
        pm_change_requests=asked,
        client_findings=findings(signals, Side.CLIENT),
        agency_findings=findings(signals, Side.AGENCY),
    )
