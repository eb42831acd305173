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
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
import yaml
from sqlalchemy import func, select

from scopeguard.analysis import ScopeAnalysis
from scopeguard.config import load_settings
from scopeguard.services import Services
from scopeguard.store.models import ChangeItemRow

sys.path.insert(0, str(Path(__file__).parent))
from sync import start_simulator


def load(url: str, total: int, concurrency: int) -> list[float]:
    """``total`` GETs of ``url`` from ``concurrency`` threads; the latencies in ms."""
    latencies: list[float] = []
    lock = threading.Lock()
    remaining = [total]

    def worker() -> None:
        session = requests.Session()
        while True:
            with lock:
                if remaining[0] == 0:
                    return
                remaining[0] -= 1
            start = time.perf_counter()
            response = session.get(url, timeout=30)
            elapsed = (time.perf_counter() - start) * 1000
            response.raise_for_status()
            with lock:
                latencies.append(elapsed)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


WRK_SCRIPT = """
done = function(summary, latency, requests)
  io.write(string.format("wrk: %d requests, %d errors, p50 %.1f ms, p95 %.1f ms, p99 %.1f ms\\n",
    summary.requests, summary.errors.status + summary.errors.connect + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
"""


def wrk(url: str, concurrency: int, seconds: int) -> str | None:
    """Load ``url`` with wrk (Debian package) when it is installed; its summary line."""
    binary = shutil.which("wrk")
    if binary is None:
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    result = subprocess.run(
        [binary, "-t2", f"-c{concurrency}", f"-d{seconds}s", "-s", script.name, url],
        capture_output=True,
        text=True,
        check=True,
    )
    return next(line for line in result.stdout.splitlines() if line.startswith("wrk:"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=20_000)
    # 23 histories an issue make about 600,000 change items for 20,000 issues.
    parser.add_argument("--histories", type=int, default=23)
    parser.add_argument("--requests", type=int, default=2_000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()

    simulator, url = start_simulator(args.issues, args.histories, 0.0)
    folder = Path(tempfile.mkdtemp(prefix="scopeguard-bench-"))
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
                "clients": [
                    {
                        "key": "BULK",
                        "name": "Bulk client",
                        "jql": "project = BULK",
                        "contract": {
                            "start": "2025-01-01",
                            "scope": {"issues": args.issues // 2, "story_points": args.issues * 2},
                            "revisions_per_issue": 2,
                            "revisions_total": args.issues,
                            "reopen_limit": 100,
                            "hourly_rate": 90,
                        },
                    }
                ],
            }
        )
    )
    try:
        settings = load_settings(config)
        # As the worker: it keeps decoded facts between syncs.
        services = Services(settings, syncing=True)
        client = settings.client("BULK")
        start = time.perf_counter()
        services.sync.sync_client(client)
        print(f"sync (incl. per-issue facts): {time.perf_counter() - start:.1f}s")
        with services.database.session() as session:
            items = session.scalar(select(func.count()).select_from(ChangeItemRow))
        print(f"stored: {args.issues} issues, {items} change items")

        timings = []
        for _ in range(3):
            start = time.perf_counter()
            snapshot = services.analysis.refresh(client)
            timings.append(time.perf_counter() - start)
        days = len(snapshot.series["days"])
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

        port = 18765
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
            load(f"{base}/api/v1/clients/BULK/summary", 100, 10)  # warm every worker
            start = time.perf_counter()
            latencies = sorted(
                load(f"{base}/api/v1/clients/BULK/summary", args.requests, args.concurrency)
            )
            wall = time.perf_counter() - start
            q = statistics.quantiles(latencies, n=100)
            print(
                f"/summary under {args.concurrency} concurrent clients, {args.requests} "
                f"requests, gunicorn {args.workers} workers: p50 {q[49]:.1f} ms, "
                f"p95 {q[94]:.1f} ms, p99 {q[98]:.1f} ms, {args.requests / wall:.0f} req/s"
            )
        finally:
            gunicorn.terminate()
            gunicorn.wait(timeout=10)
    finally:
        simulator.terminate()
        simulator.wait(timeout=10)


if __name__ == "__main__":
    main()
