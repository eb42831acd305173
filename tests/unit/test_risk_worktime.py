"""Working time in the agency's zone: exact across the changes of the clocks (Berlin, 2026)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from scopeguard.domain.risk.worktime import WorkingTime

BERLIN = ZoneInfo("Europe/Berlin")
EVERY_DAY = (0, 1, 2, 3, 4, 5, 6)


def at(text: str, zone: ZoneInfo = BERLIN) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone)


@pytest.mark.parametrize(
    ("day", "hours"),
    [
        (date(2026, 3, 28), 12),  # an ordinary Saturday
        (date(2026, 3, 29), 11),  # clocks forward at 02:00: 00:00-12:00 lasts 11 hours
        (date(2026, 10, 25), 13),  # clocks back at 03:00: 00:00-12:00 lasts 13 hours
    ],
)
def test_a_working_window_spanning_the_change_of_the_clocks_is_as_long_as_it_really_is(
    day: date, hours: int
) -> None:
    working = WorkingTime(BERLIN, EVERY_DAY, time(0, 0), time(12, 0))
    opens = datetime.combine(day, time(0), BERLIN)
    closes = datetime.combine(day, time(23, 30), BERLIN)
    assert working.working_seconds(opens, closes) == hours * 3600


def test_moments_on_the_change_days_are_read_on_the_agency_clock_after_the_change() -> None:
    working = WorkingTime(BERLIN, EVERY_DAY, time(9), time(19))
    # 07:30 UTC is 09:30 summer time on 29 March (08:30 if the old offset were kept).
    assert working.in_hours(datetime(2026, 3, 29, 7, 30, tzinfo=UTC))
    assert not working.in_hours(datetime(2026, 3, 29, 6, 30, tzinfo=UTC))
    # 17:30 UTC is 18:30 winter time on 25 October (19:30 if summer time were kept).
    assert working.in_hours(datetime(2026, 10, 25, 17, 30, tzinfo=UTC))
    assert not working.in_hours(datetime(2026, 10, 25, 18, 30, tzinfo=UTC))
    # The repeated hour 02:00-03:00 on 25 October is late night both times.
    assert working.is_late_night(datetime(2026, 10, 25, 0, 30, tzinfo=UTC))
    assert working.is_late_night(datetime(2026, 10, 25, 1, 30, tzinfo=UTC))


def test_a_weekend_across_the_change_counts_only_the_working_hours_either_side() -> None:
    working = WorkingTime(BERLIN)  # Mon-Fri 09:00-19:00
    # Friday 18:00 to Monday 10:00: one hour on Friday, one on Monday, clocks forward between.
    assert working.working_hours(at("2026-03-27 18:00"), at("2026-03-30 10:00")) == 2.0
    assert working.working_hours(at("2026-10-23 18:30"), at("2026-10-26 09:30")) == 1.0


def test_working_time_counts_from_any_zone_to_the_agencys_hours() -> None:
    working = WorkingTime(ZoneInfo("Europe/Moscow"))
    new_york = ZoneInfo("America/New_York")
    # 17:00 in New York on a Monday is 01:00 Tuesday in Moscow: nothing counts until 09:00.
    asked = datetime(2026, 11, 16, 17, 0, tzinfo=new_york)
    answered = datetime(2026, 11, 17, 9, 30, tzinfo=ZoneInfo("Europe/Moscow"))
    assert working.working_hours(asked, answered) == 0.5
    assert not working.in_hours(asked)


def test_working_seconds_over_months_agree_with_counting_day_by_day() -> None:
    working = WorkingTime(BERLIN)
    since, until = at("2026-01-05 12:00"), at("2026-12-02 10:15")
    by_day = 0.0
    for day in working.working_days(since.date(), until.date()):
        window = working.window(day)
        assert window is not None
        start, end = max(window[0], since), min(window[1], until)
        by_day += max(0.0, (end - start).total_seconds())
    assert working.working_seconds(since, until) == pytest.approx(by_day)
    # An earlier question after a later one rebuilds the running totals correctly.
    assert working.working_hours(at("2025-06-02 09:00"), at("2025-06-02 11:00")) == 2.0


def test_a_late_message_is_seen_on_the_next_working_day() -> None:
    working = WorkingTime(BERLIN)
    assert working.seen_on(at("2026-11-13 23:00")) == date(2026, 11, 16)  # Friday night → Monday
    assert working.seen_on(at("2026-11-17 07:00")) == date(2026, 11, 17)  # before opening
    assert working.seen_on(at("2026-11-17 19:30")) == date(2026, 11, 18)  # after closing


def test_working_hours_must_make_sense() -> None:
    with pytest.raises(ValueError, match="end after"):
        WorkingTime(BERLIN, start=time(19), end=time(9))
    with pytest.raises(ValueError, match="weekday"):
        WorkingTime(BERLIN, days=())
