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
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
import yaml
from flask.testing import FlaskClient

from scopeguard.config import load_settings
from scopeguard.render.charts import portfolio_chart, render_chart
from scopeguard.services import Services
from scopeguard.web import create_app

sys.path.insert(0, str(Path(__file__).parent))
from metrics import WRK_SCRIPT
from sync import start_simulator

TOKEN = "bench-panel-token"


def timed(action: Callable[[], Any], repeat: int) -> list[float]:
    """Milliseconds of each of ``repeat`` calls."""
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        out.append((time.perf_counter() - start) * 1000)
    return out


def get(client: FlaskClient, path: str) -> bytes:
    response = client.get(path, headers={"Authorization": f"Bearer {TOKEN}"})
    if response.status_code != 200:
        raise SystemExit(f"{path}: HTTP {response.status_code}")
    return response.data


def wrk_p95(url: str, concurrency: int, seconds: int) -> str | None:
    """wrk (Debian package) against ``url`` with the API token; its summary line."""
    binary = shutil.which("wrk")
    if binary is None:
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    result = subprocess.run(
        [
            binary,
            "-t2",
            f"-c{concurrency}",
            f"-d{seconds}s",
            "--latency",
            "-H",
            f"Authorization: Bearer {TOKEN}",
            "-s",
            script.name,
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return next(line for line in result.stdout.splitlines() if line.startswith("wrk:"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=500)
    parser.add_argument("--histories", type=int, default=12)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()

    simulator, url = start_simulator(args.issues, args.histories, 0.0)
    folder = Path(tempfile.mkdtemp(prefix="scopeguard-panel-bench-"))
    config = folder / "scopeguard.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "database_url": f"sqlite:///{folder}/bench.db",
                "jira": {
                    "url": url,
                    "deployment": "cloud",
                    "email": "pm@agency.example",
                    "api_token": "token",
                },
                "agency": {"timezone": "Europe/Moscow"},
                "workflow": {"review_statuses": ["Client Review"]},
                "web": {"api_token": TOKEN, "secret_key": "bench-secret-key-0123456789"},
                "clients": [
                    {
                        "key": "BULK",
                        "name": "Bulk client",
                        "jql": "project = BULK",
                        "contract": {
                            # The bulk issues are created a minute apart from
                            # 2025-09-01 09:00: the baseline splits them into
                            # baseline scope and added scope.
                            "start": "2025-08-25",
                            "baseline": "2025-09-01T12:00:00+03:00",
                            "scope": {"issues": args.issues // 2, "story_points": args.issues * 2},
                            "revisions_per_issue": 2,
                            "reopen_limit": 100,
                            "change_request_label": "design",
                            "hourly_rate": 90,
                        },
                    }
                ],
            }
        )
    )
    try:
        settings = load_settings(config)
        services = Services(settings)
        client_settings = settings.client("BULK")
        start = time.perf_counter()
        services.sync.sync_client(client_settings)
        snapshot = services.analysis.snapshot(client_settings)
        summary, series = snapshot.summary, snapshot.series
        print(
            f"synced {summary['sync']['issues']} issues in {time.perf_counter() - start:.1f}s: "
            f"{summary['revisions']['total']} revision rounds, "
            f"{len(summary['revisions']['over_limit'])} issues over the allowance, "
            f"{len(series['days'])} days of series"
        )

        # Warm matplotlib (font cache, first figure) so "cold" measures drawing only.
        render_chart("activity", summary, series, language="en", fmt="png")

        print("\nchart render, cold (matplotlib, no cache) — median of 3:")
        jobs: list[tuple[str, Callable[[], bytes]]] = []
        for unit in series["units"]:
            for fmt in ("png", "svg"):
                jobs.append(
                    (
                        f"creep[{unit}].{fmt}",
                        lambda unit=unit, fmt=fmt: render_chart(
                            "creep", summary, series, language="en", fmt=fmt, unit=unit
                        ),
                    )
                )
        for name in ("revisions", "activity"):
            for fmt in ("png", "svg"):
                jobs.append(
                    (
                        f"{name}.{fmt}",
                        lambda name=name, fmt=fmt: render_chart(
                            name, summary, series, language="en", fmt=fmt
                        ),
                    )
                )
        jobs.append(
            (
                "portfolio.png",
                lambda: portfolio_chart(summary, series, language="en", fmt="png"),
            )
        )
        for name, job in jobs:
            times = timed(job, 3)
            print(f"  {name:<24} {statistics.median(times):7.1f} ms  ({len(job()) / 1024:.0f} KiB)")

        app = create_app(services=services)
        client = app.test_client()
        print("\nthrough the app (Flask test client): first request (cold) / cached median of 50:")
        paths = [f"/clients/BULK/charts/creep.png?unit={unit}" for unit in series["units"]]
        paths += [
            "/clients/BULK/charts/revisions.png",
            "/clients/BULK/charts/activity.png",
            "/portfolio/charts/BULK.png",
            "/clients/BULK",
            "/",
        ]
        for path in paths:
            cold = timed(lambda path=path: get(client, path), 1)[0]
            cached = timed(lambda path=path: get(client, path), 50)
            size = len(get(client, path)) / 1024
            print(
                f"  {path:<42} cold {cold:7.1f} ms   cached median "
                f"{statistics.median(cached):5.1f} ms, p95 "
                f"{statistics.quantiles(cached, n=20)[18]:5.1f} ms  ({size:.0f} KiB)"
            )
        services.close()

        port = 18766
        gunicorn = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(args.workers),
                "--log-level",
                "warning",
                "scopeguard.web:create_app()",
            ],
            env={**os.environ, "SCOPEGUARD_CONFIG": str(config)},
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:  # workers import and migrate first
                try:
                    if requests.get(f"{base}/healthz", timeout=5).ok:
                        break
                except requests.RequestException:
                    time.sleep(0.5)
            page = f"{base}/clients/BULK"
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {TOKEN}"
            for _ in range(20 * args.workers):  # fill every worker's cache
                session.get(page, timeout=60).raise_for_status()
            print(
                f"\ncached panel page under {args.concurrency} concurrent connections, "
                f"gunicorn {args.workers} sync workers on {os.cpu_count()} cores:"
            )
            line = wrk_p95(page, args.concurrency, args.seconds)
            if line is not None:
                print(f"  {line}")
            else:
                latencies = sorted(load_with_token(page, args.concurrency * 50, args.concurrency))
                q = statistics.quantiles(latencies, n=100)
                print(
                    f"  python threads: {len(latencies)} requests, p50 {q[49]:.1f} ms, "
                    f"p95 {q[94]:.1f} ms, p99 {q[98]:.1f} ms"
                )
        finally:
            gunicorn.terminate()
            gunicorn.wait(timeout=10)
    finally:
        simulator.terminate()
        simulator.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


def load_with_token(url: str, total: int, concurrency: int) -> list[float]:
    """``total`` GETs of ``url`` (with the API token) from ``concurrency`` threads; ms each."""
    latencies: list[float] = []
    lock = threading.Lock()
    remaining = [total]

    def worker() -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {TOKEN}"
        while True:
            with lock:
                if remaining[0] == 0:
                    return
                remaining[0] -= 1
            start = time.perf_counter()
            session.get(url, timeout=30).raise_for_status()
            with lock:
                latencies.append((time.perf_counter() - start) * 1000)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


if __name__ == "__main__":
    main()
