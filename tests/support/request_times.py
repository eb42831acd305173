"""When the simulator answered each request, for tests that check who waited for whom.

The simulator records what it answered (method, path, status), not when. A
thread stamps every new record with the test process's monotonic clock as it
appears, to within the polling interval (10 ms).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from types import TracebackType

from jira_simulator import JiraSimulator


@dataclass(frozen=True, slots=True)
class Answered:
    """One answered request and about when (``time.monotonic()``)."""

    at: float
    method: str
    path: str
    status: int


class RequestTimes:
    """Stamps the simulator's records while the ``with`` block runs."""

    def __init__(self, simulator: JiraSimulator, interval: float = 0.01) -> None:
        self.simulator = simulator
        self.interval = interval
        self.answered: list[Answered] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="request-times", daemon=True)

    def _run(self) -> None:
        seen = len(self.simulator.requests)
        while not self._stop.is_set():
            records = list(self.simulator.requests)
            now = time.monotonic()
            with self._lock:
                for record in records[seen:]:
                    self.answered.append(Answered(now, record.method, record.path, record.status))
            seen = len(records)
            self._stop.wait(self.interval)

    def snapshot(self) -> list[Answered]:
        """What was answered so far."""
        with self._lock:
            return list(self.answered)

    def __enter__(self) -> RequestTimes:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(5)
