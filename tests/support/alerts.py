"""Alert-rule fixtures: a client with limits and webhook/Slack channels, a hand-moved clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

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


def summary(
    by_issue: dict[str, int] | None = None, reopens: int = 0, creep: float | None = 0.0
) -> dict[str, Any]:
    """The parts of the API summary the rules read."""
    counts = by_issue or {}
    return {
        "revisions": {
            "total": sum(counts.values()),
            "per_issue_limit": 2,
            "by_issue": counts,
            "over_limit": [k for k, n in counts.items() if n > 2],
        },
        "reopens": {"total": reopens, "by_issue": {}},
        "scope": {"creep_percent": creep},
    }
