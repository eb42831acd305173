"""Each client-risk signal on small, hand-built histories (Moscow agency, Mon–Fri 09–19).

People: Paula Manager, Dmitri Developer and Olga Designer are the agency's team;
Carla Client (the builders' default author) and anyone else are the client.
"""

from __future__ import annotations

from datetime import time
from zoneinfo import ZoneInfo

import pytest

from scopeguard.domain.contract import ScopeUnit
from scopeguard.domain.risk.agency import neglect, prepare_responsiveness, responsiveness
from scopeguard.domain.risk.approvals import approval_drag
from scopeguard.domain.risk.briefs import vague_briefs
from scopeguard.domain.risk.churn import requirement_churn, revision_churn, scope_pressure
from scopeguard.domain.risk.people import Directory, Member, PmAssignment, Side, Sides
from scopeguard.domain.risk.policy import RiskPolicy
from scopeguard.domain.risk.pressure import escalation, pm_change_request
from scopeguard.domain.risk.signals import EvidenceKind
from scopeguard.domain.risk.timing import off_hours
from scopeguard.domain.risk.worktime import WorkingTime
from tests.support.issues import IssueBuilder, make_contract, msk
from tests.support.risk import DEV, PM, activity, matcher, people, policy, window

OCTOBER = window("2026-10-01 00:00", "2026-11-01 00:00")


# --- off-hours pressure ---------------------------------------------------------------


def test_off_hours_are_read_on_the_agency_clock_wherever_the_client_writes_from() -> None:
    # Carla works in New York, in her own office hours; for the Moscow agency that is evening.
    issue = (
        IssueBuilder("ACME-1", "2026-10-05T10:00:00-04:00")  # 17:00 Moscow: working hours
        .by("Carla Client")
        .comment("2026-10-05T13:00:00-04:00", "Looks fine")  # 20:00 Moscow
        .comment("2026-10-05T16:30:00-04:00", "One more thing")  # 23:30 Moscow: late night
        .to("In Progress", "2026-10-10 12:00")  # a Saturday
    )
    measured = off_hours(activity([issue]), OCTOBER, policy())
    assert measured.basis == 4
    assert measured.value == 0.75
    assert measured.details["late_night"] == 0.25
    assert measured.details["weekend"] == 0.25
    assert [e.kind for e in measured.evidence] == [
        EvidenceKind.STATUS_CHANGE,
        EvidenceKind.COMMENT,
        EvidenceKind.COMMENT,
    ]
    assert measured.evidence[1].text == "One more thing"


def test_off_hours_on_the_day_berlins_clocks_go_forward() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    every_day = RiskPolicy(WorkingTime(berlin, range(7), time(9), time(19)))
    issue = (
        IssueBuilder("ACME-1", "2026-03-27T10:00:00+01:00")
        .by("Carla Client")
        .comment("2026-03-29T07:30:00+00:00", "09:30 summer time: in hours")
        .comment("2026-03-29T06:30:00+00:00", "08:30 summer time: before hours")
    )
    march = window("2026-03-01 00:00", "2026-04-01 00:00")
    measured = off_hours(activity([issue]), march, every_day)
    assert measured.basis == 3
    assert measured.value == pytest.approx(1 / 3)
    assert [e.text for e in measured.evidence] == ["08:30 summer time: before hours"]


def test_an_internal_comment_is_the_agencys_whoever_wrote_it() -> None:
    issue = (
        IssueBuilder("ACME-1", "2026-10-05 10:00")
        .by("Carla Client")
        # Zed is in no list, so would be the client, but nobody outside sees an internal note.
        .comment(
            "2026-10-05 23:30",
            "internal: the client is unhappy",
            by="Zed Freelancer",
            internal=True,
        )
    )
    read = activity([issue])
    assert [a.side for a in read.issues[0].actions] == [Side.CLIENT, Side.AGENCY]
    assert off_hours(read, OCTOBER, policy()).value == 0.0


