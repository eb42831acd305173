"""The sample agency (toxic, healthy and retainer clients) in a running simulator.

Its story is dated from the pinned clock (:mod:`tests.support.clock`), and
both the simulator and ScopeGuard run on the same clock, so every figure
depends on the pinned moment, never on today's date.

- :func:`agency_site`: the simulator serving the agency, and the demo's
  configuration for it (nothing synced), for tests that tune the configuration;
- :func:`build_agency`: the same, written to a file, with ScopeGuard synced.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from jira_simulator import Dataset, JiraSimulator, ScenarioClient, scenarios, serve
from scopeguard.adapters.store.models import IssueRow
from scopeguard.bootstrap import Services
from scopeguard.config import Settings, parse_settings
from scopeguard.domain.keys import sorted_keys
from scopeguard_demo import DEMO_EMAIL, DEMO_TOKEN, build_config
from tests.support import clock
from tests.support.database import fresh_database_url

Clock = Callable[[], datetime]


@dataclass
class AgencySite:
    """The simulator serving the sample agency, and a configuration document for it."""

    dataset: Dataset
    simulator: JiraSimulator
    clients: dict[str, ScenarioClient]
    url: str
    document: dict[str, Any]
    """The demo's configuration with a fresh test database; tests may change it."""
    now: Clock

    def write_config(self, folder: Path) -> tuple[Path, Settings]:
        """Write :attr:`document` to ``folder/scopeguard.yaml`` and validate it."""
        text = yaml.safe_dump(self.document, sort_keys=False, allow_unicode=True)
        config_file = folder / "scopeguard.yaml"
        config_file.write_text(text)
        return config_file, parse_settings(text, env={})


@contextmanager
def agency_site(
    folder: Path,
    *,
    now: datetime | None = None,
    clock_fn: Clock | None = None,
    zone: str | None = None,
    fleet: int | None = None,
) -> Iterator[AgencySite]:
    """Serve the agency scenarios from a simulator until the block ends.

    ``now`` dates the story (default: the pinned clock's current moment),
    ``clock_fn`` is the clock of the simulator and of ScopeGuard (default: the
    pinned clock), ``zone`` the agency's time zone (default: the pinned clock's).
    ``fleet`` serves that many clients instead of three (``scenarios.fleet``: the
    same three stories in turn), for tests of workers sharing the clients.
    """
    ticking = clock_fn if clock_fn is not None else clock.now
    moment = now if now is not None else ticking()
    zone = zone or clock.AGENCY_TZ
    dataset = Dataset.with_default_workflow(user_timezone=zone)
    clients = (
        scenarios.agency(dataset, now=moment, tz=zone)
        if fleet is None
        else scenarios.fleet(dataset, moment, zone, clients=fleet)
    )
    simulator = JiraSimulator(
        dataset, flavor="cloud", email=DEMO_EMAIL, api_token=DEMO_TOKEN, clock=ticking
    )
    with serve(simulator) as url:
        document = build_config(url, clients, folder / "instance")
        document["database_url"] = fresh_database_url(folder)
        document["agency"]["timezone"] = zone
        yield AgencySite(dataset, simulator, {c.key: c for c in clients}, url, document, ticking)


@dataclass
class Agency:
    """A running simulator with the sample agency, and ScopeGuard synced against it."""

    dataset: Dataset
    simulator: JiraSimulator
    clients: dict[str, ScenarioClient]
    settings: Settings
    services: Services
    config_file: Path
    now: Clock
    """The clock the agency's story was written with and ScopeGuard runs on."""

    def stored_keys(self, client_key: str) -> list[str]:
        """The issue keys ScopeGuard has stored for a client, in natural order."""
        with self.services.database.session() as session:
            keys = session.scalars(select(IssueRow.key).where(IssueRow.client_key == client_key))
            return list(sorted_keys(keys))


def build_agency(
    folder: Path,
    *,
    api_token: str | None = None,
    syncing: bool = False,
    now: datetime | None = None,
    clock_fn: Clock | None = None,
    zone: str | None = None,
) -> Iterator[Agency]:
    """Start the simulator with the agency scenarios, write a config, sync everything.

    The arguments are :func:`agency_site`'s; ``api_token`` turns on sign-in.
    """
    with agency_site(folder, now=now, clock_fn=clock_fn, zone=zone) as site:
        if api_token is not None:
            # The panel signs its sign-in cookie with web.secret_key, required with a token.
            site.document["web"] = {
                "api_token": api_token,
                "secret_key": "test-secret-key-0123456789",
            }
        config_file, settings = site.write_config(folder)
        services = Services(settings, sleep=lambda _seconds: None, syncing=syncing, clock=site.now)
        for result in services.sync.sync_all(full=True):
            assert not isinstance(result, Exception), result
        yield Agency(
            site.dataset, site.simulator, site.clients, settings, services, config_file, site.now
        )
        services.close()
