"""Alerts end to end: the Jira simulator, a sync, the rules, the outbox and real receivers.

Expected alerts are derived from the API's own summary (what the panel shows),
never typed in, and every webhook is checked with the README's verification
snippet.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from jira_simulator import Dataset, ScenarioClient
from scopeguard.adapters.store.models import AlertOutboxRow
from scopeguard.bootstrap import Services
from scopeguard.config import Settings
from scopeguard.entrypoints.cli import cli
from tests.support import clock
from tests.support.agency import agency_site
from tests.support.receiver import Receiver, readme_verifier

SECRET = "hook-secret"
WEBHOOK_FIELDS = {"id", "event", "client", "issue", "value", "limit", "occurred_at", "url", "text"}


@dataclass
class AlertingAgency:
    dataset: Dataset
    clients: dict[str, ScenarioClient]
    settings: Settings
    services: Services
    config_file: Path
    receiver: Receiver
    rounds: Receiver
    """The channel with ``repeat_each_round: true`` (TOX only)."""


def _webhook(url: str, **extra: Any) -> dict[str, Any]:
    return {"type": "webhook", "url": url, "secret": SECRET, "allow_private": True, **extra}


@pytest.fixture(scope="module")
def alerting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AlertingAgency]:
    """The sample agency, every client alerting to one receiver; TOX also to a rounds channel.

    Nothing is synced yet: the tests below run in order (sync, then repeats).
    """
    folder = tmp_path_factory.mktemp("alerting")
    receiver, rounds = Receiver(), Receiver()
    receiver.start()
    rounds.start()
    with agency_site(folder) as site:
        document = site.document
        document["web"] = {"public_url": "https://scopeguard.agency.example"}
        document["alerts"] = {"backoff_seconds": 0.2, "claim_seconds": 2.5, "timeout_seconds": 2}
        for client in document["clients"]:
            client["alerts"] = [_webhook(receiver.url + "/hook")]
            if client["key"] == "TOX":
                client["alerts"].append(_webhook(rounds.url + "/rounds", repeat_each_round=True))
        config_file, settings = site.write_config(folder)
        services = Services(settings, sleep=lambda _seconds: None, clock=site.now)
        yield AlertingAgency(
            site.dataset,
            site.clients,
            settings,
            services,
            config_file,
            receiver,
            rounds,
        )
        services.close()
    receiver.stop()
    rounds.stop()


def _expected(
    summary: dict[str, Any], contract: Any, digest_after: int
) -> set[tuple[str, str | None]]:
    """The alerts a first sync must send, from the summary the API serves."""
    over = summary["revisions"]["over_limit"]
    expected: set[tuple[str, str | None]] = (
        {("revision_limit_digest", None)}
        if len(over) > digest_after
        else {("revision_limit_exceeded", key) for key in over}
    )
    if contract.revisions_total is not None and summary["revisions"]["total"] > (
        contract.revisions_total
    ):
        expected.add(("revision_total_exceeded", None))
    if contract.reopen_limit is not None and summary["reopens"]["total"] > contract.reopen_limit:
        expected.add(("reopen_limit_exceeded", None))
    percent = summary["scope"]["creep_percent"]
    if percent is not None and percent > 0 and percent >= contract.creep_alert_percent:
        expected.add(("scope_creep_threshold", None))
    return expected


def _sync_and_dispatch(agency: AlertingAgency) -> None:
    for result in agency.services.sync.sync_all():
        assert not isinstance(result, Exception), result
    report = agency.services.alerts.dispatch()
    assert not report.failed, report


def _add_round(dataset: Dataset, key: str) -> None:
    """One more revision round: into review, then back to work."""
    now = clock.now()
    if dataset.issue(key).status.name != "Client Review":
        dataset.transition(key, "Client Review", now - timedelta(seconds=2))
    dataset.transition(key, "In Progress", now - timedelta(seconds=1))


def test_first_sync_sends_exactly_the_expected_alerts_signed(alerting: AlertingAgency) -> None:
    _sync_and_dispatch(alerting)
    verify = readme_verifier()
    got: dict[str, set[tuple[str, str | None]]] = {}
    for request in alerting.receiver.requests:
        assert request.accepted
        assert verify(SECRET, request.body, request.headers["x-scopeguard-signature"])
        body = request.json()
        digest = body["event"] == "revision_limit_digest"
        assert set(body) == (WEBHOOK_FIELDS | {"count", "issues"} if digest else WEBHOOK_FIELDS)
        assert request.headers["x-scopeguard-event"] == body["event"]
        assert request.headers["x-scopeguard-delivery"] == body["id"]
        assert body["url"].startswith(f"https://scopeguard.agency.example/clients/{body['client']}")
        assert body["text"]
        got.setdefault(body["client"], set()).add((body["event"], body["issue"]))
    for client in alerting.settings.clients:
        summary = alerting.services.analysis.snapshot(client).summary_document
        expected = _expected(summary, client.contract, alerting.settings.alerts.digest_after)
        assert got.get(client.key, set()) == expected, client.key
    # The sample agency: TOX is past every limit, HLT and RET are within theirs; TOX
    # has more issues past their allowance than one message should carry.
    assert {event for event, _ in got["TOX"]} == {
        "revision_limit_digest",
        "revision_total_exceeded",
        "reopen_limit_exceeded",
        "scope_creep_threshold",
    }
    assert "HLT" not in got and "RET" not in got
    ids = [r.headers["x-scopeguard-delivery"] for r in alerting.receiver.requests]
    assert len(ids) == len(set(ids))
    # The rounds channel got the same TOX alerts (first crossings go to every channel).
    rounds = {(r.json()["event"], r.json()["issue"]) for r in alerting.rounds.requests}
    assert rounds == got["TOX"]
    # A revision alert carries the figures of the summary.
    tox = alerting.services.analysis.snapshot(alerting.settings.client("TOX")).summary_document
    by_issue = tox["revisions"]["by_issue"]
    for request in alerting.receiver.requests:
        body = request.json()
        if body["event"] == "revision_limit_exceeded":
            assert (body["value"], body["limit"]) == (by_issue[body["issue"]], 2)
        if body["event"] == "revision_limit_digest":
            assert body["count"] == len(tox["revisions"]["over_limit"])
            for item in body["issues"]:
                assert (item["value"], item["limit"]) == (by_issue[item["issue"]], 2)


def test_sync_and_dispatch_three_more_times_send_nothing(alerting: AlertingAgency) -> None:
    before = (len(alerting.receiver.requests), len(alerting.rounds.requests))
    for _ in range(3):
        _sync_and_dispatch(alerting)
    assert (len(alerting.receiver.requests), len(alerting.rounds.requests)) == before


def test_further_round_and_new_crossing(alerting: AlertingAgency) -> None:
    """A further round goes only to repeat_each_round channels; a new crossing to all."""
    tox = alerting.services.analysis.snapshot(alerting.settings.client("TOX")).summary_document
    over = tox["revisions"]["over_limit"][0]
    hlt = alerting.services.analysis.snapshot(alerting.settings.client("HLT")).summary_document
    # An HLT issue with one round: two more take it past its allowance of two.
    quiet = next(key for key, count in hlt["revisions"]["by_issue"].items() if count == 1)
    main_before = len(alerting.receiver.requests)
    rounds_before = len(alerting.rounds.requests)
    _add_round(alerting.dataset, over)
    _add_round(alerting.dataset, quiet)
    _add_round(alerting.dataset, quiet)
    _sync_and_dispatch(alerting)

    new_rounds = [r.json() for r in alerting.rounds.requests[rounds_before:]]
    assert [(b["event"], b["issue"]) for b in new_rounds] == [("revision_limit_exceeded", over)]
    assert new_rounds[0]["value"] == tox["revisions"]["by_issue"][over] + 1
    new_main = [r.json() for r in alerting.receiver.requests[main_before:]]
    assert [(b["client"], b["event"], b["issue"], b["value"]) for b in new_main] == [
        ("HLT", "revision_limit_exceeded", quiet, 3)
    ]


def _outbox_count(services: Services) -> int:
    with services.database.session() as session:
        return int(session.scalar(select(func.count()).select_from(AlertOutboxRow)) or 0)


def _run_cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scopeguard", "--config", str(config), *args],
        env=clock.subprocess_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_sigkill_mid_dispatch_then_restart_delivers_each_alert_exactly_once(
    alerting: AlertingAgency,
) -> None:
    """Enqueue alerts, kill `scopeguard alerts dispatch` with SIGKILL mid-delivery, restart."""
    receiver = alerting.receiver
    already = len(receiver.requests)
    # Push every TOX issue with one round over the limit: several new alerts at once.
    tox = alerting.services.analysis.snapshot(alerting.settings.client("TOX")).summary_document
    pushed = sorted(k for k, n in tox["revisions"]["by_issue"].items() if n == 2)[:4]
    assert len(pushed) >= 3
    for key in pushed:
        _add_round(alerting.dataset, key)
    outbox_before = _outbox_count(alerting.services)
    for result in alerting.services.sync.sync_all():
        assert not isinstance(result, Exception), result
    enqueued = _outbox_count(alerting.services) - outbox_before
    assert enqueued == 2 * len(pushed)  # each to the main and the rounds channel

    # The main receiver holds the second of the new requests; the dispatcher is killed then.
    receiver.gate_at = already + 1
    command = [sys.executable, "-m", "scopeguard", "--config", str(alerting.config_file)]
    process = subprocess.Popen(
        [*command, "alerts", "dispatch"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=clock.subprocess_env(),
    )
    try:
        assert receiver.gate_reached.wait(30), "the dispatcher never reached the receiver"
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(10) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
        if process.stderr is not None:
            process.stderr.close()
    receiver.gate.set()  # the held request now finds its sender gone
    deadline = time.monotonic() + 10
    while not receiver.requests[already + 1].aborted and time.monotonic() < deadline:
        time.sleep(0.05)
    assert receiver.requests[already + 1].aborted

    with alerting.services.database.session() as session:
        statuses = Counter(session.scalars(select(AlertOutboxRow.status)))
    # The held alert is still claimed by the dead process; the rest are pending or done.
    assert statuses["sending"] == 1

    # Restart: at once, then again once the dead dispatcher's claim has expired (the
    # first run may already find it expired on a slow machine).
    first = _run_cli(alerting.config_file, "alerts", "dispatch")
    assert first.returncode == 0, first.stderr
    time.sleep(alerting.settings.alerts.claim_seconds + 0.5)
    second = _run_cli(alerting.config_file, "alerts", "dispatch")
    assert second.returncode == 0, second.stderr
    delivered = []
    for run in (first, second):
        match = re.fullmatch(r"delivered (\d+), retrying 0, failed 0", run.stdout.strip())
        assert match, run.stdout
        delivered.append(int(match.group(1)))
    assert sum(delivered) == statuses["sending"] + statuses["pending"]

    accepted = [r.headers["x-scopeguard-delivery"] for r in receiver.accepted()]
    new_ids = {r.headers["x-scopeguard-delivery"] for r in receiver.requests[already:]}
    assert len(new_ids) == len(pushed)
    for alert_id in new_ids:
        assert accepted.count(alert_id) == 1, alert_id
    with alerting.services.database.session() as session:
        statuses = set(session.scalars(select(AlertOutboxRow.status)))
    assert statuses == {"delivered"}
    # And nothing more on yet another run.
    again = _run_cli(alerting.config_file, "alerts", "dispatch")
    assert again.stdout.strip() == "delivered 0, retrying 0, failed 0"


def test_cli_list_and_test(alerting: AlertingAgency) -> None:
    def run(*args: str) -> Result:
        return CliRunner().invoke(
            cli, ["--config", str(alerting.config_file), *args], obj={"clock": clock.now}
        )

    listed = run("alerts", "list", "--client", "HLT", "--json")
    assert listed.exit_code == 0, listed.output
    entries = json.loads(listed.stdout)
    assert entries and {e["client"] for e in entries} == {"HLT"}
    assert {e["status"] for e in entries} == {"delivered"}
    table = run("alerts", "list", "--limit", "3")
    assert len(table.stdout.strip().splitlines()) == 3
    before = len(alerting.receiver.requests)
    tested = run("alerts", "test", "--client", "RET")
    assert tested.exit_code == 0, tested.output
    assert tested.stdout.count(": ok") == 1
    body = alerting.receiver.requests[before].json()
    assert (body["event"], body["client"]) == ("test", "RET")
    unknown = run("alerts", "test", "--client", "NOPE")
    assert unknown.exit_code == 2 and "unknown client" in unknown.stderr
