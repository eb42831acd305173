"""The whole engine on an agency of six clients built from personas.

A demanding client (night messages, vague briefs, rounds, rewrites, urgency,
slow approvals, unapproved scope), a healthy one, a client whose PM lets it
down (slow answers, silent days, then "can we get someone else on this?"), and
three ordinary ones. The ranking, the verdicts and the explanations must tell
them apart, and name the events behind every figure.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise

import pytest

from scopeguard.domain.risk.engine import (
    PortfolioRisk,
    RiskStatus,
    Shortage,
    assess_portfolio,
)
from scopeguard.domain.risk.score import RiskLevel, combine, normalise
from scopeguard.domain.risk.signals import CLIENT_SIGNALS, EvidenceKind, SignalName
from scopeguard.domain.risk.verdict import Verdict
from scopeguard.presentation.documents import risk_document
from tests.support.issues import MSK
from tests.support.risk import Persona, matcher, persona_record, policy, record

START = datetime(2026, 9, 7, tzinfo=MSK)  # a Monday
WEEKS = 9
AS_OF = START + timedelta(weeks=WEEKS, days=-3, hours=12)  # Friday noon of the last week

PERSONAS = {
    "TOX": Persona(
        "Victor Client",
        night=0.7,
        vague=True,
        rounds=4,
        edits=2,
        escalate=True,
        approval_hours=60,
        creep=6,
        issues=16,
        seed=11,
    ),
    "HLT": Persona("Nina Client", rounds=0, approval_hours=2, reply_hours=1, issues=24, seed=23),
    "PMX": Persona(
        "Sam Client",
        night=0.05,
        rounds=1,
        approval_hours=6,
        reply_hours=30,
        skip_days=0.6,
        pm_request=True,
        issues=16,
        seed=31,
    ),
    "OR1": Persona("Ann Client", night=0.15, rounds=1, approval_hours=8, issues=16, seed=41),
    "OR2": Persona("Bob Client", night=0.2, rounds=2, approval_hours=10, creep=1, seed=51),
    "OR3": Persona("Kim Client", night=0.1, rounds=1, edits=1, approval_hours=6, seed=61),
}


@pytest.fixture(scope="module")
def portfolio() -> PortfolioRisk:
    records = [persona_record(k, p, start=START, weeks=WEEKS) for k, p in PERSONAS.items()]
    return assess_portfolio(records, policy(), matcher(), AS_OF)


def test_the_demanding_client_ranks_first_and_the_healthy_one_last(
    portfolio: PortfolioRisk,
) -> None:
    ranking = portfolio.ranking()
    assert ranking[0] == "TOX"
    assert ranking[-1] == "HLT"
    tox, healthy = portfolio.clients["TOX"], portfolio.clients["HLT"]
    assert tox.level is RiskLevel.HIGH
    assert healthy.level is RiskLevel.LOW
    assert tox.verdict is Verdict.CLIENT
    assert healthy.verdict is Verdict.NONE


def test_a_pm_change_request_with_a_slow_agency_reads_check_the_pm_first(
    portfolio: PortfolioRisk,
) -> None:
    pmx = portfolio.clients["PMX"]
    assert pmx.verdict is Verdict.CHECK_PM
    assert pmx.reading.agency_side_bad
    assert pmx.agency_score is not None and pmx.agency_score >= 50
    # The client's own score is not what is wrong here.
    tox_score = portfolio.clients["TOX"].score
    assert pmx.score is not None and tox_score is not None and pmx.score < tox_score
    [request] = pmx.reading.pm_change_requests
    assert request.issue.startswith("PMX-")
    assert request.text is not None
    assert [request.text[a:b] for a, b in request.marks] == [
        "someone else on this",
        "different project manager",
    ]
    agency = [f.signal for f in pmx.reading.agency_findings]
    assert SignalName.RESPONSIVENESS in agency


def test_the_same_request_from_a_client_the_agency_serves_well_reads_the_client(
    portfolio: PortfolioRisk,
) -> None:
    asking = {
        **PERSONAS,
        "PMX": Persona("Sam Client", rounds=1, pm_request=True, issues=16, seed=31),
    }
    records = [persona_record(k, p, start=START, weeks=WEEKS) for k, p in asking.items()]
    again = assess_portfolio(records, policy(), matcher(), AS_OF).clients["PMX"]
    assert len(again.reading.pm_change_requests) == 1
    assert not again.reading.agency_side_bad
    assert again.verdict is Verdict.CLIENT


def test_every_explanation_names_the_events_behind_it(portfolio: PortfolioRisk) -> None:
    tox = portfolio.clients["TOX"]
    found = {f.signal: f for f in tox.reading.client_findings}
    assert {SignalName.OFF_HOURS, SignalName.REVISION_CHURN, SignalName.VAGUE_BRIEFS} <= set(found)
    for finding in tox.reading.client_findings:
        assert finding.evidence, finding.signal
        for evidence in finding.evidence:
            assert evidence.issue.startswith("TOX-")
            assert tox.window.start <= evidence.at <= tox.window.end or (
                evidence.kind in (EvidenceKind.REVIEW_WAIT, EvidenceKind.RESPONSE_WAIT)
            )
    night = found[SignalName.OFF_HOURS].evidence[0]
    local = night.at.astimezone(MSK)
    assert local.weekday() >= 5 or not 9 <= local.hour < 19
    vague = found[SignalName.VAGUE_BRIEFS].evidence[0]
    assert vague.text is not None and vague.marks


def test_the_score_is_kept_per_week_with_both_halves_side_by_side(
    portfolio: PortfolioRisk,
) -> None:
    tox = portfolio.clients["TOX"]
    weeks = [w.week for w in tox.weekly]
    assert weeks[0] == START.date()
    assert all((b - a).days == 7 for a, b in pairwise(weeks))
    assert weeks[-1] == AS_OF.date() - timedelta(days=AS_OF.weekday())
    last = tox.weekly[-1]
    assert last.window == tox.window
    assert last.score == tox.score
    assert last.agency_score == tox.agency_score
    assert set(last.client) == set(CLIENT_SIGNALS)
    assert set(last.agency) == {SignalName.RESPONSIVENESS, SignalName.NEGLECT}
    # The demanding client stood out for most of the contract, not just this week.
    scored = [w.score for w in tox.weekly if w.score is not None]
    assert sum(score >= 75 for score in scored) >= len(scored) // 2


def test_a_client_with_no_activity_has_not_enough_data(portfolio: PortfolioRisk) -> None:
    records = [persona_record(k, p, start=START, weeks=WEEKS) for k, p in PERSONAS.items()]
    records.append(record("IDLE", []))
    idle = assess_portfolio(records, policy(), matcher(), AS_OF).clients["IDLE"]
    assert idle.status is RiskStatus.NOT_ENOUGH_DATA
    assert idle.shortage is Shortage.LITTLE_ACTIVITY
    assert idle.score is None and idle.level is None and idle.agency_score is None
    assert idle.verdict is Verdict.NONE
    # Nothing to measure, except that no scope was added: that is a measurement, 0.
    values = {name: result.value for name, result in idle.signals.items()}
    assert values.pop(SignalName.SCOPE_PRESSURE) == 0.0
    assert set(values.values()) == {None}
    assert all(week.score is None for week in idle.weekly)


def test_an_agency_of_one_client_has_nobody_to_compare_with() -> None:
    alone = persona_record("TOX", PERSONAS["TOX"], start=START, weeks=WEEKS)
    risk = assess_portfolio([alone], policy(), matcher(), AS_OF).clients["TOX"]
    assert risk.status is RiskStatus.NOT_ENOUGH_DATA
    assert risk.shortage is Shortage.FEW_PEERS
    assert risk.signals[SignalName.OFF_HOURS].value is not None
    assert risk.score is None


def test_the_early_warning_finds_the_past_client_a_new_contract_resembles(
    portfolio: PortfolioRisk,
) -> None:
    young = START + timedelta(weeks=WEEKS - 4)  # its first three weeks are over by AS_OF
    records = [persona_record(k, p, start=START, weeks=WEEKS) for k, p in PERSONAS.items()]
    copy = Persona(**{**PERSONAS["TOX"].__dict__, "client": "Vera Client", "seed": 99})
    records.append(persona_record("NEW", copy, start=young, weeks=4))
    result = assess_portfolio(records, policy(), matcher(), AS_OF)
    warning = result.clients["NEW"].early_warning
    assert warning is not None
    assert warning.weeks == 3
    assert warning.resembles == "TOX"
    assert warning.neighbours[0].level is RiskLevel.HIGH
    assert warning.score is not None and warning.score >= 75
    # A contract younger than its early weeks gets none yet.
    records[-1] = persona_record("NEW", copy, start=AS_OF - timedelta(weeks=2), weeks=2)
    assert (
        assess_portfolio(records, policy(), matcher(), AS_OF).clients["NEW"].early_warning is None
    )


def test_responsiveness_is_also_given_per_pm(portfolio: PortfolioRisk) -> None:
    [paula] = portfolio.by_pm
    assert paula.pm == "acc-paula"
    assert paula.name == "Paula Manager"
    assert set(paula.clients) == set(PERSONAS)
    assert paula.p90_hours >= paula.median_hours


def test_only_what_happened_by_as_of_counts(portfolio: PortfolioRisk) -> None:
    records = [persona_record(k, p, start=START, weeks=WEEKS) for k, p in PERSONAS.items()]
    earlier = START + timedelta(weeks=5)
    past = assess_portfolio(records, policy(), matcher(), earlier).clients["TOX"]
    assert past.window.end <= earlier + timedelta(microseconds=1)
    assert len(past.weekly) == 6
    for result in past.signals.values():
        for evidence in result.measurement.evidence:
            assert evidence.at <= earlier


def test_the_risk_document_has_the_api_shape(portfolio: PortfolioRisk) -> None:
    tox = portfolio.clients["TOX"]
    document = risk_document(tox, MSK, lambda key: f"https://jira.example/browse/{key}")
    assert list(document)[:9] == [
        "client",
        "as_of",
        "status",
        "score",
        "level",
        "verdict",
        "signals",
        "weekly",
        "early_warning",
    ]
    assert document["status"] == "ok" and document["level"] == "high"
    assert document["verdict"] == "client"
    assert set(document["signals"]) == {name.value for name in SignalName}
    off = document["signals"]["off_hours"]
    assert off["side"] == "client" and off["weight"] == 1.0
    evidence = off["evidence"][0]
    assert evidence["url"].startswith("https://jira.example/browse/TOX-")
    assert evidence["at"].endswith("+03:00")
    comment = next(e for e in off["evidence"] if e["kind"] == "comment")
    assert "?focusedCommentId=" in comment["url"] and comment["text"]
    assert document["weekly"][-1] == {
        "week": tox.weekly[-1].week.isoformat(),
        "score": tox.score,
        "agency_score": tox.agency_score,
        "status": "ok",
        "client": document["weekly"][-1]["client"],
        "agency": document["weekly"][-1]["agency"],
    }
    assert document["signals"]["responsiveness"]["side"] == "agency"


def test_normalising_is_robust_and_never_divides_by_zero() -> None:
    # The others all alike: their MAD is 0, the signal's minimum spread is used.
    alike = normalise(SignalName.OFF_HOURS, 0.30, [0.10, 0.10, 0.10], 2)
    assert alike.z == pytest.approx((0.30 - 0.10) / 0.05)
    assert alike.normalised == 1.0
    # One extreme other client does not move the yardstick much (median, not mean).
    typical = normalise(SignalName.OFF_HOURS, 0.12, [0.10, 0.12, 0.14, 0.95], 2)
    assert typical.peer_median == pytest.approx(0.13)
    assert typical.normalised is not None and 0.2 < typical.normalised < 0.4
    assert normalise(SignalName.OFF_HOURS, 0.3, [0.1], 2).normalised is None
    assert combine({SignalName.OFF_HOURS: None}, {SignalName.OFF_HOURS: 1.0}) is None
    assert (
        combine(
            {SignalName.OFF_HOURS: 1.0, SignalName.REVISION_CHURN: 0.25},
            {SignalName.OFF_HOURS: 1.0, SignalName.REVISION_CHURN: 2.0},
        )
        == 50
    )