def test_a_comment_edited_at_night_is_one_more_night_action() -> None:
    issue = (
        IssueBuilder("ACME-1", "2026-10-05 10:00")
        .by("Carla Client")
        .comment("2026-10-05 11:00", "Please add the FAQ block", edited="2026-10-05 23:40")
        .comment("2026-10-06 11:00", "Typo fixed", edited="2026-10-06 11:00:30")  # not an edit
    )
    measured = off_hours(activity([issue]), OCTOBER, policy())
    assert measured.basis == 4
    assert measured.value == 0.25
    assert measured.evidence[0].kind is EvidenceKind.COMMENT_EDITED


def test_an_edit_of_a_client_comment_by_the_pm_is_the_agencys_action() -> None:
    issue = (
        IssueBuilder("ACME-1", "2026-10-05 10:00")
        .by("Carla Client")
        .comment("2026-10-05 11:00", "Please add the FAQ", edited="2026-10-05 12:00", edited_by=PM)
    )
    actions = activity([issue]).issues[0].actions
    assert [(a.kind.value, a.side) for a in actions] == [
        ("issue_created", Side.CLIENT),
        ("comment", Side.CLIENT),
        ("comment_edited", Side.AGENCY),
    ]


# --- vague briefs -------------------------------------------------------------------------


def test_vague_briefs_measure_the_issues_the_client_wrote_as_it_wrote_them() -> None:
    vague = (
        IssueBuilder("ACME-1", "2026-10-05 10:00")
        .by("Carla Client")
        .titled("Лендинг к акции")
        .described("Сделайте душевнее, чтобы глаза горели")
        # The PM rewrote it later: the brief is what the client first wrote.
        .edit_description(
            "Landing page. Acceptance criteria: 1. hero 2. form", "2026-10-06 10:00", by=PM
        )
    )
    clear = (
        IssueBuilder("ACME-2", "2026-10-07 10:00")
        .by("Carla Client")
        .titled("Order export")
        .described(
            "Export the order list for the finance team as CSV every Monday at 08:00, with "
            "order number, date, customer, total and VAT, sorted by date, one order a line.\n"
            "Acceptance criteria:\n1. The file opens in Excel.\n2. Totals match the ledger."
        )
    )
    by_agency = IssueBuilder("ACME-3", "2026-10-08 10:00").by(PM).titled("Make it pop")
    measured = vague_briefs(activity([vague, clear, by_agency]), OCTOBER, policy(), matcher())
    assert measured.basis == 2
    # ACME-1: 100 − 30 short − 25 no criteria − 20 two vague phrases = 25; ACME-2: 100.
    assert measured.value == pytest.approx(((100 - 25) / 100 + 0) / 2)
    assert measured.details["flagged"] == 0.5
    [evidence] = measured.evidence
    assert evidence.issue == "ACME-1"
    assert evidence.text is not None
    assert [evidence.text[a:b] for a, b in evidence.marks] == ["душевнее", "глаза горели"]
    assert evidence.detail == "clarity 25: short, no_acceptance_criteria, vague_wording"


def test_an_issue_without_a_description_is_named_as_such() -> None:
    bare = IssueBuilder("ACME-1", "2026-10-05 10:00").by("Carla Client").titled("Make it pop!")
    [evidence] = vague_briefs(activity([bare]), OCTOBER, policy(), matcher()).evidence
    assert evidence.detail is not None and evidence.detail.startswith("clarity 35: no_description")


# --- revision and requirement churn, scope pressure -------------------------------------


def test_revision_churn_is_rounds_per_delivered_issue_against_the_allowance() -> None:
    bounced = (
        IssueBuilder("ACME-1", "2026-09-20 10:00")
        .to("In Progress", "2026-10-01 10:00", by=DEV)
        .to("Client Review", "2026-10-02 10:00", by=DEV)
        .to("In Progress", "2026-10-02 15:00")
        .to("Client Review", "2026-10-05 10:00", by=DEV)
        .to("In Progress", "2026-10-05 16:00")
        .to("Client Review", "2026-10-06 10:00", by=DEV)
    )
    accepted = (
        IssueBuilder("ACME-2", "2026-09-20 10:00")
        .to("In Progress", "2026-10-01 10:00", by=DEV)
        .to("Client Review", "2026-10-02 10:00", by=DEV)
        .to("Done", "2026-10-03 10:00")
    )
    measured = revision_churn(activity([bounced, accepted]), OCTOBER, policy())
    # Two rounds over two delivered issues, against an allowance of 2 per issue.
    assert measured.value == 0.5
    assert measured.details["rounds"] == 2
    assert [e.detail for e in measured.evidence] == [
        "Client Review → In Progress",
        "Client Review → In Progress",
    ]
    strict = activity([bounced, accepted], contract=make_contract(revisions_per_issue=0))
    assert revision_churn(strict, OCTOBER, policy()).value == 1.0


