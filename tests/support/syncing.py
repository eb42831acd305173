"""Helpers for sync tests: random simulator datasets, Jira changing mid-sync, stored rows.

``dataset_plans`` is a Hypothesis strategy of small agencies described as plain
data (so a failing example prints readably); :func:`build_dataset` lays one out
in a simulator :class:`~jira_simulator.Dataset`. :class:`ChangingJira` wraps the
simulator's WSGI app and changes the dataset once, after a given number of
requests, the way issues change in Jira while a sync reads them.
:func:`stored_rows` is everything ScopeGuard stored for a client, without the
surrogate keys and timestamps that legitimately differ between two syncs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from hypothesis import strategies as st
from sqlalchemy import select

from jira_simulator import Dataset
from scopeguard.adapters.store.db import Database
from scopeguard.adapters.store.models import IssueRow
from scopeguard.adapters.store.repository import load_issues

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

STATUSES = ("To Do", "In Progress", "Client Review", "Done", "Принято клиентом")
PEOPLE: tuple[tuple[str, str] | None, ...] = (
    ("712020:pm", "Olga PM"),
    ("557058:client", "Клиент Петров"),
    None,  # automation: a history without an author
)


@dataclass(frozen=True)
class IssuePlan:
    """One issue: when it was created (minutes after the start) and what happened to it."""

    created_minute: int
    steps: tuple[tuple[str, int, int], ...]
    """(what, value, person) per history: ``status`` (index into STATUSES), ``points``,
    ``label`` (toggle label *value*) or ``comment``; one history every 7 minutes."""


@dataclass(frozen=True)
class MidSyncChange:
    """What changes in Jira after ``after_requests`` requests of the sync."""

    after_requests: int
    transitions: tuple[tuple[int, int], ...]
    """(issue index modulo the issue count, status index)."""
    new_issues: int


def _step() -> st.SearchStrategy[tuple[str, int, int]]:
    return st.tuples(
        st.sampled_from(("status", "status", "points", "label", "comment")),
        st.integers(0, len(STATUSES) - 1),
        st.integers(0, len(PEOPLE) - 1),
    )


dataset_plans: st.SearchStrategy[list[IssuePlan]] = st.lists(
    st.builds(
        IssuePlan,
        # Spread over weeks (so created-date ranges split) with collisions allowed.
        created_minute=st.integers(0, 60 * 24 * 40),
        steps=st.lists(_step(), max_size=14).map(tuple),
    ),
    min_size=1,
    max_size=45,
)

mid_sync_changes: st.SearchStrategy[MidSyncChange] = st.builds(
    MidSyncChange,
    after_requests=st.integers(1, 12),
    transitions=st.lists(
        st.tuples(st.integers(0, 1000), st.integers(0, len(STATUSES) - 1)), max_size=4
    ).map(tuple),
    new_issues=st.integers(0, 2),
)


def build_dataset(plans: Iterable[IssuePlan], start: datetime, project: str = "ACME") -> Dataset:
    """A simulator dataset with one project and the planned issues, in plan order."""
    ds = Dataset.with_default_workflow(user_timezone="Europe/Moscow")
    ds.add_project(project, "ACME Corp")
    for number, plan in enumerate(plans):
        created = start + timedelta(minutes=plan.created_minute)
        issue = ds.add_issue(project, f"Deliverable {number}", created=created, story_points=3.0)
        for index, (what, value, person) in enumerate(plan.steps):
            at = created + timedelta(minutes=7 * (index + 1))
            author = PEOPLE[person]
            if what == "status":
                target = STATUSES[value]
                if ds.issue(issue.key).status.name != target:
                    ds.transition(issue.key, target, at=at, author=author)
            elif what == "points":
                ds.set_field(issue.key, "story_points", float(value + 1), at=at, author=author)
            elif what == "label":
                labels = set(ds.issue(issue.key).labels) ^ {f"label-{value}"}
                ds.set_field(issue.key, "labels", sorted(labels), at=at, author=author)
            else:
                ds.add_comment(issue.key, f"Comment {index}", at=at, author=author)
    return ds


def apply_change(ds: Dataset, change: MidSyncChange, project: str, at: datetime) -> None:
    """Make ``change`` in the dataset, at the moment ``at``."""
    keys = [issue.key for issue in ds.issues_in_project(project)]
    for position, status in change.transitions:
        key = keys[position % len(keys)]
        if ds.issue(key).status.name != STATUSES[status]:
            ds.transition(key, STATUSES[status], at=at, author=PEOPLE[0])
    for number in range(change.new_issues):
        ds.add_issue(project, f"Added while syncing {number}", created=at)


class ChangingJira:
    """The simulator's WSGI app, with ``change`` run once after ``after`` requests.

    The change happens between two answers, under the dataset's lock, as an edit
    in Jira lands between two of the sync's requests.
    """

    def __init__(self, app: WSGIApplication, after: int, change: Callable[[], None]) -> None:
        self._app = app
        self._after = after
        self._change: Callable[[], None] | None = change
        self._seen = 0
        self._lock = threading.Lock()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Any:
        with self._lock:
            self._seen += 1
            change = self._change if self._seen > self._after else None
            if change is not None:
                self._change = None
        if change is not None:
            change()
        return self._app(environ, start_response)

    @property
    def changed(self) -> bool:
        """Whether the change has happened."""
        return self._change is None

    def change_now(self) -> None:
        """Make the change now if the requests so far did not."""
        with self._lock:
            change, self._change = self._change, None
        if change is not None:
            change()


def stored_rows(database: Database, client_key: str) -> list[tuple[Any, ...]]:
    """Every issue stored for the client with its fields, history and comments, by id.

    Primary keys and ``synced_at`` are left out: they record when and in which
    order a sync wrote, not what it stored.
    """
    with database.session() as session:
        rows = {
            row.jira_id: row
            for row in session.scalars(select(IssueRow).where(IssueRow.client_key == client_key))
        }
        issues = {issue.id: issue for issue in load_issues(session, client_key)}
    result = []
    for jira_id in sorted(rows, key=int):
        row, issue = rows[jira_id], issues[jira_id]
        result.append(
            (
                jira_id,
                row.key,
                row.project_key,
                row.issue_type,
                row.summary,
                row.description,
                row.status_id,
                row.status_name,
                row.status_category,
                row.resolution,
                tuple(row.labels),
                row.story_points,
                row.original_estimate_seconds,
                row.reporter_account,
                row.reporter_name,
                row.created,
                row.updated,
                row.histories_total,
                row.removed_at is not None,
                issue.changes,
                issue.comments,
            )
        )
    return result
