"""Monthly report benchmark: one client with 2,000 issues, every change in the month reported.

1. Starts the Jira simulator with the bulk scenario (2,000 issues, 30 histories
   each, all within September 2025: the busiest month possible) and syncs it
   into a SQLite file.
2. In a fresh process (so its memory is the report's alone), produces the
   September report as the scheduler would: facts from the database, both
   summaries, the daily series, the two SVG charts, the HTML and the PDF with
   its CSV attachments. Prints the time of the first report in the process
   (fonts, templates and matplotlib warm up), the median of the next ones,
   each stage's share, the peak of Python allocations (tracemalloc) and the
   process's peak resident memory.

    .venv/bin/python benchmarks/report.py [--issues N] [--histories N] [--runs N]

Target: under 3 s per report.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

from _common import BULK, bulk_config, simulator, write_config

MONTH = "2025-09"
NOW = datetime(2025, 10, 1, 8, 0, tzinfo=UTC)
"""The scheduled run's moment: 08:00 on the 1st (Moscow is UTC+3, so 11:00 there)."""


def measure(config: Path, runs: int) -> None:
    """Produce the report ``runs + 1`` times in this process and print the figures."""
    from scopeguard.adapters.pdf import renderer as render  # noqa: PLC0415
    from scopeguard.bootstrap import Services  # noqa: PLC0415
    from scopeguard.config import load_settings  # noqa: PLC0415 - measured process only
    from scopeguard.domain.month import Month  # noqa: PLC0415
    from scopeguard.usecases.reporting import generate_report, load_report_data  # noqa: PLC0415

    settings = load_settings(config)
    services = Services(settings, migrate=False)
    client = settings.client(BULK)
    month = Month.parse(MONTH)

    start = time.perf_counter()
    report = generate_report(services, client, month, now=NOW)
    cold = time.perf_counter() - start
    data = report.data
    print(
        f"report {MONTH}: {data.figures.sync.issues} issues, "
        f"{len(data.added)} added this month, {len(data.over_limit)} over the allowance, "
        f"{len(data.evidence)} billable rounds this month; {report.rendered.pages} pages, "
        f"{len(report.pdf) / 1024:.0f} KiB"
    )
    print(f"first report in a new process: {cold:.2f}s")

    totals: list[float] = []
    cpu: list[float] = []
    stages: dict[str, list[float]] = {"data": [], "charts": [], "html+pdf": []}
    for _ in range(runs):
        cpu_begin = time.process_time()
        begin = time.perf_counter()
        data = load_report_data(services, client, month, now=NOW)
        loaded = time.perf_counter()
        images = render.chart_images(data, "en")
        drawn = time.perf_counter()
        render.render_pdf(data, "en", max_rows=settings.reports.max_table_rows, images=images)
        done = time.perf_counter()
        cpu.append(time.process_time() - cpu_begin)
        totals.append(done - begin)
        stages["data"].append(loaded - begin)
        stages["charts"].append(drawn - loaded)
        stages["html+pdf"].append(done - drawn)
    print(
        f"next {runs} reports: median {statistics.median(totals):.2f}s, "
        f"best {min(totals):.2f}s, worst {max(totals):.2f}s (target < 3 s); "
        # CPU time does not grow when other processes share the machine's cores.
        f"CPU time median {statistics.median(cpu):.2f}s"
    )
    print(
        "  stages (median): "
        + ", ".join(f"{name} {statistics.median(values):.2f}s" for name, values in stages.items())
    )
    # Memory in a separate run: tracemalloc slows Python down several times.
    tracemalloc.start()
    generate_report(services, client, month, now=NOW)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"peak Python allocations of one report: {peak / 2**20:.0f} MiB")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of the reporting process: {rss:.0f} MiB")
    services.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=2_000)
    parser.add_argument("--histories", type=int, default=30)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure is not None:
        measure(args.measure, args.runs)
        return

    from scopeguard.bootstrap import Services  # noqa: PLC0415
    from scopeguard.config import load_settings  # noqa: PLC0415 - not needed by --measure

    with tempfile.TemporaryDirectory(prefix="scopeguard-report-bench-") as tmp:
        folder = Path(tmp)
        with simulator(args.issues, args.histories) as url:
            contract = {
                "start": "2025-08-01",
                # Issues are created a minute apart from 1 September 09:00:
                # the first 900 are the baseline, the rest added scope.
                "baseline": "2025-09-02",
                "end": "2025-12-31",
                "scope": {"issues": 900, "story_points": 4000},
                "revisions_per_issue": 2,
                "reopen_limit": 100,
                "hourly_rate": 90,
                "hours_per_story_point": 4,
                "hours_per_revision": 1.5,
            }
            agency = {"name": "Bench Agency", "timezone": "Europe/Moscow"}
            config = write_config(folder, bulk_config(url, folder, contract, agency=agency))
            settings = load_settings(config)
            services = Services(settings)
            start = time.perf_counter()
            services.sync.sync_client(settings.client(BULK))
            print(f"synced {args.issues} issues in {time.perf_counter() - start:.1f}s")
            services.close()
        subprocess.run(
            [sys.executable, __file__, "--measure", str(config), "--runs", str(args.runs)],
            check=True,
        )


if __name__ == "__main__":
    main()
