"""The scheduler's lease and once-per-period guard on a real database (SQLite or PostgreSQL)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from scopeguard.adapters.store.client_leases import ClientLeases, client_leases
from scopeguard.adapters.store.db import Database
from scopeguard.adapters.store.job_runs import run_once
from scopeguard.adapters.store.lease import Lease, lease_holder
from scopeguard.adapters.store.models import AlertOutboxRow, JobRunRow, SyncRunRow
from scopeguard.bootstrap import Services
from scopeguard.entrypoints.worker import build_scheduler
from scopeguard.usecases.jobs import (
    follow_up_next_client,
    interval_period,
    monthly_due,
    monthly_reports_job,
    report_next_client,
    sync_next_client,
)
from tests.support.agency import agency_site
from tests.support.alerts import Clock, client_document
from tests.support.services import pinned_services
from tests.support.settings import SettingsFactory

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@pytest.fixture
def services(make_settings: SettingsFactory) -> Iterator[Services]:
    built = pinned_services(make_settings("http://127.0.0.1:9", []))
    yield built
    built.close()


def test_one_holder_at_a_time_and_takeover_after_expiry(services: Services) -> None:
    clock = Clock(NOW)
    first = Lease(services.database, "worker-a", seconds=60, clock=clock)
    # A second process: its own engine on the same database.
    other_db = Database(services.database.url)
    second = Lease(other_db, "worker-b", seconds=60, clock=clock)
    try:
        assert first.acquire()
        assert not second.acquire()
        clock.advance(59)
        assert first.acquire()  # renewed: expires at NOW + 119 s now
        clock.advance(60)
        assert not second.acquire()
        assert lease_holder(services.database) == ("worker-a", NOW + timedelta(seconds=119))
        clock.advance(61)  # worker-a stopped renewing
        assert second.acquire()
        assert not first.acquire()
        assert not first.held and second.held
        first.release()  # not the holder: changes nothing
        assert lease_holder(services.database)[0] == "worker-b"
        second.release()  # a clean stop hands over at once
        assert lease_holder(services.database)[0] is None
        assert first.acquire()
    finally:
        other_db.dispose()


def test_concurrent_acquires_have_one_winner(services: Services) -> None:
    databases = [Database(services.database.url) for _ in range(4)]
    leases = [Lease(db, f"worker-{i}", seconds=60) for i, db in enumerate(databases)]
    barrier = threading.Barrier(len(leases))
    won: list[bool] = []

    def run(lease: Lease) -> None:
        barrier.wait()
        won.append(lease.acquire())

    threads = [threading.Thread(target=run, args=(lease,)) for lease in leases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for db in databases:
        db.dispose()
    assert sorted(won) == [False, False, False, True]


def test_run_once_per_period_even_from_two_processes(services: Services) -> None:
    other_db = Database(services.database.url)
    calls: list[str] = []
    try:
        assert run_once(
            services.database,
            "sync",
            "p1",
            lambda: calls.append("a"),
            holder="a",
            clock=services.clock,
        )
        assert not run_once(
            other_db, "sync", "p1", lambda: calls.append("b"), holder="b", clock=services.clock
        )
        assert run_once(
            other_db, "sync", "p2", lambda: calls.append("b"), holder="b", clock=services.clock
        )
    finally:
        other_db.dispose()
    assert calls == ["a", "b"]
    with services.database.session() as session:
        rows = session.execute(select(JobRunRow.period, JobRunRow.holder, JobRunRow.status)).all()
    assert sorted(rows) == [("p1", "a", "done"), ("p2", "b", "done")]


def test_a_failed_run_is_recorded_and_not_repeated(services: Services) -> None:
    def boom() -> None:
        raise RuntimeError("SMTP down")

    with pytest.raises(RuntimeError):
        run_once(
            services.database, "monthly_reports", "2026-12", boom, holder="a", clock=services.clock
        )
    assert not run_once(
        services.database,
        "monthly_reports",
        "2026-12",
        lambda: None,
        holder="b",
        clock=services.clock,
    )
    with services.database.session() as session:
        row = session.get(JobRunRow, ("monthly_reports", "2026-12"))
        assert row is not None
        assert (row.status, row.error, row.holder) == ("failed", "RuntimeError: SMTP down", "a")


def test_interval_periods_are_a_shared_grid() -> None:
    base = datetime(2026, 11, 27, 10, 15, tzinfo=UTC)
    assert interval_period(base, 900) == "2026-11-27T10:15:00.000"
    assert interval_period(base + timedelta(seconds=899), 900) == "2026-11-27T10:15:00.000"
    assert interval_period(base + timedelta(seconds=900), 900) == "2026-11-27T10:30:00.000"
    assert interval_period(base + timedelta(milliseconds=1700), 0.5) == "2026-11-27T10:15:01.500"
    # The same instant in another zone is the same slot.
    assert interval_period(base.astimezone(ZoneInfo("Asia/Tokyo")), 60) == interval_period(base, 60)


def _moscow(*args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo("Europe/Moscow"))


def test_monthly_due_window(services: Services) -> None:
    # tests.conftest puts the agency in Europe/Moscow; catch-up is 48 h by default.
    assert monthly_due(services, _moscow(2026, 12, 1, 7, 59)) is None
    assert monthly_due(services, _moscow(2026, 12, 1, 8, 0)) == "2026-12"
    assert monthly_due(services, datetime(2026, 12, 1, 5, 0, tzinfo=UTC)) == "2026-12"
    assert monthly_due(services, _moscow(2026, 12, 2, 20, 0)) == "2026-12"
    assert monthly_due(services, _moscow(2026, 12, 3, 8, 1)) is None
    assert monthly_due(services, _moscow(2026, 12, 15, 8, 0)) is None


def test_monthly_reports_run_once_per_month_across_workers_and_restarts(
    make_settings: SettingsFactory,
) -> None:
    # No clients: the real monthly run has nothing to render, and its job-run
    # records say when it ran and for whom.
    settings = make_settings("http://127.0.0.1:9", [])
    first, second = pinned_services(settings), pinned_services(settings)
    try:
        at_eight = _moscow(2026, 12, 1, 8, 0, 5)
        assert monthly_reports_job(first, "worker-a", at_eight)
        # The other worker (a failover) and a restart later that day: not again.
        assert not monthly_reports_job(second, "worker-b", at_eight + timedelta(minutes=1))
        assert not monthly_reports_job(first, "worker-a2", at_eight + timedelta(hours=3))
        # Not due mid-month; due again next month.
        assert not monthly_reports_job(first, "worker-a", _moscow(2026, 12, 15, 8, 0))
        assert monthly_reports_job(second, "worker-b", _moscow(2027, 1, 1, 9, 30))
        with first.database.session() as session:
            runs = session.execute(
                select(JobRunRow.period, JobRunRow.holder, JobRunRow.status)
                .where(JobRunRow.job == "monthly_reports")
                .order_by(JobRunRow.period)
            ).all()
    finally:
        first.close()
        second.close()
    assert [tuple(run) for run in runs] == [
        ("2026-12", "worker-a", "done"),
        ("2027-01", "worker-b", "done"),
    ]


def test_the_in_process_scheduler_runs_its_jobs_and_frees_the_lease(
    make_settings: SettingsFactory,
) -> None:
    """What `scopeguard serve` starts: the same jobs under the same lease."""
    settings = make_settings(
        "http://127.0.0.1:9",
        [],
        sync={"interval_minutes": 0.01},
        alerts={"dispatch_interval_seconds": 0.2},
        # The single lease, on PostgreSQL too (tests/e2e/test_workers_share.py: sharing).
        scheduler={"lease_seconds": 2, "heartbeat_seconds": 0.2, "share_clients": False},
    )
    services = pinned_services(settings)
    jobs = build_scheduler(services, holder="serve-1")
    try:
        jobs.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with services.database.session() as session:
                done = set(session.scalars(select(JobRunRow.job).where(JobRunRow.status == "done")))
            if {"sync", "dispatch"} <= done:
                break
            time.sleep(0.05)
        assert {"sync", "dispatch"} <= done
        assert lease_holder(services.database)[0] == "serve-1"
    finally:
        jobs.shutdown(wait=True)
        services.close()
    assert lease_holder(services.database)[0] is None


# --- workers sharing the clients -----------------------------------------------------------


def test_workers_share_the_clients_on_postgresql_only(make_settings: SettingsFactory) -> None:
    for share in (True, False):
        settings = make_settings("http://127.0.0.1:9", [], scheduler={"share_clients": share})
        services = pinned_services(settings)
        try:
            jobs = build_scheduler(services, holder="w")
            dialect = services.database.engine.dialect.name
            assert jobs.shared == (share and dialect == "postgresql")
            ids = {job.id for job in jobs.scheduler.get_jobs()}
            assert ("sync_sweep" in ids) == jobs.shared
        finally:
            services.close()


def test_two_workers_sync_each_client_once_per_tick(tmp_path: Path) -> None:
    with agency_site(tmp_path) as site:
        for client in site.document["clients"]:
            client["alerts"] = [{"type": "webhook", "url": "https://hooks.agency.example/a"}]
        _, settings = site.write_config(tmp_path)
        first = Services(settings, sleep=lambda _s: None, syncing=True, clock=site.now)
        second = Services(settings, sleep=lambda _s: None, syncing=True, clock=site.now)
        try:
            a = ClientLeases(first.database, "worker-a", seconds=60, clock=site.now)
            b = ClientLeases(second.database, "worker-b", seconds=60, clock=site.now)
            tick = interval_period(site.now(), 900)
            taken = []
            # The two take turns, as two processes looping at once would.
            while True:
                got_a = sync_next_client(first, a, tick)
                got_b = sync_next_client(second, b, tick)
                taken += [("a", got_a), ("b", got_b)]
                if got_a is None and got_b is None:
                    break
            by = [(who, key) for who, key in taken if key is not None]
            assert sorted(key for _, key in by) == ["HLT", "LAG", "RET", "TOX"]
            assert {who for who, _ in by} == {"a", "b"}
            # The tick is over for everyone; the next one syncs each client again.
            assert sync_next_client(first, a, tick) is None
            later = interval_period(site.now() + timedelta(seconds=900), 900)
            again = [sync_next_client(second, b, later) for _ in range(5)]
            assert again == ["HLT", "LAG", "RET", "TOX", None]
            with first.database.session() as session:
                runs = session.execute(select(SyncRunRow.client_key, SyncRunRow.ok)).all()
            assert sorted(runs) == sorted([(k, True) for k in ("HLT", "LAG", "RET", "TOX")] * 2)
            # Their alert rules ran after each sync, once: TOX is past its limits.
            with first.database.session() as session:
                fired = session.execute(
                    select(AlertOutboxRow.client_key, AlertOutboxRow.event, AlertOutboxRow.subject)
                ).all()
            assert fired and len(fired) == len(set(fired))
            assert {client for client, _, _ in fired} >= {"TOX"}
        finally:
            first.close()
            second.close()


def _future_client(key: str) -> dict[str, Any]:
    # Its contract starts after the reported month: the run is quick ("skipped"), and
    # still claimed, recorded and logged like any other.
    document = client_document(start="2027-03-01")
    return {**document, "key": key, "jql": f"project = {key}", "alerts": []}


def test_monthly_reports_and_follow_ups_are_claimed_per_client_and_month(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings("http://127.0.0.1:9", [_future_client(k) for k in ("AAA", "BBB")])
    first, second = pinned_services(settings), pinned_services(settings)
    try:
        at_eight = _moscow(2026, 12, 1, 8, 0, 5)
        clock = Clock(at_eight)
        a = ClientLeases(first.database, "worker-a", seconds=60, clock=clock)
        b = ClientLeases(second.database, "worker-b", seconds=60, clock=clock)
        assert report_next_client(first, a, at_eight) == "AAA"
        assert report_next_client(second, b, at_eight) == "BBB"
        assert report_next_client(first, a, at_eight + timedelta(hours=3)) is None
        assert report_next_client(second, b, _moscow(2026, 12, 15, 8, 0)) is None  # not due
        # The hourly follow-up: once per client and hour, by whichever worker asks.
        later = at_eight + timedelta(minutes=20)
        assert follow_up_next_client(second, b, later) == "AAA"
        assert follow_up_next_client(first, a, later) == "BBB"
        assert follow_up_next_client(first, a, later) is None
        assert follow_up_next_client(first, a, later + timedelta(hours=1)) == "AAA"
        # Next month: again.
        assert report_next_client(second, b, _moscow(2027, 1, 1, 9, 30)) == "AAA"
        leases = {(r.job, r.client_key): r.done_period for r in client_leases(first.database)}
    finally:
        first.close()
        second.close()
    assert leases == {
        ("monthly_reports", "AAA"): "2027-01",
        ("monthly_reports", "BBB"): "2026-12",
        ("monthly_reports_follow_up", "AAA"): "2026-12-01T09",
        ("monthly_reports_follow_up", "BBB"): "2026-12-01T08",
    }
