"""What the benchmark scripts share: the simulator, a bulk client's config, gunicorn, load.

The scripts run as ``.venv/bin/python benchmarks/NAME.py``, so this folder is
first on ``sys.path`` and they import this module as ``_common``.
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
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
    worklogs: int = 0,
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
            "--bulk-worklogs",
            str(worklogs),
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


def free_ports(count: int) -> list[int]:
    """``count`` loopback ports nobody listens on now."""
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]
    finally:
        for probe in probes:
            probe.close()


@contextmanager
def scopeguard_serve(
    config: Path, workers: int, port: int, health_port: int
) -> Iterator[tuple[str, str]]:
    """``scopeguard serve`` (gunicorn, as the image runs it) with a health port; yields the
    app's and the health port's base URLs once both answer. Its access log is dropped."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scopeguard",
            "--config",
            str(config),
            "serve",
            "--port",
            str(port),
            "--health-port",
            str(health_port),
            "--workers",
            str(workers),
        ],
        stdout=subprocess.DEVNULL,
        env={**os.environ, "GUNICORN_CMD_ARGS": "--log-level warning"},
    )
    base, health = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{health_port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise SystemExit(f"scopeguard serve exited with status {process.returncode}")
            try:
                if (
                    requests.get(f"{base}/readyz", timeout=5).ok
                    and requests.get(f"{health}/healthz", timeout=5).ok
                ):
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"scopeguard serve did not answer {base}/readyz in 120 s")
            time.sleep(0.5)
        yield base, health
    finally:
        process.terminate()
        process.wait(timeout=30)


class Prober:
    """GETs ``url`` on a new connection every ``interval`` seconds, as a kubelet probe does,
    in a thread, until stopped; :attr:`samples` holds each answer's milliseconds."""

    def __init__(self, url: str, interval: float, timeout: float = 60.0) -> None:
        self.url, self.interval, self.timeout = url, interval, timeout
        self.samples: list[float] = []
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Prober:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.timeout + 5)

    def _run(self) -> None:
        while not self._stop.is_set():
            start = time.perf_counter()
            try:
                with urllib.request.urlopen(self.url, timeout=self.timeout) as answer:
                    answer.read()
                    ok = answer.status == 200
            except OSError:
                ok = False
            if ok:
                self.samples.append((time.perf_counter() - start) * 1000)
            else:
                self.failures += 1
            self._stop.wait(self.interval)

    def summary(self) -> str:
        """``N probes, p50 …, p99 …, max …`` (or why there are too few)."""
        if len(self.samples) < 2:
            return f"{len(self.samples)} answers, {self.failures} failed"
        figures = Percentiles.of(self.samples)
        return (
            f"{len(self.samples)} probes, {self.failures} failed, {figures}, "
            f"max {max(self.samples):.1f} ms"
        )


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


WRK_PATHS_SCRIPT = """
paths = {%s}
counter = 0
started = {}
function setup(thread)
  thread:set("offset", #started)
  table.insert(started, thread)
end
function init(args)
  counter = offset * math.floor(#paths / 2)
  first_bad = ""
end
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
response = function(status, headers, body)
  if status ~= 200 and first_bad == "" then
    first_bad = status .. " " .. string.sub(body, 1, 200)
  end
end
"""
WRK_FIRST_BAD = """
local report = done
done = function(summary, latency, requests)
  for _, thread in ipairs(started) do
    local bad = thread:get("first_bad")
    if bad ~= nil and bad ~= "" then io.write("wrk-first-bad " .. bad .. "\\n") end
  end
  report(summary, latency, requests)
end
"""


def wrk_paths_percentiles(
    base: str, paths: Sequence[str], connections: int, seconds: int, *, token: str | None = None
) -> Percentiles | None:
    """Like :func:`wrk_percentiles`, requesting ``paths`` in turn (each wrk thread from its
    own offset), so the requests in flight ask for different pages; ``None`` without wrk."""
    binary = shutil.which("wrk")
    if binary is None:
        return None
    listed = ", ".join(f'"{path}"' for path in paths)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_PATHS_SCRIPT % listed + WRK_SCRIPT + WRK_FIRST_BAD)
    headers = ["-H", f"Authorization: Bearer {token}"] if token is not None else []
    command = [binary, "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s", *headers]
    try:
        result = subprocess.run(
            [*command, "-s", script.name, base],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        os.unlink(script.name)
    for bad in (line for line in result.stdout.splitlines() if line.startswith("wrk-first-bad ")):
        print(f"  {bad}")  # what the first answer other than 200 said, per wrk thread
    line = next(line for line in result.stdout.splitlines() if line.startswith("wrk-result "))
    count, errors, p50, p95, p99 = line.split()[1:]
    return Percentiles(float(p50), float(p95), float(p99), int(count), int(errors))


def thread_paths_load(
    base: str, paths: Sequence[str], concurrency: int, total: int, *, token: str | None = None
) -> list[float]:
    """``total`` GETs spread over ``paths`` in turn from ``concurrency`` threads; ms each."""
    local = threading.local()
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}

    def one(index: int) -> float:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        start = time.perf_counter()
        response = session.get(base + paths[index % len(paths)], headers=headers, timeout=60)
        elapsed = (time.perf_counter() - start) * 1000
        if response.status_code != 200:
            raise SystemExit(f"{paths[index % len(paths)]}: HTTP {response.status_code}")
        return elapsed

    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(one, range(total)))
