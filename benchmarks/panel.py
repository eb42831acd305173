"""Panel benchmark: chart and page render times, p95 under load, issue lists at 20,000 issues.

1. Syncs the bulk scenario (default 500 issues with 12 histories each: review
   rounds, acceptances, reopens) from the simulator into a SQLite file.
2. Times each chart, cold (an empty cache: the matplotlib drawing) and cached
   (through the app, the cache answering), and the scope panel page the same
   way, in-process with Flask's test client.
3. Serves the app with gunicorn and loads the cached panel page with 20
   concurrent connections (wrk, else Python threads); prints p50/p95/p99.
   The target is p95 < 100 ms.
4. Syncs a second client of 20,000 issues (``--list-issues``) and times its
   issue-list pages (``/clients/BULK/issues?list=…&page=N``) in-process, each
   page rendered for the first time, against the 500-issue client's: a page
   reads only its 50 issues, so the two should cost the same.
5. Serves it with ``scopeguard serve --health-port`` and sends 50 concurrent
   readers (``--readers``) at distinct pages: first 50 pages in turn (each
   rendered once per worker, then cached: people reading different pages),
   then every page of every list in turn (no page twice in a worker's cache:
   every request reads its facts and renders). Meanwhile /healthz is probed
   every 20 ms on the health port (and once a second on the main port, for
   contrast). Targets: pages p95 < 150 ms, health-port /healthz p99 < 50 ms.

    .venv/bin/python benchmarks/panel.py [--issues N] [--concurrency N] [--seconds N]
                                         [--list-issues N] [--readers N]
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
    Prober,
    bulk_config,
    free_ports,
    gunicorn,
    scopeguard_serve,
    simulator,
    thread_load,
    thread_paths_load,
    write_config,
    wrk_paths_percentiles,
    wrk_percentiles,
)
from scopeguard.adapters.charts import ChartFormat, portfolio_chart, render_chart
from scopeguard.bootstrap import Services
from scopeguard.config import Settings, load_settings
from scopeguard.domain.contract import ScopeUnit
from scopeguard.entrypoints.web import create_app
from scopeguard.presentation.panel_view import LIST_NAMES, list_keys, page_count

TOKEN = "bench-panel-token"
COLD_PAGES = 40
"""Pages rendered once each for the in-process cold figure."""


def timed(action: Callable[[], Any], repeat: int) -> list[float]:
    """Milliseconds of each of ``repeat`` calls."""
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        out.append((time.perf_counter() - start) * 1000)
    return out


def get(client: FlaskClient, path: str, token: str = TOKEN) -> bytes:
    """``path`` through the app with the API token; the body of its 200 answer."""
    response = client.get(path, headers={"Authorization": f"Bearer {token}"})
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
    parser.add_argument("--list-issues", type=int, default=20_000)
    parser.add_argument("--readers", type=int, default=50)
    parser.add_argument("--list-seconds", type=int, default=15)
    parser.add_argument(
        "--lists-only", action="store_true", help="only steps 4 and 5 (the 20,000-issue lists)"
    )
    args = parser.parse_args()

    with (
        simulator(args.issues, args.histories) as url,
        tempfile.TemporaryDirectory(prefix="scopeguard-panel-bench-") as tmp,
    ):
        folder = Path(tmp)
        config = write_config(folder, _document(url, folder, args.issues))
        if not args.lists_only:
            measure_in_process(load_settings(config))
        else:
            Services(load_settings(config)).sync.sync_client(load_settings(config).client(BULK))
        small = cold_list_pages(load_settings(config))
        if not args.lists_only:
            with gunicorn(config, args.workers, free_ports(1)[0]) as base:
                measure_under_load(
                    f"{base}/clients/{BULK}", args.workers, args.concurrency, args.seconds
                )
    measure_issue_lists(args, small)


def _document(url: str, folder: Path, issues: int, *, service_token: bool = True) -> dict[str, Any]:
    contract = {
        # The bulk issues are created a minute apart from 2025-09-01 09:00:
        # the baseline splits them into baseline scope and added scope.
        "start": "2025-08-25",
        "baseline": "2025-09-01T12:00:00+03:00",
        "scope": {"issues": issues // 2, "story_points": issues * 2},
        "revisions_per_issue": 2,
        "reopen_limit": 100,
        "change_request_label": "design",
        "hourly_rate": 90,
    }
    web: dict[str, Any] = {"secret_key": "bench-secret-key-0123456789"}
    if service_token:
        web["api_token"] = TOKEN
    return bulk_config(
        url, folder, contract, workflow={"review_statuses": ["Client Review"]}, web=web
    )


def list_paths(settings: Settings) -> list[str]:
    """Every page of every issue list of the bulk client, lists interleaved."""
    services = Services(settings)
    summary = services.analysis.snapshot(settings.client(BULK)).summary
    size = settings.web.page_size
    per_list = [
        [
            f"/clients/{BULK}/issues?list={name}&page={page}"
            for page in range(1, page_count(len(list_keys(summary, name)), size) + 1)
        ]
        for name in LIST_NAMES
    ]
    services.close()
    longest = max(len(pages) for pages in per_list)
    return [pages[i] for i in range(longest) for pages in per_list if i < len(pages)]


def cold_list_pages(settings: Settings, token: str = TOKEN) -> float:
    """Median milliseconds of an issue-list page rendered for the first time, in-process."""
    services = Services(settings)
    client = create_app(services=services).test_client()
    paths = list_paths(settings)
    for first in paths[: len(LIST_NAMES)]:  # the snapshot decoded, each list ordered: once a sync
        get(client, first, token)
    rest = paths[len(LIST_NAMES) :]
    chosen = rest[:: max(1, len(rest) // COLD_PAGES)][:COLD_PAGES]
    times = [timed(functools.partial(get, client, path, token), 1)[0] for path in chosen]
    services.close()
    return statistics.median(times)


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
        "/clients/BULK/issues?list=revised&page=2",
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


def measure_issue_lists(args: argparse.Namespace, small_cold_ms: float) -> None:
    """Issue-list pages of a 20,000-issue client: in-process, then 50 readers on gunicorn."""
    with (
        simulator(args.list_issues, args.histories) as url,
        tempfile.TemporaryDirectory(prefix="scopeguard-lists-bench-") as tmp,
    ):
        folder = Path(tmp)
        document = _document(url, folder, args.list_issues, service_token=False)
        config = write_config(folder, document)
        settings = load_settings(config)
        services = Services(settings)
        start = time.perf_counter()
        services.sync.sync_client(settings.client(BULK))
        print(
            f"\nsynced {args.list_issues} issues for the issue lists in "
            f"{time.perf_counter() - start:.0f}s"
        )
        # A personal token, as people's scripts and browsers' sessions are looked up.
        reader = services.people.add("bench-reader", "viewer", password=None)
        token = services.people.new_token(reader, "benchmark", address=None)[0]
        services.close()
        paths = list_paths(settings)
        large_cold_ms = cold_list_pages(settings, token)
        print(
            f"issue-list page rendered the first time (in-process, median of {COLD_PAGES} "
            f"pages): {args.issues} issues {small_cold_ms:.1f} ms, "
            f"{args.list_issues} issues {large_cold_ms:.1f} ms ({len(paths)} pages of 50)"
        )
        # Free ports: other people's benchmarks may be running on this machine.
        ports = free_ports(2)
        with scopeguard_serve(config, args.workers, *ports) as (base, health):
            step = max(1, len(paths) // args.readers)
            distinct = paths[::step][: args.readers]
            for label, chosen in (
                (
                    f"{len(distinct)} distinct pages in turn (each cached after its first view)",
                    distinct,
                ),
                (f"all {len(paths)} pages in turn (every request renders its page)", paths),
            ):
                _pages_with_probes(label, base, health, chosen, args, token=token)


def _pages_with_probes(
    label: str, base: str, health: str, paths: list[str], args: argparse.Namespace, *, token: str
) -> None:
    print(
        f"\nissue lists, {args.readers} concurrent readers, {label}; "
        f"scopeguard serve, {args.workers} workers on {os.cpu_count()} cores:"
    )
    check = requests.get(base + paths[0], headers={"Authorization": f"Bearer {token}"}, timeout=60)
    if check.status_code != 200:
        raise SystemExit(f"{paths[0]}: HTTP {check.status_code}: {check.text[:300]}")
    if wrk_paths_percentiles(base, paths, args.readers, 5, token=token) is None:  # warm-up
        thread_paths_load(base, paths, args.readers, args.readers * 10, token=token)
    with (
        Prober(f"{health}/healthz", 0.02) as fast,
        Prober(f"{base}/healthz", 1.0) as slow,
    ):
        figures = wrk_paths_percentiles(base, paths, args.readers, args.list_seconds, token=token)
        if figures is None:
            latencies = thread_paths_load(base, paths, args.readers, args.readers * 40, token=token)
            figures = Percentiles.of(latencies)
            print(f"  pages (python threads): {figures.summary()}")
        else:
            print(f"  pages (wrk): {figures.summary()}")
    if figures.errors:
        raise SystemExit(f"{figures.errors} pages did not answer 200: the figures are not pages'")
    print(f"  /healthz on the health port (every 20 ms): {fast.summary()}")
    print(f"  /healthz on the main port (every 1 s), for contrast: {slow.summary()}")


if __name__ == "__main__":
    main()
