"""Concurrent sync against the simulator over HTTP: the same rows as a sequential one.

A full sync with ``sync.concurrency: 4`` (Cloud: created-date ranges, Data Center:
dealt ``startAt`` pages, both read ahead) must store exactly what a sequential sync
stores, also when issues change and new ones appear while it reads, and when Jira
rate-limits it halfway. Both syncs write to one database under two client keys.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jira_simulator import JiraSimulator, serve
from scopeguard.adapters.jira import JiraClient
from scopeguard.adapters.store import Database
from scopeguard.config import Settings
from scopeguard.usecases.sync import SyncService
from tests.support import clock
from tests.support.settings import SettingsFactory
from tests.support.syncing import (
    ChangingJira,
    IssuePlan,
    MidSyncChange,
    apply_change,
    build_dataset,
    dataset_plans,
    mid_sync_changes,
    stored_rows,
)

MSK = timezone(timedelta(hours=3))
START = datetime(2026, 6, 1, 9, 0, tzinfo=MSK)
CONTRACT = {"start": "2026-06-01", "scope": {"issues": 10}, "revisions_per_issue": 2}
FLAVORS = ("cloud", "datacenter")
_examples = itertools.count()


def _settings(
    make_settings: SettingsFactory, url: str, flavor: str, key: str, concurrency: int
) -> Settings:
    return make_settings(
        url,
        [{"key": key, "name": key, "jql": "project = ACME", "contract": CONTRACT}],
        deployment=flavor,
        # Small batches: several bulkfetch calls and transactions even for a few issues.
        sync={"concurrency": concurrency, "batch_issues": 7},
        jira={"max_attempts": 20},
    )


def _service(settings: Settings, database: Database, sleeps: list[float]) -> SyncService:
    return SyncService(
        settings, database, JiraClient(settings.jira, sleep=sleeps.append), clock=clock.now
    )


@pytest.mark.parametrize("flavor", FLAVORS)
@settings(
    max_examples=12,
    deadline=None,
    # One database for every example: each uses client keys of its own.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plans=dataset_plans, change=mid_sync_changes, page_cap=st.integers(1, 6))
def test_a_concurrent_full_sync_stores_what_a_sequential_one_does(
    flavor: str,
    *,
    plans: list[IssuePlan],
    change: MidSyncChange,
    page_cap: int,
    make_settings: SettingsFactory,
    database_url: str,
) -> None:
    n = next(_examples)
    dataset = build_dataset(plans, START)
    simulator = JiraSimulator(dataset, flavor=flavor, max_results_cap=page_cap, clock=clock.now)

    def edit() -> None:
        apply_change(dataset, change, "ACME", clock.now())

    jira = ChangingJira(simulator, change.after_requests, edit)
    with serve(jira) as url:
        database = Database(database_url)
        database.upgrade()
        concurrent_key, sequential_key = f"C{n}", f"S{n}"
        concurrent = _settings(make_settings, url, flavor, concurrent_key, 4)
        sequential = _settings(make_settings, url, flavor, sequential_key, 1)
        sleeps: list[float] = []

        # The concurrent full sync, while Jira changes under it; then the next run.
        first = _service(concurrent, database, sleeps).sync_client(
            concurrent.client(concurrent_key)
        )
        assert first.full
        jira.change_now()  # if the sync made fewer requests than the change waited for
        _service(concurrent, database, sleeps).sync_client(concurrent.client(concurrent_key))

        # A sequential sync of Jira as it is now.
        _service(sequential, database, sleeps).sync_client(sequential.client(sequential_key))
        expected = stored_rows(database, sequential_key)
        assert stored_rows(database, concurrent_key) == expected
        assert len(expected) == len(dataset.issues_in_project("ACME"))
        database.dispose()
    assert simulator.errors == []


@pytest.mark.parametrize("flavor", FLAVORS)
def test_a_429_storm_during_a_concurrent_sync_stores_the_same_data(
    flavor: str, make_settings: SettingsFactory, database_url: str
) -> None:
    plans = [
        IssuePlan(
            created_minute=97 * n, steps=tuple(("status", (n + k) % 5, k % 3) for k in range(9))
        )
        for n in range(60)
    ]
    dataset = build_dataset(plans, START)
    simulator = JiraSimulator(dataset, flavor=flavor, max_results_cap=5, clock=clock.now)
    # Halfway into the reading, every worker meets 429s for a while.
    storm = ChangingJira(
        simulator, 6, lambda: simulator.faults.rate_limit(next_requests=12, retry_after=1)
    )
    with serve(storm) as url:
        database = Database(database_url)
        database.upgrade()
        calm_sleeps: list[float] = []
        calm = _settings(make_settings, url, flavor, "CALM", 1)
        stormy = _settings(make_settings, url, flavor, "STORM", 4)
        # The storm's trigger counts requests: let the stormy sync meet it.
        storm_sleeps: list[float] = []
        report = _service(stormy, database, storm_sleeps).sync_client(stormy.client("STORM"))
        assert storm.changed
        _service(calm, database, calm_sleeps).sync_client(calm.client("CALM"))
        database_rows = stored_rows(database, "STORM")
        assert database_rows == stored_rows(database, "CALM")
        database.dispose()
    assert report.issues == 60
    assert calm_sleeps == []
    # Every 429 was waited out; workers that did not get one waited for the rest of the
    # shared backoff instead of sending into it (never longer than Retry-After).
    assert len(storm_sleeps) >= 12
    assert all(0.5 < wait <= 1.0 for wait in storm_sleeps)
    statuses = [record.status for record in simulator.requests]
    assert statuses.count(429) == 12
