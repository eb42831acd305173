"""Two real processes share one Jira site's rate limit through the database.

A `scopeguard worker` runs and has synced every client. Then a `scopeguard
sync` process's first request is answered 429 with ``Retry-After``; it records
the site's "not before" time in the database. A webhook-requested sync makes
the worker ask Jira again within that time (it polls the requests twice a
second): it reads the hold before its first request and waits it out instead
of sending into the limit, so no request reaches Jira until the wait is over.
The worker was started beforehand so that how long a process takes to start on
a busy machine cannot decide the outcome. Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scopeguard.adapters.store.db import Database
from scopeguard.adapters.store.sync_requests import request_sync
from tests.support import clock
from tests.support.agency import agency_site
from tests.support.request_times import RequestTimes
from tests.support.workers import WorkerProcess

RETRY_AFTER = 5
SLACK = 0.3
"""How much earlier than ``Retry-After`` a request may appear: the stamping interval, and
the retrying process's own wait timed on another clock."""
SYNC_TOX = ("sync", "--client", "TOX")
ASK_AFTER = 0.4
"""When the worker is asked to sync, after the 429: by then the limited process's other
requests in flight with it (it reads metadata three at a time) have been answered, and
it waits out its own ``Retry-After``."""


def _wait(condition: Callable[[], Any], seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_second_process_waits_out_the_first_ones_retry_after(tmp_path: Path) -> None:
    with agency_site(tmp_path) as site:
        site.document["sync"] = {"interval_minutes": 60}
        site.document["scheduler"] = {
            "hook_poll_seconds": 0.2,
            "heartbeat_seconds": 0.5,
            "lease_seconds": 5,
            "monthly_catch_up_hours": 0,
        }
        config, settings = site.write_config(tmp_path)
        database = Database(settings.resolved_database_url)
        database.upgrade()  # as `scopeguard db upgrade` would, before the processes start
        worker = WorkerProcess(config, tmp_path, "worker")
        try:
            # Its first sync (at start) is over: it sends nothing until asked.
            _wait(lambda: worker.log().count("(full)") == 4, 120, "the worker's first sync")
            site.simulator.faults.rate_limit(next_requests=1, retry_after=RETRY_AFTER)
            with RequestTimes(site.simulator) as times, (tmp_path / "sync.log").open("wb") as out:
                limited_process = subprocess.Popen(
                    [*(sys.executable, "-m", "scopeguard", "--config", str(config)), *SYNC_TOX],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=clock.subprocess_env(),
                )
                (limited,) = _wait(
                    lambda: [a for a in times.snapshot() if a.status == 429], 60, "the 429"
                )
                time.sleep(max(0.0, limited.at + ASK_AFTER - time.monotonic()))
                asked_at = time.monotonic()
                request_sync(database, "HLT", now=site.now(), debounce_seconds=0, reason="test")
                _wait(lambda: "webhook sync: HLT" in worker.log(), 60, "the worker's sync")
                assert limited_process.wait(120) == 0, (tmp_path / "sync.log").read_text()
                answered = times.snapshot()
            assert worker.stop(signal.SIGTERM) == 0
        finally:
            worker.stop(signal.SIGKILL)
            database.dispose()
    # Once the worker was asked, nothing reached Jira while it asked to be left alone.
    early = [a for a in answered if asked_at < a.at < limited.at + RETRY_AFTER - SLACK]
    assert early == [], early
    assert [a.status for a in answered].count(429) == 1
    # The worker knew why it waited: the other process's 429, read from the database.
    log = worker.log()
    assert "asked a ScopeGuard process to wait; waiting" in log, log[-3000:]
    assert "TOX:" in (tmp_path / "sync.log").read_text()
    assert len(answered) > 4  # both synced after the wait
