"""What the benchmark scripts share: the simulator, a bulk client's config, gunicorn, load.

The scripts run as ``.venv/bin/python benchmarks/NAME.py``, so this folder is
first on ``sys.path`` and they import this module as ``_common``.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import yaml

BULK = "BULK"
"""The key (and Jira project) of the simulator's bulk client."""


@contextmanager
def simulator(
    issues: int, histories: int, latency: float = 0.0, flavor: str = "cloud"
) -> Iterator[str]:
    """The Jira simulator (``cloud`` or ``datacenter``) with the bulk scenario in its own
    process; yields its URL.

    Its own process keeps the dataset out of the measuring process's memory.
    """
    with simulator_process(issues, histories, latency, flavor) as (url, _pid):
        yield url


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def simulator_process(
    issues: int,
    histories: int,
    latency: float = 0.0,
    flavor: str = "cloud",
    *,
    comments: int = 0,
    chatty_every: int = 200,
) -> Iterator[tuple[str, int]]:
    """:func:`simulator`, yielding its URL and its process id (to read its CPU time);
    every ``chatty_every``-th issue gets ``comments`` comments."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jira_simulator",
            "--flavor",
            flavor,
            "--scenario",
            "bulk",
            "--port",
            "0",
            "--bulk-issues",
            str(issues),
            "--bulk-histories",
            str(histories),
            "--latency",
            str(latency),
            "--bulk-comments",
            str(comments),
            "--bulk-chatty-every",
            str(chatty_every),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        if " at " not in first:
            raise SystemExit(f"simulator did not start: {first!r}")
        yield first.rsplit(" at ", 1)[1].strip(), process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


def bulk_config(
    jira_url: str,
    folder: Path,
    contract: Mapping[str, Any],
    *,
    client: Mapping[str, Any] | None = None,
    flavor: str = "cloud",
    **sections: Any,
) -> dict[str, Any]:
    """A ScopeGuard configuration document with one client, the simulator's bulk project.

    The database is ``folder/bench.db``; ``client`` adds to (or replaces keys of) the
    client's entry, ``flavor`` (``cloud`` or ``datacenter``) picks the deployment and
    its credentials, and ``sections`` add or replace top-level sections.
    """
    entry = {
        "key": BULK,
        "name": "Bulk client",
        "jql": f"project = {BULK}",
        "contract": dict(contract),
        **(client or {}),
    }
    return {
        "database_url": f"sqlite:///{folder}/bench.db",
        "jira": (
            {
                "url": jira_url,
                "deployment": "cloud",
                "email": "pm@agency.example",
                "api_token": "token",
            }
            if flavor == "cloud"
            else {"url": jira_url, "deployment": "datacenter", "pat": "pat-token"}
        ),
        "agency": {"timezone": "Europe/Moscow"},
        "clients": [entry],
        **sections,
    }


def write_config(folder: Path, document: Mapping[str, Any]) -> Path:
    """``document`` as ``folder/scopeguard.yaml``; the file's path."""
    path = folder / "scopeguard.yaml"
    path.write_text(yaml.safe_dump(dict(document)))
    return path


@contextmanager
def gunicorn(config: Path, workers: int, port: int) -> Iterator[str]:
    """The app under gunicorn on ``127.0.0.1:port``; yields its base URL once /healthz answers."""
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "scopeguard.entrypoints.web:create_app()",
        ],
        env={**os.environ, "SCOPEGUARD_CONFIG": str(config)},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # workers import and migrate first
        while True:
            if process.poll() is not None:
                raise SystemExit(f"gunicorn exited with status {process.returncode}")
            try:
                if requests.get(f"{base}/healthz", timeout=5).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"gunicorn did not answer {base}/healthz in 120 s")
            time.sleep(0.5)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass(frozen=True)
class Percentiles:
    """Latency percentiles in milliseconds, of ``requests`` requests (``errors`` failed)."""

    p50: float
    p95: float
    p99: float
    requests: int
    errors: int = 0

    @classmethod
    def of(cls, samples: Sequence[float]) -> Percentiles:
        """The percentiles of ``samples`` (milliseconds; at least two)."""
        q = statistics.quantiles(samples, n=100)
        return cls(q[49], q[94], q[98], len(samples))

    def __str__(self) -> str:
        return f"p50 {self.p50:.1f} ms, p95 {self.p95:.1f} ms, p99 {self.p99:.1f} ms"

    def summary(self) -> str:
        """``N requests, E errors, p50 …``: how wrk's runs are printed."""
        return f"{self.requests} requests, {self.errors} errors, {self}"


# wrk counts a non-2xx answer under errors.status.
WRK_SCRIPT = """
done = function(summary, latency, requests)
  io.write(string.format("wrk-result %d %d %.3f %.3f %.3f\\n",
    summary.requests, summary.errors.status + summary.errors.connect + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
"""


def wrk_percentiles(
    url: str,
    connections: int,
    seconds: int,
    *,
    token: str | None = None,
    extra_headers: Sequence[str] = (),
) -> Percentiles | None:
    """GET ``url`` for ``seconds`` over ``connections`` connections with wrk (the Debian
    package), with ``token`` as a bearer token if given; ``None`` when wrk is not installed.

    wrk keeps the load generator's own CPU out of the figures, unlike Python threads.
    """
    binary = shutil.which("wrk")
    if binary is None:
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    headers = ["-H", f"Authorization: Bearer {token}"] if token is not None else []
    for header in extra_headers:
        headers += ["-H", header]
    try:
        result = subprocess.run(
            [binary, "-t2", f"-c{connections}", f"-d{seconds}s", *headers, "-s", script.name, url],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        os.unlink(script.name)
    line = next(line for line in result.stdout.splitlines() if line.startswith("wrk-result "))
    count, errors, p50, p95, p99 = line.split()[1:]
    return Percentiles(float(p50), float(p95), float(p99), int(count), int(errors))


def thread_load(
    url: str,
    total: int,
    concurrency: int,
    *,
    tokens: Sequence[str] = (),
    expect: int = 200,
) -> list[float]:
    """``total`` GETs of ``url`` from ``concurrency`` threads; each one's milliseconds.

    Request ``i`` carries the bearer token ``tokens[i % len(tokens)]`` when tokens are
    given. Any answer but ``expect`` stops the benchmark.
    """
    local = threading.local()

    def one(index: int) -> float:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        headers = {"Authorization": f"Bearer {tokens[index % len(tokens)]}"} if tokens else {}
        start = time.perf_counter()
        response = session.get(url, headers=headers, timeout=60)
        elapsed = (time.perf_counter() - start) * 1000
        if response.status_code != expect:
            raise SystemExit(f"{url}: HTTP {response.status_code}, expected {expect}")
        return elapsed

    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(one, range(total)))
