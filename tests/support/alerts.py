"""Alert-rule fixtures: a client with limits and webhook/Slack channels, a hand-moved clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from scopeguard.config import ContractSettings
from scopeguard.domain.contract import ScopeUnit
from scopeguard.domain.health import assess_health
from scopeguard.domain.metrics import (
    ContractWindow,
    Overage,
    ReopenFigures,
    RevisionFigures,
    ScopeFigures,
    ScopeSummary,
    UnitFigures,
)

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def client_document(**contract: Any) -> dict[str, Any]:
    return {
        "key": "ACME",
        "name": "ACME Corp",
        "jql": "project = ACME",
        "contract": {
            "start": "2026-09-01",
            "scope": {"issues": 10},
            "revisions_per_issue": 2,
            "revisions_total": 6,
            "reopen_limit": 1,
            "creep_alert_percent": 10,
            **contract,
        },
        "alerts": [
            {"type": "webhook", "url": "https://hooks.agency.example/a", "secret": "s"},
            {"type": "slack", "url": "https://hooks.slack.com/x", "repeat_each_round": True},
        ],
    }


DEFAULT_LIMITS = ContractSettings.model_validate(client_document()["contract"])
"""The limits of :func:`client_document`'s contract."""


def summary(
    by_issue: dict[str, int] | None = None,
    reopens: int = 0,
    creep: float | None = 0.0,
    *,
    limits: ContractSettings = DEFAULT_LIMITS,
) -> ScopeSummary:
    """A summary with these figures, graded against ``limits`` as the metrics grade it."""
    counts = by_issue or {}
    contract = limits.to_contract(UTC)
    unit = UnitFigures(10.0, 0, 0, 0, 0, creep)
    scope = ScopeFigures(ScopeUnit.ISSUES, 10.0, 10, (), (), (), 0, creep, {ScopeUnit.ISSUES: unit})
    revisions = RevisionFigures(
        sum(counts.values()),
        contract.revisions_per_issue,
        counts,
        tuple(k for k, n in counts.items() if n > contract.revisions_per_issue),
    )
    reopened = ReopenFigures(reopens, {})
    report = assess_health(scope, revisions, reopened, contract)
    return ScopeSummary(
        as_of=NOW,
        contract=ContractWindow(contract.start, contract.end, contract.baseline),
        scope=scope,
        revisions=revisions,
        reopens=reopened,
        overage=Overage(0.0, contract.currency, 0, 0.0),
        health=report.level,
        checks=report.checks,
    )
