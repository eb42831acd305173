"""Fault injection: latency, 429 bursts, 5xx answers, outages and malformed bodies."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from enum import StrEnum


class MalformedKind(StrEnum):
    """How a malformed 200 answer is broken."""

    INVALID_JSON = "invalid_json"
    """The real body cut in half: not parseable JSON."""
    MISSING_KEYS = "missing_keys"
    """Valid JSON without any of the keys the endpoint promises."""


@dataclass(frozen=True, slots=True)
class FaultDecision:
    """An error answer to send instead of the real one."""

    status: int
    retry_after: int | None = None
    rate_limit_reason: str | None = None


class Faults:
    """Faults the simulator injects into the next requests; thread-safe.

    ``latency_seconds`` is the least time every answer takes, the simulator's own
    work included (see ``JiraSimulator._respond``). The one-shot faults are consumed
    in this order: an outage (:meth:`go_down_after`), then rate limiting, then 5xx
    failures. Malformed bodies are consumed only by answers that would have been
    200, so they always hit a response the client expected to parse.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.latency_seconds = 0.0
        self._rate_limited = 0
        self._rate_retry_after = 1
        self._rate_reason = "jira-burst-based"
        self._failures = 0
        self._failure_status = 503
        self._failure_retry_after: int | None = None
        self._down_after: int | None = None
        self._seen_since_down = 0
        self._malformed = 0
        self._malformed_kind = MalformedKind.INVALID_JSON

    def rate_limit(
        self, next_requests: int = 5, retry_after: int = 1, reason: str = "jira-burst-based"
    ) -> None:
        """Answer the next ``next_requests`` requests with 429 and ``Retry-After``."""
        with self._lock:
            self._rate_limited = next_requests
            self._rate_retry_after = retry_after
            self._rate_reason = reason

    def fail(
        self, next_requests: int = 3, status: int = 503, retry_after: int | None = None
    ) -> None:
        """Answer the next ``next_requests`` requests with ``status`` (a 5xx)."""
        if not 500 <= status <= 599:
            raise ValueError("fail() injects server errors (5xx); use rate_limit() for 429")
        with self._lock:
            self._failures = next_requests
            self._failure_status = status
            self._failure_retry_after = retry_after

    def go_down_after(self, n_requests: int) -> None:
        """Serve ``n_requests`` more requests, then answer 503 until :meth:`clear`."""
        with self._lock:
            self._down_after = n_requests
            self._seen_since_down = 0

    def malformed(self, next_requests: int = 1, kind: str | MalformedKind = "invalid_json") -> None:
        """Corrupt the next ``next_requests`` successful (200) answers."""
        with self._lock:
            self._malformed = next_requests
            self._malformed_kind = MalformedKind(kind)

    def clear(self) -> None:
        """Remove every fault, latency included."""
        with self._lock:
            self.latency_seconds = 0.0
            self._rate_limited = 0
            self._failures = 0
            self._down_after = None
            self._seen_since_down = 0
            self._malformed = 0

    def take(self) -> FaultDecision | None:
        """Consume the fault (if any) that applies to the request arriving now."""
        with self._lock:
            if self._down_after is not None:
                self._seen_since_down += 1
                if self._seen_since_down > self._down_after:
                    return FaultDecision(status=503)
            if self._rate_limited > 0:
                self._rate_limited -= 1
                return FaultDecision(
                    status=429,
                    retry_after=self._rate_retry_after,
                    rate_limit_reason=self._rate_reason,
                )
            if self._failures > 0:
                self._failures -= 1
                return FaultDecision(
                    status=self._failure_status, retry_after=self._failure_retry_after
                )
            return None

    def take_malformed(self) -> MalformedKind | None:
        """Consume one pending malformed-body fault for a 200 answer, if any."""
        with self._lock:
            if self._malformed <= 0:
                return None
            self._malformed -= 1
            return self._malformed_kind
