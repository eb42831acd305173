"""Metrics benchmark: one client with 20,000 issues and ~600,000 change items.

1. Syncs the bulk scenario from the simulator (no latency) into a SQLite file.
2. Times what runs after a sync: the summary and the daily series from the
   cached per-issue facts (``ScopeAnalysis.refresh``), and, for reference, the
   facts of every issue recomputed from stored histories.
3. Serves the app with gunicorn and sends 50 concurrent clients at
   ``/api/v1/clients/BULK/summary``; prints p50/p95/p99 latency.

    .venv/bin/python benchmarks/metrics.py [--issues N] [--requests N]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from _common import (
    BULK,
    Percentiles,
    bulk_config,
    gunicorn,
    simulator,
    thread_load,
    write_config,
    wrk_percentiles,
)
from scopeguard.adapters.store.repository import history_count
from scopeguard.bootstrap import Services
from scopeguard.config import load_settings
from scopeguard.usecases.snapshots import ScopeAnalysis

PORT = 18765


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=20_000)
    # 23 histories an issue make about 600,000 change items for 20,000 issues.
    parser.add_argument("--histories", type=int, default=23)
    parser.add_argument("--requests", type=int, default=2_000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()

    with (
        simulator(args.issues, args.histories) as url,
        tempfile.TemporaryDirectory(prefix="scopeguard-bench-") as tmp,
    ):
        folder = Path(tmp)
        contract = {
            "start": "2025-01-01",
            "scope": {"issues": args.issues // 2, "story_points": args.issues * 2},
            "revisions_per_issue": 2,
            "revisions_total": args.issues,
            "reopen_limit": 100,
            "hourly_rate": 90,
        }
        config = write_config(folder, bulk_config(url, folder, contract))
        settings = load_settings(config)
        # As the worker: it keeps decoded facts between syncs.
        services = Services(settings, syncing=True)
        client = settings.client(BULK)
        start = time.perf_counter()
        services.sync.sync_client(client)
        print(f"sync (incl. per-issue facts): {time.perf_counter() - start:.1f}s")
        with services.database.session() as session:
            histories = history_count(session, BULK)
        print(f"stored: {args.issues} issues, {histories} histories")

        timings = []
        for _ in range(3):
            start = time.perf_counter()
            snapshot = services.analysis.refresh(client)
            timings.append(time.perf_counter() - start)
        days = len(snapshot.series.days)
        print(
            f"summary + daily series ({days} days) after a sync, in the syncing process "
            f"(facts held): best {min(timings):.2f}s, median {statistics.median(timings):.2f}s"
        )
        cold = ScopeAnalysis(settings, services.database)
        start = time.perf_counter()
        cold.refresh(client)
        print(
            f"the same in a fresh process (every issue's cached facts decoded): "
            f"{time.perf_counter() - start:.2f}s"
        )
        start = time.perf_counter()
        with services.database.session() as session:
            context = services.analysis.context(session, client)
        services.analysis.refresh(client, changed_pks=range(1, args.issues + 1))
        print(
            f"reference: every issue's facts recomputed from stored histories + summary: "
            f"{time.perf_counter() - start:.1f}s (fingerprint {context.fingerprint[:8]})"
        )
        services.close()

        with gunicorn(config, args.workers, PORT) as base:
            summary = f"{base}/api/v1/clients/{BULK}/summary"
            thread_load(summary, 100, 10)  # warm every worker
            start = time.perf_counter()
            latencies = thread_load(summary, args.requests, args.concurrency)
            wall = time.perf_counter() - start
            print(
                f"/summary under {args.concurrency} concurrent clients (Python threads, which "
                f"share the 2 cores), {args.requests} requests, gunicorn {args.workers} "
                f"workers: {Percentiles.of(latencies)}, {args.requests / wall:.0f} req/s"
            )
            for label, headers in (("gzip", ["Accept-Encoding: gzip"]), ("identity", [])):
                figures = wrk_percentiles(summary, args.concurrency, 10, extra_headers=headers)
                print(
                    f"/summary under {args.concurrency} concurrent connections (wrk, "
                    f"{label}): {figures.summary()}"
                    if figures is not None
                    else "wrk not installed (apt-get install wrk): Python load figures only"
                )


if __name__ == "__main__":
    main()
