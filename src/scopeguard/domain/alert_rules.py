"""Alert rules: what a client's health checks say about each limit, and what to do about it.

Pure functions over the summary's checks (:func:`scopeguard.domain.health.assess_health`,
the same checks that make the health badge); the database side is
:mod:`scopeguard.usecases.alert_engine`. A rule's limit is *past* exactly when
its check is a breach.

An alert fires when a value *crosses* its limit, not while it stays past it:
each (client, rule, subject) has a stored state, and only a change of state
(or, for per-issue revisions with ``repeat_each_round``, a further round)
produces an alert. That is what makes re-running a sync send nothing new, and
what makes the first sync of a running contract alert once per limit already
passed instead of once per historical revision.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from scopeguard.domain.effort import EffortSummary
from scopeguard.domain.health import Health, HealthFinding, Limit
from scopeguard.domain.metrics import ScopeSummary


class Rule(StrEnum):
    """The alert rules; the value is the event name sent to channels."""

    REVISION_LIMIT = "revision_limit_exceeded"
    REVISION_TOTAL = "revision_total_exceeded"
    REOPEN_LIMIT = "reopen_limit_exceeded"
    SCOPE_CREEP = "scope_creep_threshold"
    UNBILLED_HOURS = "unbilled_hours_threshold"
    """The logged hours the contract does not pay for reached ``contract.unbilled_hours_alert``."""
    CLIENT_RISK_HIGH = "client_risk_high"
    """The client's risk score reached ``risk.alert_score`` (internal: the agency's channels)."""


SCOPE_RULES = frozenset(
    {Rule.REVISION_LIMIT, Rule.REVISION_TOTAL, Rule.REOPEN_LIMIT, Rule.SCOPE_CREEP}
)
"""The rules a scope summary observes (:func:`observe`)."""
EFFORT_RULES = frozenset({Rule.UNBILLED_HOURS})
"""The rules the logged time observes (:func:`observe_effort`)."""
RISK_RULES = frozenset({Rule.CLIENT_RISK_HIGH})
"""The rules a risk assessment observes (:func:`risk_observation`)."""


CLIENT_SUBJECT = "*"
"""The subject of rules about the whole client (everything but per-issue revisions)."""


@dataclass(frozen=True, slots=True)
class Observation:
    """One rule's figure for one subject in the latest summary."""

    rule: Rule
    subject: str
    value: float
    limit: float
    past: bool
    """The value is past the limit (what the health check calls a breach)."""

    @property
    def issue(self) -> str | None:
        """The issue key of a per-issue rule, else ``None``."""
        return None if self.subject == CLIENT_SUBJECT else self.subject


@dataclass(frozen=True, slots=True)
class StateView:
    """The stored state of one (client, rule, subject)."""

    active: bool
    value: float
    limit: float | None
    notified_value: float | None


class Action(StrEnum):
    """What one observation does to its state."""

    NOTHING = "nothing"
    """No state and nothing past its limit: store nothing."""
    FIRE = "fire"
    """Crossed the limit: alert every channel."""
    ROUND = "round"
    """Still past the limit, one more revision round: alert ``repeat_each_round`` channels."""
    RESET = "reset"
    """Back under the limit: the next crossing alerts again."""
    UPDATE = "update"
    """Same side of the limit: remember the new figures quietly."""


_RULES: dict[Limit, Rule] = {
    Limit.ISSUE_REVISIONS: Rule.REVISION_LIMIT,
    Limit.REVISIONS_TOTAL: Rule.REVISION_TOTAL,
    Limit.REOPENS: Rule.REOPEN_LIMIT,
    Limit.CREEP_PERCENT: Rule.SCOPE_CREEP,
}


def observation(check: HealthFinding) -> Observation:
    """The rule's view of one health check: past its limit when the check is a breach."""
    subject = check.issue_key if check.issue_key is not None else CLIENT_SUBJECT
    return Observation(
        _RULES[check.metric], subject, check.value, check.limit, check.level is Health.BREACH
    )


def observe(summary: ScopeSummary) -> list[Observation]:
    """Every rule's figure in ``summary``: one per health check.

    Limits the contract does not set are not checked, so they give no observation.
    """
    return [observation(check) for check in summary.checks]


def observe_effort(effort: EffortSummary | None, limit: float | None) -> list[Observation]:
    """The unbilled-hours rule: past its limit once the logged hours the contract does not
    pay for reach ``limit`` (``contract.unbilled_hours_alert``; ``None``: not checked)."""
    if effort is None or limit is None:
        return []
    value = effort.unbilled_hours
    return [
        Observation(Rule.UNBILLED_HOURS, CLIENT_SUBJECT, value, limit, value > 0 and value >= limit)
    ]


def risk_observation(score: int | None, alert_score: float) -> Observation | None:
    """The client_risk_high rule's view of a score; ``None`` without a score (not enough
    data says nothing about the risk, so the stored state is left as it is)."""
    if score is None:
        return None
    return Observation(
        Rule.CLIENT_RISK_HIGH, CLIENT_SUBJECT, score, alert_score, score >= alert_score
    )


def decide(state: StateView | None, observation: Observation) -> Action:
    """What ``observation`` does to the stored ``state`` (``None``: never seen)."""
    if state is None:
        return Action.FIRE if observation.past else Action.NOTHING
    if not state.active:
        if observation.past:
            return Action.FIRE
        return _quiet(state, observation)
    if not observation.past:
        return Action.RESET
    if (
        observation.rule is Rule.REVISION_LIMIT
        and state.notified_value is not None
        and observation.value > state.notified_value
    ):
        return Action.ROUND
    return _quiet(state, observation)


def _quiet(state: StateView, observation: Observation) -> Action:
    if state.value == observation.value and state.limit == observation.limit:
        return Action.NOTHING
    return Action.UPDATE


def gone(rule: Rule, subject: str, state: StateView) -> Observation:
    """The observation of a subject that no longer appears (e.g. an issue left the scope).

    Its value is zero: an active state resets, so the issue alerts again if it
    comes back over the limit.
    """
    limit = state.limit if state.limit is not None else 0.0
    return Observation(rule, subject, 0, limit, past=False)
