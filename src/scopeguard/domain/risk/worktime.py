"""Working time in the agency's zone: which moments are working hours, and how many lie between two.

All arithmetic is on instants: each working day's window (``09:00``–``19:00``
local, say) is turned into two UTC instants with :mod:`zoneinfo`, and counting
is done between instants. So a day on which the clocks go forward has one hour
less in a window that spans the change, a day on which they go back one more,
and nothing is ever computed by subtracting two local wall-clock times. A local
time that does not exist (02:30 on the night the clocks go forward) is read as
Python reads it (PEP 495, the offset before the change), an ambiguous one as
its first occurrence.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Weekday names as the configuration writes them, Monday first (``date.weekday()`` order)."""


class WorkingTime:
    """The agency's working hours (days, start, end) and late-night hours in its zone.

    ``days`` are ``date.weekday()`` numbers (Monday 0). ``late_start``–``late_end``
    is the late-night span (default 22:00–07:00, across midnight).

    :meth:`working_seconds` is answered from running totals of working seconds per
    local day (:meth:`running`), built once for the days asked about, so counting
    the working time of a long wait costs two look-ups rather than a walk over its days.
    """

    __slots__ = (
        "_anchor",
        "_backward",
        "_backward_totals",
        "_forward",
        "_forward_totals",
        "days",
        "end",
        "late_end",
        "late_start",
        "start",
        "zone",
    )

    def __init__(
        self,
        zone: ZoneInfo,
        days: Iterable[int] = (0, 1, 2, 3, 4),
        start: time = time(9, 0),
        end: time = time(19, 0),
        *,
        late_start: time = time(22, 0),
        late_end: time = time(7, 0),
    ) -> None:
        self.zone = zone
        self.days = frozenset(days)
        if not self.days or not self.days <= set(range(7)):
            raise ValueError("working days are weekday numbers 0 (Monday) to 6, at least one")
        if end <= start:
            raise ValueError("working hours must end after they start")
        self.start = start
        self.end = end
        self.late_start = late_start
        self.late_end = late_end
        # Running totals per local day from an anchor day (the first asked about),
        # growing either way as needed: forward[i] is day anchor + i, backward[j] day
        # anchor − 1 − j; the totals are the working seconds from the anchor's start
        # to the start of that day.
        self._anchor: int | None = None
        self._forward: list[tuple[float, float] | None] = []
        self._forward_totals: list[float] = [0.0]
        self._backward: list[tuple[float, float] | None] = []
        self._backward_totals: list[float] = []

    @classmethod
    def named(
        cls,
        zone: ZoneInfo,
        days: Iterable[str],
        start: time,
        end: time,
        *,
        late_start: time = time(22, 0),
        late_end: time = time(7, 0),
    ) -> WorkingTime:
        """Working time from the configuration's weekday names (``mon``…``sun``)."""
        numbers = [WEEKDAYS.index(name) for name in days]
        return cls(zone, numbers, start, end, late_start=late_start, late_end=late_end)

    # --- one moment ---------------------------------------------------------------

    def local(self, moment: datetime) -> datetime:
        """``moment`` on the agency's clock."""
        return moment.astimezone(self.zone)

    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` is one of the working weekdays."""
        return day.weekday() in self.days

    def in_hours(self, moment: datetime) -> bool:
        """Whether ``moment`` falls within working hours on a working day (agency clock)."""
        local = moment.astimezone(self.zone)
        if local.weekday() not in self.days:
            return False
        clock = local.timetz().replace(tzinfo=None)
        return self.start <= clock < self.end

    def is_late_night(self, moment: datetime) -> bool:
        """Whether ``moment`` falls in the late-night span (22:00–07:00 by default), any day."""
        clock = moment.astimezone(self.zone).time()
        if self.late_start <= self.late_end:
            return self.late_start <= clock < self.late_end
        return clock >= self.late_start or clock < self.late_end

    def is_rest_day(self, moment: datetime) -> bool:
        """Whether ``moment`` falls on a day that is not a working day (a weekend)."""
        return moment.astimezone(self.zone).weekday() not in self.days

    def classify(self, moment: datetime) -> tuple[bool, bool, bool]:
        """(in working hours, late night, rest day) of ``moment``, read on the clock once."""
        local = moment.astimezone(self.zone)
        clock = local.time()
        rest = local.weekday() not in self.days
        if self.late_start <= self.late_end:
            late = self.late_start <= clock < self.late_end
        else:
            late = clock >= self.late_start or clock < self.late_end
        return (not rest and self.start <= clock < self.end), late, rest

    def seen_on(self, moment: datetime) -> date:
        """The working day on which the agency first sees something done at ``moment``.

        The same day if it happened on a working day before the end of working
        hours, otherwise the next working day: a message at 23:00 on Friday is
        Monday's.
        """
        local = moment.astimezone(self.zone)
        day = local.date()
        if day.weekday() in self.days and local.time() < self.end:
            return day
        day += timedelta(days=1)
        while day.weekday() not in self.days:
            day += timedelta(days=1)
        return day

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        """The working hours of ``day`` as two UTC instants; ``None`` on a rest day."""
        if day.weekday() not in self.days:
            return None
        opens = datetime.combine(day, self.start, tzinfo=self.zone).astimezone(UTC)
        closes = datetime.combine(day, self.end, tzinfo=self.zone).astimezone(UTC)
        return opens, closes

    # --- between two moments ------------------------------------------------------

    def working_seconds(self, since: datetime, until: datetime) -> float:
        """Working seconds from ``since`` to ``until`` (0 when ``until`` is not later)."""
        if until <= since:
            return 0.0
        return max(0.0, self.running(until) - self.running(since))

    def working_hours(self, since: datetime, until: datetime) -> float:
        """:meth:`working_seconds` in hours."""
        return self.working_seconds(since, until) / 3600.0

    def working_days(self, since: date, until: date) -> list[date]:
        """The working days from ``since`` to ``until``, both included."""
        days = []
        day = since
        while day <= until:
            if day.weekday() in self.days:
                days.append(day)
            day += timedelta(days=1)
        return days

    def running(self, moment: datetime) -> float:
        """Working seconds from a fixed origin to ``moment`` (negative before it).

        Only differences mean anything: ``running(b) − running(a)`` is the working
        time between ``a`` and ``b``. A value once given never changes, so callers
        may keep it (the waits keep their start's).
        """
        return self.running_at(moment.timestamp())

    def running_at(self, timestamp: float) -> float:
        """:meth:`running` of the moment at POSIX ``timestamp``.

        For callers that already hold the timestamp (every action does): reading
        it again off an aware datetime costs more than the rest of the look-up.
        """
        ordinal = datetime.fromtimestamp(timestamp, self.zone).date().toordinal()
        if self._anchor is None:
            self._anchor = ordinal
        offset = ordinal - self._anchor
        if offset >= 0:
            while len(self._forward) <= offset:
                self._grow_forward()
            total, window = self._forward_totals[offset], self._forward[offset]
        else:
            back = -offset - 1
            while len(self._backward) <= back:
                self._grow_backward()
            total, window = self._backward_totals[back], self._backward[back]
        if window is not None:
            opens, closes = window
            if timestamp > opens:
                total += min(timestamp, closes) - opens
        return total

    def _span(self, ordinal: int) -> tuple[float, float] | None:
        window = self.window(date.fromordinal(ordinal))
        if window is None:
            return None
        return window[0].timestamp(), window[1].timestamp()

    def _grow_forward(self) -> None:
        assert self._anchor is not None
        span = self._span(self._anchor + len(self._forward))
        self._forward.append(span)
        length = 0.0 if span is None else span[1] - span[0]
        self._forward_totals.append(self._forward_totals[-1] + length)

    def _grow_backward(self) -> None:
        assert self._anchor is not None
        span = self._span(self._anchor - 1 - len(self._backward))
        self._backward.append(span)
        length = 0.0 if span is None else span[1] - span[0]
        before = self._backward_totals[-1] if self._backward_totals else 0.0
        self._backward_totals.append(before - length)
