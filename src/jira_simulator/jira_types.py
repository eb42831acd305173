"""Jira's own vocabulary, as the simulator speaks it: status categories and timestamps.

Kept apart from ScopeGuard's domain on purpose: the simulator stands in for
Jira, so it writes and reads Jira's formats itself, and a mistake in
ScopeGuard's parsing cannot be mirrored here and pass unnoticed.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum


class StatusCategory(StrEnum):
    """The three status categories of ``/rest/api/3/statuscategory`` (their ``key``)."""

    NEW = "new"
    INDETERMINATE = "indeterminate"
    DONE = "done"

    @classmethod
    def from_jira(cls, key: str | None) -> StatusCategory:
        """The category of a ``statusCategory.key``; ``undefined`` and unknown keys are new."""
        for category in cls:
            if category.value == key:
                return category
        return cls.NEW


def format_jira_datetime(moment: datetime) -> str:
    """``2026-09-01T00:30:00.000+0300``: milliseconds, and an offset without a colon."""
    if moment.tzinfo is None:
        raise ValueError("Jira writes every timestamp with its offset")
    millis = f"{moment.microsecond // 1000:03d}"
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + millis + moment.strftime("%z")


def parse_jira_datetime(text: str) -> datetime:
    """Read a Jira timestamp (``…T00:30:00.000+0300``, with or without milliseconds)."""
    for pattern in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(text.strip(), pattern)
        except ValueError:
            continue
    raise ValueError(f"not a Jira timestamp: {text!r}")
