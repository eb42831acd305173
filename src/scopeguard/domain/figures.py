"""A client's figures as ScopeGuard shows them: the summary, the daily series, the sync status.

These are what flows from the snapshot to every page, chart, PDF and alert;
the JSON documents of the API are written from them at the edge
(:mod:`scopeguard.presentation.documents`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from scopeguard.domain.effort import EffortSummary
from scopeguard.domain.metrics import RevisionRound, ScopeSummary
from scopeguard.domain.timeseries import DailySeries


@dataclass(frozen=True, slots=True)
class SyncStatus:
    """How fresh a client's data is."""

    last_success: datetime | None
    """When the client's data last came from Jira (``None``: never)."""
    issues: int
    """Issues stored for the client (removed ones excluded)."""


@dataclass(frozen=True, slots=True)
class ClientFigures:
    """One client's state against its contract, as last computed."""

    key: str
    name: str
    summary: ScopeSummary
    series: DailySeries
    sync: SyncStatus
    effort: EffortSummary | None = None
    """Logged time against the contract (``None``: figures stored before worklogs were read)."""


@dataclass(frozen=True, slots=True)
class IssueTrail:
    """One issue's evidence: its revision rounds (and with them its reopens)."""

    client: str
    issue: str
    summary: str
    status: str
    url: str
    """The issue's page in Jira."""
    revisions_per_issue: int
    rounds: tuple[RevisionRound, ...]
    added_at: datetime | None
    approved: bool
    removed_at: datetime | None
    round_hours: tuple[float, ...] = ()
    """Hours logged in each round (the first first); empty when nothing was logged."""

    @property
    def reopens(self) -> tuple[RevisionRound, ...]:
        """The rounds that reopened accepted (done) work."""
        return tuple(r for r in self.rounds if r.is_reopen)

    @property
    def over_limit(self) -> bool:
        """More rounds than the contract includes."""
        return len(self.rounds) > self.revisions_per_issue
