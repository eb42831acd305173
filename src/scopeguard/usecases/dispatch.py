"""Delivering the outbox: claim a due alert, send it, record the outcome.

Guarantees, and where they end:

* **Two dispatchers never send the same row at once.** A row is claimed with
  one ``UPDATE … WHERE id = :id AND status = 'pending' AND next_attempt_at <= now``
  (or a claim that has expired), committed before sending; only the dispatcher
  whose update matched the row sends it.
* **Nothing is lost across restarts.** Rows stay in the table until delivered or
  given up. A dispatcher killed mid-delivery leaves its claim behind; once the
  claim expires (``alerts.claim_seconds``) the row is due again.
* **Nothing delivered is sent again**, with one exception: the row is marked
  delivered in the transaction right after the receiver accepted it, so a
  crash in the moment between the receiver's answer and that commit sends the
  alert once more after the claim expires (at-least-once). Receivers dedupe
  with ``X-ScopeGuard-Delivery`` (the alert id), which never changes.
* **Retries** on network errors, timeouts, 408, 429 and 5xx: exponential backoff
  (``alerts.backoff_seconds`` doubled per attempt, capped at
  ``alerts.max_backoff_seconds``) with jitter, and never sooner than the
  receiver's ``Retry-After``. Other 4xx fail at once. When the next attempt
  would fall after ``alerts.retry_hours`` from the alert, the row is recorded
  as failed with its last error (``scopeguard alerts list``, the panel).
"""

from __future__ import annotations

import logging
import os
import random
import socket
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from scopeguard.adapters.delivery.channels import channels_for, deliver
from scopeguard.adapters.delivery.errors import DeliveryError
from scopeguard.adapters.store import outbox
from scopeguard.adapters.store.db import Database
from scopeguard.adapters.store.outbox import ClaimedDelivery
from scopeguard.config import AlertChannelSettings, Settings
from scopeguard.domain.clock import Clock, utcnow

log = logging.getLogger(__name__)

Deliver = Callable[[Settings, AlertChannelSettings, Mapping[str, Any]], None]


def default_holder() -> str:
    """An id for this process: host, pid and a random suffix (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class DispatchReport:
    """What one dispatch run did."""

    delivered: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def line(self) -> str:
        """One line for the CLI and the log."""
        return (
            f"delivered {len(self.delivered)}, retrying {len(self.retrying)}, "
            f"failed {len(self.failed)}"
        )


class Dispatcher:
    """Delivers due outbox rows; safe to run in several processes at once."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        *,
        holder: str | None = None,
        clock: Clock = utcnow,
        deliver: Deliver = deliver,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.settings = settings
        self.database = database
        self.holder = holder or default_holder()
        self.clock = clock
        self._deliver = deliver
        self._jitter = jitter

    def dispatch(self, limit: int | None = None) -> DispatchReport:
        """Deliver what is due now (at most ``limit`` rows, default ``alerts.batch``)."""
        report = DispatchReport()
        now = self.clock()
        with self.database.session() as session:
            ids = outbox.due_ids(session, now, limit or self.settings.alerts.batch)
        for row_id in ids:
            self._one(row_id, report)
        if report.delivered or report.retrying or report.failed:
            log.info("dispatch (%s): %s", self.holder, report.line())
        return report

    def _claim(self, row_id: str) -> ClaimedDelivery | None:
        # None: another dispatcher has it, or it is no longer due.
        with self.database.session() as session:
            return outbox.claim(
                session, row_id, self.holder, self.clock(), self.settings.alerts.claim_seconds
            )

    def _one(self, row_id: str, report: DispatchReport) -> None:
        row = self._claim(row_id)
        if row is None:
            return
        try:
            channel = self._channel(row)
            self._deliver(self.settings, channel, row.payload)
        except DeliveryError as error:
            self._failed(row, error, report)
            return
        except Exception as error:  # a bug in a transport must not stop the others
            log.exception("delivery %s crashed", row.id)
            self._failed(row, DeliveryError(f"internal error: {error!r}"), report)
            return
        with self.database.session() as session:
            outbox.delivered(session, row.id, self.holder, self.clock())
        report.delivered.append(row.id)

    def _channel(self, row: ClaimedDelivery) -> AlertChannelSettings:
        try:
            client = self.settings.client(row.client_key)
        except KeyError:
            raise DeliveryError(
                f"client {row.client_key} is no longer configured", permanent=True
            ) from None
        channels = channels_for(self.settings, client)
        if (
            row.channel_index >= len(channels)
            or channels[row.channel_index].type != row.channel_type
        ):
            raise DeliveryError(
                f"channel #{row.channel_index + 1} ({row.channel_type}) of {row.client_key} "
                "is no longer configured",
                permanent=True,
            )
        return channels[row.channel_index]

    def backoff(self, attempts: int, retry_after: float | None) -> float:
        """Seconds before the next attempt after ``attempts`` failed ones."""
        alerts = self.settings.alerts
        exponential = alerts.backoff_seconds * 2.0 ** max(0, attempts - 1)
        ceiling: float = min(alerts.max_backoff_seconds, exponential)
        # "Equal jitter": between half and all of the exponential delay, so retries of
        # many alerts to one receiver spread out but still grow.
        delay = ceiling / 2 + self._jitter() * ceiling / 2
        if retry_after is not None:
            delay = max(delay, retry_after)
        return delay

    def _failed(self, row: ClaimedDelivery, error: DeliveryError, report: DispatchReport) -> None:
        message = str(error)[:2000]
        with self.database.session() as session:
            if error.permanent:
                outbox.failed(session, row.id, self.holder, message)
                report.failed.append(row.id)
                log.warning("alert %s to %s failed: %s", row.alert_id, row.channel_type, message)
                return
            wait = self.backoff(row.attempts, error.retry_after)
            next_at = self.clock() + timedelta(seconds=wait)
            if next_at <= row.give_up_at:
                outbox.retry_later(session, row.id, self.holder, next_at, message)
                report.retrying.append(row.id)
                return
            gave_up = f"gave up after {row.attempts} attempts: {message}"
            outbox.failed(session, row.id, self.holder, gave_up)
            report.failed.append(row.id)
            log.warning(
                "alert %s to %s failed after %d attempts: %s",
                row.alert_id,
                row.channel_type,
                row.attempts,
                message,
            )
