"""What the panel pages show, assembled from the API's documents and the cached issue facts.

Plain data (no Flask): the portfolio's rows and their sorting, the scope
table of a client, the issue lists and the evidence trails. Figures are taken
from the summary and series exactly as the API serves them, so the page and
``/api/v1`` can never disagree; the issue facts add what the summary names
only by key (summaries, statuses, dates, revision rounds).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from scopeguard.adapters.store.models import IssueFactsRow
from scopeguard.domain.facts import IssueFacts, facts_from_row
from scopeguard.domain.metrics import RevisionRound, issue_evidence
from scopeguard.presentation.formatting import HEALTH_ORDER, headline_figures, parse_moment

SortKey = Literal["name", "health", "creep", "over_limit", "reopens", "last_sync"]
Direction = Literal["asc", "desc"]
SORT_KEYS: tuple[SortKey, ...] = ("name", "health", "creep", "over_limit", "reopens", "last_sync")
DEFAULT_SORT: tuple[SortKey, Direction] = ("health", "desc")
"""Worst first: the portfolio exists to show which client needs attention."""


@dataclass(frozen=True, slots=True)
class PortfolioRow:
    """One client on the portfolio page."""

    key: str
    name: str
    health: str
    unit: str
    creep: float
    creep_percent: float | None
    over_limit: int
    reopens: int
    last_sync: str | None
    """ISO 8601, or ``None`` before the first successful sync."""
    summary: Mapping[str, Any]

    @classmethod
    def from_summary(cls, summary: Mapping[str, Any]) -> PortfolioRow:
        """The row of a client from its summary document."""
        figures = headline_figures(dict(summary))
        return cls(
            key=str(summary["client"]),
            name=str(summary["name"]),
            health=str(summary["health"]),
            unit=str(summary["scope"]["unit"]),
            creep=float(figures.get("creep", summary["scope"]["creep"])),
            creep_percent=summary["scope"]["creep_percent"],
            over_limit=len(summary["revisions"]["over_limit"]),
            reopens=int(summary["reopens"]["total"]),
            last_sync=summary.get("sync", {}).get("last_success"),
            summary=summary,
        )


def parse_sort(sort: str | None, direction: str | None) -> tuple[SortKey, Direction]:
    """The requested column and direction; unknown values fall back to the default."""
    key = next((k for k in SORT_KEYS if k == sort), None)
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
    values: dict[SortKey, Any] = {
        "health": lambda row: HEALTH_ORDER.get(row.health, -1),
        "creep": lambda row: row.creep_percent,
        "over_limit": lambda row: row.over_limit,
        "reopens": lambda row: row.reopens,
        "last_sync": lambda row: parse_moment(row.last_sync).timestamp() if row.last_sync else None,
    }
    value = values[key]
    present = [row for row in by_name if value(row) is not None]
    missing = [row for row in by_name if value(row) is None]
    # sorted() is stable, so equal values keep the name order in either direction.
    ordered = sorted(present, key=value, reverse=direction == "desc")
    return ordered + missing


@dataclass(frozen=True, slots=True)
class UnitRow:
    """Contracted against actual scope in one unit."""

    unit: str
    contracted: float
    baseline: float | None
    """The scope at the baseline, as estimated then (from the series' latest day)."""
    approved: float
    added: float
    inflation: float
    creep: float
    creep_percent: float | None
    removed: float | None

    @property
    def in_scope(self) -> float | None:
        """Baseline + approved changes + creep: the top of the stacked chart."""
        if self.baseline is None:
            return None
        return self.baseline + self.approved + self.creep


def unit_rows(summary: Mapping[str, Any], series: Mapping[str, Any]) -> list[UnitRow]:
    """One row per unit the contract names, headline unit first."""
    latest: Mapping[str, Any] = series["days"][-1]["units"] if series.get("days") else {}
    by_unit: Mapping[str, Mapping[str, Any]] = summary["scope"]["by_unit"]
    headline = summary["scope"]["unit"]
    order = [headline, *(unit for unit in by_unit if unit != headline)]
    rows = []
    for unit in order:
        figures = by_unit[unit]
        day = latest.get(unit)
        rows.append(
            UnitRow(
                unit=unit,
                contracted=float(figures["contracted"]),
                baseline=float(day["baseline"]) if day else None,
                approved=float(figures["approved"]),
                added=float(figures["added"]),
                inflation=float(figures["inflation"]),
                creep=float(figures["creep"]),
                creep_percent=figures["creep_percent"],
                removed=float(day["removed"]) if day else None,
            )
        )
    return rows


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


def load_facts(session: Session, client_key: str) -> dict[str, IssueFacts]:
    """The client's cached issue facts by issue key (current after ``snapshot()``)."""
    facts: dict[str, IssueFacts] = {}
    rows = session.scalars(
        select(IssueFactsRow.facts).where(IssueFactsRow.client_key == client_key)
    )
    for data in rows:
        item = facts_from_row(data)  # the compact storage form (IssueFactsRow.facts)
        facts[item.key] = item
    return facts


def issue_lines(
    summary: Mapping[str, Any], facts: Mapping[str, IssueFacts], keys: Sequence[str]
) -> list[IssueLine]:
    """The named issues with their trails up to the summary's moment, in the given order.

    Revision and reopen counts are the summary's; the rounds are the facts' up to
    ``as_of``, so they agree with the counts.
    """
    as_of = parse_moment(summary["as_of"])
    allowance = int(summary["revisions"]["per_issue_limit"])
    by_issue: Mapping[str, int] = summary["revisions"]["by_issue"]
    reopens: Mapping[str, int] = summary["reopens"]["by_issue"]
    lines = []
    for key in keys:
        item = facts.get(key)
        rounds = tuple(issue_evidence(item, allowance=allowance, as_of=as_of)) if item else tuple()
        lines.append(
            IssueLine(
                key=key,
                summary=item.summary if item else "",
                status=item.status if item else "",
                revisions=int(by_issue.get(key, 0)),
                reopens=int(reopens.get(key, 0)),
                added_at=item.added_at if item else None,
                approved_at=item.approved_at if item else None,
                removed_at=item.removed_at if item else None,
                rounds=rounds,
            )
        )
    return lines


def most_revised(summary: Mapping[str, Any], keys: Iterable[str] | None = None) -> list[str]:
    """Issues (default: all with revision rounds), most revised first; ties in the
    summary's key order."""
    by_issue: Mapping[str, int] = summary["revisions"]["by_issue"]
    order = {key: index for index, key in enumerate(by_issue)}
    chosen = list(by_issue if keys is None else keys)
    return sorted(chosen, key=lambda key: (-by_issue.get(key, 0), order.get(key, len(order))))


ListName = Literal["revised", "over_limit", "approved", "creep", "removed"]
LIST_NAMES: tuple[ListName, ...] = ("revised", "over_limit", "approved", "creep", "removed")


def list_keys(summary: Mapping[str, Any], name: ListName) -> list[str]:
    """The issue keys of one of the panel's lists, in the order the panel shows them."""
    scope = summary["scope"]
    if name == "revised":
        return most_revised(summary)
    if name == "over_limit":
        return most_revised(summary, summary["revisions"]["over_limit"])
    if name == "approved":
        return list(scope["approved_changes"])
    if name == "creep":
        return list(scope["added"])
    return list(scope["removed"])


@dataclass(frozen=True, slots=True)
class Shown:
    """The first lines of a list, and how long the whole list is."""

    lines: list[IssueLine]
    total: int


def first_lines(
    summary: Mapping[str, Any],
    facts: Mapping[str, IssueFacts],
    keys: Sequence[str],
    limit: int,
) -> Shown:
    """The first ``limit`` issues of ``keys`` with their trails."""
    return Shown(issue_lines(summary, facts, keys[:limit]), len(keys))


def page_count(total: int, size: int) -> int:
    """Pages of ``size`` needed for ``total`` items (at least one)."""
    return max(1, -(-total // size))
