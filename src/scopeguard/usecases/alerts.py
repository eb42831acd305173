"""The alerts facade the rest of ScopeGuard uses (``services.alerts``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from scopeguard.adapters.delivery.channels import channels_for, deliver
from scopeguard.adapters.delivery.errors import DeliveryError
from scopeguard.adapters.store.db import Database
from scopeguard.config import AlertChannelSettings, ClientSettings, Settings
from scopeguard.domain.clock import Clock, utcnow
from scopeguard.domain.effort import EffortSummary
from scopeguard.domain.metrics import ScopeSummary
from scopeguard.presentation.alert_messages import TEST_EVENT, build_alert
from scopeguard.usecases.alert_engine import AlertEngine, FiredAlert
from scopeguard.usecases.dispatch import Dispatcher, DispatchReport


@dataclass(frozen=True)
class ChannelTest:
    """The outcome of a test message through one channel."""

    index: int
    channel: AlertChannelSettings
    error: DeliveryError | None

    @property
    def ok(self) -> bool:
        """The channel accepted the test message."""
        return self.error is None


class AlertService:
    """Rule evaluation, the outbox dispatcher and test messages for one configuration."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        *,
        clock: Clock = utcnow,
    ) -> None:
        self.settings = settings
        self.database = database
        self.clock = clock
        self.engine = AlertEngine(settings, database, clock=clock)

    def evaluate(
        self, client: ClientSettings, summary: ScopeSummary, effort: EffortSummary | None = None
    ) -> list[FiredAlert]:
        """Apply a fresh summary (and effort) to the client's alert states; enqueue what
        crossed a limit."""
        return self.engine.evaluate(client, summary, effort)

    def dispatcher(self, holder: str | None = None) -> Dispatcher:
        """A dispatcher for the outbox (``holder`` names it in claims and logs)."""
        return Dispatcher(self.settings, self.database, holder=holder, clock=self.clock)

    def dispatch(self, holder: str | None = None) -> DispatchReport:
        """Deliver every alert that is due now."""
        return self.dispatcher(holder).dispatch()

    def send_test(self, client: ClientSettings) -> Sequence[ChannelTest]:
        """A test message straight through each of the client's channels (no outbox)."""
        results: list[ChannelTest] = []
        for index, channel in enumerate(channels_for(self.settings, client)):
            alert = build_alert(
                self.settings,
                client,
                alert_id=str(uuid.uuid4()),
                event=TEST_EVENT,
                issue=None,
                value=0,
                limit=0,
                occurred_at=self.clock(),
            )
            try:
                deliver(self.settings, channel, alert)
            except DeliveryError as error:
                results.append(ChannelTest(index, channel, error))
            else:
                results.append(ChannelTest(index, channel, None))
        return results
