"""The daily series: one point per agency day, agreeing with the summary at every day's end."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scopeguard.adapters.store.facts_codec import decode_facts, encode_facts
from scopeguard.domain.contract import Contract, ScopeUnit, WorkflowRules
from scopeguard.domain.figures import ClientFigures, SyncStatus
from scopeguard.domain.metrics import (
    DayPoint,
    IssueFacts,
    ScopeSummary,
    daily_series,
    end_of_day,
    issue_facts,
    summarize,
    summary_and_series,
)
from scopeguard.domain.model import ChangeItem, Issue, Status, StatusCategory
from scopeguard.domain.timeseries import DailySeries
from scopeguard.presentation.documents import series_document
from tests.support.issues import MSK, msk

RULES = WorkflowRules()
SITE = (
    Status("1", "To Do", StatusCategory.NEW),
    Status("3", "In Progress", StatusCategory.INDETERMINATE),
    Status("10", "Client Review", StatusCategory.INDETERMINATE),
    Status("20", "Done", StatusCategory.DONE),
    Status("23", "Принято клиентом", StatusCategory.DONE),
)
STATUSES = {status.id: status for status in SITE}
BY_NAME = {status.name: status for status in SITE}


def contract(**changes: Any) -> Contract:
    values: dict[str, Any] = {
        "start": msk("2026-08-25 00:00"),
        "end": msk("2026-09-30 23:59:59.999999"),
        "baseline": msk("2026-09-01 00:00"),
        "scope": {ScopeUnit.ISSUES: 10.0, ScopeUnit.STORY_POINTS: 40.0},
        "revisions_per_issue": 1,
    }
    values.update(changes)
    return Contract(**values)


CONTRACT = contract()


def status_change(at: str, source: str, target: str, history: int) -> ChangeItem:
    return ChangeItem(
        str(history),
        msk(at),
        "status",
        "status",
        BY_NAME[source].id,
        source,
        BY_NAME[target].id,
        target,
        "acc-1",
        "Carla Client",
    )


def issue(
    key: str,
    created: str,
    *changes: ChangeItem,
    labels: Sequence[str] = (),
    points: float | None = None,
    resolution: str | None = None,
    removed_at: str | None = None,
) -> Issue:
    moments = [msk(created), *(c.created for c in changes)]
    return Issue(
        key=key,
        id=key,
        project_key="ACME",
        issue_type="Task",
        summary=key,
        created=msk(created),
        updated=max(moments),
        status=SITE[0],
        labels=tuple(labels),
        resolution=resolution,
        story_points=points,
        changes=changes,
        removed_at=None if removed_at is None else msk(removed_at),
    )


def facts_of(*issues: Issue, within: Contract = CONTRACT) -> list[IssueFacts]:
    return [issue_facts(i, within, RULES, STATUSES) for i in issues]


def point_on(series: list[DayPoint], day: date) -> DayPoint:
    return next(point for point in series if point.day == day)


def assert_point_matches_summary(point: DayPoint, summary: ScopeSummary, within: Contract) -> None:
    """A series point says the same as the summary at the end of its day."""
    assert point.revisions == summary.revisions.total
    assert point.reopens == summary.reopens.total
    assert set(point.units) == set(within.scope)
    for unit, figures in summary.scope.by_unit.items():
        mine = point.units[unit]
        assert (mine.added, mine.approved, mine.inflation, mine.creep, mine.creep_percent) == (
            figures.added,
            figures.approved,
            figures.inflation,
            figures.creep,
            figures.creep_percent,
        )
    if ScopeUnit.ISSUES in point.units:
        issues = point.units[ScopeUnit.ISSUES]
        assert issues.baseline == summary.scope.baseline_issues
        assert issues.added == len(summary.scope.added)
        assert issues.approved == len(summary.scope.approved_changes)
        assert issues.removed == len(summary.scope.removed)


# --- shape ----------------------------------------------------------------------------


def test_one_point_per_agency_day_until_the_earlier_of_until_and_contract_end() -> None:
    assert [p.day for p in daily_series([], CONTRACT, MSK, date(2026, 8, 28))] == [
        date(2026, 8, 25),
        date(2026, 8, 26),
        date(2026, 8, 27),
        date(2026, 8, 28),
    ]
    assert len(daily_series([], CONTRACT, MSK, date(2027, 1, 1))) == 37  # 25 Aug – 30 Sep
    assert daily_series([], CONTRACT, MSK, date(2026, 8, 1)) == []
    open_ended = contract(end=None)
    assert daily_series([], open_ended, MSK, date(2026, 10, 5))[-1].day == date(2026, 10, 5)


def test_end_of_day_is_the_last_microsecond_in_the_agency_zone() -> None:
    assert end_of_day(date(2026, 9, 1), MSK).isoformat() == "2026-09-01T23:59:59.999999+03:00"
    berlin = ZoneInfo("Europe/Berlin")  # 25 October 2026 has 25 hours there
    assert end_of_day(date(2026, 10, 25), berlin).isoformat() == "2026-10-25T23:59:59.999999+01:00"


def test_point_json() -> None:
    facts = facts_of(issue("ACME-1", "2026-09-02 10:00", points=3))
    point = daily_series(facts, CONTRACT, MSK, date(2026, 9, 2))[-1]
    figures = ClientFigures(
        "ACME",
        "ACME",
        summarize(facts, CONTRACT, end_of_day(point.day, MSK)),
        DailySeries(MSK, tuple(CONTRACT.scope), (point,)),
        SyncStatus(None, 1),
    )
    assert json.loads(json.dumps(series_document(figures)["days"][0])) == {
        "date": "2026-09-02",
        "units": {
            "issues": {
                "baseline": 0,
                "added": 1,
                "approved": 0,
                "inflation": 0,
                "creep": 1,
                "removed": 0,
                "creep_percent": 10.0,
            },
            "story_points": {
                "baseline": 0.0,
                "added": 3.0,
                "approved": 0.0,
                "inflation": 0.0,
                "creep": 3.0,
                "removed": 0.0,
                "creep_percent": 7.5,
            },
        },
        "revisions": 0,
        "reopens": 0,
        "logged_hours": 0.0,
    }


# --- days in the agency's zone ----------------------------------------------------------


def test_issue_created_half_past_midnight_moscow_lands_on_the_baseline_day() -> None:
    facts = facts_of(issue("ACME-2", "2026-09-01T00:30:00+03:00"))  # 31 Aug in UTC
    series = daily_series(facts, CONTRACT, MSK, date(2026, 9, 2))
    assert point_on(series, date(2026, 8, 31)).units[ScopeUnit.ISSUES].creep == 0
    assert point_on(series, date(2026, 9, 1)).units[ScopeUnit.ISSUES].creep == 1
    # Drawn in UTC days the same moment belongs to 31 August.
    in_utc = daily_series(facts, CONTRACT, ZoneInfo("UTC"), date(2026, 9, 2))
    assert point_on(in_utc, date(2026, 8, 31)).units[ScopeUnit.ISSUES].creep == 1


def test_events_before_the_contract_start_are_in_the_first_point() -> None:
    facts = facts_of(issue("ACME-1", "2026-07-01 10:00", points=5))
    first = daily_series(facts, CONTRACT, MSK, date(2026, 9, 30))[0]
    assert first.units[ScopeUnit.ISSUES].baseline == 1
    assert first.units[ScopeUnit.STORY_POINTS].baseline == 5.0


# --- movements day by day ---------------------------------------------------------------


def test_approval_moves_scope_from_creep_to_approved_on_its_day() -> None:
    labelled = ChangeItem(
        "900", msk("2026-09-05 18:00"), "labels", "labels", None, "", None, "change-request"
    )
    facts = facts_of(
        issue("ACME-3", "2026-09-03 10:00", labelled, labels=["change-request"], points=2)
    )
    series = daily_series(facts, CONTRACT, MSK, date(2026, 9, 6))
    before, on = point_on(series, date(2026, 9, 4)), point_on(series, date(2026, 9, 5))
    assert (
        before.units[ScopeUnit.STORY_POINTS].creep,
        before.units[ScopeUnit.STORY_POINTS].approved,
    ) == (2.0, 0.0)
    assert (on.units[ScopeUnit.STORY_POINTS].creep, on.units[ScopeUnit.STORY_POINTS].approved) == (
        0.0,
        2.0,
    )


def test_removal_is_recorded_on_its_day_without_shrinking_baseline_or_creep() -> None:
    facts = facts_of(
        issue("ACME-4", "2026-08-26 10:00", removed_at="2026-09-10 09:00"),
        issue("ACME-5", "2026-09-02 10:00", removed_at="2026-09-11 09:00"),
    )
    series = daily_series(facts, CONTRACT, MSK, date(2026, 9, 12))
    issues = [point_on(series, date(2026, 9, d)).units[ScopeUnit.ISSUES] for d in (9, 10, 11)]
    assert [(u.baseline, u.creep, u.removed) for u in issues] == [(1, 1, 0), (1, 1, 1), (1, 1, 2)]


def test_revisions_and_reopens_accumulate() -> None:
    facts = facts_of(
        issue(
            "ACME-6",
            "2026-08-26 10:00",
            status_change("2026-09-02 10:00", "To Do", "Client Review", 1),
            status_change("2026-09-02 11:00", "Client Review", "In Progress", 2),
            status_change("2026-09-04 10:00", "In Progress", "Принято клиентом", 3),
            status_change("2026-09-04 23:59", "Принято клиентом", "To Do", 4),
        )
    )
    series = daily_series(facts, CONTRACT, MSK, date(2026, 9, 5))
    counts = [(p.revisions, p.reopens) for p in series if p.day >= date(2026, 9, 1)]
    assert counts == [(0, 0), (1, 0), (1, 0), (2, 1), (2, 1)]


def test_last_point_equals_the_summary_at_the_end_of_that_day() -> None:
    within = contract(
        scope={ScopeUnit.STORY_POINTS: 40.0, ScopeUnit.ISSUES: 10.0, ScopeUnit.HOURS: 80.0}
    )
    points_up = ChangeItem(
        "800", msk("2026-09-07 10:00"), "Story Points", None, None, "3", None, "8"
    )
    facts = facts_of(
        issue("ACME-7", "2026-08-26 10:00", points_up, points=8),
        issue("ACME-8", "2026-09-03 10:00", points=5),
        issue("ACME-9", "2026-09-03 10:00", labels=["change-request"], points=1),
        issue("ACME-10", "2026-08-27 10:00", resolution="Won't Do", removed_at=None),
        issue(
            "ACME-11",
            "2026-08-26 10:00",
            status_change("2026-09-02 10:00", "To Do", "Client Review", 1),
            status_change("2026-09-02 11:00", "Client Review", "In Progress", 2),
        ),
        within=within,
    )
    last = daily_series(facts, within, MSK, date(2026, 9, 20))[-1]
    summary = summarize(facts, within, end_of_day(date(2026, 9, 20), MSK))
    assert_point_matches_summary(last, summary, within)
    assert last.units[ScopeUnit.STORY_POINTS].inflation == 5.0


# --- property: any history, any day -------------------------------------------------------

OFFSETS = [timezone(timedelta(hours=h)) for h in (-7, 0, 3, 5)]
BASE = datetime(2026, 8, 1, tzinfo=UTC)
POINTS = [None, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0]
SECONDS = [None, 600, 1800, 3600, 5400, 7200]


@st.composite
def histories(draw: st.DrawFn, key: str) -> Issue:
    """An issue with a random history: statuses, estimates, labels, resolution, removal."""
    offset = draw(st.sampled_from(OFFSETS))
    created = (BASE + timedelta(minutes=draw(st.integers(0, 80 * 24 * 60)))).astimezone(offset)
    moment = created
    changes: list[ChangeItem] = []
    status = SITE[0]
    points = draw(st.sampled_from(POINTS))
    seconds = draw(st.sampled_from(SECONDS))
    labels: list[str] = []
    resolution: str | None = None
    for n in range(draw(st.integers(0, 14))):
        moment += timedelta(minutes=draw(st.integers(1, 4 * 24 * 60)))
        at = moment.astimezone(draw(st.sampled_from(OFFSETS)))
        history = str(1000 + n)
        kind = draw(
            st.sampled_from(["status", "status", "status", "points", "hours", "label", "cancel"])
        )
        if kind == "status":
            target = draw(st.sampled_from(SITE))
            with_ids = draw(st.booleans())
            changes.append(
                ChangeItem(
                    history,
                    at,
                    "status",
                    "status" if with_ids else None,
                    status.id if with_ids else None,
                    status.name,
                    target.id if with_ids else None,
                    target.name,
                    "acc",
                    "Ann",
                )
            )
            status = target
        elif kind == "points":
            new = draw(st.sampled_from(POINTS))
            text = [None if v is None else f"{v:g}" for v in (points, new)]
            changes.append(
                ChangeItem(history, at, "Story Points", None, None, text[0], None, text[1])
            )
            points = new
        elif kind == "hours":
            new_seconds = draw(st.sampled_from(SECONDS))
            text = [None if v is None else str(v) for v in (seconds, new_seconds)]
            changes.append(
                ChangeItem(
                    history,
                    at,
                    "timeoriginalestimate",
                    "timeoriginalestimate",
                    text[0],
                    text[0],
                    text[1],
                    text[1],
                )
            )
            seconds = new_seconds
        elif kind == "label" and "change-request" not in labels:
            changes.append(
                ChangeItem(history, at, "labels", "labels", None, "", None, "change-request")
            )
            labels.append("change-request")
        elif kind == "cancel":
            new_resolution = draw(st.sampled_from([None, "Won't Do", "Done"]))
            changes.append(
                ChangeItem(
                    history, at, "resolution", "resolution", None, resolution, None, new_resolution
                )
            )
            resolution = new_resolution
    removed = None
    if draw(st.booleans()) and draw(st.booleans()):
        removed = moment + timedelta(hours=draw(st.integers(1, 500)))
    return Issue(
        key=key,
        id=key,
        project_key="ACME",
        issue_type=draw(st.sampled_from(["Task", "Task", "Change Request"])),
        summary=key,
        created=created,
        updated=max([created, *(c.created for c in changes)]),
        status=status,
        labels=tuple(labels),
        resolution=resolution,
        story_points=points,
        original_estimate_seconds=seconds,
        changes=tuple(changes),
        removed_at=removed,
    )


@st.composite
def projects(draw: st.DrawFn) -> tuple[list[Issue], Contract, date, int]:
    count = draw(st.integers(0, 8))
    issues = [draw(histories(f"ACME-{n + 1}")) for n in range(count)]
    extra = draw(st.sets(st.sampled_from([ScopeUnit.STORY_POINTS, ScopeUnit.HOURS])))
    scope = {ScopeUnit.ISSUES: float(draw(st.integers(1, 30)))}
    scope.update({unit: float(draw(st.integers(1, 60))) for unit in extra})
    start = datetime(2026, 8, 10, tzinfo=MSK)
    within = Contract(
        start=start,
        end=draw(st.sampled_from([None, datetime(2026, 10, 31, 23, 59, 59, 999999, tzinfo=MSK)])),
        baseline=start + timedelta(days=draw(st.integers(0, 30))),
        scope=scope,
        revisions_per_issue=draw(st.integers(0, 3)),
        revisions_total=draw(st.sampled_from([None, 3, 10])),
        reopen_limit=draw(st.sampled_from([None, 0, 2])),
        change_request_issue_types=("Change Request",),
        hours_per_story_point=draw(st.sampled_from([None, 2.0])),
        hours_per_revision=1.0,
        hourly_rate=50.0,
    )
    until = date(2026, 8, 10) + timedelta(days=draw(st.integers(0, 120)))
    return issues, within, until, draw(st.integers(0, 200))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(projects())
def test_every_series_point_equals_the_summary_at_the_end_of_its_day(
    project: tuple[list[Issue], Contract, date, int],
) -> None:
    issues, within, until, pick = project
    facts = [issue_facts(i, within, RULES, STATUSES) for i in issues]
    series = daily_series(facts, within, MSK, until)
    if not series:
        return
    for point in (series[-1], series[pick % len(series)]):
        summary = summarize(facts, within, end_of_day(point.day, MSK))
        assert_point_matches_summary(point, summary, within)
    # The refresh computes both from one pass over the ledger: the same figures.
    as_of = end_of_day(series[pick % len(series)].day, MSK)
    assert summary_and_series(facts, within, as_of, MSK, until) == (
        summarize(facts, within, as_of),
        series,
    )


@settings(max_examples=100, deadline=None)
@given(st.lists(histories("ACME-1"), min_size=1, max_size=3))
def test_facts_survive_a_json_round_trip(issues: list[Issue]) -> None:
    for one in issues:
        facts = issue_facts(one, CONTRACT, RULES, STATUSES)
        assert decode_facts(encode_facts(facts)) == facts
