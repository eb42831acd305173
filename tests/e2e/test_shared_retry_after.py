"""Two real `scopeguard sync` processes share one Jira site's rate limit through the database.

The first process's first request is answered 429 with ``Retry-After``; it
records the site's "not before" time in the database. The second process,
started right after that answer, reads it before its first request and waits
it out instead of sending into the limit: no request reaches Jira until the
wait is over. Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import IO

from scopeguard.adapters.store.db import Database
from tests.support import clock
from tests.support.agency import agency_site
from tests.support.request_times import RequestTimes

RETRY_AFTER = 5
SLACK = 0.3
"""How much earlier than ``Retry-After`` a request may appear: the stamping interval, and
the retrying process's own wait timed on another clock."""
IN_FLIGHT = 0.5
"""Answers this soon after the 429 were sent before it."""


def _sync(config: Path, client: str, log: IO[bytes]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "scopeguard", "--config", str(config), "sync", "--client", client],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=clock.subprocess_env(),
    )


def test_the_second_process_waits_out_the_first_ones_retry_after(tmp_path: Path) -> None:
    with agency_site(tmp_path) as site:
        config, settings = site.write_config(tmp_path)
        database = Database(settings.resolved_database_url)
        database.upgrade()  # as `scopeguard db upgrade` would, before the processes start
        database.dispose()
        site.simulator.faults.rate_limit(next_requests=1, retry_after=RETRY_AFTER)
        first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
        with (
            RequestTimes(site.simulator) as times,
            first_log.open("wb") as first_out,
            second_log.open("wb") as second_out,
        ):
            first = _sync(config, "TOX", first_out)
            deadline = time.monotonic() + 60
            while not any(a.status == 429 for a in times.snapshot()):
                assert first.poll() is None, first_log.read_text()
                assert time.monotonic() < deadline, "the first process sent nothing"
                time.sleep(0.01)
            (limited,) = [a for a in times.snapshot() if a.status == 429]
            second = _sync(config, "HLT", second_out)
            assert second.wait(120) == 0, second_log.read_text()
            assert first.wait(120) == 0, first_log.read_text()
            answered = times.snapshot()
    # Nothing reached Jira while it asked to be left alone, from either process (but for
    # what the first had in flight with the limited request: it reads metadata three at
    # a time; the second process needs longer than that to start at all).
    quiet_from, quiet_until = limited.at + IN_FLIGHT, limited.at + RETRY_AFTER - SLACK
    early = [a for a in answered if quiet_from < a.at < quiet_until]
    assert early == [], early
    assert [a.status for a in answered].count(429) == 1
    # The second process knew why it waited: the first one's 429, read from the database.
    second_text = second_log.read_text()
    assert "asked a ScopeGuard process to wait; waiting" in second_text, second_text
    assert "HLT:" in second_text and "TOX:" in first_log.read_text()
    assert len(answered) > 4  # both synced after the wait