def test_requirement_churn_counts_client_rewrites_after_work_started() -> None:
    issue = (
        IssueBuilder("ACME-1", "2026-10-01 10:00")
        .described("A form")
        .edit_description("A form with two fields", "2026-10-01 12:00")  # before work: fine
        .to("In Progress", "2026-10-02 10:00", by=DEV)
        .edit_description("A form with five fields", "2026-10-05 10:00")  # mid-work
        .edit_summary("Form, and a wizard", "2026-10-06 10:00")  # mid-work
        .edit_description("Five fields, as agreed", "2026-10-06 11:00", by=PM)  # the agency's
    )
    waiting = IssueBuilder("ACME-2", "2026-10-01 10:00")  # never started: not in progress
    measured = requirement_churn(activity([issue, waiting]), OCTOBER, policy())
    assert measured.basis == 1
    assert measured.value == 2.0
    assert [e.kind for e in measured.evidence] == [
        EvidenceKind.SUMMARY_EDIT,
        EvidenceKind.DESCRIPTION_EDIT,
    ]


def test_scope_pressure_is_creep_points_per_week() -> None:
    contract = make_contract(scope={ScopeUnit.ISSUES: 20.0})
    creep = [IssueBuilder(f"ACME-{n}", f"2026-10-0{n + 4} 10:00") for n in (1, 2)]
    approved = IssueBuilder("ACME-3", "2026-10-08 10:00").labelled("change-request")
    baseline = IssueBuilder("ACME-4", "2026-08-20 10:00")
    two_weeks = window("2026-10-05 00:00", "2026-10-19 00:00")
    measured = scope_pressure(
        activity([*creep, approved, baseline], contract=contract), two_weeks, policy()
    )
    # Two unapproved issues are 10 % of 20 contracted issues, over two weeks.
    assert measured.value == 5.0
    assert {e.issue for e in measured.evidence} == {"ACME-1", "ACME-2"}


# --- escalation and requests for another PM ---------------------------------------------


def test_escalation_finds_raised_priorities_earlier_due_dates_top_priorities_and_urgency() -> None:
    raised = (
        IssueBuilder("ACME-1", "2026-10-01 10:00")
        .by("Carla Client")
        .prioritised("Medium")
        .due("2026-10-30")
        .set_priority("Highest", "2026-10-02 10:00")
        .set_due("2026-10-20", "2026-10-02 10:05")
        .set_priority("Low", "2026-10-03 10:00")  # lowered: no escalation
        .set_priority("High", "2026-10-03 11:00", by=PM)  # the agency's own call
    )
    top = IssueBuilder("ACME-2", "2026-10-05 10:00").by("Carla Client").prioritised("Blocker")
    urgent = (
        IssueBuilder("ACME-3", "2026-10-06 10:00")
        .by("Carla Client")
        .comment("2026-10-06 11:00", "Это нужно срочнее всего остального")
        .comment("2026-10-06 12:00", "Urgent? no, take your time", by=DEV)
    )
    measured = escalation(activity([raised, top, urgent]), OCTOBER, policy(), matcher())
    assert measured.details == {
        "escalations": 4,
        "priority_raised": 1.0,
        "due_date_pulled_in": 1.0,
        "created_at_top_priority": 1.0,
        "urgent_wording": 1.0,
    }
    # Client actions: 3 issues created, 2 priority changes, 1 comment.
    assert measured.basis == 6
    assert measured.value == pytest.approx(4 / 6)
    details = [e.detail for e in measured.evidence]
    assert "due date pulled in: 2026-10-30 → 2026-10-20" in details
    assert "priority raised: Medium → Highest" in details


