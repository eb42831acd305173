"""Panel benchmark: chart and page render times for a 500-issue client, and p95 under load.

1. Syncs the bulk scenario (default 500 issues with 12 histories each: review
   rounds, acceptances, reopens) from the simulator into a SQLite file.
2. Times each chart, cold (an empty cache: the matplotlib drawing) and cached
   (through the app, the cache answering), and the scope panel page the same
   way, in-process with Flask's test client.
3. Serves the app with gunicorn and loads the cached panel page with 20
   concurrent connections (wrk, else Python threads); prints p50/p95/p99.
   The target is p95 < 100 ms.

    .venv/bin/python benchmarks/panel.py [--issues N] [--concurrency N] [--seconds N]
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from flask.testing import FlaskClient

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
from scopeguard.adapters.charts import ChartFormat, portfolio_chart, render_chart
from scopeguard.bootstrap import Services
from scopeguard.config import Settings, load_settings
from scopeguard.domain.contract import ScopeUnit
from scopeguard.entrypoints.web import create_app

TOKEN = "bench-panel-token"
PORT = 18766


def timed(action: Callable[[], Any], repeat: int) -> list[float]:
    """Milliseconds of each of ``repeat`` calls."""
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        out.append((time.perf_counter() - start) * 1000)
    return out


def get(client: FlaskClient, path: str) -> bytes:
    """``path`` through the app with the API token; the body of its 200 answer."""
    response = client.get(path, headers={"Authorization": f"Bearer {TOKEN}"})
    if response.status_code != 200:
        raise SystemExit(f"{path}: HTTP {response.status_code}")
    return response.get_data()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=500)
    parser.add_argument("--histories", type=int, default=12)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()

    with (
        simulator(args.issues, args.histories) as url,
        tempfile.TemporaryDirectory(prefix="scopeguard-panel-bench-") as tmp,
    ):
        folder = Path(tmp)
        contract = {
            # The bulk issues are created a minute apart from 2025-09-01 09:00:
            # the baseline splits them into baseline scope and added scope.
            "start": "2025-08-25",
            "baseline": "2025-09-01T12:00:00+03:00",
            "scope": {"issues": args.issues // 2, "story_points": args.issues * 2},
            "revisions_per_issue": 2,
            "reopen_limit": 100,
            "change_request_label": "design",
            "hourly_rate": 90,
        }
        document = bulk_config(
            url,
            folder,
            contract,
            workflow={"review_statuses": ["Client Review"]},
            web={"api_token": TOKEN, "secret_key": "bench-secret-key-0123456789"},
        )
        config = write_config(folder, document)
        measure_in_process(load_settings(config))
        with gunicorn(config, args.workers, PORT) as base:
            measure_under_load(
                f"{base}/clients/{BULK}", args.workers, args.concurrency, args.seconds
            )


def measure_in_process(settings: Settings) -> None:
    """Sync, then time each chart cold and cached, and the pages through the app."""
    services = Services(settings)
    client_settings = settings.client(BULK)
    start = time.perf_counter()
    services.sync.sync_client(client_settings)
    snapshot = services.analysis.snapshot(client_settings)
    figures = snapshot.figures
    summary, series = figures.summary, figures.series
    print(
        f"synced {figures.sync.issues} issues in {time.perf_counter() - start:.1f}s: "
        f"{summary.revisions.total} revision rounds, "
        f"{len(summary.revisions.over_limit)} issues over the allowance, "
        f"{len(series.days)} days of series"
    )

    # Warm matplotlib (font cache, first figure) so "cold" measures drawing only.
    render_chart("activity", figures, language="en", fmt="png")

    print("\nchart render, cold (matplotlib, no cache) — median of 3:")
    formats: tuple[ChartFormat, ...] = ("png", "svg")
    charts: list[tuple[str, ScopeUnit | None]] = [("creep", unit) for unit in series.units]
    charts += [("revisions", None), ("activity", None)]
    jobs: list[tuple[str, Callable[[], bytes]]] = [
        (
            f"{name}[{unit}].{fmt}" if unit else f"{name}.{fmt}",
            functools.partial(render_chart, name, figures, language="en", fmt=fmt, unit=unit),
        )
        for name, unit in charts
        for fmt in formats
    ]
    jobs.append(("portfolio.png", lambda: portfolio_chart(figures, language="en", fmt="png")))
    for name, job in jobs:
        times = timed(job, 3)
        print(f"  {name:<24} {statistics.median(times):7.1f} ms  ({len(job()) / 1024:.0f} KiB)")

    app = create_app(services=services)
    client = app.test_client()
    print("\nthrough the app (Flask test client): first request (cold) / cached median of 50:")
    paths = [f"/clients/BULK/charts/creep.png?unit={unit}" for unit in series.units]
    paths += [
        "/clients/BULK/charts/revisions.png",
        "/clients/BULK/charts/activity.png",
        "/portfolio/charts/BULK.png",
        "/clients/BULK",
        "/",
    ]
    for path in paths:
        fetch = functools.partial(get, client, path)
        cold = timed(fetch, 1)[0]
        cached = timed(fetch, 50)
        size = len(fetch()) / 1024
        print(
            f"  {path:<42} cold {cold:7.1f} ms   cached median "
            f"{statistics.median(cached):5.1f} ms, p95 "
            f"{Percentiles.of(cached).p95:5.1f} ms  ({size:.0f} KiB)"
        )
    services.close()


def measure_under_load(page: str, workers: int, concurrency: int, seconds: int) -> None:
    """p50/p95/p99 of the cached panel page under ``concurrency`` connections."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {TOKEN}"
    for _ in range(20 * workers):  # fill every worker's cache
        session.get(page, timeout=60).raise_for_status()
    print(
        f"\ncached panel page under {concurrency} concurrent connections, "
        f"gunicorn {workers} sync workers on {os.cpu_count()} cores:"
    )
    figures = wrk_percentiles(page, concurrency, seconds, token=TOKEN)
    if figures is not None:
        print(f"  wrk: {figures.summary()}")
    else:
        latencies = thread_load(page, concurrency * 50, concurrency, tokens=[TOKEN])
        print(f"  python threads: {len(latencies)} requests, {Percentiles.of(latencies)}")


if __name__ == "__main__":
    main()
