"""Sync benchmark: 20,000 issues x 30 histories and 200,000 worklogs from the simulator
with 50 ms latency.

For Cloud and Data Center, a full sync into a fresh database, then a re-sync with
nothing changed. Printed per flavour (the median of ``--runs`` runs, each run in a
fresh process so its peak RSS is its own):

* Jira requests against their lower bound (Cloud: search pages + bulkfetch pages;
  Data Center: search pages at the server's page cap; both: one ``/worklog/updated``
  page and one ``/worklog/list`` per 1,000 worklogs);
* wall time against the sequential request bound (requests x latency) and the
  concurrent bound (requests x latency / sync.concurrency);
* ScopeGuard's CPU seconds: the sync path (reading, decoding, parsing, storing)
  apart from the derived work its listener does (per-batch metric facts, then the
  post-sync snapshot and alert evaluation), each also per 100,000 histories;
* peak RSS (with glibc's `MALLOC_ARENA_MAX=1`, as the image runs), and the SQLite file's size;
* the re-sync's requests (the target is one per client).

The simulator runs in its own process so its dataset and its CPU are not counted as
ScopeGuard's (it still shares the machine's cores). Before the measured runs, one
unmeasured warm-up run lets it render and cache its answers once: the first pass
costs it 4-9 s more CPU than a warm one (measured: 6.6-11.2 s against 2-3 s), which
on two cores would otherwise be taken from the first measured sync (a real Jira
renders on its own machines).

    .venv/bin/python benchmarks/sync.py [--flavor cloud|datacenter|both] [--issues N]
        [--histories N] [--worklogs N] [--latency S] [--concurrency N] [--runs N]
        [--warmup N] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import create_engine, text

from _common import BULK, bulk_config, process_cpu_seconds, simulator_process
from scopeguard.bootstrap import Services
from scopeguard.config import parse_settings

CLOUD_SEARCH_PAGE = 100  # /search/jql answers at most 100 issues a page when fields are asked for
BULKFETCH_PAGE = 10_000  # histories per /changelog/bulkfetch page
BULKFETCH_ISSUES = 1_000  # issues per /changelog/bulkfetch call
DC_SEARCH_PAGE = 50  # the simulator's Data Center page cap (jira.search.views.default.max)
DC_INLINE_HISTORIES = 100  # histories Data Center inlines per issue in a search page
WORKLOG_PAGE = 1_000  # ids per /worklog/updated page, and worklogs per /worklog/list
INLINE_COMMENTS = 20  # comments a search page's comment field carries (the simulator's cap)
COMMENT_PAGE = 100  # comments per /issue/{id}/comment page


def comment_bound(issues: int, every: int, comments: int) -> int:
    """Fewest comment requests: each chatty issue's comments beyond the inline page."""
    if every <= 0 or comments <= INLINE_COMMENTS:
        return 0
    chatty = math.ceil(issues / every)
    return chatty * math.ceil((comments - INLINE_COMMENTS) / COMMENT_PAGE)


def worklog_lower_bound(worklogs: int) -> int:
    """Fewest worklog requests a complete first read makes: each 1,000 worklogs need their
    page of ids and their list (at least one page even for none)."""
    pages = max(1, math.ceil(worklogs / WORKLOG_PAGE))
    return pages + math.ceil(worklogs / WORKLOG_PAGE)


def lower_bound(flavor: str, issues: int, histories: int, worklogs: int = 0) -> int:
    """Fewest data requests a complete sync can make (issues, histories and worklogs)."""
    if flavor == "datacenter":
        completions = issues if histories > DC_INLINE_HISTORIES else 0
        return math.ceil(issues / DC_SEARCH_PAGE) + completions + worklog_lower_bound(worklogs)
    search_pages = math.ceil(issues / CLOUD_SEARCH_PAGE)
    batches = math.ceil(issues / BULKFETCH_ISSUES)
    per_batch = math.ceil(min(issues, BULKFETCH_ISSUES) * histories / BULKFETCH_PAGE)
    return search_pages + batches * per_batch + worklog_lower_bound(worklogs)


