"""Two real `scopeguard worker` processes against one database and the Jira simulator.

One holds the lease and runs every job once per tick; the standby runs none.
After SIGKILL of the active one the standby takes over. A signed Jira webhook
makes the worker sync that client ahead of schedule.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import urllib3
from sqlalchemy import select

from jira_simulator import serve
from scopeguard.adapters.store.lease import lease_holder
from scopeguard.adapters.store.models import AlertOutboxRow, JobRunRow, SyncRunRow
from scopeguard.bootstrap import Services
from scopeguard.config import Settings
from scopeguard.entrypoints.web import create_app
from tests.support.agency import agency_site
from tests.support.receiver import Receiver
from tests.support.workers import WorkerProcess

SYNC_SECONDS = 3.0
DISPATCH_SECONDS = 1.0
LEASE_SECONDS = 2.0
HOOK_SECRET = "jira-secret"


@dataclass
class Plant:
    settings: Settings
    services: Services
    config_file: Path
    folder: Path
    receiver: Receiver
    web_url: str


@pytest.fixture(scope="module")
def plant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Plant]:
    folder = tmp_path_factory.mktemp("worker")
    receiver = Receiver()
    receiver.start()
    with agency_site(folder) as site:
        document = site.document
        document["jira"]["webhook_secret"] = HOOK_SECRET
        document["jira"]["webhook_debounce_seconds"] = 0
        document["sync"] = {"interval_minutes": SYNC_SECONDS / 60}
        document["alerts"] = {
            "dispatch_interval_seconds": DISPATCH_SECONDS,
            "claim_seconds": 5,
            "timeout_seconds": 2,
        }
        document["scheduler"] = {
            "lease_seconds": LEASE_SECONDS,
            "heartbeat_seconds": 0.4,
            "hook_poll_seconds": 0.5,
            # Keep the real monthly reports out of this test, even on the 1st of a month.
            "monthly_catch_up_hours": 0,
            # The single lease on PostgreSQL too (sharing: tests/e2e/test_workers_share.py).
            "share_clients": False,
        }
        for client in document["clients"]:
            client["alerts"] = [
                {"type": "webhook", "url": receiver.url, "secret": "s", "allow_private": True}
            ]
        config_file, settings = site.write_config(folder)
        services = Services(settings, clock=site.now)  # migrates before the workers start
        with serve(create_app(services=services)) as web_url:
            yield Plant(settings, services, config_file, folder, receiver, web_url)
        services.close()
    receiver.stop()


def _wait(condition: Callable[[], Any], seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _job_runs(services: Services) -> list[JobRunRow]:
    with services.database.session() as session:
        return list(session.scalars(select(JobRunRow).order_by(JobRunRow.started_at)))


def _sync_runs(services: Services) -> list[SyncRunRow]:
    with services.database.session() as session:
        return list(session.scalars(select(SyncRunRow).order_by(SyncRunRow.started)))


def _assert_each_job_once_per_tick(services: Services, workers: list[WorkerProcess]) -> None:
    logged = [job for worker in workers for job in worker.jobs()]
    repeated = [key for key, n in Counter((j, p) for j, p, _ in logged).items() if n > 1]
    assert repeated == [], repeated
    # What really happened: each sync tick synced each client once, never two at a time.
    ticks = [r for r in _job_runs(services) if r.job == "sync"]
    done = sum(r.status == "done" for r in ticks)
    by_client: dict[str, list[SyncRunRow]] = {}
    for run in _sync_runs(services):
        by_client.setdefault(run.client_key, []).append(run)
    assert set(by_client) == {"TOX", "HLT", "RET", "LAG"}
    for client, runs in by_client.items():
        assert done <= len(runs) <= len(ticks), (client, len(runs), done, len(ticks))
        for before, after in itertools.pairwise(runs):
            assert before.finished is not None and after.started >= before.finished, client


def test_two_workers_one_runs_the_jobs_and_the_other_takes_over(plant: Plant) -> None:
    services = plant.services
    first = WorkerProcess(plant.config_file, plant.folder, "first")
    second: WorkerProcess | None = None
    try:
        holder_a = _wait(lambda: lease_holder(services.database)[0], 30, "a lease holder")
        second = WorkerProcess(plant.config_file, plant.folder, "second")
        _wait(lambda: "running" in second.log(), 30, "the second worker to start")
        holder_b = second.holder()
        assert holder_a == first.holder() != holder_b
        # Let the active worker run a few ticks of each job.
        _wait(
            lambda: (
                sum(r.job == "sync" for r in _job_runs(services)) >= 3
                and sum(r.job == "dispatch" for r in _job_runs(services)) >= 4
            ),
            30,
            "three syncs and four dispatches",
        )
        runs = _job_runs(services)
        assert {r.holder for r in runs} == {holder_a}
        assert second.jobs() == []
        assert lease_holder(services.database)[0] == holder_a
        _assert_each_job_once_per_tick(services, [first, second])
        # The first sync's alerts (TOX is past its limits) were delivered once each.
        ids = [r.headers["x-scopeguard-delivery"] for r in plant.receiver.requests]
        assert ids and len(ids) == len(set(ids))

        # Kill the active worker; the standby takes the lease and the jobs.
        killed_at = time.monotonic()
        assert first.stop(signal.SIGKILL) == -signal.SIGKILL
        _wait(lambda: lease_holder(services.database)[0] == holder_b, 15, "the takeover")
        took = time.monotonic() - killed_at
        assert took < LEASE_SECONDS + 3
        _wait(
            lambda: (
                {"sync", "dispatch"} <= {r.job for r in _job_runs(services) if r.holder == holder_b}
            ),
            20,
            "the standby to run sync and dispatch",
        )
        _assert_each_job_once_per_tick(services, [first, second])
        assert {r.holder for r in _job_runs(services)} == {holder_a, holder_b}
        ids = [r.headers["x-scopeguard-delivery"] for r in plant.receiver.requests]
        assert len(ids) == len(set(ids))
        with services.database.session() as session:
            assert set(session.scalars(select(AlertOutboxRow.status))) <= {"delivered", "pending"}

        # A signed webhook: the worker syncs that client ahead of the schedule.
        body = json.dumps(
            {"webhookEvent": "jira:issue_updated", "issue": {"key": "HLT-1", "fields": {}}}
        ).encode()
        signature = hmac.new(HOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
        answer = urllib3.PoolManager().request(
            "POST",
            plant.web_url + "/hooks/jira",
            body=body,
            headers={"X-Hub-Signature": f"sha256={signature}"},
        )
        assert answer.status == 202 and json.loads(answer.data) == {"scheduled": ["HLT"]}
        _wait(lambda: "webhook sync: HLT" in second.log(), 15, "the webhook sync")

        # A clean stop frees the lease at once.
        assert second.stop(signal.SIGTERM) == 0
        assert lease_holder(services.database)[0] is None
    finally:
        first.stop(signal.SIGKILL)
        if second is not None:
            second.stop(signal.SIGKILL)
