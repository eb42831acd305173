"""``make demo``: a sample agency in the embedded Jira simulator, synced and served.

It starts the simulator with four client projects (a demanding client past its
limits, a healthy one, a retainer, and one whose PM is the problem), writes a
ScopeGuard configuration pointing at it under ``instance/demo/``, syncs every
client and prints what was stored, then serves ScopeGuard on
http://127.0.0.1:8000 until interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from jira_simulator import Dataset, JiraSimulator, scenarios, serve
from scopeguard.adapters.store.repository import history_count, issue_count
from scopeguard.adapters.store.worklogs import worklog_count
from scopeguard.bootstrap import Services
from scopeguard.config import Settings, load_settings
from scopeguard.entrypoints.devserver import serve_forever
from scopeguard.usecases.sync import SyncReport
from scopeguard_demo import inbox

AGENCY_ZONE = "Europe/Moscow"
DEMO_EMAIL = "pm@agency.example"
DEMO_TOKEN = "demo-token"  # the simulator's own credential, not a secret


def build_config(
    jira_url: str, clients: Sequence[scenarios.ScenarioClient], instance: Path
) -> dict[str, Any]:
    """A ScopeGuard configuration for the scenario clients, as the YAML document."""
    return {
        "instance_path": str(instance),
        "jira": {
            "url": jira_url,
            "deployment": "cloud",
            "email": DEMO_EMAIL,
            "api_token": f"${{SCOPEGUARD_DEMO_JIRA_TOKEN:-{DEMO_TOKEN}}}",
        },
        "agency": {
            "name": "Northwind Studio",
            "timezone": AGENCY_ZONE,
            # Who the agency is: the members of a Jira group, looked up by the sync.
            "team": [f"group:{scenarios.AGENCY_GROUP}"],
        },
        "workflow": {"review_statuses": ["Client Review"]},
        "clients": [
            {
                "key": client.key,
                "name": client.name,
                "jql": client.jql,
                "contract": _plain(client.contract),
            }
            for client in clients
        ],
    }


def _plain(value: Any) -> Any:
    """Dates as ISO strings so the YAML reads like one a person wrote."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def run(argv: Sequence[str] | None = None) -> int:
    """Build, sync and serve the demo; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m scopeguard_demo", description=__doc__)
    parser.add_argument("--instance", default="instance/demo", type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", default=8000, type=int)
    parser.add_argument("--no-serve", action="store_true", help="Sync, print counts and exit.")
    args = parser.parse_args(argv)

    instance: Path = args.instance.resolve()
    instance.mkdir(parents=True, exist_ok=True)
    database = instance / "scopeguard.db"
    for stale in instance.glob("scopeguard.db*"):
        stale.unlink()  # every demo starts from the same story

    zone = ZoneInfo(AGENCY_ZONE)
    dataset = Dataset.with_default_workflow(user_timezone=AGENCY_ZONE)
    clients = scenarios.agency(dataset, now=datetime.now(UTC), tz=zone)
    simulator = JiraSimulator(dataset, flavor="cloud", email=DEMO_EMAIL, api_token=DEMO_TOKEN)

    with serve(simulator) as jira_url, inbox.serving() as (_alerts, inbox_url):
        config_file = instance / "scopeguard.yaml"
        document = build_config(jira_url, clients, instance)
        document["database_url"] = f"sqlite:///{database}"
        # Alerts go to the demo's own inbox page; the demo's four clients are few to
        # compare, so its risk thresholds are lower than the defaults (50 and 75).
        document["alerts"] = {
            "channels": [{"type": "webhook", "url": f"{inbox_url}/hook", "allow_private": True}]
        }
        document["risk"] = {"elevated_score": 40, "alert_score": 60}
        config_file.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
        print(f"Jira simulator (Cloud) at {jira_url}; configuration: {config_file}")
        print(f"Alert inbox (the demo's webhook channel): {inbox_url}/")
        settings: Settings = load_settings(config_file)
        services = Services(settings, syncing=True)
        try:
            results = services.sync.sync_all(full=True)
            for result in results:
                line = result.line() if isinstance(result, SyncReport) else f"FAILED: {result}"
                print(line)
            services.risk.refresh()
            # Deliver what the first sync raised now, so the inbox and the delivery log
            # have it before the first page is opened (the scheduler retries the rest).
            dispatched = services.alerts.dispatch("demo")
            print(f"alerts to the inbox: {dispatched.line()}")
            _print_counts(services)
            if args.no_serve:
                return 0
            return _serve(services, args.host, args.port)
        finally:
            services.close()


def _print_counts(services: Services) -> None:
    print()
    print(
        f"{'client':<8} {'name':<28} {'issues':>7} {'histories':>10} {'worklogs':>9} "
        f"{'logged h':>9} {'unbilled h':>11} {'unbilled':>12}"
    )
    with services.database.session() as session:
        counts = {
            client.key: (
                issue_count(session, client.key),
                history_count(session, client.key),
                worklog_count(session, client.key),
            )
            for client in services.settings.clients
        }
    for client in services.settings.clients:
        issues, histories, worklogs = counts[client.key]
        effort = services.analysis.snapshot(client).figures.effort
        logged, unbilled, money = (
            (
                effort.logged_hours,
                effort.unbilled_hours,
                f"{effort.unbilled_amount:,.2f} {effort.currency}",
            )
            if effort is not None
            else (0.0, 0.0, "-")
        )
        print(
            f"{client.key:<8} {client.name:<28} {issues:>7} {histories:>10} {worklogs:>9} "
            f"{logged:>9.2f} {unbilled:>11.2f} {money:>12}"
        )


def _serve(services: Services, host: str, port: int) -> int:
    print(f"\nScopeGuard is serving http://{host}:{port}/  (Ctrl-C to stop)")
    serve_forever(services, host, port)
    return 0


if __name__ == "__main__":
    sys.exit(run())
