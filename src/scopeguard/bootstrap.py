"""The composition root: the one place that wires real adapters together.

The CLI, the web app, the worker and the tests all build their services here,
from a :class:`~scopeguard.config.Settings`; tests pass test settings (a
simulator URL, a temporary database), never monkeypatched internals.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from scopeguard.adapters.jira.client import JiraClient
from scopeguard.adapters.oidc import OidcClient
from scopeguard.adapters.store.db import Database
from scopeguard.adapters.store.site_holds import SiteHolds
from scopeguard.config import Settings
from scopeguard.domain.clock import Clock, utcnow
from scopeguard.usecases.after_sync import AlertingListener
from scopeguard.usecases.alerts import AlertService
from scopeguard.usecases.people import People
from scopeguard.usecases.risk import RiskService
from scopeguard.usecases.snapshots import ScopeAnalysis
from scopeguard.usecases.sync import SyncService


def pause(seconds: float) -> None:
    """Wait ``seconds`` (between Jira or email retries).

    An event's timed wait rather than ``time.sleep``: Python's ``time.sleep`` sleeps
    until an absolute ``CLOCK_MONOTONIC`` deadline, which libfaketime (how the test
    suite shares its pinned clock with the processes it starts) rejects with EINVAL.
    The wait is the same.
    """
    threading.Event().wait(seconds)


SYNC_SWITCH_INTERVAL = 0.001
"""Seconds a thread of a syncing process may hold the GIL while another waits for it.

A sync's reader threads mostly wait on sockets, each answer needing the GIL for a
moment, while one thread parses and stores. At Python's default of 5 ms, every
hand-over to a reader could wait that long behind the parser: with one request in
flight (``sync.concurrency: 1``) that idled the request slot 0.5–0.6 s of a 17 s
sync of 20,000 issues. At 1 ms the parser's CPU did not measurably grow."""


@dataclass
class Services:
    """Lazily built adapters for one configuration."""

    settings: Settings
    migrate: bool = True
    """When the database is first used: bring its schema to this release's head (the
    default, for the demo and the tests' fresh databases), or only check it and raise
    :class:`~scopeguard.adapters.store.db.SchemaMismatchError` when it is not this
    release's. The entry points pass ``settings.database_auto_migrate``: in production
    the schema is migrated once per release, never by every process that starts."""
    sleep: Callable[[float], None] = pause
    """How Jira retries wait (tests pass one that records instead of sleeping)."""
    syncing: bool = False
    """This process runs the periodic sync (worker, ``serve``, ``make demo``): it keeps
    decoded metric facts in memory so each post-sync summary costs only what changed."""
    clock: Clock = utcnow
    """The time every use case reads (tests pin it)."""
    _database: Database | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.syncing and sys.getswitchinterval() > SYNC_SWITCH_INTERVAL:
            sys.setswitchinterval(SYNC_SWITCH_INTERVAL)

    @property
    def database(self) -> Database:
        if self._database is None:
            database = Database(self.settings.resolved_database_url)
            try:
                if self.migrate:
                    database.upgrade()
                else:
                    database.check_schema()
            except BaseException:
                database.dispose()
                raise
            self._database = database
        return self._database

    @cached_property
    def jira(self) -> JiraClient:
        # Jira's rate limit is the site's: every process reads and writes its
        # Retry-After in the database (opened when the first request is made).
        holds = SiteHolds(lambda: self.database)
        return JiraClient(self.settings.jira, sleep=self.sleep, site_hold=holds)

    @cached_property
    def analysis(self) -> ScopeAnalysis:
        return ScopeAnalysis(
            self.settings, self.database, clock=self.clock, hold_facts=self.syncing
        )

    @cached_property
    def alerts(self) -> AlertService:
        return AlertService(self.settings, self.database, clock=self.clock)

    @cached_property
    def sync(self) -> SyncService:
        # After each client's sync: the metrics snapshot, then the alert rules on it.
        listener = AlertingListener(self.analysis, self.alerts)
        return SyncService(
            self.settings, self.database, self.jira, clock=self.clock, listener=listener
        )

    @cached_property
    def risk(self) -> RiskService:
        # Every client at once (each is scored against the others), stored per client.
        return RiskService(
            self.settings, self.database, self.analysis, self.alerts.engine, clock=self.clock
        )

    @cached_property
    def people(self) -> People:
        return People(self.settings, self.database, clock=self.clock)

    @cached_property
    def oidc(self) -> OidcClient | None:
        """The identity provider (``web.oidc``), checking tokens on the services' clock."""
        config = self.settings.web.oidc
        if config is None:
            return None
        return OidcClient(config, now=lambda: self.clock().timestamp())

    def close(self) -> None:
        if self._database is not None:
            self._database.dispose()
