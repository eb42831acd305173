"""The unbilled-hours alert: once per crossing of ``contract.unbilled_hours_alert``,
through the same outbox and channels as every other rule."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from scopeguard.adapters.store.models import AlertOutboxRow
from scopeguard.bootstrap import Services
from scopeguard.config import Settings
from scopeguard.domain.effort import EffortSummary, empty_effort
from scopeguard.usecases.alerts import AlertService
from tests.support.alerts import DEFAULT_LIMITS, NOW, Clock, client_document, summary
from tests.support.services import pinned_services
from tests.support.settings import SettingsFactory

CALM = summary()
"""A summary past no limit: only the effort rule can fire."""


def effort(unbilled: float) -> EffortSummary:
    """Effort figures with ``unbilled`` hours outside the contract (all in extra rounds)."""
    base = empty_effort(DEFAULT_LIMITS.to_contract(ZoneInfo("UTC")), NOW)
    return replace(base, unbilled_hours=unbilled, unbilled_revision_hours=unbilled)


@pytest.fixture
def world(make_settings: SettingsFactory) -> Iterator[tuple[Settings, Services, AlertService]]:
    settings = make_settings("http://127.0.0.1:9", [client_document(unbilled_hours_alert=20)])
    services = pinned_services(settings)
    yield settings, services, AlertService(settings, services.database, clock=Clock(NOW))
    services.close()


def test_fires_once_per_crossing_through_every_channel(
    world: tuple[Settings, Services, AlertService],
) -> None:
    settings, services, alerts = world
    client = settings.clients[0]

    def events(unbilled: float) -> list[tuple[str, float, float]]:
        return [
            (a.event, a.value, a.limit) for a in alerts.evaluate(client, CALM, effort(unbilled))
        ]

    assert events(12.5) == []
    assert events(20.0) == [("unbilled_hours_threshold", 20.0, 20.0)]
    assert events(26.75) == []  # still past it: no second alert
    assert events(3.0) == []  # back under (a worklog moved, or the limit raised)
    assert events(21.0) == [("unbilled_hours_threshold", 21.0, 20.0)]
    with services.database.session() as session:
        rows = list(session.scalars(select(AlertOutboxRow)))
    assert {(r.event, r.channel_type) for r in rows} == {
        ("unbilled_hours_threshold", "webhook"),
        ("unbilled_hours_threshold", "slack"),
    }
    assert len(rows) == 4
    texts = {r.payload["text"] for r in rows}
    assert any("20 hours logged outside the contract" in t for t in texts)


def test_no_limit_no_alert(make_settings: SettingsFactory) -> None:
    settings = make_settings("http://127.0.0.1:9", [client_document()])
    services = pinned_services(settings)
    try:
        alerts = AlertService(settings, services.database, clock=Clock(NOW))
        assert alerts.evaluate(settings.clients[0], CALM, effort(1000.0)) == []
    finally:
        services.close()
