"""Calendar months in the agency's time zone: what a monthly report covers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from scopeguard.domain.metrics import end_of_day
from scopeguard.domain.timeparse import start_of_day

# ASCII only: \d would also take full-width and other Unicode digits ("２０２６-１０").
_MONTH = re.compile(r"^([0-9]{4})-([0-9]{2})$")


@dataclass(frozen=True, slots=True, order=True)
class Month:
    """One calendar month; its moments are taken in a given time zone."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12 or not 1 <= self.year <= 9999:
            raise ValueError(f"not a month: {self.year}-{self.month}")

    @classmethod
    def parse(cls, text: str) -> Month:
        """``"2026-10"`` → ``Month(2026, 10)``; ``ValueError`` for anything else."""
        match = _MONTH.match(text.strip())
        if match is None:
            raise ValueError(f"month must be written YYYY-MM, not {text!r}")
        try:
            return cls(int(match[1]), int(match[2]))
        except ValueError:
            raise ValueError(f"month must be written YYYY-MM, not {text!r}") from None

    @classmethod
    def of(cls, moment: datetime, zone: ZoneInfo) -> Month:
        """The month ``moment`` falls in, in ``zone``."""
        local = moment.astimezone(zone)
        return cls(local.year, local.month)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return self.next().first_day - timedelta(days=1)

    def previous(self) -> Month:
        """The month before."""
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    def next(self) -> Month:
        """The month after."""
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    def start(self, zone: ZoneInfo) -> datetime:
        """00:00 on the 1st in ``zone``."""
        return start_of_day(self.first_day, zone)

    def end(self, zone: ZoneInfo) -> datetime:
        """The last microsecond of the month in ``zone`` (what ``summarize`` takes as of)."""
        return end_of_day(self.last_day, zone)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"
