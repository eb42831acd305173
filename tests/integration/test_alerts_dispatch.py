"""The dispatcher against a real local receiver: retries, backoff, give-up, claims."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from scopeguard.adapters.store.alert_log import delivery_log
from scopeguard.adapters.store.models import AlertOutboxRow
from scopeguard.bootstrap import Services
from scopeguard.config import ConfigError, Settings
from scopeguard.usecases.alerts import AlertService
from tests.support.alerts import NOW, Clock, client_document, summary
from tests.support.receiver import Receiver, closed_port_url, readme_verifier, receiver_running
from tests.support.services import pinned_services
from tests.support.settings import SettingsFactory


@dataclass
class Desk:
    settings: Settings
    services: Services
    alerts: AlertService
    clock: Clock

    def enqueue(self, document: dict[str, Any]) -> int:
        return len(self.alerts.evaluate(self.settings.clients[0], document))

    def rows(self) -> list[AlertOutboxRow]:
        with self.services.database.session() as session:
            return list(session.scalars(select(AlertOutboxRow).order_by(AlertOutboxRow.created_at)))


DeskFactory = Callable[..., Desk]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from receiver_running()


@pytest.fixture
def desk(make_settings: SettingsFactory) -> Iterator[DeskFactory]:
    opened: list[Services] = []

    def build(url: str, **alerts: Any) -> Desk:
        client = client_document()
        client["alerts"] = [{"type": "webhook", "url": url, "secret": "s", "allow_private": True}]
        settings = make_settings(
            "http://127.0.0.1:9",
            [client],
            alerts={"backoff_seconds": 30, "max_backoff_seconds": 600, "timeout_seconds": 2}
            | alerts,
        )
        services = pinned_services(settings)
        opened.append(services)
        clock = Clock(NOW)
        return Desk(
            settings, services, AlertService(settings, services.database, clock=clock), clock
        )

    yield build
    for services in opened:
        services.close()


def test_delivers_signed_once(desk: DeskFactory, receiver: Receiver) -> None:
    office = desk(receiver.url + "/hook")
    assert office.enqueue(summary({"ACME-1": 3}, creep=11)) == 2
    report = office.alerts.dispatch()
    assert (len(report.delivered), report.retrying, report.failed) == (2, [], [])
    verify = readme_verifier()
    for request in receiver.requests:
        assert verify("s", request.body, request.headers["x-scopeguard-signature"])
        assert request.path == "/hook"
    assert office.alerts.dispatch().delivered == []
    assert len(receiver.requests) == 2
    assert {r.status for r in office.rows()} == {"delivered"}
    assert all(r.delivered_at == NOW and r.attempts == 1 for r in office.rows())


def test_503_once_then_delivered_on_the_next_attempt(desk: DeskFactory, receiver: Receiver) -> None:
    office = desk(receiver.url)
    office.enqueue(summary(creep=50))
    receiver.responses.append((503, {}))
    report = office.alerts.dispatch()
    assert len(report.retrying) == 1
    (row,) = office.rows()
    assert row.status == "pending" and row.last_error == "HTTP 503: ok"
    # Equal jitter: between half and all of the first backoff (30 s).
    assert NOW + timedelta(seconds=15) <= row.next_attempt_at <= NOW + timedelta(seconds=30)
    office.clock.advance(14)
    assert office.alerts.dispatch().delivered == []
    office.clock.advance(17)
    assert len(office.alerts.dispatch().delivered) == 1
    first, second = receiver.requests
    assert first.headers["x-scopeguard-delivery"] == second.headers["x-scopeguard-delivery"]
    assert first.body == second.body
    with office.services.database.session() as session:
        (entry,) = delivery_log(session, "ACME")
    assert (entry.status, entry.attempts, entry.last_error) == ("delivered", 2, None)


def test_retry_after_is_honoured(desk: DeskFactory, receiver: Receiver) -> None:
    office = desk(receiver.url)
    office.enqueue(summary(creep=50))
    receiver.responses.append((429, {"Retry-After": "120"}))
    office.alerts.dispatch()
    (row,) = office.rows()
    assert row.next_attempt_at == NOW + timedelta(seconds=120)
    office.clock.advance(119)
    assert office.alerts.dispatch().delivered == []
    office.clock.advance(2)
    assert len(office.alerts.dispatch().delivered) == 1


def test_a_4xx_fails_at_once_and_shows_in_the_log(desk: DeskFactory, receiver: Receiver) -> None:
    office = desk(receiver.url)
    office.enqueue(summary(creep=50))
    receiver.responses.append((400, {}))
    report = office.alerts.dispatch()
    assert len(report.failed) == 1
    office.clock.advance(3600)
    assert office.alerts.dispatch().failed == []
    assert len(receiver.requests) == 1
    with office.services.database.session() as session:
        (entry,) = delivery_log(session, "ACME")
    assert entry.status == "failed" and entry.last_error == "HTTP 400: ok"
    assert entry.channel == "webhook" and entry.event == "scope_creep_threshold"
    assert entry.title == "Scope creep threshold reached"


def test_a_receiver_down_for_the_whole_retry_time_is_recorded_as_failed(
    desk: DeskFactory,
) -> None:
    office = desk(closed_port_url(), retry_hours=1, backoff_seconds=60, max_backoff_seconds=900)
    office.enqueue(summary(creep=50))
    attempts = 0
    while True:
        report = office.alerts.dispatch()
        attempts += len(report.retrying) + len(report.failed)
        if report.failed:
            break
        assert attempts < 50
        (row,) = office.rows()
        office.clock.now = row.next_attempt_at
    (row,) = office.rows()
    assert row.status == "failed"
    assert row.last_error is not None and row.last_error.startswith(
        f"gave up after {row.attempts} attempts"
    )
    assert row.attempts == attempts
    # Every attempt was inside the hour (60, 120, 240, 480, then 900 s capped, jittered).
    assert row.last_attempt_at is not None and row.last_attempt_at <= NOW + timedelta(hours=1)
    assert 5 <= attempts <= 12
    office.clock.advance(86400)
    assert office.alerts.dispatch().failed == []


def test_two_dispatchers_never_send_the_same_alert(make_settings: SettingsFactory) -> None:
    slow = Receiver()
    slow.start()
    try:
        client = client_document()
        client["alerts"] = [{"type": "webhook", "url": slow.url, "allow_private": True}]
        # Thirty deliveries to race for: no digest.
        settings = make_settings("http://127.0.0.1:9", [client], alerts={"digest_after": 100})
        services = pinned_services(settings)
        alerts = AlertService(settings, services.database)
        alerts.evaluate(settings.clients[0], summary({f"ACME-{i}": 3 for i in range(30)}))
        barrier = threading.Barrier(3)

        def run() -> None:
            barrier.wait()
            alerts.dispatch()

        threads = [threading.Thread(target=run) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        ids = [r.headers["x-scopeguard-delivery"] for r in slow.requests]
        assert len(ids) == 31 and len(set(ids)) == 31  # 30 issues + the total
        services.close()
    finally:
        slow.stop()


def test_a_dead_dispatchers_claim_expires(desk: DeskFactory, receiver: Receiver) -> None:
    office = desk(receiver.url, claim_seconds=60)
    office.enqueue(summary(creep=50))
    dead = office.alerts.dispatcher("dead-host:1:aaaa")
    (row,) = office.rows()
    assert dead._claim(row.id) is not None  # claimed, then the process "died"
    alive = office.alerts.dispatcher("alive-host:2:bbbb")
    assert alive.dispatch().delivered == []
    office.clock.advance(61)
    assert alive.dispatch().delivered == [row.id]
    (row,) = office.rows()
    assert (row.status, row.attempts, row.claimed_by) == ("delivered", 2, None)
    assert len(receiver.requests) == 1


def test_a_channel_no_longer_configured_fails(
    desk: DeskFactory, receiver: Receiver, make_settings: SettingsFactory
) -> None:
    office = desk(receiver.url)
    office.enqueue(summary(creep=50))
    client = client_document()
    client["alerts"] = [{"type": "email", "to": ["pm@agency.example"]}]
    changed = make_settings(
        "http://127.0.0.1:9",
        [client],
        smtp={"host": "127.0.0.1", "port": 9, "sender": "a@agency.example"},
    )
    report = AlertService(changed, office.services.database, clock=office.clock).dispatch()
    assert len(report.failed) == 1
    (row,) = office.rows()
    assert row.last_error == "channel #1 (webhook) of ACME is no longer configured"
    assert receiver.requests == []


def test_a_claim_must_outlast_a_request(make_settings: SettingsFactory) -> None:
    with pytest.raises(ConfigError, match="claim_seconds must be longer"):
        make_settings("http://127.0.0.1:9", [], alerts={"claim_seconds": 5, "timeout_seconds": 10})
