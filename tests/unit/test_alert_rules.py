"""Alert rules: what the health checks say about each limit, and what each does to its state."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from scopeguard.config import ContractSettings
from scopeguard.domain.alert_rules import (
    CLIENT_SUBJECT,
    Action,
    Observation,
    Rule,
    StateView,
    decide,
    gone,
    observe,
)
from tests.support.alerts import summary


def contract(**values: Any) -> ContractSettings:
    base: dict[str, Any] = {
        "start": "2026-01-01",
        "scope": {"issues": 10},
        "revisions_per_issue": 2,
    }
    return ContractSettings.model_validate(base | values)


def test_observe_uses_the_health_thresholds() -> None:
    limits = contract(revisions_total=5, reopen_limit=4, creep_alert_percent=10)
    found = observe(summary({"A-1": 2, "A-2": 3}, reopens=4, creep=10.0, limits=limits))
    assert found == [
        Observation(Rule.REVISION_LIMIT, "A-1", 2, 2, past=False),  # at the allowance: fine
        Observation(Rule.REVISION_LIMIT, "A-2", 3, 2, past=True),
        Observation(Rule.REVISION_TOTAL, CLIENT_SUBJECT, 5, 5, past=False),
        Observation(Rule.REOPEN_LIMIT, CLIENT_SUBJECT, 4, 4, past=False),
        Observation(Rule.SCOPE_CREEP, CLIENT_SUBJECT, 10.0, 10, past=True),  # reaching is enough
    ]
    assert found[1].issue == "A-2" and found[2].issue is None


def test_unset_limits_and_missing_figures_observe_nothing() -> None:
    found = observe(summary({}, reopens=9, creep=None, limits=contract()))
    assert found == []


def test_zero_creep_never_alerts_even_against_a_zero_threshold() -> None:
    (creep,) = observe(summary({}, creep=0.0, limits=contract(creep_alert_percent=0)))
    assert not creep.past
    (creep,) = observe(summary({}, creep=0.1, limits=contract(creep_alert_percent=0)))
    assert creep.past


def _obs(value: float, limit: float = 2, rule: Rule = Rule.REVISION_LIMIT) -> Observation:
    past = value > limit if rule is not Rule.SCOPE_CREEP else value >= limit
    return Observation(rule, "A-1", value, limit, past)


def test_decisions() -> None:
    active = StateView(active=True, value=3, limit=2, notified_value=3)
    quiet = StateView(active=False, value=1, limit=2, notified_value=None)
    assert decide(None, _obs(3)) is Action.FIRE
    assert decide(None, _obs(1)) is Action.NOTHING
    assert decide(quiet, _obs(3)) is Action.FIRE
    assert decide(quiet, _obs(1)) is Action.NOTHING
    assert decide(quiet, _obs(2)) is Action.UPDATE
    assert decide(active, _obs(3)) is Action.NOTHING
    assert decide(active, _obs(2)) is Action.RESET
    assert decide(active, _obs(4)) is Action.ROUND
    assert decide(active, _obs(3, limit=1)) is Action.UPDATE
    # Only per-issue revisions have rounds; other rules just follow their value.
    total = StateView(active=True, value=30, limit=20, notified_value=30)
    assert decide(total, _obs(31, limit=20, rule=Rule.REVISION_TOTAL)) is Action.UPDATE


def test_a_vanished_subject_resets() -> None:
    active = StateView(active=True, value=3, limit=2, notified_value=3)
    observation = gone(Rule.REVISION_LIMIT, "A-1", active)
    assert (observation.value, observation.past) == (0, False)
    assert decide(active, observation) is Action.RESET


def _replay(values: list[int], limit: int) -> tuple[int, int]:
    """Apply a history of one issue's figures the way the engine stores them."""
    state: StateView | None = None
    fires = rounds = 0
    for value in values:
        observation = _obs(value, limit)
        action = decide(state, observation)
        if action is Action.FIRE:
            fires += 1
            state = StateView(True, value, limit, value)
        elif action is Action.ROUND:
            assert state is not None
            rounds += 1
            state = StateView(True, value, limit, value)
        elif action is Action.RESET:
            assert state is not None
            state = StateView(False, value, limit, state.notified_value)
        elif action is Action.UPDATE:
            assert state is not None
            state = StateView(state.active, value, limit, state.notified_value)
    return fires, rounds


@given(st.lists(st.integers(min_value=0, max_value=8), min_size=1, max_size=40))
def test_fires_once_per_upward_crossing(values: list[int]) -> None:
    limit = 2
    crossings = sum(
        1 for i, value in enumerate(values) if value > limit and (i == 0 or values[i - 1] <= limit)
    )
    fires, _ = _replay(values, limit)
    assert fires == crossings


@given(st.lists(st.integers(min_value=3, max_value=12), min_size=1, max_size=40))
def test_while_over_the_limit_each_new_high_is_one_round(values: list[int]) -> None:
    highs = sum(1 for i in range(1, len(values)) if values[i] > max(values[:i]))
    fires, rounds = _replay(values, limit=2)
    assert (fires, rounds) == (1, highs)