def _peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _TimedListener:
    """Wraps the sync's listener to count the CPU and wall time of the derived work.

    The listener runs on the syncing thread, so that thread's CPU clock measures it
    even while reader threads work in the background.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.cpu = {"facts": 0.0, "after": 0.0}
        self.wall = {"facts": 0.0, "after": 0.0}
        self.peak_mb_before_after = 0.0

    def _timed(self, part: str, call: Any, *args: Any) -> None:
        cpu, wall = time.thread_time(), time.perf_counter()
        try:
            call(*args)
        finally:
            self.cpu[part] += time.thread_time() - cpu
            self.wall[part] += time.perf_counter() - wall

    def issues_stored(self, client: Any, stored: Any) -> None:
        self._timed("facts", self.inner.issues_stored, client, stored)

    def sync_finished(self, client: Any, report: Any) -> None:
        # The full sync's only: the no-change re-sync after it would overwrite it with
        # the peak of the full sync's snapshot and alerts.
        if not self.peak_mb_before_after:
            self.peak_mb_before_after = _peak_rss_mb()
        self._timed("after", self.inner.sync_finished, client, report)


def _empty_database(url: str) -> None:
    """Drop everything in a server database, so each run starts with a full sync."""
    engine = create_engine(url)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def one_run(args: argparse.Namespace) -> dict[str, Any]:
    """One full sync and one no-change re-sync against the simulator at ``args.url``."""
    with tempfile.TemporaryDirectory() as folder:
        document = bulk_config(
            args.url,
            Path(folder),
            {"start": "2025-01-01", "scope": {"issues": args.issues}, "revisions_per_issue": 2},
            flavor=args.flavor,
            instance_path=folder,
        )
        if args.database_url:
            document["database_url"] = args.database_url
            _empty_database(args.database_url)
        if args.concurrency is not None:
            document["sync"] = {"concurrency": args.concurrency}
        settings = parse_settings(yaml.safe_dump(document), env={})
        concurrency = getattr(settings.sync, "concurrency", 1)
        # As the worker runs it: keeping decoded metric facts between syncs.
        services = Services(settings, syncing=True)
        client = settings.client(BULK)
        sync = services.sync
        timed = _TimedListener(sync.listener)
        sync.listener = timed
        cpu0, wall0 = time.process_time(), time.perf_counter()
        report = sync.sync_client(client)
        comment_requests = services.jira.comment_requests_made
        wall = time.perf_counter() - wall0
        cpu = time.process_time() - cpu0
        peak_mb = _peak_rss_mb()
        again = sync.sync_client(client)
        services.close()
        db_mb = None
        if not args.database_url:
            db = Path(folder) / "bench.db"
            db_mb = sum(p.stat().st_size for p in (db, Path(f"{db}-wal")) if p.exists()) / (
                1024 * 1024
            )
    derived_cpu = timed.cpu["facts"] + timed.cpu["after"]
    return {
        "issues": report.issues,
        "histories": report.histories,
        "requests": report.requests,
        "comment_requests": comment_requests,
        "concurrency": concurrency,
        "wall": wall,
        "wall_sync": wall - timed.wall["after"],
        "wall_facts": timed.wall["facts"],
        "wall_after": timed.wall["after"],
        "report_seconds": report.seconds,
        "cpu_total": cpu,
        "cpu_sync": cpu - derived_cpu,
        "cpu_facts": timed.cpu["facts"],
        "cpu_after": timed.cpu["after"],
        "peak_mb": peak_mb,
        "peak_mb_sync": timed.peak_mb_before_after,
        "db_mb": db_mb,
        "resync_requests": again.requests,
        "worklogs": report.worklogs,
        "line": report.line(),
    }


ARENAS = "1"
"""glibc's ``MALLOC_ARENA_MAX`` as the image sets it (see the Dockerfile), unless the
caller's environment says otherwise."""


def _sync_environment() -> dict[str, str]:
    """The environment of a run's process: the caller's, with the image's allocator setting."""
    return {"MALLOC_ARENA_MAX": ARENAS, **os.environ}


def _median(runs: Sequence[dict[str, Any]], key: str) -> float:
    return statistics.median(float(run[key]) for run in runs)