def test_a_request_for_another_manager_is_found_in_either_language() -> None:
    issue = (
        IssueBuilder("ACME-1", "2026-10-01 10:00")
        .by("Carla Client")
        .comment("2026-10-02 10:00", "Давайте сменим менеджера, так дальше нельзя.")
        .comment("2026-10-03 10:00", "Honestly, can we get someone else on this?")
        .comment("2026-10-04 10:00", "We need a different manager here", by=PM)  # the agency
        .comment("2026-10-05 10:00", "она просит другого менеджера", by=PM, internal=True)
    )
    measured = pm_change_request(activity([issue]), OCTOBER, policy(), matcher())
    assert measured.value == 2.0
    texts = [(e.text, [e.text[a:b] for a, b in e.marks]) for e in measured.evidence if e.text]
    assert texts == [
        ("Honestly, can we get someone else on this?", ["someone else on this"]),
        ("Давайте сменим менеджера, так дальше нельзя.", ["сменим менеджера"]),
    ]


# --- approval drag ----------------------------------------------------------------------


def test_approval_drag_counts_working_hours_until_the_client_acts() -> None:
    friday = (
        IssueBuilder("ACME-1", "2026-10-01 10:00")
        .to("In Progress", "2026-10-01 11:00", by=DEV)
        .to("Client Review", "2026-10-09 18:00", by=DEV)  # Friday, one working hour left
        .comment("2026-10-12 11:00", "Looks good")  # Monday: two more working hours
    )
    still_open = (
        IssueBuilder("ACME-2", "2026-10-01 10:00")
        .to("In Progress", "2026-10-01 11:00", by=DEV)
        .to("Client Review", "2026-10-13 10:00", by=DEV)
    )
    until_tuesday = window("2026-10-01 00:00", "2026-10-13 15:00")
    measured = approval_drag(activity([friday, still_open]), until_tuesday, policy())
    assert measured.basis == 2
    assert measured.value == pytest.approx((3 + 5) / 2)
    assert [(e.issue, e.hours, e.detail) for e in measured.evidence] == [
        ("ACME-2", 5.0, "still waiting"),
        ("ACME-1", 3.0, "ended by comment by Carla Client"),
    ]


# --- the agency's side ------------------------------------------------------------------


def test_a_midnight_message_answered_at_half_past_nine_waited_half_an_hour() -> None:
    issue = (
        IssueBuilder("ACME-1", "2026-10-05 10:00")
        .by("Carla Client")
        .assign(PM, "2026-10-05 10:20", by=PM)
        .comment("2026-10-06 00:10", "Can you change the title?")
        .comment("2026-10-06 00:20", "And the colour")  # the same wait: already open
        .comment("2026-10-06 09:30", "Done, see the preview", by=PM)
    )
    measured = responsiveness(activity([issue]), OCTOBER, policy())
    assert measured.basis == 2
    # The new issue waited 20 minutes for its assignment (evidence rounds to 0.01 h).
    assert sorted(e.hours for e in measured.evidence if e.hours is not None) == [0.33, 0.5]


def test_an_internal_note_does_not_answer_the_client() -> None:
    issue = (
        IssueBuilder("ACME-1", "2026-10-05 09:00", status="In Progress")
        .by(PM)
        .comment("2026-10-05 10:00", "Is this on track?")
        .comment("2026-10-05 10:30", "ask Dmitri", by=PM, internal=True)
        .comment("2026-10-05 15:00", "Yes, on track for Friday", by=PM)
    )
    measured = responsiveness(activity([issue]), OCTOBER, policy())
    assert measured.value == 5.0


