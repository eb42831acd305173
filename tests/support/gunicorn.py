"""ScopeGuard under a real gunicorn on a loopback port, as it runs in production.

The server runs on the real clock (see :func:`gunicorn`): use it for limits, memory
and latency, not for figures.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from scopeguard.adapters.store.db import Database
from scopeguard.config import load_settings


def free_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Gunicorn:
    """A running gunicorn: its URL and its master's process id."""

    url: str
    process: subprocess.Popen[bytes]

    def worker_pids(self) -> list[int]:
        """The worker processes (children of the master)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]


def rss_kib(pid: int) -> int:
    """Resident memory of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


@contextmanager
def gunicorn(config_file: Path, *args: str, timeout: float = 60.0) -> Iterator[Gunicorn]:
    """Serve ``create_app()`` for ``config_file`` until the block ends (SIGTERM then).

    The database is migrated first, as an operator's ``scopeguard db upgrade``
    would: processes refuse a schema that is not their release's.
    """
    Database(load_settings(config_file).resolved_database_url).upgrade()
    port = free_port()
    # Not under libfaketime: gunicorn's arbiter sleeps fail with EINVAL there. Callers
    # check limits and timings only, never figures that depend on the date.
    env = dict(os.environ)
    env["SCOPEGUARD_CONFIG"] = str(config_file)
    log = (config_file.parent / "gunicorn.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            *args,
            "scopeguard.entrypoints.web:create_app()",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    text = (config_file.parent / "gunicorn.log").read_text(errors="replace")
                    raise RuntimeError(f"gunicorn did not start:\n{text[-3000:]}") from None
                time.sleep(0.2)
        yield Gunicorn(url, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
