"""Sync benchmark: 20,000 issues x 30 histories from the simulator with 50 ms latency.

Prints the Jira requests against their lower bound (search pages + bulkfetch
pages), wall time and this process's peak RSS for the full sync, then the
requests of a re-sync with nothing changed. The simulator runs in its own
process so its dataset does not count towards ScopeGuard's memory.

    .venv/bin/python benchmarks/sync.py [--issues N] [--histories N] [--latency S]
"""

from __future__ import annotations

import argparse
import math
import resource
import tempfile
import time
from pathlib import Path

import yaml

from _common import BULK, bulk_config, simulator
from scopeguard.bootstrap import Services
from scopeguard.config import parse_settings

SEARCH_PAGE = 100  # /search/jql answers at most 100 issues a page when fields are asked for
BULKFETCH_PAGE = 10_000  # histories per /changelog/bulkfetch page
BULKFETCH_ISSUES = 1_000  # issues per /changelog/bulkfetch call


def lower_bound(issues: int, histories: int) -> int:
    """Fewest requests a complete sync can make: search pages plus bulkfetch pages."""
    search_pages = math.ceil(issues / SEARCH_PAGE)
    batches = math.ceil(issues / BULKFETCH_ISSUES)
    per_batch = math.ceil(min(issues, BULKFETCH_ISSUES) * histories / BULKFETCH_PAGE)
    return search_pages + batches * per_batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=20_000)
    parser.add_argument("--histories", type=int, default=30)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    args = parser.parse_args()

    t0 = time.perf_counter()
    with simulator(args.issues, args.histories, args.latency) as url:
        print(
            f"simulator: {args.issues} issues x {args.histories} histories, "
            f"{args.latency * 1000:.0f} ms latency, ready in {time.perf_counter() - t0:.1f}s"
        )
        with tempfile.TemporaryDirectory() as folder:
            document = bulk_config(
                url,
                Path(folder),
                {"start": "2025-01-01", "scope": {"issues": args.issues}, "revisions_per_issue": 2},
                instance_path=folder,
            )
            if args.database_url:
                document["database_url"] = args.database_url
            settings = parse_settings(yaml.safe_dump(document), env={})
            # As the worker runs it: keeping decoded metric facts between syncs.
            services = Services(settings, syncing=True)
            client = settings.client(BULK)
            start = time.perf_counter()
            report = services.sync.sync_client(client)
            full_seconds = time.perf_counter() - start
            peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            bound = lower_bound(args.issues, args.histories)
            print(
                f"full sync: {report.issues} issues, {report.histories} histories, "
                f"{report.requests} Jira requests (lower bound {bound}, "
                f"ratio {report.requests / bound:.3f}), {full_seconds:.1f}s wall, "
                f"peak RSS {peak_mb:.0f} MB"
            )
            start = time.perf_counter()
            again = services.sync.sync_client(client)
            print(
                f"no-change re-sync: {again.requests} Jira requests "
                f"(search + probes), {again.issues} issues, "
                f"{time.perf_counter() - start:.2f}s"
            )
            services.close()


if __name__ == "__main__":
    main()
