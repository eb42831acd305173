"""``scopeguard serve`` is gunicorn and never runs the periodic jobs; ``--dev`` does.

This is the command the container image and the Helm chart's web Deployment run,
so "the web never starts the worker" is checked on the real process here.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from sqlalchemy import select

from scopeguard.adapters.store.db import Database
from scopeguard.adapters.store.models import SchedulerLeaseRow
from tests.support.cli import write_minimal_config

FAST_SCHEDULER = {
    "lease_seconds": 2.0,
    "heartbeat_seconds": 0.5,
    "hook_poll_seconds": 0.5,
    # One lease row to look for, on PostgreSQL too (workers sharing the clients claim
    # per client, and these configurations have none).
    "share_clients": False,
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@contextmanager
def serving(config: Path, *options: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``scopeguard serve OPTIONS`` until the block ends; yields it and its URL once ready."""
    port = _free_port()
    # Not on the pinned clock: nothing here is dated, and under libfaketime gunicorn's
    # arbiter gets EINVAL from its sleeps between forks.
    command = [sys.executable, "-m", "scopeguard", "--config", str(config), "serve"]
    process = subprocess.Popen(
        [*command, "--port", str(port), *options],
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.communicate()[0]
            try:
                if requests.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "not ready in 60 s"
            time.sleep(0.2)
        yield process, url
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _holder_after(database_url: str, seconds: float) -> str | None:
    """The scheduler lease's holder once ``seconds`` have passed (a heartbeat is 0.5 s)."""
    time.sleep(seconds)
    database = Database(database_url)
    try:
        with database.session() as session:
            return session.scalars(select(SchedulerLeaseRow.holder)).first()
    finally:
        database.dispose()


def test_serve_is_gunicorn_without_the_scheduler(tmp_path: Path, database_url: str) -> None:
    config = write_minimal_config(
        tmp_path, database_url, database_auto_migrate=True, scheduler=FAST_SCHEDULER
    )
    with serving(config, "--workers", "2") as (process, url):
        assert requests.get(f"{url}/healthz", timeout=5).json() == {"status": "ok"}
        assert _holder_after(database_url, 3.0) is None
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "Starting gunicorn" in output
    assert output.count("Booting worker") == 2


def test_serve_dev_runs_the_scheduler_in_process(tmp_path: Path, database_url: str) -> None:
    # The counterpart of the test above: the same check sees a scheduler when there is one.
    config = write_minimal_config(
        tmp_path, database_url, database_auto_migrate=True, scheduler=FAST_SCHEDULER
    )
    with serving(config, "--dev"):
        assert _holder_after(database_url, 3.0) is not None


def test_no_scheduler_without_dev_is_a_usage_error(tmp_path: Path, database_url: str) -> None:
    config = write_minimal_config(tmp_path, database_url)
    result = subprocess.run(
        [sys.executable, "-m", "scopeguard", "--config", str(config), "serve", "--no-scheduler"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "--no-scheduler goes with --dev" in result.stderr
