"""Waits: spans from one side's move to the other side's answer, measured in working hours.

Approval drag (the client's waits) and responsiveness (the agency's) both cut
their waits by one rule: a window holds every wait that ended in it, and every
wait still open at its end, counted up to that end. A wait is measured in the
agency's working hours only (:class:`~scopeguard.domain.risk.worktime.WorkingTime`).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from scopeguard.domain.risk.activity import Action
from scopeguard.domain.risk.signals import Window
from scopeguard.domain.risk.worktime import WorkingTime


@dataclass(frozen=True, slots=True)
class Wait:
    """From ``opened`` (the action that put the ball in the other court) to ``closed``."""

    issue: str
    opened: Action
    closed: Action | None
    """The action that ended the wait; ``None`` while it is open."""
    pm: str | None = None
    """The client's PM when the wait began (responsiveness only)."""
    status: str | None = None
    """The review status waited in (approval drag only)."""

    @property
    def start(self) -> datetime:
        """When the wait began (UTC)."""
        return self.opened.at


@dataclass(frozen=True, slots=True)
class MeasuredWait:
    """A wait as one window sees it."""

    wait: Wait
    hours: float
    """Working hours from its start to its end, or to the window's end while open then."""
    open: bool
    """Still open at the window's end."""


class WaitIndex:
    """A client's waits, indexed so a window finds its own without scanning them all.

    Each wait's start (and end) is placed on the working-time clock once
    (:meth:`~scopeguard.domain.risk.worktime.WorkingTime.running`), so a window
    costs one clock reading for its end, whatever its number of waits.
    """

    __slots__ = (
        "_closed",
        "_closed_hours",
        "_ends",
        "_longest",
        "_open",
        "_open_clock",
        "_open_starts",
        "_start_clock",
        "_starts",
        "_working",
    )

    def __init__(self, waits: Sequence[Wait], working: WorkingTime) -> None:
        self._working = working
        closed = sorted((w for w in waits if w.closed is not None), key=lambda w: w.opened.ts)
        self._closed = closed
        self._starts = [w.opened.ts for w in closed]
        self._ends = [w.closed.ts if w.closed is not None else 0.0 for w in closed]
        # From the actions' timestamps: the same instants, without reading each datetime again.
        self._start_clock = [working.running_at(w.opened.ts) for w in closed]
        self._closed_hours = [
            max(0.0, working.running_at(w.closed.ts) - start) / 3600
            if w.closed is not None
            else 0.0
            for w, start in zip(closed, self._start_clock, strict=True)
        ]
        self._longest = max(
            (end - start for start, end in zip(self._starts, self._ends, strict=True)), default=0.0
        )
        self._open = sorted((w for w in waits if w.closed is None), key=lambda w: w.opened.ts)
        self._open_starts = [w.opened.ts for w in self._open]
        self._open_clock = [working.running_at(w.opened.ts) for w in self._open]

    def hours(self, window: Window) -> tuple[list[float], int]:
        """Just the working hours of the waits of ``window``, and how many are still open:
        what a weekly score needs, without an object per wait."""
        since, until = window.since, window.until
        closes = self._working.running(window.end)
        hours: list[float] = []
        still_open = 0
        ends, closed_hours, start_clock = self._ends, self._closed_hours, self._start_clock
        first = bisect_left(self._starts, since - self._longest)
        last = bisect_left(self._starts, until)
        for index in range(first, last):
            end = ends[index]
            if end < since:
                continue
            if end < until:
                hours.append(closed_hours[index])
            else:
                hours.append(max(0.0, closes - start_clock[index]) / 3600)
                still_open += 1
        for index in range(bisect_left(self._open_starts, until)):
            hours.append(max(0.0, closes - self._open_clock[index]) / 3600)
            still_open += 1
        return hours, still_open

    def measure(self, window: Window) -> list[MeasuredWait]:
        """The waits of ``window`` (the module's rule), each with its working hours."""
        since, until = window.since, window.until
        closes = self._working.running(window.end)
        found: list[MeasuredWait] = []
        first = bisect_left(self._starts, since - self._longest)
        last = bisect_left(self._starts, until)
        for index in range(first, last):
            end = self._ends[index]
            if end < since:
                continue
            wait = self._closed[index]
            if end < until:
                found.append(MeasuredWait(wait, self._closed_hours[index], False))
            else:
                hours = max(0.0, closes - self._start_clock[index]) / 3600
                found.append(MeasuredWait(wait, hours, True))
        for index in range(bisect_left(self._open_starts, until)):
            hours = max(0.0, closes - self._open_clock[index]) / 3600
            found.append(MeasuredWait(self._open[index], hours, True))
        return found
