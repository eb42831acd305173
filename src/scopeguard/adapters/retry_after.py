"""Reading an HTTP ``Retry-After`` header (RFC 9110), for Jira and for alert receivers alike."""

from __future__ import annotations

import math
from datetime import UTC
from email.utils import parsedate_to_datetime


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """The wait ``Retry-After`` asks for, in seconds; ``None`` when absent or unusable.

    ``value`` is delta-seconds (fractions accepted) or an HTTP date; ``now`` is the
    current POSIX time, from the caller's (injectable) clock. A date in the past
    means "no wait"; a negative or NaN number is not a usable hint.
    """
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        # Jira sends seconds; proxies and other receivers may send a date.
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return max(moment.timestamp() - now, 0.0)
    if math.isnan(seconds) or seconds < 0:
        return None
    return seconds
