"""What the panel pages show, assembled from a client's typed figures and its issue facts.

Plain data (no Flask): the portfolio's rows and their sorting, the scope
table of a client, the issue lists and the evidence trails. Figures are the
snapshot's own (:class:`~scopeguard.domain.figures.ClientFigures`), the same
ones the API's JSON is written from, so the page and ``/api/v1`` can never
disagree; the issue facts add what the summary names only by key (summaries,
statuses, dates, revision rounds).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from scopeguard.domain.contract import ScopeUnit
from scopeguard.domain.effort import EffortSummary, IssueEffort
from scopeguard.domain.facts import IssueFacts
from scopeguard.domain.figures import ClientFigures
from scopeguard.domain.health import HEALTH_ORDER, Health
from scopeguard.domain.metrics import RevisionRound, ScopeSummary, UnitFigures, issue_evidence

SortKey = Literal["name", "health", "creep", "over_limit", "reopens", "last_sync", "risk"]
Direction = Literal["asc", "desc"]
SORT_KEYS: tuple[SortKey, ...] = (
    "name",
    "health",
    "creep",
    "over_limit",
    "reopens",
    "last_sync",
    "risk",
)
INTERNAL_SORT_KEYS: frozenset[SortKey] = frozenset({"risk"})
"""Columns only admins see (the client-risk score is internal)."""
DEFAULT_SORT: tuple[SortKey, Direction] = ("health", "desc")
"""Worst first: the portfolio exists to show which client needs attention."""


@dataclass(frozen=True, slots=True)
class PortfolioRow:
    """One client on the portfolio page."""

    key: str
    name: str
    health: Health
    unit: ScopeUnit
    creep: float
    creep_percent: float | None
    over_limit: int
    reopens: int
    last_sync: datetime | None
    """``None`` before the first successful sync."""
    figures: ClientFigures
    risk_score: int | None = None
    """The client-risk score, for admins (``None``: not shown, or not enough data)."""

    @classmethod
    def of(cls, figures: ClientFigures, risk_score: int | None = None) -> PortfolioRow:
        """The row of a client from its figures."""
        summary = figures.summary
        return cls(
            key=figures.key,
            name=figures.name,
            health=summary.health,
            unit=summary.scope.unit,
            creep=summary.scope.creep,
            creep_percent=summary.scope.creep_percent,
            over_limit=len(summary.revisions.over_limit),
            reopens=summary.reopens.total,
            last_sync=figures.sync.last_success,
            figures=figures,
            risk_score=risk_score,
        )


def parse_sort(
    sort: str | None, direction: str | None, *, internal: bool = False
) -> tuple[SortKey, Direction]:
    """The requested column and direction; unknown values fall back to the default, and so
    do internal columns unless ``internal`` (the viewer is an admin)."""
    key = next((k for k in SORT_KEYS if k == sort), None)
    if key in INTERNAL_SORT_KEYS and not internal:
        key = None
    if key is None:
        return DEFAULT_SORT
    chosen: Direction
    if direction == "asc":
        chosen = "asc"
    elif direction == "desc":
        chosen = "desc"
    else:
        chosen = default_direction(key)
    return key, chosen


def default_direction(key: SortKey) -> Direction:
    """Names A→Z; figures largest (worst, most recent) first."""
    return "asc" if key == "name" else "desc"


def sort_rows(
    rows: Iterable[PortfolioRow], key: SortKey, direction: Direction
) -> list[PortfolioRow]:
    """Rows ordered by one column; ties (and missing values, last) by name."""
    by_name = sorted(rows, key=lambda row: (row.name.casefold(), row.key))
    if key == "name":
        return by_name if direction == "asc" else by_name[::-1]
    values: dict[SortKey, Callable[[PortfolioRow], float | None]] = {
        "health": lambda row: HEALTH_ORDER[row.health],
        "creep": lambda row: row.creep_percent,
        "over_limit": lambda row: row.over_limit,
        "reopens": lambda row: row.reopens,
        "last_sync": lambda row: row.last_sync.timestamp() if row.last_sync else None,
        "risk": lambda row: row.risk_score,
    }
    value = values[key]
    present = [row for row in by_name if value(row) is not None]
    missing = [row for row in by_name if value(row) is None]
    # sorted() is stable, so equal values keep the name order in either direction.
    ordered = sorted(present, key=lambda row: value(row) or 0.0, reverse=direction == "desc")
    return ordered + missing


def unit_rows(summary: ScopeSummary) -> list[tuple[ScopeUnit, UnitFigures]]:
    """Contracted against actual scope, one row per unit the contract names, headline first."""
    headline = summary.scope.unit
    order = [headline, *(unit for unit in summary.scope.by_unit if unit != headline)]
    return [(unit, summary.scope.by_unit[unit]) for unit in order]


@dataclass(frozen=True, slots=True)
class IssueLine:
    """An issue as the panel lists it, with its evidence trail."""

    key: str
    summary: str
    status: str
    revisions: int
    reopens: int
    added_at: datetime | None
    approved_at: datetime | None
    removed_at: datetime | None
    rounds: tuple[RevisionRound, ...]

    @property
    def beyond(self) -> int:
        """Rounds past the allowance (billable)."""
        return sum(1 for r in self.rounds if r.beyond_allowance)


def issue_lines(
    summary: ScopeSummary, facts: Mapping[str, IssueFacts], keys: Sequence[str]
) -> list[IssueLine]:
    """The named issues with their trails up to the summary's moment, in the given order.

    Revision and reopen counts are the summary's; the rounds are the facts' up to
    ``as_of``, so they agree with the counts.
    """
    allowance = summary.revisions.per_issue_limit
    by_issue = summary.revisions.by_issue
    reopens = summary.reopens.by_issue
    lines = []
    for key in keys:
        item = facts.get(key)
        rounds = (
            tuple(issue_evidence(item, allowance=allowance, as_of=summary.as_of)) if item else ()
        )
        lines.append(
            IssueLine(
                key=key,
                summary=item.summary if item else "",
                status=item.status if item else "",
                revisions=by_issue.get(key, 0),
                reopens=reopens.get(key, 0),
                added_at=item.added_at if item else None,
                approved_at=item.approved_at if item else None,
                removed_at=item.removed_at if item else None,
                rounds=rounds,
            )
        )
    return lines


def most_revised(summary: ScopeSummary, keys: Iterable[str] | None = None) -> list[str]:
    """Issues (default: all with revision rounds), most revised first; ties in the
    summary's key order."""
    by_issue = summary.revisions.by_issue
    order = {key: index for index, key in enumerate(by_issue)}
    chosen = list(by_issue if keys is None else keys)
    return sorted(chosen, key=lambda key: (-by_issue.get(key, 0), order.get(key, len(order))))


