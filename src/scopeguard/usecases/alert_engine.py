"""Turning a client's new summary into alert state changes and outbox rows, atomically.

Every state change is a compare-and-set (:mod:`scopeguard.adapters.store.alert_states`),
and the outbox rows of an alert are added only when this evaluation won that
change, in the same transaction. Two evaluations of one client running at once
(a scheduled sync and a webhook sync) therefore cannot both send the same
alert, and an evaluation that fails halfway leaves neither a state change
without its alert nor an alert without its state.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from scopeguard.adapters.delivery.channels import channels_for
from scopeguard.adapters.store import alert_states
from scopeguard.adapters.store.db import Database, Transaction
from scopeguard.adapters.store.outbox import NewDelivery, add_deliveries
from scopeguard.config import AlertChannelSettings, ClientSettings, Settings
from scopeguard.domain.alert_rules import (
    RISK_RULES,
    SCOPE_RULES,
    Action,
    Observation,
    Rule,
    StateView,
    decide,
    gone,
    observe,
    risk_observation,
)
from scopeguard.domain.clock import Clock, utcnow
from scopeguard.domain.metrics import ScopeSummary
from scopeguard.presentation.alert_messages import build_alert

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FiredAlert:
    """An alert this evaluation enqueued."""

    alert_id: str
    event: str
    issue: str | None
    value: float
    limit: float
    further_round: bool
    deliveries: int
    """Outbox rows written (one per channel that takes this alert)."""


class AlertEngine:
    """Evaluates the rules of one client after a sync."""

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

    def contract_running(self, client: ClientSettings, now: datetime) -> bool:
        """Alerts are for running contracts: from the start to the end (if any)."""
        contract = client.contract.to_contract(self.settings.agency.zone)
        return contract.start <= now and (contract.end is None or now <= contract.end)

    def evaluate(self, client: ClientSettings, summary: ScopeSummary) -> list[FiredAlert]:
        """Apply the summary's health checks to the client's stored alert states.

        Returns the alerts enqueued. Nothing happens outside a running contract.
        """
        return self._evaluate(client, observe(summary), SCOPE_RULES)

    def evaluate_risk(
        self, client: ClientSettings, score: int | None, alert_score: float
    ) -> list[FiredAlert]:
        """Apply a fresh risk score to the client's client_risk_high state (once per
        crossing of ``alert_score``); a client without a score leaves the state alone."""
        observation = risk_observation(score, alert_score)
        if observation is None:
            return []
        return self._evaluate(client, [observation], RISK_RULES)

    def _evaluate(
        self, client: ClientSettings, observations: list[Observation], rules: frozenset[Rule]
    ) -> list[FiredAlert]:
        """The observations of ``rules`` against their stored states; states of those rules
        that went unobserved reset. Other rules' states are not touched."""
        now = self.clock()
        if not self.contract_running(client, now):
            return []
        fired: list[FiredAlert] = []
        with self.database.session() as session:
            stored = alert_states.load_states(session, client.key)
            seen: set[tuple[str, str]] = set()
            for observation in observations:
                key = (observation.rule.value, observation.subject)
                seen.add(key)
                alert = self._apply(session, client, observation, stored.get(key), now)
                if alert is not None:
                    fired.append(alert)
            for (rule_name, subject), state in stored.items():
                if (rule_name, subject) in seen:
                    continue
                try:
                    rule = Rule(rule_name)
                except ValueError:
                    continue  # a rule this version no longer has
                if rule not in rules:
                    continue  # observed by another evaluation (scope vs risk)
                self._apply(session, client, gone(rule, subject, state), state, now)
        for alert in fired:
            log.info(
                "alert %s %s %s (%s of %s) → %d deliveries",
                client.key,
                alert.event,
                alert.issue or "",
                alert.value,
                alert.limit,
                alert.deliveries,
            )
        return fired

    def _apply(
        self,
        session: Transaction,
        client: ClientSettings,
        observation: Observation,
        state: StateView | None,
        now: datetime,
    ) -> FiredAlert | None:
        action = decide(state, observation)
        won = False
        if action is Action.NOTHING:
            return None
        if action is Action.FIRE and state is None:
            won = alert_states.first_alert(session, client.key, observation, now)
        elif action is Action.FIRE:
            won = alert_states.activate(session, client.key, observation, now)
        elif action is Action.ROUND:
            assert state is not None and state.notified_value is not None
            won = alert_states.another_round(
                session, client.key, observation, state.notified_value, now
            )
        elif action is Action.RESET:
            alert_states.reset(session, client.key, observation, now)
        else:
            alert_states.remember(session, client.key, observation, now)
        if not won:
            return None
        further = action is Action.ROUND
        channels = [
            (index, channel)
            for index, channel in enumerate(channels_for(self.settings, client))
            if not further or channel.repeat_each_round
        ]
        return self._enqueue(session, client, observation, channels, now, further_round=further)

    def _enqueue(
        self,
        session: Transaction,
        client: ClientSettings,
        observation: Observation,
        channels: list[tuple[int, AlertChannelSettings]],
        now: datetime,
        *,
        further_round: bool,
    ) -> FiredAlert:
        alert_id = str(uuid.uuid4())
        document = build_alert(
            self.settings,
            client,
            alert_id=alert_id,
            event=observation.rule.value,
            issue=observation.issue,
            value=observation.value,
            limit=observation.limit,
            occurred_at=now,
            further_round=further_round,
        )
        give_up = now + timedelta(hours=self.settings.alerts.retry_hours)
        add_deliveries(
            session,
            [
                NewDelivery(
                    id=str(uuid.uuid4()),
                    alert_id=alert_id,
                    client_key=client.key,
                    event=observation.rule.value,
                    subject=observation.subject,
                    issue=observation.issue,
                    channel_index=index,
                    channel_type=channel.type,
                    payload=document,
                    created_at=now,
                    give_up_at=give_up,
                )
                for index, channel in channels
            ],
        )
        return FiredAlert(
            alert_id=alert_id,
            event=observation.rule.value,
            issue=observation.issue,
            value=observation.value,
            limit=observation.limit,
            further_round=further_round,
            deliveries=len(channels),
        )