def _print_flavor(flavor: str, args: argparse.Namespace, runs: list[dict[str, Any]]) -> None:
    m = {key: _median(runs, key) for key in runs[0] if key != "line" and runs[0][key] is not None}
    comments = comment_bound(args.issues, args.chatty_every, args.comments)
    bound = lower_bound(flavor, args.issues, args.histories, args.worklogs) + comments
    worklog_bound = worklog_lower_bound(args.worklogs)
    histories = m["histories"] or 1
    per = 100_000 / histories
    sequential = m["requests"] * args.latency
    concurrent = sequential / m["concurrency"]
    print(f"== {flavor}: median of {len(runs)} runs, concurrency {m['concurrency']:.0f}")
    print(f"   sync line: {runs[-1]['line']}")
    print(
        f"   requests: {m['requests']:.0f} (lower bound {bound}, of it {worklog_bound} for "
        f"{m['worklogs']:.0f} worklogs; ratio {m['requests'] / bound:.3f})"
    )
    if comments:
        print(
            f"   of which comment pages: {m['comment_requests']:.0f} (lower bound {comments}: "
            f"{math.ceil(args.issues / args.chatty_every)} issues x {args.comments} comments, "
            f"{INLINE_COMMENTS} inline, {COMMENT_PAGE} a page)"
        )
    print(
        f"   wall: sync {m['wall_sync']:.1f}s (until the cursor is committed; "
        f"{m['wall_facts']:.1f}s of it in the per-batch metric facts), then post-sync "
        f"snapshot + alerts {m['wall_after']:.1f}s: total {m['wall']:.1f}s"
    )
    print(
        f"   sync wall vs sequential request bound {sequential:.1f}s: "
        f"x{m['wall_sync'] / sequential if sequential else math.nan:.2f}; vs concurrent "
        f"bound {concurrent:.1f}s: x{m['wall_sync'] / concurrent if concurrent else math.nan:.2f}"
    )
    print(
        f"   CPU: sync path {m['cpu_sync']:.1f}s ({m['cpu_sync'] * per:.2f}s per 100k "
        f"histories, {m['cpu_sync'] * 600_000 / histories:.1f}s per 600k); derived: "
        f"facts {m['cpu_facts']:.1f}s, post-sync snapshot + alerts {m['cpu_after']:.1f}s; "
        f"total {m['cpu_total']:.1f}s"
    )
    print(f"   simulator CPU (a process of its own on the same cores): {m['simulator_cpu']:.1f}s")
    size = f", SQLite file {m['db_mb']:.0f} MB" if "db_mb" in m else ""
    print(
        f"   peak RSS {m['peak_mb']:.0f} MB ({m['peak_mb_sync']:.0f} MB until the cursor is "
        f"committed, before the post-sync snapshot + alerts){size}"
    )
    print(
        f"   no-change re-sync: {m['resync_requests']:.0f} Jira requests "
        "(target: the search, and one worklog feed page for the site)"
    )
    for index, run in enumerate(runs, 1):
        print(
            f"   run {index}: sync wall {run['wall_sync']:.1f}s, total {run['wall']:.1f}s, "
            f"CPU sync {run['cpu_sync']:.1f}s, "
            f"requests {run['requests']}, RSS {run['peak_mb']:.0f} MB, "
            f"simulator CPU {run['simulator_cpu']:.1f}s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--flavor", choices=("cloud", "datacenter", "both"), default="both")
    parser.add_argument("--issues", type=int, default=20_000)
    parser.add_argument("--histories", type=int, default=30)
    parser.add_argument("--worklogs", type=int, default=200_000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument(
        "--concurrency", type=int, default=None, help="sync.concurrency (default: its default)"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--warmup", type=int, default=1, help="unmeasured runs first, to warm the simulator"
    )
    parser.add_argument(
        "--comments", type=int, default=150, help="comments on each chatty issue (0: none)"
    )
    parser.add_argument("--chatty-every", type=int, default=200, help="every N-th issue chats")
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--url", help=argparse.SUPPRESS)  # one run in this process
    args = parser.parse_args()

    if args.url:
        print("result " + json.dumps(one_run(args)))
        return

    flavors = ("cloud", "datacenter") if args.flavor == "both" else (args.flavor,)
    print(
        f"{args.issues} issues x {args.histories} histories, {args.worklogs} worklogs, "
        f"{args.latency * 1000:.0f} ms "
        f"latency, {os.cpu_count()} cores, database {args.database_url or 'SQLite file'}, "
        f"MALLOC_ARENA_MAX={_sync_environment()['MALLOC_ARENA_MAX']} (as the image sets it)"
    )
    for flavor in flavors:
        t0 = time.perf_counter()
        with simulator_process(
            args.issues,
            args.histories,
            args.latency,
            flavor,
            args.worklogs,
            comments=args.comments,
            chatty_every=args.chatty_every,
        ) as (url, pid):
            print(f"simulator ({flavor}) ready in {time.perf_counter() - t0:.1f}s")
            runs = []
            for index in range(args.warmup + args.runs):
                child = [
                    sys.executable,
                    __file__,
                    *sys.argv[1:],
                    "--flavor",
                    flavor,
                    "--url",
                    url,
                ]
                served_cpu = process_cpu_seconds(pid)
                done = subprocess.run(
                    child, capture_output=True, text=True, check=False, env=_sync_environment()
                )
                served_cpu = process_cpu_seconds(pid) - served_cpu
                lines = [x for x in done.stdout.splitlines() if x.startswith("result ")]
                if done.returncode != 0 or not lines:
                    raise SystemExit(f"benchmark run failed:\n{done.stdout}\n{done.stderr}")
                run = json.loads(lines[-1].removeprefix("result "))
                run["simulator_cpu"] = served_cpu
                if index < args.warmup:
                    print(
                        f"   warm-up run (not counted): sync wall {run['wall_sync']:.1f}s, "
                        f"simulator CPU {served_cpu:.1f}s"
                    )
                    continue
                runs.append(run)
        _print_flavor(flavor, args, runs)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
