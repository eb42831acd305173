"""What a monthly report says, from hand-built histories with known answers.

One small agency month is laid out around the month's edges in Moscow time
(an issue at 00:30 on 1 October is October's, though it is still 30 September
in UTC), and every figure of the October report is checked against the
numbers worked out by hand from the definitions in ``docs/metrics.md``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from scopeguard.domain.contract import ScopeUnit
from scopeguard.domain.figures import SyncStatus
from scopeguard.domain.metrics import IssueFacts, end_of_day, summarize
from scopeguard.domain.month import Month
from scopeguard.domain.monthly_report import (
    ClientInfo,
    Comparison,
    MonthOutsideDataError,
    ReportData,
    build_report_data,
    check_month,
    report_months,
)
from scopeguard.presentation.report_formatting import Formatter
from tests.support.issues import MSK, IssueBuilder, facts_of, make_contract, msk

CONTRACT = make_contract(
    scope={ScopeUnit.ISSUES: 4.0, ScopeUnit.STORY_POINTS: 10.0},
    hourly_rate=100.0,
    hours_per_revision=2.0,
    currency="EUR",
)
CLIENT = ClientInfo(key="ACME", name="ACME Corp", agency="Northwind", notes="Call Ann.")
OCTOBER = Month(2026, 10)
SYNC = SyncStatus(last_success=datetime(2026, 11, 1, 5, 0, tzinfo=UTC), issues=9)


def agency_month() -> list[IssueFacts]:
    """The histories the October 2026 report is built from (baseline: 1 September)."""
    inflated = (
        IssueBuilder("ACME-1", "2026-08-10 10:00").points(3).set_points(5, "2026-10-05 12:00")
    )
    bounced = IssueBuilder("ACME-2", "2026-08-10 10:00").to("In Progress", "2026-09-02 09:00")
    for hour in (10, 11, 12):  # three rounds in September: the third is past the allowance
        bounced.to("Client Review", f"2026-09-02 {hour}:00")
        bounced.to("In Progress", f"2026-09-02 {hour}:30", by="Carla Client")
    bounced.to("Client Review", "2026-10-20 10:00")
    bounced.to("In Progress", "2026-10-20 15:45", by="Victor Grant")  # round 4, in October
    reopened = (
        IssueBuilder("ACME-8", "2026-08-12 10:00")
        .to("In Progress", "2026-09-03 10:00")
        .to("Done", "2026-09-04 10:00")
        .to("In Progress", "2026-10-07 10:00")  # a reopen in October (within the allowance)
    )
    builders = [
        inflated,
        bounced,
        reopened,
        IssueBuilder("ACME-3", "2026-10-01 00:30").points(1),  # 30 September in UTC
        IssueBuilder("ACME-4", "2026-09-15 10:00").points(2),  # September's creep
        IssueBuilder("ACME-5", "2026-10-10 10:00").points(5).labelled("change-request"),
        IssueBuilder("ACME-6", "2026-10-31 23:59:59").points(3),
        IssueBuilder("ACME-7", "2026-11-01 00:00:30").points(1),  # November's
    ]
    return [facts_of(builder, CONTRACT) for builder in builders]


def report(
    month: Month = OCTOBER, *, now: datetime | None = None, facts: list[IssueFacts] | None = None
) -> ReportData:
    """The report of ``month`` (October by default) from :func:`agency_month`."""
    return build_report_data(
        facts if facts is not None else agency_month(),
        CONTRACT,
        CLIENT,
        month,
        zone=MSK,
        now=now or msk("2026-11-01 08:00"),
        reporters={"ACME-3": "Carla Client", "ACME-5": "Agency PM"},
        sync=SYNC,
        version="1.2.3",
    )


# --- months ------------------------------------------------------------------------


def test_months_parse_and_step_over_the_year() -> None:
    assert Month.parse("2026-10") == OCTOBER
    assert str(Month.parse(" 2026-01 ")) == "2026-01"
    assert Month(2026, 1).previous() == Month(2025, 12)
    assert Month(2026, 12).next() == Month(2027, 1)
    assert Month(2026, 2).last_day == date(2026, 2, 28)
    assert Month(2028, 2).last_day == date(2028, 2, 29)
    for text in ("2026-13", "2026-1", "26-10", "October", "2026-00", ""):
        with pytest.raises(ValueError, match="YYYY-MM"):
            Month.parse(text)


def test_a_month_runs_from_midnight_to_midnight_in_the_agency_zone() -> None:
    assert OCTOBER.start(MSK) == msk("2026-10-01 00:00")
    assert OCTOBER.end(MSK) == msk("2026-10-31 23:59:59.999999")
    assert OCTOBER.end(MSK) == end_of_day(date(2026, 10, 31), MSK)
    # 23:30 UTC on 30 September is already October in Moscow.
    assert Month.of(datetime(2026, 9, 30, 23, 30, tzinfo=UTC), MSK) == OCTOBER
    assert Month.of(datetime(2026, 9, 30, 20, 30, tzinfo=UTC), MSK) == Month(2026, 9)


def test_reports_exist_from_the_contract_start_to_now_or_the_contract_end() -> None:
    assert report_months(CONTRACT, MSK, msk("2026-10-15 12:00")) == (Month(2026, 8), OCTOBER)
    assert report_months(CONTRACT, MSK, msk("2027-03-01 12:00")) == (
        Month(2026, 8),
        Month(2026, 12),
    )
    assert report_months(CONTRACT, MSK, msk("2026-07-01 12:00")) is None
    check_month(CONTRACT, MSK, msk("2026-10-15 12:00"), OCTOBER)  # in progress: allowed
    with pytest.raises(MonthOutsideDataError, match="2026-07 is outside the data: reports "):
        check_month(CONTRACT, MSK, msk("2026-10-15 12:00"), Month(2026, 7))
    with pytest.raises(MonthOutsideDataError, match="2026-08 to 2026-10"):
        check_month(CONTRACT, MSK, msk("2026-10-15 12:00"), Month(2026, 11))
    with pytest.raises(MonthOutsideDataError, match="there is no month to report yet"):
        check_month(CONTRACT, MSK, msk("2026-07-31 23:00"), Month(2026, 7))


# --- the October report ----------------------------------------------------------------


def test_the_report_is_the_summary_at_the_end_of_the_month() -> None:
    facts = agency_month()
    data = report(facts=facts)
    assert data.as_of == OCTOBER.end(MSK)
    assert data.complete is True
    assert data.summary == summarize(facts, CONTRACT, OCTOBER.end(MSK))
    previous = summarize(facts, CONTRACT, msk("2026-09-30 23:59:59.999999"))
    assert data.previous == previous
    assert data.previous_in_contract is True
    assert (data.figures.key, data.figures.name, data.figures.sync) == (
        CLIENT.key,
        CLIENT.name,
        SYNC,
    )
    # The series ends on the month's last day and its last point is the same state.
    latest = data.series.latest
    assert latest is not None and latest.day == date(2026, 10, 31)
    figures = data.summary.scope.by_unit[ScopeUnit.ISSUES]
    assert latest.units[ScopeUnit.ISSUES].creep == figures.creep
    assert latest.units[ScopeUnit.ISSUES].baseline == figures.baseline


def test_scope_figures_per_unit_for_the_month_and_to_date() -> None:
    data = report()
    issues, points = data.units
    # Creep (issues): ACME-3, -4 and -6; one of them (ACME-4) was September's.
    assert (issues.unit, issues.now.contracted, issues.now.creep, issues.creep_month) == (
        ScopeUnit.ISSUES,
        4.0,
        3,
        2,
    )
    assert (issues.now.creep_percent, issues.creep_percent_month) == (75.0, 50.0)
    assert (issues.now.baseline, issues.now.approved, issues.now.in_scope) == (3, 1, 7)
    # Points: inflation 3 → 5 of ACME-1 (+2) and 1 + 2 + 3 points of added issues.
    assert (points.now.creep, points.creep_month) == (8.0, 6.0)
    assert (points.now.creep_percent, points.creep_percent_month) == (80.0, 60.0)
    assert (points.now.baseline, points.now.approved, points.now.in_scope) == (3.0, 5.0, 16.0)
    assert data.headline is issues


def test_scope_added_this_month_respects_the_agency_zone_at_both_ends() -> None:
    data = report()
    assert [item.key for item in data.added] == ["ACME-3", "ACME-5", "ACME-6"]
    first, approved, last = data.added
    assert first.entered_at == msk("2026-10-01 00:30")
    assert first.reporter == "Carla Client"
    assert (first.approved, approved.approved, last.approved) == (False, True, False)
    assert approved.story_points == 5.0 and approved.reporter == "Agency PM"
    assert last.reporter is None
    assert data.approved_in_month == ("ACME-5",)
    assert data.removed_in_month == ()


def test_the_evidence_is_the_rounds_past_the_allowance_during_the_month() -> None:
    data = report()
    assert len(data.evidence) == 1
    (row,) = data.evidence
    assert (row.key, row.round.number, row.round.beyond_allowance) == ("ACME-2", 4, True)
    assert row.round.at == msk("2026-10-20 15:45")
    assert row.round.author == "Victor Grant"
    assert (row.round.from_status, row.round.to_status) == ("Client Review", "In Progress")
    (over,) = data.over_limit
    assert (over.key, over.revisions, over.beyond, over.in_month, over.reopens) == (
        "ACME-2",
        4,
        2,
        1,
        0,
    )
    assert data.revisions_in_month == 2  # ACME-2's fourth round and ACME-8's reopen
    assert data.reopens_in_month == 1
    assert data.rounds_beyond_in_month == 1


def test_overage_and_the_month_over_month_comparison() -> None:
    data = report()
    # No hours unit and no hours per point: only billable rounds, 2 h each at 100 EUR/h.
    overage = data.summary.overage
    assert (overage.amount, overage.currency, overage.rounds, overage.hours) == (
        400.0,
        "EUR",
        2,
        4.0,
    )
    assert data.previous.overage.amount == 200.0
    assert data.overage_month == 200.0
    rows = {item.metric: item for item in data.comparison}
    assert (rows["creep"].previous, rows["creep"].current, rows["creep"].delta) == (1, 3, 2.0)
    assert rows["creep_percent"].delta == 50.0
    assert (rows["revisions"].previous, rows["revisions"].current) == (3, 5)
    assert rows["over_limit"].delta == 0.0
    assert (rows["overage_amount"].previous, rows["overage_amount"].current) == (200.0, 400.0)
    assert rows["health"].delta is None
    assert list(rows) == [
        "creep",
        "creep_percent",
        "revisions",
        "over_limit",
        "reopens",
        "overage_rounds",
        "overage_hours",
        "overage_amount",
        "health",
    ]
    assert Comparison("x", 0.1, 0.3).delta == 0.2  # rounded like the figures, not 0.19999…


def test_a_month_in_progress_is_reported_as_of_now() -> None:
    now = msk("2026-10-15 12:00")
    data = report(now=now)
    assert data.as_of == now and data.complete is False
    # ACME-6 (31 October) and ACME-2's fourth round (20 October) have not happened yet.
    assert [item.key for item in data.added] == ["ACME-3", "ACME-5"]
    assert data.evidence == ()
    assert data.series.days[-1].day == date(2026, 10, 15)


def test_a_quiet_month_says_so_and_keeps_the_figures() -> None:
    data = report(Month(2026, 12), now=msk("2027-01-05 09:00"))
    assert data.has_activity is False
    assert data.added == () and data.evidence == ()
    assert data.revisions_in_month == 0 and data.reopens_in_month == 0
    assert data.summary.scope == data.previous.scope
    assert data.summary.scope.creep == 4  # ACME-7 joined in November
    assert report().has_activity is True


def test_the_first_month_compares_with_the_state_before_the_contract() -> None:
    data = report(Month(2026, 8))
    assert data.previous_in_contract is False
    assert data.previous.revisions.total == 0
    assert data.has_activity is True  # the baseline issues were created in August


def test_a_month_outside_the_data_is_refused() -> None:
    with pytest.raises(MonthOutsideDataError):
        report(Month(2027, 1), now=msk("2027-02-01 08:00"))


# --- how figures are written -----------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "en",
            {
                "percent": "75.0%",
                "points": "+50.0\u00a0pp",
                "signed": "\u22121.5",
                "money": "€1,234.50",
                "money_signed": "+€200.00",
                "day": "Oct 20, 2026",
                "moment": "Oct 20, 2026, 15:45",
                "month": "October 2026",
                "month_in_text": "October 2026",
                "unit": "Story points",
            },
        ),
        (
            "ru",
            {
                "percent": "75,0\u00a0%",
                "points": "+50,0\u00a0п.\u00a0п.",
                "signed": "\u22121,5",
                "money": "1\u00a0234,50\u00a0€",
                "money_signed": "+200,00\u00a0€",
                "day": "20 окт. 2026\u202fг.",
                "moment": "20 окт. 2026\u202fг., 15:45",
                "month": "Октябрь 2026",
                "month_in_text": "октябрь 2026",
                "unit": "Стори-пойнты",
            },
        ),
    ],
)
def test_figures_are_written_in_the_report_language(
    language: str, expected: dict[str, Any]
) -> None:
    fmt = Formatter(language, MSK, "EUR")
    moment = datetime(2026, 10, 20, 12, 45, tzinfo=UTC)  # 15:45 in Moscow
    written = {
        "percent": fmt.percent(75.0),
        "points": fmt.points(50.0),
        "signed": fmt.signed(-1.5),
        "money": fmt.money(1234.5),
        "money_signed": fmt.money(200.0, signed=True),
        "day": fmt.day(moment),
        "moment": fmt.moment(moment),
        "month": fmt.month(OCTOBER),
        "month_in_text": fmt.month_in_text(OCTOBER),
        "unit": fmt.unit(ScopeUnit.STORY_POINTS),
    }
    assert written == expected
    assert fmt.percent(None) == fmt.signed(None) == fmt.money(None) == "—"
    assert fmt.amount(ScopeUnit.ISSUES, 3.0) == "3"
    assert fmt.signed(0) == "0"
    assert fmt.moment(moment + timedelta(hours=9)).endswith("00:45")  # next day in Moscow


def test_issues_past_their_allowance_list_the_months_busiest_first() -> None:
    def bounced(key: str, day: str, rounds: int) -> IssueFacts:
        builder = IssueBuilder(key, "2026-08-10 10:00").to("In Progress", f"{day} 09:00")
        for hour in range(10, 10 + rounds):
            builder.to("Client Review", f"{day} {hour}:00").to("In Progress", f"{day} {hour}:30")
        return facts_of(builder, CONTRACT)

    facts = [
        bounced("ACME-9", "2026-09-10", 5),  # 3 beyond, none in October
        bounced("ACME-10", "2026-10-12", 3),  # 1 beyond, all 3 rounds in October
        bounced("ACME-11", "2026-09-10", 4),  # 2 beyond, none in October
        *agency_month(),  # ACME-2: 2 beyond, 1 round in October
    ]
    data = report(facts=facts)
    assert [(i.key, i.in_month, i.beyond) for i in data.over_limit] == [
        ("ACME-10", 3, 1),
        ("ACME-2", 1, 2),
        ("ACME-9", 0, 3),
        ("ACME-11", 0, 2),
    ]
