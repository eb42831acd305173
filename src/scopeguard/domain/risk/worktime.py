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

_MARGIN_DAYS = 400
"""How far before the first moment asked about the running totals start."""


class WorkingTime:
    """The agency's working hours (days, start, end) and late-night hours in its zone.

    ``days`` are ``date.weekday()`` numbers (Monday 0). ``late_start``–``late_end``
    is the late-night span (default 22:00–07:00, across midnight).

    :meth:`working_seconds` is answered from running totals of working seconds per
    local day, built once for the days asked about, so counting the working time
    of a long wait costs two look-ups rather than a walk over its days.
    """

    __slots__ = (
        "_cumulative",
        "_origin",
        "_windows",
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
        self._origin: int | None = None
        self._windows: list[tuple[float, float] | None] = []
        self._cumulative: list[float] = [0.0]

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
        return max(0.0, self._running(until) - self._running(since))

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

    def _running(self, moment: datetime) -> float:
        """Working seconds from the start of the running totals to ``moment``."""
        timestamp = moment.timestamp()
        day = datetime.fromtimestamp(timestamp, self.zone).date().toordinal()
        index = self._index(day)
        total = self._cumulative[index]
        window = self._windows[index]
        if window is not None:
            opens, closes = window
            if timestamp > opens:
                total += min(timestamp, closes) - opens
        return total

    def _index(self, ordinal: int) -> int:
        """Position of a local day in the running totals, extending them as needed."""
        if self._origin is None or ordinal < self._origin:
            # Rebuilt from further back; rare (a moment older than any seen so far).
            known = len(self._windows)
            last = ordinal if self._origin is None else self._origin + known - 1
            self._origin = ordinal - _MARGIN_DAYS
            self._windows = []
            self._cumulative = [0.0]
            self._extend(max(last, ordinal))
        elif ordinal >= self._origin + len(self._windows):
            self._extend(ordinal + _MARGIN_DAYS)
        return ordinal - self._origin

    def _extend(self, last: int) -> None:
        assert self._origin is not None
        for ordinal in range(self._origin + len(self._windows), last + 1):
            window = self.window(date.fromordinal(ordinal))
            if window is None:
                self._windows.append(None)
                self._cumulative.append(self._cumulative[-1])
            else:
                opens, closes = window[0].timestamp(), window[1].timestamp()
                self._windows.append((opens, closes))
                self._cumulative.append(self._cumulative[-1] + closes - opens)
