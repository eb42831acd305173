"""How long to wait before trying a Jira request again.

Jira Cloud rate-limits every tenant (429) and both Cloud and Data Center shed load
with 503; either may say when to come back with ``Retry-After`` (seconds) or
``X-RateLimit-Reset`` (an ISO time). When the server says nothing we back off
exponentially with jitter, so that several ScopeGuard workers hit by the same
limit do not all come back in the same instant.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from scopeguard.adapters.retry_after import retry_after_seconds

RETRYABLE_STATUSES: frozenset[int] = frozenset({429, 502, 503, 504})
"""Statuses worth retrying: rate limiting, and overload answered by Jira or by the
proxy/load balancer in front of it (502/504 for Data Center behind nginx or an ALB).
Every request the client retries is a read, so repeating one is harmless."""


@dataclass(frozen=True)
class BackoffPolicy:
    """Attempt limits and the jittered exponential backoff used when Jira gives no hint."""

    max_attempts: int
    max_backoff_seconds: float
    base_seconds: float = 1.0
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def backoff(self, failures: int) -> float:
        """Seconds to wait after ``failures`` consecutive failed attempts (1 for the first).

        "Equal jitter": half of the exponential step is fixed and half is random,
        so the wait always grows but two clients never retry in lockstep.
        """
        step = min(self.max_backoff_seconds, self.base_seconds * 2.0 ** max(failures - 1, 0))
        return step / 2 + self.rng.uniform(0.0, step / 2)


def server_delay(headers: Mapping[str, str], now: float) -> float | None:
    """The wait Jira asked for in ``Retry-After`` or ``X-RateLimit-Reset``, in seconds.

    ``now`` is the current POSIX time (from the client's injectable clock). Returns
    ``None`` when neither header is present or readable, so the caller falls back
    to exponential backoff; a reset time already in the past also counts as "no
    hint" because retrying instantly would just hit the limit again.
    """
    retry_after = _header(headers, "Retry-After")
    if retry_after is not None:
        seconds = retry_after_seconds(retry_after, now)
        if seconds is not None:
            return seconds
    reset = _header(headers, "X-RateLimit-Reset")
    if reset is not None:
        moment = _parse_iso(reset)
        if moment is not None:
            remaining = moment.timestamp() - now
            if remaining > 0:
                return remaining
    return None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    # requests gives a case-insensitive mapping, but plain dicts (tests, other
    # transports) are not: look the name up case-insensitively ourselves.
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        for key, candidate in headers.items():
            if key.lower() == lowered:
                value = candidate
                break
    if value is None or not value.strip():
        return None
    return value.strip()


def _parse_iso(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        # Atlassian documents the reset time in UTC; an offset-less value is read so.
        moment = moment.replace(tzinfo=UTC)
    return moment
