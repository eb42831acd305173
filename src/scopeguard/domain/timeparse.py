"""Parsing Jira's timestamps into aware datetimes."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

# Jira writes "2026-09-01T00:30:00.000+0300": no colon in the offset, which
# datetime.fromisoformat only accepts from 3.11 on and never with a comma, so
# normalise explicitly instead of depending on the interpreter's leniency.
_JIRA_TS = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})T(?P<time>\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,6})?)?)"
    r"(?P<tz>Z|[+-]\d{2}:?\d{2})$"
)


def parse_jira_datetime(value: str) -> datetime:
    """Parse a Jira timestamp (``2026-09-01T00:30:00.000+0300``) into an aware datetime.

    Raises ``ValueError`` for anything without an explicit offset: comparing a
    naive timestamp with an aware one would silently shift it by hours.
    """
    match = _JIRA_TS.match(value.strip())
    if match is None:
        raise ValueError(f"not a Jira timestamp with an offset: {value!r}")
    tz = match["tz"]
    if tz == "Z":
        tz = "+00:00"
    elif ":" not in tz:
        tz = f"{tz[:3]}:{tz[3:]}"
    clock = match["time"].replace(",", ".")
    return datetime.fromisoformat(f"{match['date']}T{clock}{tz}")


def format_jira_datetime(moment: datetime) -> str:
    """Write an aware datetime the way Jira does (milliseconds, offset without colon)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return (
        moment.strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{moment.microsecond // 1000:03d}"
        + moment.strftime("%z")
    )


def start_of_day(day: date, zone: ZoneInfo) -> datetime:
    """Midnight at the start of ``day`` in ``zone``, as an aware datetime."""
    return datetime.combine(day, time.min, tzinfo=zone)


def to_utc(moment: datetime) -> datetime:
    """The same instant in UTC (rejects naive datetimes)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return moment.astimezone(UTC)