def test_responsiveness_per_pm_follows_the_configured_pm_over_time() -> None:
    issue = (
        IssueBuilder("ACME-1", "2026-10-05 09:00")
        .by(PM)
        .comment("2026-10-05 10:00", "Question one")
        .comment("2026-10-05 11:00", "Answer one", by=PM)
        .comment("2026-10-20 10:00", "Question two")
        .comment("2026-10-20 14:00", "Answer two", by=DEV)
    )
    handover = [
        PmAssignment("acc-paula", until=msk("2026-10-15 00:00")),
        PmAssignment("acc-dmitri", since=msk("2026-10-15 00:00")),
    ]
    data = prepare_responsiveness(activity([issue], client_people=people(pm=handover)), policy())
    assert [(m.wait.pm, m.hours) for m in data.waits(OCTOBER)] == [
        ("acc-paula", 1.0),
        ("acc-dmitri", 4.0),
    ]
    # Without a configured PM: the agency account assigned to most issues.
    plain = activity([issue.assign(DEV, "2026-10-05 09:10", by=PM)])
    assert plain.default_pm == "acc-dmitri"


def test_neglect_counts_days_the_client_wrote_and_the_agency_did_nothing() -> None:
    issue = (
        IssueBuilder("ACME-1", "2026-10-01 10:00", status="In Progress")
        .by(PM)
        .comment("2026-10-09 23:00", "Friday night: seen on Monday")
        .comment("2026-10-12 12:00", "Reply on Monday", by=DEV)
        .comment("2026-10-13 11:00", "Tuesday: nobody answers")
        .comment("2026-10-14 11:00", "Wednesday: still nobody")
    )
    measured = neglect(activity([issue]), window("2026-10-12 00:00", "2026-10-15 00:00"), policy())
    assert measured.basis == 3
    assert measured.value == pytest.approx(2 / 3)
    kinds = [e.kind for e in measured.evidence]
    assert kinds[0] is EvidenceKind.UNANSWERED
    assert [e.detail for e in measured.evidence if e.kind is EvidenceKind.NEGLECTED_DAY] == [
        "2026-10-14: 1 client action(s), no agency action",
        "2026-10-13: 1 client action(s), no agency action",
    ]
    # A day still in working hours at the window's end is not judged yet.
    midday = neglect(activity([issue]), window("2026-10-12 00:00", "2026-10-14 12:00"), policy())
    assert midday.basis == 2


def test_a_client_with_no_activity_measures_nothing_and_divides_by_nothing() -> None:
    empty = activity([])
    for measured in (
        off_hours(empty, OCTOBER, policy()),
        vague_briefs(empty, OCTOBER, policy(), matcher()),
        revision_churn(empty, OCTOBER, policy()),
        requirement_churn(empty, OCTOBER, policy()),
        escalation(empty, OCTOBER, policy(), matcher()),
        approval_drag(empty, OCTOBER, policy()),
        pm_change_request(empty, OCTOBER, policy(), matcher()),
        responsiveness(empty, OCTOBER, policy()),
        neglect(empty, OCTOBER, policy()),
    ):
        assert measured.value is None
        assert measured.evidence == ()


def test_explicit_client_users_and_ignored_bots_decide_sides() -> None:
    sides = Sides(
        agency=[Member(account="acc-paula"), Member(group="designers")],
        client_users=[Member(email="boss@client.example")],
        directory=Directory(
            emails={"acc-boss": "Boss@Client.example"},
            groups={"Designers": frozenset({"acc-olga"})},
        ),
        ignored=[Member(account="bot-automation")],
    )
    moment = make_contract().start
    assert sides.side("acc-paula", moment) is Side.AGENCY
    assert sides.side("acc-olga", moment) is Side.AGENCY  # a member of the group
    assert sides.side("acc-boss", moment) is Side.CLIENT  # named by email
    assert sides.side("acc-stranger", moment) is Side.CLIENT
    assert sides.side("bot-automation", moment) is Side.NONE
    assert sides.side(None, moment) is Side.NONE


def test_people_can_change_sides_over_time() -> None:
    left = msk("2026-10-01 00:00")
    sides = Sides(agency=[Member(account="acc-ivan", until=left)])
    assert sides.side("acc-ivan", msk("2026-09-30 12:00")) is Side.AGENCY
    assert sides.side("acc-ivan", msk("2026-10-02 12:00")) is Side.CLIENT
