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
from typing import Any

from scopeguard.adapters.delivery.channels import channels_for
from scopeguard.adapters.store import alert_states
from scopeguard.adapters.store.db import Database, Transaction
from scopeguard.adapters.store.outbox import NewDelivery, add_deliveries
from scopeguard.config import ClientSettings, Settings
from scopeguard.domain.alert_rules import (
    CLIENT_SUBJECT,
    EFFORT_RULES,
    RISK_RULES,
    SCOPE_RULES,
    Action,
    Observation,
    Rule,
    StateView,
    decide,
    gone,
    observe,
    observe_effort,
    risk_observation,
)
from scopeguard.domain.clock import Clock, utcnow
from scopeguard.domain.effort import EffortSummary
from scopeguard.domain.metrics import ScopeSummary
from scopeguard.presentation.alert_messages import build_alert, build_digest

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
    """Outbox rows written for this alert itself (one per channel that takes it alone)."""
    digested: bool = False
    """A per-issue alert that at least one channel got inside a digest instead."""


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

    def evaluate(
        self,
        client: ClientSettings,
        summary: ScopeSummary,
        effort: EffortSummary | None = None,
    ) -> list[FiredAlert]:
        """Apply the summary's health checks (and ``effort``'s unbilled hours) to the
        client's stored alert states.

        Returns the alerts enqueued. Nothing happens outside a running contract.
        """
        if effort is None:
            return self._evaluate(client, observe(summary), SCOPE_RULES)
        observations = observe(summary) + observe_effort(
            effort, client.contract.unbilled_hours_alert
        )
        return self._evaluate(client, observations, SCOPE_RULES | EFFORT_RULES)

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
        with self.database.session() as session:
            stored = alert_states.load_states(session, client.key)
            seen: set[tuple[str, str]] = set()
            first: list[Observation] = []
            crossed: list[tuple[Observation, bool]] = []
            for observation in observations:
                key = (observation.rule.value, observation.subject)
                seen.add(key)
                state = stored.get(key)
                if state is None and observation.past:
                    first.append(observation)  # stored below, all in one statement
                    continue
                action = self._apply(session, client, observation, state, now)
                if action is not None:
                    crossed.append((observation, action is Action.ROUND))
            won = alert_states.first_alerts(session, client.key, first, now)
            crossed += [(o, False) for o in first if (o.rule.value, o.subject) in won]
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
            fired = self._enqueue(session, client, crossed, now)
        for alert in fired:
            # An alert inside a digest is one line of the digest's own: 20,000 of them
            # at INFO would bury the log.
            log.log(
                logging.DEBUG if alert.digested else logging.INFO,
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
    ) -> Action | None:
        """Change the stored state as ``observation`` demands; the action if it alerts."""
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
        return action if won else None

    def _enqueue(
        self,
        session: Transaction,
        client: ClientSettings,
        crossed: list[tuple[Observation, bool]],
        now: datetime,
    ) -> list[FiredAlert]:
        """The outbox rows of every alert this evaluation won, in one statement.

        Each channel gets the alerts meant for it (further rounds only where
        ``repeat_each_round``); a channel that would get more per-issue alerts
        than ``alerts.digest_after`` gets one digest of them instead.
        """
        if not crossed:
            return []
        alerts = self.settings.alerts
        give_up = now + timedelta(hours=alerts.retry_hours)
        documents: dict[int, tuple[str, dict[str, Any]]] = {}
        deliveries: dict[str, int] = {}
        digests: dict[tuple[str, ...], tuple[str, dict[str, Any]]] = {}
        rows: list[NewDelivery] = []

        def document(position: int) -> tuple[str, dict[str, Any]]:
            if position not in documents:
                observation, further = crossed[position]
                alert_id = str(uuid.uuid4())
                documents[position] = (
                    alert_id,
                    build_alert(
                        self.settings,
                        client,
                        alert_id=alert_id,
                        event=observation.rule.value,
                        issue=observation.issue,
                        value=observation.value,
                        limit=observation.limit,
                        occurred_at=now,
                        further_round=further,
                    ),
                )
            return documents[position]

        def row(index: int, kind: str, alert_id: str, payload: dict[str, Any]) -> NewDelivery:
            deliveries[alert_id] = deliveries.get(alert_id, 0) + 1
            return NewDelivery(
                id=str(uuid.uuid4()),
                alert_id=alert_id,
                client_key=client.key,
                event=str(payload["event"]),
                subject=str(payload.get("issue") or CLIENT_SUBJECT),
                issue=payload.get("issue"),
                channel_index=index,
                channel_type=kind,
                payload=payload,
                created_at=now,
                give_up_at=give_up,
            )

        for index, channel in enumerate(channels_for(self.settings, client)):
            mine = [
                position
                for position, (_observation, further) in enumerate(crossed)
                if not further or channel.repeat_each_round
            ]
            per_issue = [p for p in mine if crossed[p][0].rule is Rule.REVISION_LIMIT]
            if len(per_issue) > alerts.digest_after:
                chosen = [crossed[p][0] for p in per_issue]
                key = tuple(sorted(o.subject for o in chosen))
                if key not in digests:
                    digest_id = str(uuid.uuid4())
                    digests[key] = (
                        digest_id,
                        build_digest(
                            self.settings, client, chosen, alert_id=digest_id, occurred_at=now
                        ),
                    )
                rows.append(row(index, channel.type, *digests[key]))
                inside = set(per_issue)
                mine = [p for p in mine if p not in inside]
            rows += [row(index, channel.type, *document(p)) for p in mine]
        add_deliveries(session, rows)
        digest_of = {
            subject: digest_id
            for subjects, (digest_id, _) in digests.items()
            for subject in subjects
        }
        fired: list[FiredAlert] = []
        for position, (observation, further) in enumerate(crossed):
            digested = observation.subject in digest_of
            if position in documents:
                alert_id = documents[position][0]
            elif not digested:
                # An alert no channel takes (a further round, and no channel repeats
                # each round) still gets its own id: its state moved, the log says so.
                # Only the id: the document nobody reads was 20,000 formatted payloads
                # (~30 MB) on a first evaluation without channels.
                alert_id = str(uuid.uuid4())
            else:
                alert_id = digest_of[observation.subject]
            fired.append(
                FiredAlert(
                    alert_id=alert_id,
                    event=observation.rule.value,
                    issue=observation.issue,
                    value=observation.value,
                    limit=observation.limit,
                    further_round=further,
                    deliveries=deliveries.get(alert_id, 0) if position in documents else 0,
                    digested=digested,
                )
            )
        fired += [
            FiredAlert(
                alert_id=digest_id,
                event=str(payload["event"]),
                issue=None,
                value=float(payload["value"]),
                limit=float(payload["limit"]),
                further_round=False,
                deliveries=deliveries[digest_id],
            )
            for digest_id, payload in digests.values()
        ]
        return fired
