"""Three real `scopeguard worker` processes sharing twelve clients on PostgreSQL.

Every worker takes the next client not yet synced in the tick, so the ticks'
work is spread over the three; each client is synced once per tick; a worker
killed with SIGKILL in the middle of a client's sync loses that client to
another worker within the client lease; alerts are not duplicated; a signed
webhook's sync is claimed per client too. The bounded version of
``benchmarks/deployment.py``. SQLite keeps one active worker
(``tests/e2e/test_worker.py``): it serialises writers.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import os
import signal
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import urllib3
from sqlalchemy import select

from jira_simulator import serve
from scopeguard.adapters.store.client_leases import client_leases
from scopeguard.adapters.store.models import AlertOutboxRow, ClientRiskRow, SyncRunRow
from scopeguard.bootstrap import Services
from scopeguard.entrypoints.web import create_app
from tests.support.agency import agency_site
from tests.support.receiver import Receiver
from tests.support.workers import WorkerProcess

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        os.environ.get("SCOPEGUARD_TEST_DB") != "postgres",
        reason="workers share the clients on PostgreSQL only (make test-postgres); "
        "SQLite keeps one active worker, tests/e2e/test_worker.py",
    ),
]

CLIENTS = 12
SYNC_SECONDS = 8.0
CLIENT_LEASE_SECONDS = 2.0
HEARTBEAT_SECONDS = 0.3
LATENCY = 0.03
"""Seconds the simulator adds to every answer: a sync lasts long enough to be killed in."""
HOOK_SECRET = "jira-secret"
SLACK = 1.5
"""Seconds past the client lease a takeover may take: a survivor busy with a client of
its own, and this test polling the worker's log."""


