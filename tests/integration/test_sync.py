"""Sync over real HTTP against the simulator into a real database.

Cloud and Data Center; complete histories; rate limits; outages mid-sync;
deleted issues; timestamps near midnight in +03:00; a Cyrillic done status.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from jira_simulator import Dataset, JiraSimulator, serve
from scopeguard.adapters.jira import JiraClient
from scopeguard.adapters.store import Database
from scopeguard.adapters.store.models import IssueRow, SyncStateRow
from scopeguard.adapters.store.repository import (
    history_count,
    issue_count,
    load_issues,
    load_statuses,
)
from scopeguard.config import Settings
from scopeguard.domain.model import StatusCategory
from scopeguard.usecases.sync import SyncError, SyncService
from tests.support import clock
from tests.support.settings import SettingsFactory

MSK = timezone(timedelta(hours=3))
PM = ("712020:pm", "Olga PM")
CLIENT = ("557058:client", "Client Person")
CONTRACT = {
    "start": "2026-09-01",
    "scope": {"issues": 10},
    "revisions_per_issue": 2,
}


def acme_dataset() -> Dataset:
    """Five ACME issues, one of them with 130 histories, and a Cyrillic done status."""
    ds = Dataset.with_default_workflow(user_timezone="Europe/Moscow")
    ds.add_project("ACME", "ACME Corp")
    ds.add_project("OTHER", "Someone else")
    start = datetime(2026, 8, 20, 10, 0, tzinfo=MSK)
    for n in range(4):
        issue = ds.add_issue("ACME", f"Deliverable {n + 1}", created=start + timedelta(days=n))
        ds.transition(issue.key, "In Progress", at=start + timedelta(days=n, hours=2), author=PM)
    # Created 30 minutes after the baseline midnight in Moscow: 21:30 the day before in UTC.
    ds.add_issue("ACME", "Make it pop", created=datetime(2026, 9, 1, 0, 30, tzinfo=MSK))
    long = ds.add_issue("ACME", "Endless banner", created=start)
    at = start
    ds.transition(long.key, "In Progress", at=at, author=PM)
    for _round in range(65):
        at += timedelta(hours=3)
        ds.transition(long.key, "Client Review", at=at, author=PM)
        at += timedelta(hours=3)
        ds.transition(long.key, "In Progress", at=at, author=CLIENT)
    ds.transition(long.key, "Принято клиентом", at=at + timedelta(hours=1), author=CLIENT)
    return ds


@dataclass
class Harness:
    simulator: JiraSimulator
    settings: Settings
    database: Database
    sleeps: list[float]
    sync: SyncService

    def issues(self) -> int:
        with self.database.session() as session:
            return issue_count(session, "ACME")

    def histories(self) -> int:
        with self.database.session() as session:
            return history_count(session, "ACME")

    def rows(self) -> int:
        with self.database.session() as session:
            return sum(len(issue.changes) for issue in load_issues(session, "ACME"))

    def cursor(self) -> datetime | None:
        with self.database.session() as session:
            state = session.get(SyncStateRow, "ACME")
            return state.cursor if state else None


@pytest.fixture(params=["cloud", "datacenter"])
def harness(request: pytest.FixtureRequest, make_settings: SettingsFactory) -> Iterator[Harness]:
    flavor: str = request.param
    dataset = acme_dataset()
    simulator = JiraSimulator(
        dataset,
        flavor=flavor,
        email="pm@agency.example",
        api_token="token",
        pat="pat-token",
        clock=clock.now,
    )
    with serve(simulator) as url:
        settings = make_settings(
            url,
            [{"key": "ACME", "name": "ACME Corp", "jql": "project = ACME", "contract": CONTRACT}],
            deployment=flavor,
            jira={"max_attempts": 4},
        )
        database = Database(settings.resolved_database_url)
        database.upgrade()
        sleeps: list[float] = []
        client = JiraClient(settings.jira, sleep=sleeps.append)
        yield Harness(
            simulator,
            settings,
            database,
            sleeps,
            SyncService(settings, database, client, clock=clock.now),
        )
        database.dispose()


def _expected_histories(ds: Dataset, project: str) -> int:
    return sum(len(issue.histories) for issue in ds.issues_in_project(project))


def test_full_sync_stores_every_issue_and_every_history(harness: Harness) -> None:
    report = harness.sync.sync_client(harness.settings.client("ACME"))
    dataset = harness.simulator.dataset
    assert report.full
    assert report.issues == 6 == harness.issues()
    assert harness.histories() == _expected_histories(dataset, "ACME") == 4 + 132
    with harness.database.session() as session:
        issues = {issue.key: issue for issue in load_issues(session, "ACME")}
    banner = issues["ACME-6"]
    # The oldest transitions of a 132-history issue are there, in order.
    assert banner.status_changes[0].to_string == "In Progress"
    assert banner.status_changes[0].created == datetime(2026, 8, 20, 10, 0, tzinfo=MSK)
    assert len(banner.status_changes) == 132
    assert banner.status.name == "Принято клиентом"
    assert banner.status.category is StatusCategory.DONE
    pop = issues["ACME-5"]
    assert pop.created == datetime(2026, 8, 31, 21, 30, tzinfo=UTC)
    assert pop.created.astimezone(MSK).date().isoformat() == "2026-09-01"


def test_resync_with_nothing_changed_is_one_search_and_one_worklog_request(
    harness: Harness,
) -> None:
    client = harness.settings.client("ACME")
    harness.sync.sync_client(client)
    rows = harness.rows()
    harness.simulator.reset_requests()
    report = harness.sync.sync_client(client)
    assert not report.full
    search_path = (
        "/rest/api/3/search/jql" if harness.simulator.flavor == "cloud" else "/rest/api/2/search"
    )
    # Statuses, fields and the user's zone come from the cache (the full sync read
    # them, at once): the search that finds nothing new, and the worklog feed's one page.
    api = "/rest/api/3" if harness.simulator.flavor == "cloud" else "/rest/api/2"
    assert sorted(r.path for r in harness.simulator.requests) == sorted(
        [search_path, f"{api}/worklog/updated"]
    )
    assert report.requests == 2
    assert harness.rows() == rows


def test_a_status_jira_did_not_have_before_makes_the_sync_read_the_statuses(
    harness: Harness,
) -> None:
    client = harness.settings.client("ACME")
    harness.sync.sync_client(client)
    dataset = harness.simulator.dataset
    dataset.add_status("20001", "Legal Review", StatusCategory.INDETERMINATE)
    dataset.transition("ACME-1", "Legal Review", at=clock.now(), author=PM)
    harness.simulator.reset_requests()
    report = harness.sync.sync_client(client)
    api = "/rest/api/3" if harness.simulator.flavor == "cloud" else "/rest/api/2"
    assert harness.simulator.request_count(f"{api}/status") == 1
    assert report.issues == 1
    with harness.database.session() as session:
        assert load_statuses(session)["20001"].name == "Legal Review"


def test_incremental_sync_picks_up_changes_and_new_issues(harness: Harness) -> None:
    client = harness.settings.client("ACME")
    harness.sync.sync_client(client)
    dataset = harness.simulator.dataset
    now = clock.now()
    dataset.transition("ACME-1", "Client Review", at=now, author=PM)
    dataset.add_issue("ACME", "One more small thing", created=now)
    report = harness.sync.sync_client(client)
    assert not report.full
    assert report.issues == 2
    assert harness.issues() == 7
    assert harness.histories() == _expected_histories(dataset, "ACME")


def test_a_429_storm_changes_nothing_but_the_wait(harness: Harness) -> None:
    client = harness.settings.client("ACME")
    harness.simulator.faults.rate_limit(next_requests=3, retry_after=2)
    report = harness.sync.sync_client(client)
    assert report.issues == 6
    # Each 429 is waited out for its Retry-After; a worker that did not get it waits
    # for what is left of the shared backoff (a hair less), never less than that.
    assert harness.sleeps[:3] == [pytest.approx(2, abs=0.1)] * 3
    assert harness.histories() == _expected_histories(harness.simulator.dataset, "ACME")


def test_jira_down_mid_sync_keeps_stored_data_and_the_next_run_completes(
    harness: Harness,
) -> None:
    client = harness.settings.client("ACME")
    harness.sync.sync_client(client)
    cursor = harness.cursor()
    assert cursor is not None
    dataset = harness.simulator.dataset
    now = clock.now()
    for key in ("ACME-1", "ACME-2"):
        dataset.transition(key, "Client Review", at=now, author=PM)
    stored_rows = harness.rows()
    # Metadata is cached by now: the incremental sync's first request is its search.
    # One issue a Data Center page, so that it has a second page to fail on.
    harness.simulator.max_results_cap = 1
    harness.simulator.faults.go_down_after(1)
    with pytest.raises(SyncError):
        harness.sync.sync_client(client)
    assert harness.cursor() == cursor  # nothing past unstored data
    assert harness.rows() >= stored_rows
    harness.simulator.faults.clear()
    harness.sync.sync_client(client)
    assert harness.cursor() is not None and harness.cursor() > cursor  # type: ignore[operator]
    assert harness.histories() == _expected_histories(dataset, "ACME")
    with harness.database.session() as session:
        dupes = session.execute(
            select(IssueRow.jira_id).group_by(IssueRow.jira_id).having(func.count() > 1)
        ).all()
        stored = load_issues(session, "ACME")
    assert dupes == []
    for issue in stored:
        # Each history is stored once: its items form one run in the issue's changes.
        ids = [change.history_id for change in issue.changes]
        runs = [h for i, h in enumerate(ids) if i == 0 or ids[i - 1] != h]
        assert len(runs) == len(set(runs)) == len(dataset.issue(issue.key).histories)


def test_malformed_page_is_an_error_and_stored_data_stays(harness: Harness) -> None:
    client = harness.settings.client("ACME")
    harness.sync.sync_client(client)
    histories = harness.histories()
    harness.simulator.faults.malformed(next_requests=10)
    with pytest.raises(SyncError):
        harness.sync.sync_client(client, full=True)
    assert harness.histories() == histories
    with harness.database.session() as session:
        state = session.get(SyncStateRow, "ACME")
        assert state is not None and state.last_error


def test_deleted_and_moved_issues_are_marked_removed(harness: Harness) -> None:
    client = harness.settings.client("ACME")
    harness.sync.sync_client(client)
    dataset = harness.simulator.dataset
    dataset.delete_issue("ACME-2")
    dataset.move_issue("ACME-3", "OTHER", at=clock.now(), author=PM)
    report = harness.sync.sync_client(client, full=True)
    assert report.removed == ["ACME-2", "ACME-3"]
    assert harness.issues() == 4
    with harness.database.session() as session:
        removed = session.scalars(
            select(IssueRow.key).where(IssueRow.removed_at.is_not(None)).order_by(IssueRow.key)
        ).all()
    assert removed == ["ACME-2", "ACME-3"]


def test_wrong_credentials_fail_with_the_key_to_fix(
    make_settings: SettingsFactory,
) -> None:
    simulator = JiraSimulator(
        acme_dataset(), flavor="cloud", email="pm@agency.example", api_token="right"
    )
    with serve(simulator) as url:
        settings = make_settings(
            url,
            [{"key": "ACME", "name": "ACME", "jql": "project = ACME", "contract": CONTRACT}],
            jira={"api_token": "wrong"},
        )
        database = Database(settings.resolved_database_url)
        database.upgrade()
        sync = SyncService(settings, database, JiraClient(settings.jira, sleep=lambda _s: None))
        with pytest.raises(SyncError, match=r"jira\.api_token"):
            sync.sync_client(settings.client("ACME"))
        database.dispose()
