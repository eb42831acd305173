"""Rule state and the outbox in the database: once per crossing, atomically, concurrently."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select

from scopeguard.adapters.store.models import AlertOutboxRow, AlertStateRow
from scopeguard.bootstrap import Services
from scopeguard.config import Settings
from scopeguard.usecases.alerts import AlertService
from tests.support.alerts import NOW, Clock, client_document, summary
from tests.support.services import pinned_services
from tests.support.settings import SettingsFactory


@dataclass
class World:
    settings: Settings
    services: Services
    alerts: AlertService
    clock: Clock

    def evaluate(self, document: dict[str, Any]) -> list[tuple[str, str | None, bool]]:
        fired = self.alerts.evaluate(self.settings.clients[0], document)
        return [(a.event, a.issue, a.further_round) for a in fired]

    def outbox(self) -> list[AlertOutboxRow]:
        with self.services.database.session() as session:
            return list(session.scalars(select(AlertOutboxRow).order_by(AlertOutboxRow.created_at)))


@pytest.fixture
def world(make_settings: SettingsFactory) -> Iterator[World]:
    settings = make_settings("http://127.0.0.1:9", [client_document()])
    services = pinned_services(settings)
    clock = Clock(NOW)
    yield World(settings, services, AlertService(settings, services.database, clock=clock), clock)
    services.close()


def test_first_evaluation_fires_each_passed_limit_once(world: World) -> None:
    document = summary({"ACME-1": 3, "ACME-2": 2, "ACME-3": 5}, reopens=2, creep=12.5)
    fired = world.evaluate(document)
    assert sorted(fired, key=str) == sorted(
        [
            ("revision_limit_exceeded", "ACME-1", False),
            ("revision_limit_exceeded", "ACME-3", False),
            ("revision_total_exceeded", None, False),
            ("reopen_limit_exceeded", None, False),
            ("scope_creep_threshold", None, False),
        ],
        key=str,
    )
    rows = world.outbox()
    assert len(rows) == 10  # five alerts × two channels
    assert {r.channel_type for r in rows} == {"webhook", "slack"}
    by_alert: dict[str, set[int]] = {}
    for row in rows:
        by_alert.setdefault(row.alert_id, set()).add(row.channel_index)
        assert row.status == "pending" and row.attempts == 0
        assert row.payload["id"] == row.alert_id
        assert row.give_up_at == NOW + timedelta(hours=24)
    assert all(indexes == {0, 1} for indexes in by_alert.values())
    # The same figures again, and again: nothing new.
    world.clock.advance(900)
    assert world.evaluate(document) == []
    assert world.evaluate(document) == []
    assert len(world.outbox()) == 10


def test_fires_again_only_after_falling_back_under(world: World) -> None:
    assert world.evaluate(summary(creep=15)) == [("scope_creep_threshold", None, False)]
    assert world.evaluate(summary(creep=18)) == []
    assert world.evaluate(summary(creep=9.9)) == []  # back under: quiet reset
    with world.services.database.session() as session:
        state = session.get(AlertStateRow, ("ACME", "scope_creep_threshold", "*"))
        assert state is not None and not state.active and state.value == 9.9
    assert world.evaluate(summary(creep=10.0)) == [("scope_creep_threshold", None, False)]
    assert len(world.outbox()) == 4


def test_further_rounds_go_to_repeat_channels_only(world: World) -> None:
    world.evaluate(summary({"ACME-1": 3}))
    assert world.evaluate(summary({"ACME-1": 3})) == []
    assert world.evaluate(summary({"ACME-1": 4})) == [("revision_limit_exceeded", "ACME-1", True)]
    assert world.evaluate(summary({"ACME-1": 6})) == [("revision_limit_exceeded", "ACME-1", True)]
    rows = world.outbox()
    rounds = [r for r in rows if r.payload["further_round"]]
    assert [(r.channel_type, r.payload["value"]) for r in rounds] == [("slack", 4), ("slack", 6)]
    assert rounds[0].payload["title"] == "Another revision round: ACME-1"
    # Total revisions (6 > 6 is false, 7 > 6 is true) crossed on the way: one alert, every channel.
    assert world.evaluate(summary({"ACME-1": 7})) == [
        ("revision_limit_exceeded", "ACME-1", True),
        ("revision_total_exceeded", None, False),
    ]


def test_a_further_round_no_channel_repeats_moves_its_state_and_sends_nothing(
    make_settings: SettingsFactory,
) -> None:
    document = client_document()
    document["alerts"] = [document["alerts"][0]]  # the webhook: no repeat_each_round
    settings = make_settings("http://127.0.0.1:9", [document])
    services = pinned_services(settings)
    try:
        alerts = AlertService(settings, services.database, clock=Clock(NOW))
        client = settings.clients[0]
        assert [a.further_round for a in alerts.evaluate(client, summary({"ACME-1": 3}))] == [False]
        (further,) = alerts.evaluate(client, summary({"ACME-1": 4}))
        assert (further.issue, further.further_round, further.deliveries) == ("ACME-1", True, 0)
        with services.database.session() as session:
            state = session.get(AlertStateRow, ("ACME", "revision_limit_exceeded", "ACME-1"))
            outbox = session.scalar(select(func.count()).select_from(AlertOutboxRow))
        assert state is not None and state.notified_value == 4
        assert outbox == 1  # the first crossing's webhook only
    finally:
        services.close()


def test_an_issue_leaving_the_scope_resets_its_state(world: World) -> None:
    world.evaluate(summary({"ACME-1": 3}))
    assert world.evaluate(summary({})) == []
    assert world.evaluate(summary({"ACME-1": 3})) == [("revision_limit_exceeded", "ACME-1", False)]


def test_raising_a_limit_in_the_config_resets_quietly(
    world: World, make_settings: SettingsFactory
) -> None:
    world.evaluate(summary(reopens=2))
    relaxed = make_settings("http://127.0.0.1:9", [client_document(reopen_limit=5)])
    alerts = AlertService(relaxed, world.services.database, clock=world.clock)
    assert (
        alerts.evaluate(relaxed.clients[0], summary(reopens=2, limits=relaxed.clients[0].contract))
        == []
    )
    tightened = make_settings("http://127.0.0.1:9", [client_document(reopen_limit=1)])
    again = AlertService(tightened, world.services.database, clock=world.clock)
    limits = tightened.clients[0].contract
    assert [
        a.event for a in again.evaluate(tightened.clients[0], summary(reopens=2, limits=limits))
    ] == ["reopen_limit_exceeded"]


@pytest.mark.parametrize(
    "contract", [{"start": "2027-01-01"}, {"start": "2026-01-01", "end": "2026-06-30"}]
)
def test_no_alerts_outside_a_running_contract(
    make_settings: SettingsFactory, contract: dict[str, Any]
) -> None:
    settings = make_settings("http://127.0.0.1:9", [client_document(**contract)])
    services = pinned_services(settings)
    try:
        alerts = AlertService(settings, services.database, clock=Clock(NOW))
        assert alerts.evaluate(settings.clients[0], summary({"ACME-1": 9}, creep=50)) == []
        with services.database.session() as session:
            assert session.scalar(select(func.count()).select_from(AlertStateRow)) == 0
    finally:
        services.close()


def test_state_and_outbox_are_one_transaction(world: World) -> None:
    """The outbox write failing after the states changed leaves neither states nor alerts."""
    engine = world.services.database.engine
    changed_states = 0

    def disk_full(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # The database refusing a write, as a full disk would: at the driver's edge.
        nonlocal changed_states
        text = statement.lstrip().upper()
        if text.startswith(("INSERT INTO ALERT_STATES", "UPDATE ALERT_STATES")):
            changed_states += 1
        if text.startswith("INSERT INTO ALERT_OUTBOX"):
            raise OSError("disk full")

    event.listen(engine, "before_cursor_execute", disk_full)
    try:
        with pytest.raises(OSError, match="disk full"):
            world.evaluate(summary({"ACME-1": 3, "ACME-2": 4}))
    finally:
        event.remove(engine, "before_cursor_execute", disk_full)
    assert changed_states >= 1  # a state was written, then rolled back with the outbox
    assert world.outbox() == []
    with world.services.database.session() as session:
        assert session.scalar(select(func.count()).select_from(AlertStateRow)) == 0
    assert len(world.evaluate(summary({"ACME-1": 3, "ACME-2": 4}))) == 3  # and the total


def test_concurrent_evaluations_send_each_alert_once(world: World) -> None:
    """Two evaluations at once (a scheduled and a webhook sync): compare-and-set decides."""
    document = summary({f"ACME-{i}": 3 for i in range(1, 5)} | {"ACME-5": 3}, reopens=3, creep=20)
    barrier = threading.Barrier(4)
    results: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        alerts = AlertService(world.settings, world.services.database, clock=world.clock)
        barrier.wait()
        try:
            results.append(len(alerts.evaluate(world.settings.clients[0], document)))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(results) == 8  # 5 issues + total + reopens + creep, once in all
    assert len({r.alert_id for r in world.outbox()}) == 8


def test_clients_without_channels_use_the_global_default(make_settings: SettingsFactory) -> None:
    own = client_document()
    bare = client_document()
    bare.update(key="BARE", name="Bare", jql="project = BARE")
    del bare["alerts"]
    settings = make_settings(
        "http://127.0.0.1:9",
        [own, bare],
        alerts={"channels": [{"type": "teams", "url": "https://example.org/workflows/x"}]},
    )
    services = pinned_services(settings)
    try:
        alerts = AlertService(settings, services.database, clock=Clock(NOW))
        for client in settings.clients:
            alerts.evaluate(client, summary(creep=30))
        with services.database.session() as session:
            rows = session.execute(
                select(AlertOutboxRow.client_key, AlertOutboxRow.channel_type).order_by(
                    AlertOutboxRow.client_key, AlertOutboxRow.channel_index
                )
            ).all()
    finally:
        services.close()
    assert [tuple(r) for r in rows] == [
        ("ACME", "webhook"),
        ("ACME", "slack"),
        ("BARE", "teams"),
    ]


def test_many_issues_at_once_are_one_digest_per_channel_each_with_its_own_state(
    world: World,
) -> None:
    over = {f"ACME-{i}": 3 + i % 4 for i in range(1, 13)}  # twelve issues past 2 rounds
    fired = world.alerts.evaluate(world.settings.clients[0], summary(over))
    digests = [a for a in fired if a.event == "revision_limit_digest"]
    (digest,) = digests
    assert (digest.value, digest.limit, digest.deliveries) == (12, 2, 2)  # both channels
    per_issue = [a for a in fired if a.event == "revision_limit_exceeded"]
    assert sorted(a.issue or "" for a in per_issue) == sorted(over)
    assert all(a.digested and a.deliveries == 0 for a in per_issue)
    rows = world.outbox()
    assert [r.event for r in rows].count("revision_limit_digest") == 2
    assert [r.event for r in rows].count("revision_limit_exceeded") == 0
    payload = next(r.payload for r in rows if r.event == "revision_limit_digest")
    assert payload["count"] == 12 and len(payload["issues"]) == world.settings.alerts.digest_size
    # The worst first: most rounds, then the issue key as people sort it.
    values = [item["value"] for item in payload["issues"]]
    assert values == sorted(values, reverse=True) and values[0] == max(over.values())
    assert payload["url"].endswith("/clients/ACME/issues?list=over_limit")
    with world.services.database.session() as session:
        states = session.scalars(
            select(AlertStateRow).where(AlertStateRow.rule == "revision_limit_exceeded")
        ).all()
    assert {s.subject for s in states} == set(over) and all(s.active for s in states)
    # Each issue keeps its own state: one more round of one issue is one alert, alone,
    # and only to the channel that wants every round.
    world.clock.advance(60)
    again = world.evaluate(summary({**over, "ACME-1": over["ACME-1"] + 1}))
    assert again == [("revision_limit_exceeded", "ACME-1", True)]