ListName = Literal["revised", "over_limit", "approved", "creep", "removed"]
LIST_NAMES: tuple[ListName, ...] = ("revised", "over_limit", "approved", "creep", "removed")


def list_keys(summary: ScopeSummary, name: ListName) -> list[str]:
    """The issue keys of one of the panel's lists, in the order the panel shows them."""
    scope = summary.scope
    if name == "revised":
        return most_revised(summary)
    if name == "over_limit":
        return most_revised(summary, summary.revisions.over_limit)
    if name == "approved":
        return list(scope.approved_changes)
    if name == "creep":
        return list(scope.added)
    return list(scope.removed)


@dataclass(frozen=True, slots=True)
class Shown:
    """The first lines of a list, and how long the whole list is."""

    lines: list[IssueLine]
    total: int


def first_lines(
    summary: ScopeSummary,
    facts: Mapping[str, IssueFacts],
    keys: Sequence[str],
    limit: int,
) -> Shown:
    """The first ``limit`` issues of ``keys`` with their trails."""
    return Shown(issue_lines(summary, facts, keys[:limit]), len(keys))


def page_count(total: int, size: int) -> int:
    """Pages of ``size`` needed for ``total`` items (at least one)."""
    return max(1, -(-total // size))


@dataclass(frozen=True, slots=True)
class EffortLine:
    """An issue in the effort block: its summary and its logged time."""

    key: str
    summary: str
    effort: IssueEffort


def round_hours(effort: EffortSummary | None) -> dict[str, list[float]]:
    """Hours logged in each round of every issue with logged time, for the trails."""
    if effort is None:
        return {}
    return {
        key: [r.hours for r in issue.rounds]
        for key, issue in effort.by_issue.items()
        if issue.logged_hours > 0 and issue.rounds
    }
