"""Effort per revision round, on creep, burn and the actual overage (domain/effort.py).

Each edge case of the issue is here with its own test: a worklog spanning a
round's start (``started`` decides), a reopened done issue, worklogs written
in another time zone, and a backdated worklog logged days after the work.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scopeguard.domain.contract import ScopeUnit
from scopeguard.domain.effort import (
    Category,
    Rates,
    Worklog,
    daily_logged_hours,
    effort_and_daily_hours,
    effort_breakdown,
    empty_effort,
    place,
    summarize_effort,
)
from scopeguard.domain.facts import IssueFacts
from scopeguard.domain.timeseries import end_of_day
from tests.support.issues import MSK, IssueBuilder, facts_of, make_contract, msk

AS_OF = msk("2026-10-15 12:00")


def log(
    issue: str,
    started: str,
    hours: float,
    *,
    who: str = "acc-ivan",
    name: str = "Ivan Petrov",
    created: str | None = None,
    number: list[int] = [0],  # noqa: B006 - a counter shared on purpose: unique ids
) -> Worklog:
    number[0] += 1
    return Worklog(
        id=str(number[0]),
        issue_key=issue,
        author_account=who,
        author_name=name,
        started=msk(started),
        seconds=round(hours * 3600),
        created=msk(created) if created else msk(started),
    )


def bounced(key: str = "ACME-1") -> IssueBuilder:
    """A baseline issue: work from 2 Sep, review, three rounds, accepted on 20 Sep."""
    return (
        IssueBuilder(key, "2026-08-10 10:00")
        .to("In Progress", "2026-09-02 09:00", by="Ivan Dev")
        .to("Client Review", "2026-09-03 18:00", by="Ivan Dev")
        .to("In Progress", "2026-09-04 10:00")  # round 1
        .to("Client Review", "2026-09-05 18:00", by="Ivan Dev")
        .to("In Progress", "2026-09-07 10:00")  # round 2
        .to("Client Review", "2026-09-08 18:00", by="Ivan Dev")
        .to("In Progress", "2026-09-09 10:00")  # round 3: beyond an allowance of 2
        .to("Client Review", "2026-09-10 18:00", by="Ivan Dev")
        .to("Done", "2026-09-20 12:00")
    )


def facts_map(
    *builders: IssueBuilder, contract_changes: Mapping[str, object] | None = None
) -> dict[str, IssueFacts]:
    contract = make_contract(**(contract_changes or {}))
    return {b.key: facts_of(b, contract) for b in builders}


def test_deliveries_are_moves_into_review_or_done() -> None:
    facts = facts_of(bounced())
    assert facts.deliveries == tuple(
        msk(t).astimezone(facts.created.tzinfo)
        for t in (
            "2026-09-03 18:00",
            "2026-09-05 18:00",
            "2026-09-08 18:00",
            "2026-09-10 18:00",
            "2026-09-20 12:00",
        )
    )


def test_worklogs_fall_into_the_round_their_start_is_in() -> None:
    facts = facts_map(bounced())
    contract = make_contract()
    worklogs = [
        log("ACME-1", "2026-09-02 12:00", 5),  # first delivery: no round
        log("ACME-1", "2026-09-04 11:00", 2),  # round 1
        log("ACME-1", "2026-09-07 10:00", 1.5),  # round 2, at its very start
        log("ACME-1", "2026-09-09 12:00", 3),  # round 3
        log("ACME-1", "2026-09-10 18:00", 1),  # the delivery moment: round 3 is over
        log("ACME-1", "2026-09-12 10:00", 0.5),  # waiting in review: no round
    ]
    placed = {
        p.worklog.seconds: (p.round, p.category) for p in place(worklogs, facts, contract, AS_OF)
    }
    assert placed == {
        5 * 3600: (None, Category.CONTRACTED),
        2 * 3600: (1, Category.CONTRACTED),
        int(1.5 * 3600): (2, Category.CONTRACTED),
        3 * 3600: (3, Category.REVISION),
        3600: (None, Category.CONTRACTED),
        1800: (None, Category.CONTRACTED),
    }
    summary = summarize_effort(worklogs, facts, contract, Rates(80.0), AS_OF, zone=MSK)
    assert summary.logged_hours == 13.0
    assert summary.unbilled_revision_hours == 3.0
    assert summary.unbilled_hours == 3.0
    assert summary.unbilled_amount == 240.0
    issue = summary.by_issue["ACME-1"]
    assert [(r.round, r.hours, r.beyond_allowance) for r in issue.rounds] == [
        (1, 2.0, False),
        (2, 1.5, False),
        (3, 3.0, True),
    ]


def test_a_worklog_spanning_the_start_of_a_round_belongs_where_it_started() -> None:
    facts = facts_map(bounced())
    # Started at 09:00 on 9 Sep, one hour before round 3 began, and ran 4 hours into it.
    spanning = log("ACME-1", "2026-09-09 09:00", 4)
    (placement,) = place([spanning], facts, make_contract(), AS_OF)
    assert placement.round is None
    assert placement.category is Category.CONTRACTED
    # Started inside round 3 and ran past its delivery: all of it is round 3.
    late = log("ACME-1", "2026-09-10 16:00", 6)
    (placement,) = place([late], facts, make_contract(), AS_OF)
    assert (placement.round, placement.category) == (3, Category.REVISION)


def test_a_reopened_done_issue_starts_a_new_round() -> None:
    reopened = bounced().to("In Progress", "2026-09-25 09:00")  # round 4: a reopen
    facts = facts_map(reopened)
    assert facts["ACME-1"].revisions[-1].is_reopen
    worklogs = [log("ACME-1", "2026-09-21 10:00", 1), log("ACME-1", "2026-09-26 10:00", 2)]
    placed = [(p.round, p.category) for p in place(worklogs, facts, make_contract(), AS_OF)]
    assert placed == [(None, Category.CONTRACTED), (4, Category.REVISION)]


def test_worklogs_written_in_another_time_zone_are_placed_by_the_instant() -> None:
    facts = facts_map(bounced())
    new_york = ZoneInfo("America/New_York")
    # 9 Sep 02:30 in New York is 9 Sep 09:30 in Moscow: before round 3 (10:00 Moscow).
    before = Worklog(
        "ny-1", "ACME-1", "acc-ny", "NY Dev", datetime(2026, 9, 9, 2, 30, tzinfo=new_york), 3600
    )
    # 9 Sep 03:30 in New York is 10:30 in Moscow: inside round 3.
    inside = Worklog(
        "ny-2", "ACME-1", "acc-ny", "NY Dev", datetime(2026, 9, 9, 3, 30, tzinfo=new_york), 3600
    )
    placed = [p.round for p in place([before, inside], facts, make_contract(), AS_OF)]
    assert placed == [None, 3]
    # Days are the agency's: 23:30 in New York on 8 Sep is 9 Sep in Moscow.
    evening = Worklog(
        "ny-3", "ACME-1", "acc-ny", "NY Dev", datetime(2026, 9, 8, 23, 30, tzinfo=new_york), 1800
    )
    days = [date(2026, 9, 8), date(2026, 9, 9)]
    points = daily_logged_hours([evening], facts, make_contract(), AS_OF, zone=MSK, days=days)
    assert points == [0.0, 0.5]


def test_a_backdated_worklog_counts_for_the_round_of_the_work_not_of_the_logging() -> None:
    facts = facts_map(bounced())
    # Logged on 19 Sep for work done on 9 Sep in round 3.
    backdated = log("ACME-1", "2026-09-09 14:00", 2, created="2026-09-19 17:00")
    (placement,) = place([backdated], facts, make_contract(), AS_OF)
    assert (placement.round, placement.category) == (3, Category.REVISION)
    # As of 15 Sep it was not known yet, but the summary reads worklogs as known now,
    # dated by the work: it counts on 9 Sep.
    earlier = summarize_effort(
        [backdated], facts, make_contract(), Rates(10), msk("2026-09-15 12:00"), zone=MSK
    )
    assert earlier.unbilled_revision_hours == 2.0
    # Before the work started it does not count.
    before = summarize_effort(
        [backdated], facts, make_contract(), Rates(10), msk("2026-09-09 13:00"), zone=MSK
    )
    assert before.logged_hours == 0.0


def test_creep_and_approved_change_hours() -> None:
    added = IssueBuilder("ACME-2", "2026-09-10 10:00").to("In Progress", "2026-09-11 10:00")
    approved = (
        IssueBuilder("ACME-3", "2026-09-10 10:00")
        .to("In Progress", "2026-09-11 10:00")
        .add_label("change-request", "2026-09-20 10:00")
    )
    facts = facts_map(added, approved)
    worklogs = [
        log("ACME-2", "2026-09-12 10:00", 4),
        log("ACME-3", "2026-09-12 10:00", 3),  # before the approval, but approved by now
    ]
    contract = make_contract()
    now = summarize_effort(worklogs, facts, contract, Rates(100), AS_OF, zone=MSK)
    assert (now.creep_hours, now.approved_change_hours, now.unbilled_hours) == (4.0, 3.0, 4.0)
    assert now.unbilled_amount == 400.0
    # Before the approval, the change request's time was creep too.
    then = summarize_effort(
        worklogs, facts, contract, Rates(100), msk("2026-09-15 12:00"), zone=MSK
    )
    assert (then.creep_hours, then.approved_change_hours) == (7.0, 0.0)


def test_baseline_time_after_the_estimate_grew_is_creep_until_it_shrinks_back() -> None:
    grown = (
        IssueBuilder("ACME-4", "2026-08-10 10:00")
        .estimate_hours(10)
        .to("In Progress", "2026-09-02 09:00")
        .set_estimate_hours(16, "2026-09-05 10:00")
        .set_estimate_hours(10, "2026-09-15 10:00")
    )
    changes = {"scope": {ScopeUnit.HOURS: 100.0}}
    facts = facts_map(grown, contract_changes=changes)
    contract = make_contract(**changes)
    worklogs = [
        log("ACME-4", "2026-09-03 10:00", 2),  # before the growth: contracted
        log("ACME-4", "2026-09-06 10:00", 3),  # estimate above its baseline value: creep
        log("ACME-4", "2026-09-16 10:00", 1),  # back to the baseline estimate
    ]
    summary = summarize_effort(worklogs, facts, contract, Rates(50), AS_OF, zone=MSK)
    assert (summary.logged_hours, summary.creep_hours, summary.unbilled_hours) == (6.0, 3.0, 3.0)
    # An issues-only contract has no estimate growth, so no creep from it either.
    issues_only = facts_map(grown)
    assert (
        summarize_effort(
            worklogs, issues_only, make_contract(), Rates(50), AS_OF, zone=MSK
        ).creep_hours
        == 0.0
    )


def test_time_before_the_contract_or_outside_the_client_does_not_count() -> None:
    facts = facts_map(bounced())
    worklogs = [
        log("ACME-1", "2026-07-20 10:00", 8),  # before the contract start (1 Aug)
        log("OTHER-1", "2026-09-04 10:00", 8),  # not the client's issue
        log("ACME-1", "2026-10-20 10:00", 8),  # after the moment looked at
        log("ACME-1", "2026-09-04 10:00", 1),
    ]
    summary = summarize_effort(worklogs, facts, make_contract(), Rates(1), AS_OF, zone=MSK)
    assert summary.logged_hours == 1.0
    assert summary.worklogs == 1


def test_rates_per_person_and_group_price_each_hour_once() -> None:
    facts = facts_map(bounced())
    worklogs = [
        log("ACME-1", "2026-09-09 11:00", 1, who="acc-senior", name="Senior"),
        log("ACME-1", "2026-09-09 12:00", 2, who="acc-junior", name="Junior"),
        log("ACME-1", "2026-09-09 13:00", 0.5, who="acc-other", name="Other"),
    ]
    rates = Rates(
        default=90.0,
        accounts={"acc-senior": 150.0},
        groups=(("Juniors", frozenset({"acc-junior", "acc-senior"}), 60.0),),
    )
    summary = summarize_effort(worklogs, facts, make_contract(), rates, AS_OF, zone=MSK)
    assert summary.unbilled_hours == 3.5
    # The account's own rate wins over its group's: 1 x 150 + 2 x 60 + 0.5 x 90.
    assert summary.unbilled_amount == 315.0
    assert summary.per_person_rates
    breakdown = effort_breakdown(worklogs, facts, make_contract(), rates, AS_OF, zone=MSK)
    assert [(p.name, p.rate, p.unbilled_amount) for p in breakdown.people] == [
        ("Junior", 60.0, 120.0),
        ("Senior", 150.0, 150.0),
        ("Other", 90.0, 45.0),
    ]
    assert [w.week for w in breakdown.weeks] == [date(2026, 9, 7)]
    assert breakdown.weeks[0].unbilled_amount == 315.0


def test_hours_are_summed_in_seconds_and_rounded_once() -> None:
    facts = facts_map(bounced())
    # Three worklogs of 20 minutes: 1 hour exactly, not 3 x 0.33.
    worklogs = [log("ACME-1", f"2026-09-04 1{n}:00", 1 / 3) for n in range(3)]
    summary = summarize_effort(worklogs, facts, make_contract(), Rates(10), AS_OF, zone=MSK)
    assert summary.logged_hours == 1.0
    assert summary.by_issue["ACME-1"].rounds[0].hours == 1.0


def test_burn_pace_and_the_day_the_hours_run_out() -> None:
    facts = facts_map(bounced())
    changes = {"scope": {ScopeUnit.HOURS: 40.0}}
    contract = make_contract(**changes)
    # 28 hours in the four weeks before 15 Oct: a pace of one hour a day.
    first = msk("2026-09-18 10:00")
    worklogs = [
        log("ACME-1", (first + timedelta(days=d)).strftime("%Y-%m-%d %H:%M"), 1) for d in range(28)
    ]
    summary = summarize_effort(worklogs, facts, contract, Rates(1), AS_OF, zone=MSK)
    assert summary.burn.logged_hours == 28.0
    assert summary.burn.pace_hours_per_day == 1.0
    assert summary.burn.runs_out_on == date(2026, 10, 15) + timedelta(days=12)
    # Used up: the day the running total reached the contracted hours.
    over = summarize_effort(
        worklogs, facts, make_contract(scope={ScopeUnit.HOURS: 10.0}), Rates(1), AS_OF, zone=MSK
    )
    assert over.burn.runs_out_on == date(2026, 9, 27)
    # Without an hours contract there is nothing to run out.
    assert (
        summarize_effort(
            worklogs, facts, make_contract(), Rates(1), AS_OF, zone=MSK
        ).burn.runs_out_on
        is None
    )


def test_daily_series_equals_the_summary_at_each_day_end() -> None:
    facts = facts_map(bounced())
    contract = make_contract()
    worklogs = [log("ACME-1", f"2026-09-{d:02d} 23:30", 0.25 * d) for d in range(2, 15)]
    days = [date(2026, 9, d) for d in range(1, 16)]
    points = daily_logged_hours(worklogs, facts, contract, AS_OF, zone=MSK, days=days)
    for day, point in zip(days, points, strict=True):
        at_end = summarize_effort(
            worklogs, facts, contract, Rates(1), end_of_day(day, MSK), zone=MSK
        )
        assert at_end.logged_hours == point


def test_placing_once_for_both_gives_the_summary_and_the_daily_series() -> None:
    added = IssueBuilder("ACME-2", "2026-09-10 10:00").to("In Progress", "2026-09-11 10:00")
    facts = facts_map(bounced(), added)
    contract = make_contract(scope={ScopeUnit.HOURS: 10.0})
    rates = Rates(80.0, accounts={"acc-maria": 120.0})
    worklogs = [log("ACME-1", f"2026-09-{d:02d} 11:00", 0.5 * d) for d in range(2, 15)]
    worklogs += [log("ACME-2", "2026-09-12 10:00", 3, who="acc-maria", name="Maria")]
    days = [date(2026, 9, d) for d in range(1, 16)]
    summary, points = effort_and_daily_hours(
        worklogs, facts, contract, rates, AS_OF, zone=MSK, days=days
    )
    assert summary == summarize_effort(worklogs, facts, contract, rates, AS_OF, zone=MSK)
    assert points == daily_logged_hours(worklogs, facts, contract, AS_OF, zone=MSK, days=days)
    assert summary.unbilled_hours > 0 and points[-1] == summary.logged_hours
    assert effort_and_daily_hours(worklogs, facts, contract, rates, AS_OF, zone=MSK, days=[]) == (
        summary,
        [],
    )


def test_empty_effort_and_naive_moments() -> None:
    contract = make_contract(hourly_rate=75.0, currency="USD")
    empty = empty_effort(contract, AS_OF)
    assert (empty.logged_hours, empty.unbilled_amount, empty.currency) == (0.0, 0.0, "USD")
    assert empty.by_issue == {}
    with pytest.raises(ValueError, match="naive"):
        Worklog("1", "ACME-1", None, None, datetime(2026, 9, 1, 10, 0), 60)
    with pytest.raises(ValueError, match="aware"):
        place([], {}, contract, datetime(2026, 9, 1))
