"""Deployment benchmark: workers sharing the clients, and web users, on PostgreSQL.

    .venv/bin/python benchmarks/deployment.py --database-url postgresql+psycopg://… \\
        [--clients 30] [--workers 3] [--users 100] [--seconds 60] [--latency 0.05]

The database's ``public`` schema is dropped and made anew for each phase: give it
a throwaway database (``scripts/ci-postgres.sh start`` prints the URL of one).
Everything runs on this machine, on the real clock: the Jira simulator (its own
process, ``--scenario fleet``, ``--latency`` seconds per answer), an alert
receiver (a thread of this process), ``scopeguard worker`` and ``scopeguard
serve`` processes, and wrk.

1. **Throughput**: the fleet synced by one worker, then by ``--workers``, each
   into a fresh schema with a quarter-second tick (so the workers never wait
   for work): the first, full pass over every client (from the first sync's start
   to the last one's end, so the workers' start-up skew is in it), then the
   incremental syncs finished in a ``--window``-second window; clients per
   minute, and each sync's median duration.
2. **Load**: ``--workers`` workers with a tick every ``--tick-seconds``, two
   ``scopeguard serve`` (gunicorn, ``--web-workers`` each), and wrk holding
   ``--users`` connections (half on each server, panel pages, charts and API
   documents of every client) for ``--seconds``. Halfway, the worker holding a
   client's claim is killed with SIGKILL. A first wrk run of ``--warm-seconds``
   fills the gunicorn workers' render caches (printed too: a fresh deployment's
   first minute). Printed: p50/p95/p99 (both wrk runs
   merged), errors and 5xx; per tick, how often each client's sync started and
   finished; how long until another worker had synced the killed worker's
   client; the outbox and the deliveries checked for duplicates; syncs per
   minute under load; the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

import requests
from sqlalchemy import create_engine, select, text

from _common import write_config
from scopeguard.adapters.store.client_leases import client_leases
from scopeguard.adapters.store.db import Database
from scopeguard.adapters.store.models import AlertOutboxRow, SyncRunRow

TOKEN = "bench-deployment-token-0123456789"
CLIENT_JOB = re.compile(r"job sync client (\S+) period (\S+) (started|done) by (\S+)")
BIN = Path(sys.executable).parent
THROUGHPUT_TICK = 0.25
"""Seconds: the throughput phase's tick, shorter than any worker takes to get through the
clients, so that the workers never wait for a tick."""


# --- the pieces ----------------------------------------------------------------------------


@contextmanager
def fleet_simulator(clients: int, latency: float) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """The simulator serving ``clients`` fleet clients; its URL and the clients' records."""
    process = subprocess.Popen(
        [
            sys.executable,
            *("-m", "jira_simulator", "--scenario", "fleet", "--port", "0"),
            *("--clients", str(clients), "--latency", str(latency)),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        if " at " not in first:
            raise SystemExit(f"simulator did not start: {first!r}")
        lines = []
        while (line := process.stdout.readline()) and line.rstrip() != "}":
            lines.append(line)
        summary = json.loads("".join([*lines, "}"]))
        yield first.rsplit(" at ", 1)[1].strip(), summary["clients"]
    finally:
        process.terminate()
        process.wait(timeout=10)


class _Hook(BaseHTTPRequestHandler):
    deliveries: list[str]
    lock = threading.Lock()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        with self.lock:
            self.deliveries.append(self.headers.get("X-ScopeGuard-Delivery", ""))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@contextmanager
def alert_receiver() -> Iterator[tuple[str, list[str]]]:
    """A webhook receiver on loopback; its URL and the delivery ids it got."""
    deliveries: list[str] = []
    handler = type("Hook", (_Hook,), {"deliveries": deliveries})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", deliveries
    finally:
        server.shutdown()
        server.server_close()


def reset_schema(url: str) -> None:
    """An empty ``public`` schema, migrated to this release."""
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    database = Database(url)
    database.upgrade()
    database.dispose()


def configure(
    folder: Path,
    jira_url: str,
    clients: list[dict[str, Any]],
    database_url: str,
    hook_url: str,
    *,
    tick_seconds: float,
    client_lease_seconds: float,
) -> Path:
    """``folder/scopeguard.yaml`` for the fleet."""
    document = {
        "database_url": database_url,
        "instance_path": str(folder / "instance"),
        "jira": {
            "url": jira_url,
            "deployment": "cloud",
            "email": "pm@agency.example",
            "api_token": "token",
        },
        "agency": {"name": "Bench Agency", "timezone": "Europe/Moscow"},
        "workflow": {"review_statuses": ["Client Review"]},
        "web": {"api_token": TOKEN, "secret_key": "bench-secret-key-0123456789abcdef"},
        "sync": {"interval_minutes": tick_seconds / 60},
        "alerts": {"dispatch_interval_seconds": 2},
        "scheduler": {
            "client_lease_seconds": client_lease_seconds,
            "heartbeat_seconds": min(2.0, client_lease_seconds / 4),
            "monthly_catch_up_hours": 0,  # the reports are another benchmark's
        },
        "clients": [
            {
                "key": c["key"],
                "name": c["name"],
                "jql": c["jql"],
                "contract": c["contract"],
                "alerts": [{"type": "webhook", "url": hook_url, "allow_private": True}],
            }
            for c in clients
        ],
    }
    return write_config(folder, document)


class Worker:
    """A ``scopeguard worker`` with its log in a file."""

    def __init__(self, config: Path, name: str) -> None:
        self.name = name
        self.log_path = config.parent / f"{name}.log"
        self._log: IO[bytes] = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [str(BIN / "scopeguard"), "--config", str(config), "worker"],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def holder(self) -> str | None:
        match = re.search(r"worker (\S+) running", self.log())
        return match.group(1) if match else None

    def client_jobs(self) -> list[tuple[str, str, str, str]]:
        """``(client, period, started|done, holder)`` of its syncs."""
        return [(m[0], m[1], m[2], m[3]) for m in CLIENT_JOB.findall(self.log())]

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            os.kill(self.process.pid, sig)
        try:
            return self.process.wait(60)
        finally:
            self._log.close()


@contextmanager
def web_server(config: Path, port: int, workers: int) -> Iterator[str]:
    """``scopeguard serve`` (gunicorn) on ``127.0.0.1:port``; its URL once /healthz answers."""
    log = (config.parent / f"serve-{port}.log").open("wb")
    process = subprocess.Popen(
        [
            *(str(BIN / "scopeguard"), "--config", str(config), "serve"),
            *("--port", str(port), "--workers", str(workers), "--timeout", "120"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise SystemExit(f"scopeguard serve exited: see {log.name}")
            with suppress(requests.RequestException):
                if requests.get(f"{base}/healthz", timeout=5).ok:
                    break
            if time.monotonic() > deadline:
                raise SystemExit(f"{base}/healthz did not answer in 120 s")
            time.sleep(0.5)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def sync_runs(url: str) -> list[tuple[str, datetime, datetime, bool]]:
    """Every recorded sync: client, started, finished, ok."""
    database = Database(url)
    try:
        with database.session() as session:
            rows = session.execute(
                select(
                    SyncRunRow.client_key, SyncRunRow.started, SyncRunRow.finished, SyncRunRow.ok
                )
            ).all()
    finally:
        database.dispose()
    # A recorded run has finished (it is written at its end).
    return [(key, started, finished or started, ok) for key, started, finished, ok in rows]


def median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2] if ordered else float("nan")


# --- 1. throughput ----------------------------------------------------------------------------


@dataclass
class Throughput:
    workers: int
    full_per_minute: float
    full_seconds: float
    full_median: float
    incremental_per_minute: float
    incremental_median: float


def throughput(
    args: argparse.Namespace, folder: Path, jira_url: str, clients: list[dict[str, Any]], n: int
) -> Throughput:
    """One phase: ``n`` workers, a fresh schema, a tick every :data:`THROUGHPUT_TICK`."""
    reset_schema(args.database_url)
    with alert_receiver() as (hook_url, _deliveries):
        config = configure(
            folder,
            jira_url,
            clients,
            args.database_url,
            hook_url,
            tick_seconds=THROUGHPUT_TICK,
            client_lease_seconds=args.client_lease_seconds,
        )
        workers = [Worker(config, f"throughput-{n}-w{i}") for i in range(n)]
        try:
            deadline = time.monotonic() + 600
            while len({key for key, *_ in sync_runs(args.database_url)}) < len(clients):
                if time.monotonic() > deadline:
                    raise SystemExit("the first pass did not finish in 600 s")
                time.sleep(0.2)
            runs = sync_runs(args.database_url)
            first: dict[str, tuple[datetime, datetime]] = {}
            for key, started, finished, _ok in sorted(runs, key=lambda r: r[1]):
                first.setdefault(key, (started, finished))
            full_start = min(s for s, _ in first.values())
            full_end = max(f for _, f in first.values())
            full_seconds = (full_end - full_start).total_seconds()
            window_start = datetime.now().astimezone()
            time.sleep(args.window)
            window_end = window_start + timedelta(seconds=args.window)
            later = [
                (key, s, f)
                for key, s, f, ok in sync_runs(args.database_url)
                if ok and window_start <= f < window_end
            ]
        finally:
            for worker in workers:
                worker.stop()
    return Throughput(
        n,
        len(clients) / full_seconds * 60,
        full_seconds,
        median([(f - s).total_seconds() for s, f in first.values()]),
        len(later) / args.window * 60,
        median([(f - s).total_seconds() for _, s, f in later]),
    )


# --- 2. load ----------------------------------------------------------------------------------


def paths(clients: list[dict[str, Any]]) -> list[str]:
    """What panel users and API scripts ask for, client by client."""
    out = ["/", "/api/v1/clients"]
    for client in clients:
        key = client["key"]
        out += [
            f"/clients/{key}",
            f"/api/v1/clients/{key}/summary",
            f"/api/v1/clients/{key}/timeseries",
            f"/clients/{key}/charts/revisions.png",
            f"/clients/{key}/issues",
        ]
    return out


WRK_LUA = """
local paths = {%s}
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) fivexx = 0; other = 0; n = math.random(#paths) end
function request()
  n = n %% #paths + 1
  return wrk.format("GET", paths[n], {["Authorization"] = "Bearer %s"})
end
function response(status, headers, body)
  if status >= 500 then fivexx = fivexx + 1 elseif status >= 400 then other = other + 1 end
end
function done(summary, latency, requests)
  local f, o = 0, 0
  for _, t in ipairs(threads) do f = f + t:get("fivexx"); o = o + t:get("other") end
  local e = summary.errors
  io.write(string.format("wrk-summary %%d %%d %%d %%d %%d %%d %%d %%d\\n", summary.requests,
    e.connect, e.read, e.write, e.timeout, e.status, f, o))
  for i = 1, #latency do
    local v, c = latency(i)
    io.write(string.format("wrk-latency %%d %%d\\n", v, c))
  end
end
"""


@dataclass
class WebLoad:
    requests: int
    socket_errors: int
    non_2xx_3xx: int
    fivexx: int
    fourxx: int
    p50: float
    p95: float
    p99: float

    def line(self, seconds: float) -> str:
        """Requests, their rate over ``seconds``, the percentiles and the errors."""
        return (
            f"{self.requests} requests ({self.requests / seconds:.0f}/s), "
            f"p50 {self.p50:.0f} ms, p95 {self.p95:.0f} ms, p99 {self.p99:.0f} ms; "
            f"socket errors {self.socket_errors}, non-2xx/3xx {self.non_2xx_3xx} "
            f"(5xx {self.fivexx}, 4xx {self.fourxx})"
        )


def run_wrk(bases: list[str], clients: list[dict[str, Any]], users: int, seconds: int) -> WebLoad:
    """wrk on each base URL with ``users / len(bases)`` connections; merged figures."""
    binary = shutil.which("wrk")
    if binary is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    quoted = ", ".join(f'"{p}"' for p in paths(clients))
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_LUA % (quoted, TOKEN))
    per = users // len(bases)
    runs = [
        subprocess.Popen(
            [
                binary,
                "-t1",
                f"-c{per}",
                f"-d{seconds}s",
                "--timeout",
                "60s",
                "-s",
                script.name,
                base,
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for base in bases
    ]
    totals = [0] * 8
    histogram: Counter[int] = Counter()
    try:
        for run in runs:
            out, _ = run.communicate(timeout=seconds + 120)
            for line in out.splitlines():
                if line.startswith("wrk-summary "):
                    totals = [a + int(b) for a, b in zip(totals, line.split()[1:], strict=True)]
                elif line.startswith("wrk-latency "):
                    micros, times = line.split()[1:]
                    histogram[int(micros)] += int(times)
    finally:
        os.unlink(script.name)
    ordered = sorted(histogram.items())
    count = sum(histogram.values())

    def percentile(p: float) -> float:
        seen, target = 0, p / 100 * count
        for micros, times in ordered:
            seen += times
            if seen >= target:
                return micros / 1000
        return float("nan")

    requests_, connect, read, write, timeout, status, fivexx, fourxx = totals
    return WebLoad(
        requests_,
        connect + read + write + timeout,
        status,
        fivexx,
        fourxx,
        percentile(50),
        percentile(95),
        percentile(99),
    )


def load(
    args: argparse.Namespace, folder: Path, jira_url: str, clients: list[dict[str, Any]]
) -> None:
    """Phase 2: workers, two web servers and wrk; a worker killed halfway."""
    reset_schema(args.database_url)
    database = Database(args.database_url)
    keys = sorted(c["key"] for c in clients)
    with alert_receiver() as (hook_url, deliveries):
        config = configure(
            folder,
            jira_url,
            clients,
            args.database_url,
            hook_url,
            tick_seconds=args.tick_seconds,
            client_lease_seconds=args.client_lease_seconds,
        )
        workers = [Worker(config, f"load-w{i}") for i in range(args.workers)]
        try:
            while len({k for k, *_ in sync_runs(args.database_url)}) < len(clients):
                time.sleep(0.5)
            print(f"  first pass done; load average {os.getloadavg()[0]:.1f}")
            with (
                web_server(config, args.port, args.web_workers) as first,
                web_server(config, args.port + 1, args.web_workers) as second,
            ):
                if args.warm_seconds > 0:
                    # Each gunicorn worker renders each client's charts and pages once
                    # (cold: ~0.4 s a chart); then they come from its cache until a sync
                    # changes the client. A fresh deployment's first minute is this.
                    cold = run_wrk([first, second], clients, args.users, args.warm_seconds)
                    figures = cold.line(args.warm_seconds)
                    print(
                        f"  warming, {args.users} connections for {args.warm_seconds} s (every "
                        f"gunicorn worker rendering every client once): {figures}"
                    )
                load_before = os.getloadavg()
                started = datetime.now().astimezone()
                result: list[WebLoad] = []
                wrk = threading.Thread(
                    target=lambda: result.append(
                        run_wrk([first, second], clients, args.users, args.seconds)
                    )
                )
                wrk.start()
                time.sleep(args.seconds / 2)
                holders = {w.holder(): w for w in workers}
                victim_holder = victim_client = victim_period = None
                deadline = time.monotonic() + args.tick_seconds * 2
                while victim_holder is None and time.monotonic() < deadline:
                    for lease in client_leases(database, "sync"):
                        if lease.holder in holders and lease.period is not None:
                            victim_holder, victim_client = lease.holder, lease.client_key
                            victim_period = lease.period
                            break
                    else:
                        time.sleep(0.02)
                if victim_holder is None:
                    raise SystemExit("no worker held a client to be killed")
                victim = holders[victim_holder]
                killed_at = time.monotonic()
                victim.stop(signal.SIGKILL)
                took: float | None = None
                claimed: float | None = None
                while took is None and time.monotonic() - killed_at < 120:
                    (lease,) = [
                        r for r in client_leases(database, "sync") if r.client_key == victim_client
                    ]
                    if claimed is None and lease.holder not in (None, victim_holder):
                        claimed = time.monotonic() - killed_at
                    if lease.done_period is not None and lease.done_period >= (victim_period or ""):
                        took = time.monotonic() - killed_at
                        claimed = took if claimed is None else claimed
                    else:
                        time.sleep(0.02)
                wrk.join()
                load_after = os.getloadavg()
                ended = datetime.now().astimezone()
                # Let the survivors finish the tick that is running.
                time.sleep(args.tick_seconds)
        finally:
            for worker in workers:
                worker.stop()
        time.sleep(args.tick_seconds / 4)  # the last deliveries
        with database.session() as session:
            outbox = session.execute(
                select(
                    AlertOutboxRow.client_key,
                    AlertOutboxRow.event,
                    AlertOutboxRow.subject,
                    AlertOutboxRow.channel_index,
                )
            ).all()
    runs = sync_runs(args.database_url)
    database.dispose()

    web = result[0]
    print(
        f"  web, {args.users} connections for {args.seconds} s on 2 × {args.web_workers} "
        f"gunicorn workers, syncs running: {web.line(args.seconds)}"
    )
    print(
        f"  load average (1 min) {load_before[0]:.1f} before, {load_after[0]:.1f} at the end; "
        f"{os.cpu_count()} cores"
    )
    jobs = [job for worker in workers for job in worker.client_jobs()]
    done = Counter((c, p) for c, p, what, _ in jobs if what == "done")
    started_ = Counter((c, p) for c, p, what, _ in jobs if what == "started")
    periods = sorted({p for _, p in done})
    complete = [p for p in periods if sorted(c for c, q in done if q == p) == keys]
    print(
        f"  ticks: {len(periods)} seen, {len(complete)} with every one of the {len(keys)} "
        f"clients synced; each (client, tick) finished once: {set(done.values()) == {1}}; "
        f"started more than once: {[k for k, n in started_.items() if n > 1]}"
    )
    by_worker = Counter(h for _, _, what, h in jobs if what == "done")
    print(f"  syncs per worker: {sorted(by_worker.values(), reverse=True)}")
    print(
        f"  killed {victim.name} while it synced {victim_client} (tick {victim_period}); "
        f"another worker took it {claimed:.1f} s and had synced it {took:.1f} s later "
        f"(client_lease_seconds {args.client_lease_seconds:g})"
        if took is not None and claimed is not None
        else f"  killed {victim.name}: {victim_client} was NOT taken over"
    )
    last = {c: max(p for q, p in done if q == c) for c in keys}
    victim_synced = {c for c, _p, what, h in jobs if what == "done" and h == victim_holder}
    after = {c for c in victim_synced if last[c] > (victim_period or "")}
    print(
        f"  the killed worker's {len(victim_synced)} clients: {len(after)} synced by the others "
        "in a later tick"
    )
    during = [r for r in runs if r[3] and started <= r[2] < ended]
    minutes = (ended - started).total_seconds() / 60
    print(f"  syncs finished during the load: {len(during)} ({len(during) / minutes:.0f}/min)")
    print(
        f"  alerts: {len(outbox)} outbox rows, {len(set(outbox))} distinct "
        f"(client, event, subject, channel); {len(deliveries)} deliveries, "
        f"{len(set(deliveries))} distinct ids"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("SCOPEGUARD_BENCH_DATABASE_URL"),
        help="a throwaway PostgreSQL database (its schema is dropped); "
        "default $SCOPEGUARD_BENCH_DATABASE_URL",
    )
    parser.add_argument("--clients", type=int, default=30)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument(
        "--warm-seconds", type=int, default=60, help="a first wrk run, before the measured one"
    )
    parser.add_argument("--tick-seconds", type=float, default=20)
    parser.add_argument("--client-lease-seconds", type=float, default=10)
    parser.add_argument("--window", type=float, default=30, help="incremental throughput window")
    parser.add_argument("--port", type=int, default=18780)
    parser.add_argument("--phase", choices=("all", "throughput", "load"), default="all")
    parser.add_argument("--keep", action="store_true", help="keep the logs' folder")
    args = parser.parse_args()
    if not args.database_url or not args.database_url.startswith("postgresql"):
        raise SystemExit("--database-url must name a throwaway PostgreSQL database")

    folder = Path(tempfile.mkdtemp(prefix="scopeguard-deployment-"))
    print(
        f"{args.clients} clients, simulator latency {args.latency * 1000:.0f} ms, "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; logs in {folder}"
    )
    try:
        with fleet_simulator(args.clients, args.latency) as (jira_url, clients):
            if args.phase in ("all", "throughput"):
                print(f"throughput (a tick every {THROUGHPUT_TICK:g} s: the workers never wait):")
                for n in sorted({1, args.workers}):
                    figures = throughput(args, folder, jira_url, clients, n)
                    print(
                        f"  {n} worker(s): first full pass {figures.full_per_minute:.0f} "
                        f"clients/min ({figures.full_seconds:.1f} s, median "
                        f"{figures.full_median:.2f} s a client); incremental "
                        f"{figures.incremental_per_minute:.0f} clients/min (median "
                        f"{figures.incremental_median:.2f} s a client); load average "
                        f"{os.getloadavg()[0]:.1f}"
                    )
            if args.phase in ("all", "load"):
                print(f"load ({args.workers} workers, a tick every {args.tick_seconds:g} s):")
                load(args, folder, jira_url, clients)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
