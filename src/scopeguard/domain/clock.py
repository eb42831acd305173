"""What time it is: the one definition of "now", which the composition root injects.

Every use case takes a :data:`Clock`; only :mod:`scopeguard.bootstrap` (and the
tests, which pin it) decide which one. Moments are aware datetimes in UTC.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
"""A function returning the current moment, timezone-aware."""


def utcnow() -> datetime:
    """The wall clock's current moment, in UTC."""
    return datetime.now(UTC)
