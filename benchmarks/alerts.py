"""Alerts benchmark: rule evaluation, outbox dispatch and the scheduler lease.

Prints, for a client with N issues each past its revision limit (default 20,000):

* the first evaluation: N per-issue alert states written in bulk, and the outbox
  rows it queued — one digest per channel, not N messages (target: under 2 s),
* a re-evaluation with nothing changed (what every later sync costs),
* dispatching an outbox of individual alerts (``--dispatch-issues``, digests
  switched off) to a local HTTP receiver, with 1 and with 4 dispatchers running at
  once (deliveries per second; each alert must arrive exactly once),
* one lease renewal (the heartbeat and the start of every job).

The database is a fresh SQLite file unless ``--database-url`` names another
(e.g. a PostgreSQL test database; its tables are created if missing).

    .venv/bin/python benchmarks/alerts.py [--issues N] [--dispatch-issues N]
                                          [--database-url URL]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import delete, func, select

from _common import bulk_config
from scopeguard.adapters.store.lease import Lease
from scopeguard.adapters.store.models import AlertOutboxRow, AlertStateRow
from scopeguard.bootstrap import Services
from scopeguard.config import Settings, parse_settings
from scopeguard.domain.contract import ScopeUnit
from scopeguard.domain.health import assess_health
from scopeguard.domain.metrics import (
    ContractWindow,
    Overage,
    ReopenFigures,
    RevisionFigures,
    ScopeFigures,
    ScopeSummary,
    UnitFigures,
)
from scopeguard.usecases.alerts import AlertService


@contextmanager
def receiver() -> Iterator[tuple[str, Counter[str]]]:
    """A local HTTP receiver that answers 200 and counts deliveries per (path, alert id)."""
    seen: Counter[str] = Counter()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with lock:
                # One alert goes to two channels (two paths): count each pair.
                seen[f"{self.path} {self.headers.get('X-ScopeGuard-Delivery', '')}"] += 1
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def settings_for(
    database_url: str, hook_url: str, folder: Path, *, digest_after: int | None = None
) -> Settings:
    """One client with a low revision limit and two webhook channels; Jira is never asked.

    ``digest_after`` replaces the default digest threshold (a high one sends every
    per-issue alert on its own, which is what the dispatch figures measure).
    """
    contract = {
        "start": "2026-01-01",
        "scope": {"issues": 100},
        "revisions_per_issue": 2,
        "revisions_total": 10,
        "reopen_limit": 1,
    }
    client = {
        "key": "BENCH",
        "name": "Benchmark Co",
        "jql": "project = BENCH",
        "alerts": [
            {"type": "webhook", "url": f"{hook_url}/a", "secret": "s", "allow_private": True},
            {"type": "webhook", "url": f"{hook_url}/b", "allow_private": True},
        ],
    }
    sections: dict[str, Any] = {"database_url": database_url, "instance_path": str(folder)}
    if digest_after:
        sections["alerts"] = {"digest_after": digest_after}
    document = bulk_config("http://127.0.0.1:9", folder, contract, client=client, **sections)
    return parse_settings(yaml.safe_dump(document), env={})


def summary(issues: int, settings: Settings) -> ScopeSummary:
    """A summary with ``issues`` issues over their allowance, graded as the metrics grade."""
    contract = settings.clients[0].contract.to_contract(settings.agency.zone)
    by_issue = {f"BENCH-{i}": 3 + i % 4 for i in range(1, issues + 1)}
    unit = UnitFigures(100.0, 25, 0, 0, 25, 25.0)
    scope = ScopeFigures(
        ScopeUnit.ISSUES, 100.0, 100, (), (), (), 25, 25.0, {ScopeUnit.ISSUES: unit}
    )
    allowance = contract.revisions_per_issue
    revisions = RevisionFigures(
        sum(by_issue.values()),
        allowance,
        by_issue,
        tuple(key for key, n in by_issue.items() if n > allowance),
    )
    reopens = ReopenFigures(5, {})
    report = assess_health(scope, revisions, reopens, contract)
    return ScopeSummary(
        as_of=datetime.now(UTC),
        contract=ContractWindow(contract.start, contract.end, contract.baseline),
        scope=scope,
        revisions=revisions,
        reopens=reopens,
        overage=Overage(0.0, contract.currency, 0, 0.0),
        health=report.level,
        checks=report.checks,
    )


def reset(services: Services) -> None:
    with services.database.session() as session:
        session.execute(delete(AlertOutboxRow))
        session.execute(delete(AlertStateRow))


def outbox_rows(services: Services) -> Counter[str]:
    """Queued outbox rows by event."""
    with services.database.session() as session:
        rows = session.execute(
            select(AlertOutboxRow.event, func.count()).group_by(AlertOutboxRow.event)
        ).all()
    return Counter({event: count for event, count in rows})


def dispatch_run(services: Services, workers: int, seen: Counter[str]) -> tuple[float, int]:
    """Deliver the whole outbox with ``workers`` dispatchers; seconds and deliveries."""
    seen.clear()
    alerts = services.alerts
    barrier = threading.Barrier(workers)

    def run(index: int) -> None:
        dispatcher = alerts.dispatcher(f"bench-{index}")
        barrier.wait()
        while dispatcher.dispatch(limit=100).delivered:
            pass

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    duplicates = [key for key, count in seen.items() if count > 1]
    if duplicates:
        raise SystemExit(f"delivered twice: {duplicates[:5]}")
    return elapsed, sum(seen.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=20_000)
    parser.add_argument("--dispatch-issues", type=int, default=1000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, receiver() as (hook_url, seen):
        folder = Path(tmp)
        url = args.database_url or f"sqlite:///{folder / 'bench.db'}"
        settings = settings_for(url, hook_url, folder)
        services = Services(settings)
        reset(services)
        client = settings.clients[0]
        alerts = AlertService(settings, services.database)
        document = summary(args.issues, settings)
        backend = services.database.engine.dialect.name
        print(f"alerts benchmark: {args.issues} issues over their limit, {backend}")

        started = time.perf_counter()
        fired = alerts.evaluate(client, document)
        first = time.perf_counter() - started
        queued = outbox_rows(services)
        digested = sum(alert.digested for alert in fired)
        listing = ", ".join(f"{count} {event}" for event, count in sorted(queued.items()))
        print(
            f"  first evaluation: {len(fired)} alerts ({digested} inside digests) in "
            f"{first:.2f} s; outbox rows for 2 channels: {listing}"
        )

        repeats = []
        for _ in range(5):
            started = time.perf_counter()
            assert alerts.evaluate(client, document) == []
            repeats.append(time.perf_counter() - started)
        print(f"  re-evaluation, nothing changed: {statistics.median(repeats) * 1000:.0f} ms")
        reset(services)
        services.close()

        # Dispatch speed is measured on individual messages: digests switched off.
        settings = settings_for(url, hook_url, folder, digest_after=100_000)
        services = Services(settings)
        client = settings.clients[0]
        alerts = AlertService(settings, services.database)
        document = summary(args.dispatch_issues, settings)
        for workers in (1, 4):
            reset(services)
            alerts.evaluate(client, document)
            elapsed, delivered = dispatch_run(services, workers, seen)
            print(
                f"  dispatch with {workers} dispatcher(s), digests off, "
                f"{args.dispatch_issues} issues: {delivered} deliveries in "
                f"{elapsed:.2f} s = {delivered / elapsed:.0f}/s, none twice"
            )

        lease = Lease(services.database, "bench", seconds=60)
        timings = []
        for _ in range(200):
            started = time.perf_counter()
            lease.acquire()
            timings.append(time.perf_counter() - started)
        timings.sort()
        print(
            f"  lease renewal: median {statistics.median(timings) * 1000:.2f} ms, "
            f"p95 {timings[int(len(timings) * 0.95)] * 1000:.2f} ms"
        )
        lease.release()
        reset(services)
        services.close()


if __name__ == "__main__":
    main()
