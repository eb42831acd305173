"""The contract a client's project is measured against."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class ScopeUnit(StrEnum):
    """Units a contract can name scope in, in headline order."""

    ISSUES = "issues"
    STORY_POINTS = "story_points"
    HOURS = "hours"


@dataclass(frozen=True, slots=True)
class Contract:
    """What was agreed with the client.

    All moments are aware datetimes: a bare date in the configuration has
    already been turned into 00:00 in the agency's time zone.
    """

    start: datetime
    end: datetime | None
    baseline: datetime
    scope: dict[ScopeUnit, float]
    """Contracted amount per unit; at least one unit."""
    revisions_per_issue: int
    revisions_total: int | None = None
    reopen_limit: int | None = None
    creep_alert_percent: float = 10.0
    change_request_label: str | None = "change-request"
    change_request_issue_types: tuple[str, ...] = ()
    hourly_rate: float = 0.0
    currency: str = "EUR"
    hours_per_story_point: float | None = None
    """Converts story-point creep into billable hours when the contract has no hours unit."""
    hours_per_revision: float = 0.0
    """Billable hours of one revision round beyond an issue's allowance."""

    def __post_init__(self) -> None:
        if not self.scope:
            raise ValueError("a contract names at least one scope unit")
        for moment in (self.start, self.baseline, self.end):
            if moment is not None and moment.tzinfo is None:
                raise ValueError("contract moments must be timezone-aware")

    @property
    def headline_unit(self) -> ScopeUnit:
        """The first of issues, story_points, hours that the contract names."""
        return next(unit for unit in ScopeUnit if unit in self.scope)


@dataclass(frozen=True, slots=True)
class WorkflowRules:
    """How the agency's Jira workflow is read."""

    review_statuses: tuple[str, ...] = ()
    """Status names in which the client reviews a delivery; empty means every status
    whose name contains "review" (any case)."""
    cancelled_resolutions: tuple[str, ...] = field(
        default=("Won't Do", "Won't Fix", "Cancelled", "Canceled", "Declined", "Duplicate")
    )

    def is_review_status(self, name: str | None) -> bool:
        """Whether a status name is one in which the client reviews a delivery."""
        if not name:
            return False
        if self.review_statuses:
            wanted = {s.casefold() for s in self.review_statuses}
            return name.casefold() in wanted
        return "review" in name.casefold()