def _wait(condition: Callable[[], Any], seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _sync_runs(services: Services) -> list[SyncRunRow]:
    with services.database.session() as session:
        return list(session.scalars(select(SyncRunRow).order_by(SyncRunRow.started)))


def _started(workers: list[WorkerProcess]) -> list[tuple[str, str, str]]:
    """``(client, period, holder)`` of every sync a worker started."""
    return [
        (client, period, holder)
        for worker in workers
        for job, client, period, what, holder in worker.client_jobs()
        if job == "sync" and what == "started"
    ]


def _done(workers: list[WorkerProcess]) -> list[tuple[str, str, str]]:
    return [
        (client, period, holder)
        for worker in workers
        for job, client, period, what, holder in worker.client_jobs()
        if job == "sync" and what == "done"
    ]


def test_three_workers_share_the_clients_and_take_over_a_killed_ones(tmp_path: Path) -> None:
    receiver = Receiver()
    receiver.start()
    workers: list[WorkerProcess] = []
    try:
        with agency_site(tmp_path, fleet=CLIENTS) as site:
            site.simulator.faults.latency_seconds = LATENCY
            document = site.document
            document["jira"]["webhook_secret"] = HOOK_SECRET
            document["jira"]["webhook_debounce_seconds"] = 0
            document["sync"] = {"interval_minutes": SYNC_SECONDS / 60}
            document["alerts"] = {"dispatch_interval_seconds": 1, "timeout_seconds": 2}
            document["scheduler"] = {
                "lease_seconds": CLIENT_LEASE_SECONDS,
                "client_lease_seconds": CLIENT_LEASE_SECONDS,
                "heartbeat_seconds": HEARTBEAT_SECONDS,
                "hook_poll_seconds": 0.5,
                "monthly_catch_up_hours": 0,  # no monthly reports, even on the 1st
            }
            for client in document["clients"]:
                client["alerts"] = [
                    {"type": "webhook", "url": receiver.url, "secret": "s", "allow_private": True}
                ]
            config_file, settings = site.write_config(tmp_path)
            services = Services(settings, clock=site.now)  # migrates before the workers start
            keys = sorted(client.key for client in settings.clients)
            with serve(create_app(services=services)) as web_url:
                workers = [WorkerProcess(config_file, tmp_path, f"w{n}") for n in range(3)]
                for worker in workers:
                    _wait(lambda w=worker: "running" in w.log(), 60, f"{worker.name} to start")
                holders = {worker.holder(): worker for worker in workers}
                assert all("sharing the clients" in w.log() for w in workers)

                # The first tick: every client synced once, by all three between them.
                _wait(lambda: len({c for c, _, _ in _done(workers)}) == CLIENTS, 90, "a tick")

                # Kill a worker in the middle of a client's sync.
                def busy() -> tuple[str, str, str] | None:
                    for lease in client_leases(services.database, "sync"):
                        if lease.holder in holders and lease.period is not None:
                            return lease.holder, lease.client_key, lease.period
                    return None

                def frozen_mid_sync() -> tuple[str, str, str] | None:
                    # A lease row can outlive its sync by a moment (the sync is done,
                    # the lease not yet let go): the worker is frozen first, and its
                    # own log must show that sync started and not done.
                    found = busy()
                    if found is None:
                        return None
                    holder, client_key, period = found
                    worker = holders[holder]
                    os.kill(worker.process.pid, signal.SIGSTOP)
                    seen = {
                        (c, p, what) for job, c, p, what, _ in worker.client_jobs() if job == "sync"
                    }
                    mid_sync = (client_key, period, "done") not in seen
                    if mid_sync and (client_key, period, "started") in seen:
                        return found
                    os.kill(worker.process.pid, signal.SIGCONT)
                    return None

                victim_holder, victim_client, victim_period = _wait(
                    frozen_mid_sync, 60, "a worker in the middle of a sync"
                )
                victim = holders[victim_holder]
                killed_at = time.monotonic()
                assert victim.stop(signal.SIGKILL) == -signal.SIGKILL

                def claimed_by_another() -> bool:
                    return any(
                        c == victim_client and p == victim_period and h != victim_holder
                        for c, p, h in _started(workers)
                    )

                def taken_over() -> bool:
                    return any(
                        c == victim_client and p == victim_period and h != victim_holder
                        for c, p, h in _done(workers)
                    )

                _wait(claimed_by_another, 30, f"another worker to take {victim_client}")
                claimed = time.monotonic() - killed_at
                _wait(taken_over, 30, f"another worker to sync {victim_client}")
                synced = time.monotonic() - killed_at
                # Within the lease (plus the client sync the taker may have been in).
                assert claimed < CLIENT_LEASE_SECONDS + SLACK, claimed
                assert synced < CLIENT_LEASE_SECONDS + 5, synced
                (lease,) = [
                    r
                    for r in client_leases(services.database, "sync")
                    if r.client_key == victim_client
                ]
                assert lease.done_period is not None and lease.done_period >= victim_period

                # A signed webhook: one of the survivors syncs that client, under its lease.
                body = json.dumps(
                    {
                        "webhookEvent": "jira:issue_updated",
                        "issue": {"key": "HLT02-1", "fields": {}},
                    }
                ).encode()
                signature = hmac.new(HOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
                answer = urllib3.PoolManager().request(
                    "POST",
                    web_url + "/hooks/jira",
                    body=body,
                    headers={"X-Hub-Signature": f"sha256={signature}"},
                )
                assert answer.status == 202, answer.data
                _wait(
                    lambda: any(
                        "webhook sync: HLT02" in w.log() for w in workers if w is not victim
                    ),
                    30,
                    "the webhook sync",
                )

                # One more whole tick with two workers.
                ticks_before = {p for _, p, _ in _done(workers)}
                _wait(
                    lambda: any(
                        len({c for c, p, _ in _done(workers) if p == tick}) == CLIENTS
                        for tick in {p for _, p, _ in _done(workers)} - ticks_before
                    ),
                    60,
                    "a whole tick after the kill",
                )
                survivors = [w for w in workers if w is not victim]
                for worker in survivors:
                    assert worker.stop(signal.SIGTERM) == 0, worker.log()[-3000:]
                _wait(lambda: receiver.requests, 10, "an alert")

            started, done = _started(workers), _done(workers)
            runs = _sync_runs(services)
            outbox = []
            with services.database.session() as session:
                outbox = session.execute(
                    select(
                        AlertOutboxRow.client_key,
                        AlertOutboxRow.event,
                        AlertOutboxRow.subject,
                        AlertOutboxRow.channel_index,
                    )
                ).all()
            leases = client_leases(services.database, "sync")
            with services.database.session() as session:
                # The workers assessed every client's risk after their ticks (not a reader).
                assessed = set(session.scalars(select(ClientRiskRow.client_key)))
            services.close()
    finally:
        for worker in workers:
            worker.stop(signal.SIGKILL)
        receiver.stop()

    assert assessed == {client.key for client in settings.clients}
    # Each client's sync finished once per tick; started twice only where a worker died.
    assert all(n == 1 for n in Counter((c, p) for c, p, _ in done).values())
    restarted = [key for key, n in Counter((c, p) for c, p, _ in started).items() if n > 1]
    assert restarted == [(victim_client, victim_period)]
    periods = sorted({p for _, p, _ in done})
    # The first tick may be cut short by the start (the workers come up at any moment
    # of the 8-second grid, sometimes a second before the period ends), the last by
    # the stop; every tick between them syncs every client.
    assert len(periods) >= 3, periods
    for period in periods[1:-1]:
        assert sorted(c for c, p, _ in done if p == period) == keys, period
    # The work was shared: every worker synced clients.
    assert {h for _, _, h in done} == set(holders)
    # Never two syncs of one client at once (ticks, the takeover and the webhook alike).
    by_client: dict[str, list[SyncRunRow]] = {}
    for run in runs:
        by_client.setdefault(run.client_key, []).append(run)
    for client, client_runs in by_client.items():
        for before, after in itertools.pairwise(client_runs):
            assert before.finished is not None and after.started >= before.finished, client
    # No alert twice: one outbox row per crossing and channel, each delivered once.
    assert outbox and len(outbox) == len(set(outbox))
    ids = [r.headers["x-scopeguard-delivery"] for r in receiver.requests]
    assert len(ids) == len(set(ids))
    # A clean stop left no client held.
    assert {lease.holder for lease in leases} == {None}
