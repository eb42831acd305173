"""The sample agency (toxic, healthy and retainer clients) synced once per module."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from scopeguard.config import Settings, parse_settings
from scopeguard.demo import AGENCY_ZONE, DEMO_EMAIL, DEMO_TOKEN, build_config
from scopeguard.services import Services
from scopeguard.simulator import Dataset, JiraSimulator, ScenarioClient, scenarios, serve
from tests.conftest import fresh_database_url


@dataclass
class Agency:
    """A running simulator with the sample agency, and ScopeGuard synced against it."""

    dataset: Dataset
    simulator: JiraSimulator
    clients: dict[str, ScenarioClient]
    settings: Settings
    services: Services
    config_file: Path


def build_agency(
    folder: Path, *, api_token: str | None = None, syncing: bool = False
) -> Iterator[Agency]:
    """Start the simulator with the agency scenarios, write a config, sync everything."""
    dataset = Dataset.with_default_workflow(user_timezone=AGENCY_ZONE)
    clients = scenarios.agency(dataset, now=datetime.now(UTC), tz=ZoneInfo(AGENCY_ZONE))
    simulator = JiraSimulator(dataset, flavor="cloud", email=DEMO_EMAIL, api_token=DEMO_TOKEN)
    with serve(simulator) as url:
        document = build_config(url, clients, folder / "instance")
        document["database_url"] = fresh_database_url(folder)
        if api_token is not None:
            # The panel signs its sign-in cookie with web.secret_key, required with a token.
            document["web"] = {"api_token": api_token, "secret_key": "test-secret-key-0123456789"}
        config_file = folder / "scopeguard.yaml"
        text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
        config_file.write_text(text)
        settings = parse_settings(text, env={})
        services = Services(settings, sleep=lambda _seconds: None, syncing=syncing)
        for result in services.sync.sync_all(full=True):
            assert not isinstance(result, Exception), result
        yield Agency(
            dataset, simulator, {c.key: c for c in clients}, settings, services, config_file
        )
        services.close()


@pytest.fixture(scope="module")
def agency(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agency]:
    yield from build_agency(tmp_path_factory.mktemp("agency"))
