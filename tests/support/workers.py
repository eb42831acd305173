"""Real `scopeguard worker` processes on the pinned clock, each with its log in a file."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO

from tests.support import clock

JOB_LINE = re.compile(r"job (\w+) period (\S+) started by (\S+)")
"""A job run under the single lease: job, period, holder."""
CLIENT_JOB_LINE = re.compile(r"job (\w+) client (\S+) period (\S+) (started|done) by (\S+)")
"""A client's job when workers share the clients: job, client, period, started/done, holder."""


class WorkerProcess:
    """``scopeguard --config CONFIG worker`` with its output in ``folder/NAME.log``."""

    def __init__(self, config_file: Path, folder: Path, name: str) -> None:
        self.name = name
        self.log_path = folder / f"{name}.log"
        self._log: IO[bytes] = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "scopeguard", "--config", str(config_file), "worker"],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=clock.subprocess_env(),
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def holder(self) -> str:
        """The holder id the worker announced when it started."""
        match = re.search(r"worker (\S+) running", self.log())
        assert match, self.log()
        return match.group(1)

    def jobs(self) -> list[tuple[str, str, str]]:
        """``(job, period, holder)`` of every run it started under the single lease."""
        return [(m[0], m[1], m[2]) for m in JOB_LINE.findall(self.log())]

    def client_jobs(self) -> list[tuple[str, str, str, str, str]]:
        """``(job, client, period, started|done, holder)`` of its clients' jobs."""
        return [(m[0], m[1], m[2], m[3], m[4]) for m in CLIENT_JOB_LINE.findall(self.log())]

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Send ``sig`` (unless it has exited) and wait; its exit status."""
        if self.process.poll() is None:
            os.kill(self.process.pid, sig)
        try:
            return self.process.wait(30)
        finally:
            self._log.close()
