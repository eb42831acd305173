"""Run the Jira simulator standalone.

``python -m jira_simulator --flavor cloud --port 8081 --scenario agency``
prints the URL and credentials, then serves until interrupted.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jira_simulator import scenarios, timesheets
from jira_simulator.app import JiraSimulator
from jira_simulator.dataset import Dataset
from jira_simulator.people import add_bulk_comments
from jira_simulator.real import load_real
from jira_simulator.server import make_simulator_server


def default_real_root() -> Path:
    """``tests/data/jira/real`` of the source tree the simulator runs from."""
    return Path(__file__).resolve().parents[2] / "tests" / "data" / "jira" / "real"


def _jsonable(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {value!r}")


def build_parser() -> argparse.ArgumentParser:
    """The command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m jira_simulator", description="Serve a simulated Jira site."
    )
    parser.add_argument("--flavor", choices=("cloud", "datacenter"), default="cloud")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--scenario", choices=("agency", "fleet", "real", "bulk"), default="agency")
    parser.add_argument(
        "--clients", type=int, default=30, help="clients of the fleet scenario (load tests)"
    )
    parser.add_argument("--timezone", default="Europe/Moscow", help="the Jira user's zone")
    parser.add_argument(
        "--now", help="ISO moment the agency scenario is built up to (default: now)"
    )
    parser.add_argument("--real-root", type=Path, default=None)
    parser.add_argument("--bulk-issues", type=int, default=20000)
    parser.add_argument("--bulk-histories", type=int, default=30)
    parser.add_argument("--bulk-worklogs", type=int, default=0, help="worklogs over the issues")
    parser.add_argument(
        "--bulk-comments",
        type=int,
        default=0,
        help="comments on every --bulk-chatty-every-th issue (beyond the inline page)",
    )
    parser.add_argument("--bulk-chatty-every", type=int, default=200)
    parser.add_argument("--email", default="pm@agency.example")
    parser.add_argument("--api-token", default="token")
    parser.add_argument("--pat", default="pat-token")
    parser.add_argument(
        "--latency",
        type=float,
        default=0.0,
        help="the least seconds each answer takes, the simulator's own work included",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Build the dataset, print how to connect, serve until Ctrl-C."""
    args = build_parser().parse_args(argv)
    zone = ZoneInfo(args.timezone)
    # Real exports bring their own statuses; the default workflow would only add
    # statuses no issue uses (and id clashes to remap).
    ds = (
        Dataset(user_timezone=args.timezone)
        if args.scenario == "real"
        else Dataset.with_default_workflow(user_timezone=args.timezone)
    )
    summary: dict[str, Any] = {}
    if args.scenario in ("agency", "fleet"):
        now = datetime.fromisoformat(args.now) if args.now else datetime.now(UTC)
        if now.tzinfo is None:
            now = now.replace(tzinfo=zone)
        clients = (
            scenarios.agency(ds, now, zone)
            if args.scenario == "agency"
            else scenarios.fleet(ds, now, zone, clients=args.clients)
        )
        summary["clients"] = [
            {
                "key": c.key,
                "name": c.name,
                "jql": c.jql,
                "behaviour": c.behaviour,
                "contract": c.contract,
            }
            for c in clients
        ]
    elif args.scenario == "real":
        loaded = load_real(ds, args.real_root or default_real_root())
        summary["sources"] = {
            name: {"issues": s.issue_count, "histories": s.history_count}
            for name, s in loaded.sources.items()
        }
    else:
        ds.generate_bulk(issues=args.bulk_issues, histories_per_issue=args.bulk_histories)
        chatty = add_bulk_comments(
            ds, "BULK", every=args.bulk_chatty_every, comments=args.bulk_comments
        )
        summary["bulk"] = {
            "issues": args.bulk_issues,
            "histories": ds.history_count(),
            "chatty_issues": chatty,
        }
        if args.bulk_worklogs:
            summary["bulk"]["worklogs"] = timesheets.bulk_worklogs(ds, "BULK", args.bulk_worklogs)
    # The dataset lives as long as the process: keep the garbage collector from
    # re-scanning its hundreds of thousands of objects on every collection.
    gc.freeze()
    sim = JiraSimulator(
        ds, flavor=args.flavor, email=args.email, api_token=args.api_token, pat=args.pat
    )
    sim.faults.latency_seconds = args.latency
    server = make_simulator_server(sim, args.host, args.port)
    # Its worker threads are running: whatever fails from here must still stop them.
    try:
        url = f"http://{args.host}:{server.port}"
        credentials = (
            {"email": args.email, "api_token": args.api_token}
            if args.flavor == "cloud"
            else {"pat": args.pat, "basic": f"{args.email}:{args.api_token}"}
        )
        print(f"Jira simulator ({args.flavor}) at {url}")
        print(
            json.dumps(
                {"url": url, "credentials": credentials, **summary},
                indent=2,
                ensure_ascii=False,
                default=_jsonable,
            )
        )
        sys.stdout.flush()
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
