"""Per-client leases and the Jira sites' shared Retry-After on a real database.

Runs on SQLite and, in ``make test-postgres``, on PostgreSQL, where several
workers share the clients: each "worker" here has its own engine, as separate
processes would.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from scopeguard.adapters.store.client_leases import (
    ClientLeases,
    client_leases,
    finished_clients,
)
from scopeguard.adapters.store.db import Database
from scopeguard.adapters.store.site_holds import SiteHolds
from tests.support.alerts import Clock

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
P1, P2 = "2026-11-27T09:00:00.000", "2026-11-27T09:15:00.000"
KEYS = ["ACME", "BETA", "GAMMA"]


@pytest.fixture
def databases(database_url: str) -> Iterator[list[Database]]:
    """Three engines on one fresh, migrated database: three workers."""
    first = Database(database_url)
    first.upgrade()
    others = [Database(database_url) for _ in range(2)]
    yield [first, *others]
    for database in (first, *others):
        database.dispose()


def _drain(leases: ClientLeases, period: str, keys: list[str]) -> list[str]:
    taken = []
    while (key := leases.claim_next("sync", period, keys)) is not None:
        taken.append(key)
        assert leases.finish("sync", key, period)
    return taken


def test_each_client_once_per_period_and_again_the_next(databases: list[Database]) -> None:
    clock = Clock(NOW)
    a = ClientLeases(databases[0], "worker-a", seconds=60, clock=clock)
    b = ClientLeases(databases[1], "worker-b", seconds=60, clock=clock)
    first = a.claim_next("sync", P1, KEYS)
    assert first == "ACME"
    # B cannot take what A works on, and takes the next one.
    assert b.claim_next("sync", P1, KEYS) == "BETA"
    assert b.finish("sync", "BETA", P1)
    assert _drain(b, P1, KEYS) == ["GAMMA"]
    assert b.claim_next("sync", P1, KEYS) is None  # ACME is A's until it finishes
    assert a.finish("sync", "ACME", P1)
    assert a.claim_next("sync", P1, KEYS) is None
    assert b.claim_next("sync", P1, KEYS) is None
    assert finished_clients(databases[0], "sync", P1) == set(KEYS)
    # The next tick: every client again, whoever asks.
    clock.advance(900)
    assert sorted(_drain(b, P2, KEYS) + _drain(a, P2, KEYS)) == KEYS
    rows = client_leases(databases[0], "sync")
    assert {(r.client_key, r.holder, r.done_period, r.attempts) for r in rows} == {
        (key, None, P2, 1) for key in KEYS
    }


def test_a_lagging_clock_never_runs_an_older_period_again(databases: list[Database]) -> None:
    leases = ClientLeases(databases[0], "worker-a", seconds=60, clock=Clock(NOW))
    assert _drain(leases, P2, KEYS) == KEYS
    assert leases.claim_next("sync", P1, KEYS) is None
    assert not leases.claim("sync", "ACME", P1)


def test_a_dead_workers_claim_is_taken_over_after_the_lease(databases: list[Database]) -> None:
    clock = Clock(NOW)
    dead = ClientLeases(databases[0], "worker-dead", seconds=30, clock=clock)
    alive = ClientLeases(databases[1], "worker-alive", seconds=30, clock=clock)
    assert dead.claim_next("sync", P1, ["ACME"]) == "ACME"
    clock.advance(20)
    assert alive.renew() == 0
    assert dead.renew() == 1  # still alive: renewed until NOW + 50 s
    clock.advance(29)
    assert alive.claim_next("sync", P1, ["ACME"]) is None
    clock.advance(2)  # 51 s: the holder stopped renewing 31 s ago
    assert alive.claim_next("sync", P1, ["ACME"]) == "ACME"
    (row,) = client_leases(databases[0], "sync")
    assert (row.holder, row.period, row.attempts) == ("worker-alive", P1, 2)
    # The old holder waking up cannot finish (or renew) what is no longer its.
    assert dead.renew() == 0
    assert not dead.finish("sync", "ACME", P1)
    assert alive.finish("sync", "ACME", P1, error="sync of ACME failed: HTTP 500")
    (row,) = client_leases(databases[0], "sync")
    assert (row.holder, row.done_period, row.error) == (None, P1, "sync of ACME failed: HTTP 500")


def test_a_webhook_sync_holds_the_client_without_finishing_its_tick(
    databases: list[Database],
) -> None:
    clock = Clock(NOW)
    hook = ClientLeases(databases[0], "worker-hook", seconds=60, clock=clock)
    tick = ClientLeases(databases[1], "worker-tick", seconds=60, clock=clock)
    assert hook.claim("sync", "ACME")
    assert not tick.claim("sync", "ACME")  # no second webhook sync at once either
    assert tick.claim_next("sync", P1, ["ACME"]) is None
    assert hook.finish("sync", "ACME", None)
    # Not finished for the tick: the scheduled sync still runs.
    assert tick.claim_next("sync", P1, ["ACME"]) == "ACME"
    assert not hook.claim("sync", "ACME")
    assert tick.finish("sync", "ACME", P1)
    assert hook.claim("sync", "ACME")  # a webhook after the tick is welcome


def test_a_clean_stop_hands_unfinished_clients_over_at_once(databases: list[Database]) -> None:
    clock = Clock(NOW)
    stopping = ClientLeases(databases[0], "worker-a", seconds=600, clock=clock)
    other = ClientLeases(databases[1], "worker-b", seconds=600, clock=clock)
    assert stopping.claim_next("sync", P1, KEYS) == "ACME"
    assert stopping.claim("monthly_reports", "ACME", "2026-12")
    assert stopping.release_all() == 2
    assert other.claim_next("sync", P1, KEYS) == "ACME"
    assert other.claim("monthly_reports", "ACME", "2026-12")


def test_workers_claiming_at_once_take_each_client_exactly_once(
    databases: list[Database],
) -> None:
    keys = [f"C{n:02d}" for n in range(24)]
    workers = [
        ClientLeases(database, f"worker-{n}", seconds=60) for n, database in enumerate(databases)
    ]
    barrier = threading.Barrier(len(workers))
    taken: list[tuple[str, str]] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def run(leases: ClientLeases) -> None:
        try:
            barrier.wait()
            while (key := leases.claim_next("sync", P1, keys)) is not None:
                with lock:
                    taken.append((leases.holder, key))
                leases.finish("sync", key, P1)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(leases,)) for leases in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Counter(key for _, key in taken) == Counter(keys)


def test_a_site_hold_only_ever_moves_later(databases: list[Database]) -> None:
    holds = SiteHolds(databases[0])
    other = SiteHolds(lambda: databases[1])
    site = "https://agency.atlassian.net"
    assert holds.not_before(site) is None
    holds.hold(site, 1_800_000_010.25, status=429, reason="jira-burst-based")
    assert other.not_before(site) == 1_800_000_010.25
    other.hold(site, 1_800_000_005.0, status=503)  # shorter: the longer wait stands
    assert holds.not_before(site) == 1_800_000_010.25
    other.hold(site, 1_800_000_030.0, status=503)
    assert holds.not_before(site) == 1_800_000_030.0
    assert holds.not_before("https://other.atlassian.net") is None


def test_the_longest_waiting_client_goes_first_when_ticks_outrun_the_work(
    databases: list[Database],
) -> None:
    clock = Clock(NOW)
    leases = ClientLeases(databases[0], "worker-a", seconds=60, clock=clock)
    # Tick P1 ends after two of the three clients.
    for _ in range(2):
        key = leases.claim_next("sync", P1, KEYS)
        assert key is not None
        clock.advance(1)
        leases.finish("sync", key, P1)
    # In P2 the one left behind comes first, then the others in the order they last ran.
    assert _drain(leases, P2, KEYS) == ["GAMMA", "ACME", "BETA"]
