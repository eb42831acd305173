"""Worklogs over real HTTP against the simulator, Cloud and Data Center, into a real database.

Complete for an issue with 150 worklogs (the feed's and the per-issue paging),
an edit and a deletion seen by the next incremental sync, a re-sync with
nothing changed costing one worklog request per site, and the per-issue read
chosen for a small client on a site whose feed is long.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from jira_simulator import Dataset, JiraSimulator, serve
from jira_simulator.people import add_group
from jira_simulator.worklogs import INLINE_CAP, ledger
from scopeguard.adapters.jira import JiraClient
from scopeguard.adapters.store import Database
from scopeguard.adapters.store.models import WorklogRow
from scopeguard.bootstrap import Services
from scopeguard.config import Settings
from scopeguard.usecases.sync import SyncService
from tests.support import clock
from tests.support.settings import SettingsFactory
from tests.support.worklogs import CONTRACT, DESIGNER, DEV, worklog_site


@dataclass
class Site:
    simulator: JiraSimulator
    settings: Settings
    database: Database
    sync: SyncService

    def stored(self) -> dict[str, WorklogRow]:
        with self.database.session() as session:
            rows = session.scalars(select(WorklogRow)).all()
            for row in rows:
                session.expunge(row)
        return {row.jira_id: row for row in rows}

    def paths(self, part: str) -> list[str]:
        return [r.path for r in self.simulator.requests if part in r.path]


@pytest.fixture
def open_site(make_settings: SettingsFactory) -> Iterator[Any]:
    """``open_site(flavor, dataset, **simulator options)``: a site served until the test ends."""
    opened: list[Any] = []

    def build(
        flavor: str, dataset: Dataset, clients: list[str] | None = None, **options: Any
    ) -> Site:
        simulator = JiraSimulator(dataset, flavor=flavor, clock=clock.now, **options)
        server = serve(simulator)
        url = server.__enter__()
        opened.append(server)
        settings = make_settings(
            url,
            [
                {"key": key, "name": key, "jql": f"project = {key}", "contract": CONTRACT}
                for key in clients or ["ACME"]
            ],
            deployment=flavor,
        )
        database = Database(settings.resolved_database_url)
        database.upgrade()
        jira = JiraClient(settings.jira, sleep=lambda _s: None)
        site = Site(
            simulator, settings, database, SyncService(settings, database, jira, clock=clock.now)
        )
        opened.append(database)
        return site

    yield build
    for item in reversed(opened):
        if isinstance(item, Database):
            item.dispose()
        else:
            item.__exit__(None, None, None)


def _expected(ds: Dataset, key: str) -> dict[str, tuple[int, datetime, str, str | None]]:
    issue = ds.issue(key)
    return {
        w.id: (w.seconds, w.started, w.author.account_id, w.comment)
        for w in ledger(ds).of_issue(issue)
    }


def _account(flavor: str, account_id: str) -> str:
    # Data Center names people by username: the account id without its prefix.
    return account_id if flavor == "cloud" else account_id.rsplit(":", 1)[-1]


@pytest.mark.parametrize("flavor", ["cloud", "datacenter"])
@pytest.mark.parametrize("pages", ["jira's limits", "small pages"])
def test_an_issue_with_150_worklogs_is_stored_complete(
    open_site: Any, flavor: str, pages: str
) -> None:
    dataset = worklog_site(extra_issues=40)
    options = {"worklog_changed_page": 40} if pages == "small pages" else {}
    site = open_site(flavor, dataset, **options)
    report = site.sync.sync_client(site.settings.client("ACME"))
    assert report.worklogs == 193
    stored = site.stored()
    expected = _expected(dataset, "ACME-1")
    assert len(expected) == 150
    for worklog_id, (seconds, started, account, comment) in expected.items():
        row = stored[worklog_id]
        assert row.seconds == seconds
        assert row.started == started  # the same instant, whatever offset it was logged in
        assert row.author_account == _account(flavor, account)
        assert row.comment == comment
        assert row.issue_id == dataset.issue("ACME-1").id
    # The issue's inline field would have given 20 of them: never read.
    assert INLINE_CAP == 20
    feed = len(site.paths("/worklog/updated"))
    lists = len(site.paths("/worklog/list"))
    assert (feed, lists) == ((1, 1) if pages == "jira's limits" else (5, 5))
    assert site.paths("/worklog") == [p for p in site.paths("/worklog") if "/issue/" not in p]


@pytest.mark.parametrize("flavor", ["cloud", "datacenter"])
def test_an_edit_and_a_deletion_are_seen_by_the_next_incremental_sync(
    open_site: Any, flavor: str
) -> None:
    dataset = worklog_site()
    site = open_site(flavor, dataset)
    acme = site.settings.client("ACME")
    site.sync.sync_client(acme)
    book = ledger(dataset)
    edited, deleted, untouched = book.of_issue(dataset.issue("ACME-2"))
    # Changed two minutes ago: past the minute Jira's feed holds back.
    earlier = clock.now() - timedelta(minutes=2)
    book.edit(edited.id, earlier, seconds=5400, comment="Longer than logged")
    book.delete(deleted.id, earlier)
    site.simulator.reset_requests()
    report = site.sync.sync_client(acme)
    assert not report.full
    stored = site.stored()
    assert stored[edited.id].seconds == 5400
    assert stored[edited.id].comment == "Longer than logged"
    assert deleted.id not in stored
    assert untouched.id in stored
    assert len(site.paths("/worklog/updated")) == 1
    assert len(site.paths("/worklog/deleted")) == 1
    assert site.paths("/issue/") == [p for p in site.paths("/issue/") if not p.endswith("/worklog")]


@pytest.mark.parametrize("flavor", ["cloud", "datacenter"])
def test_an_edit_the_feed_still_holds_back_is_mended_from_the_issue(
    open_site: Any, flavor: str
) -> None:
    dataset = worklog_site()
    site = open_site(flavor, dataset)
    acme = site.settings.client("ACME")
    site.sync.sync_client(acme)
    book = ledger(dataset)
    worklog = book.of_issue(dataset.issue("ACME-2"))[0]
    book.edit(worklog.id, clock.now(), seconds=7200)  # this very moment: not in the feed yet
    site.simulator.reset_requests()
    site.sync.sync_client(acme)
    assert site.stored()[worklog.id].seconds == 7200
    # The issue's timespent disagreed with the stored worklogs: that one issue was read.
    issue_id = dataset.issue("ACME-2").id
    assert [p for p in site.paths("/worklog") if "/issue/" in p] == [
        f"/rest/api/{3 if flavor == 'cloud' else 2}/issue/{issue_id}/worklog"
    ]


@pytest.mark.parametrize("flavor", ["cloud", "datacenter"])
def test_a_resync_with_nothing_changed_costs_one_worklog_request_perworklog_site(
    open_site: Any, flavor: str
) -> None:
    site = open_site(flavor, worklog_site(busy_other_project=5), clients=["ACME", "OTHER"])
    assert all(not isinstance(r, Exception) for r in site.sync.sync_all())
    site.simulator.reset_requests()
    results = site.sync.sync_all()
    assert all(not isinstance(r, Exception) for r in results)
    assert site.paths("/worklog") == [f"/rest/api/{3 if flavor == 'cloud' else 2}/worklog/updated"]


@pytest.mark.parametrize("flavor", ["cloud", "datacenter"])
def test_a_small_client_on_a_busy_site_reads_its_issues_instead_of_the_whole_feed(
    open_site: Any, flavor: str
) -> None:
    dataset = worklog_site(busy_other_project=4000)
    site = open_site(flavor, dataset, worklog_changed_page=100, worklog_page_cap=50)
    site.simulator.faults.latency_seconds = 0.02
    report = site.sync.sync_client(site.settings.client("ACME"))
    # Two of ACME's issues have time logged: their four pages (150 worklogs at 50 a page,
    # then 3) beat the ~80 feed requests still to come.
    per_issue = [p for p in site.paths("/worklog") if "/issue/" in p]
    assert len(per_issue) == 4
    assert len(site.paths("/worklog/updated")) < 20
    stored = site.stored()
    for key in ("ACME-1", "ACME-2"):
        assert set(_expected(dataset, key)) <= set(stored)
    assert report.worklogs >= 153
    # The cursor starts from this sync: the next one reads only what changed since.
    site.simulator.reset_requests()
    site.sync.sync_client(site.settings.client("ACME"))
    assert len(site.paths("/worklog/updated")) == 1
    assert not [p for p in site.paths("/worklog") if "/issue/" in p]


@pytest.mark.parametrize("flavor", ["cloud", "datacenter"])
def test_rates_per_person_and_group_price_the_unbilled_time(
    open_site: Any, flavor: str, make_settings: SettingsFactory
) -> None:
    dataset = worklog_site()
    add_group(dataset, "Designers", [DESIGNER])
    site = open_site(flavor, dataset)
    ivan = _account(flavor, DEV[0])
    contract = {
        **CONTRACT,
        "revisions_per_issue": 0,
        "hourly_rate": 50,
        "rates": {ivan: 150, "group:Designers": 80},
    }
    settings = make_settings(
        site.settings.jira.base_url,
        [{"key": "ACME", "name": "ACME", "jql": "project = ACME", "contract": contract}],
        deployment=flavor,
    )
    services = Services(settings, sleep=lambda _s: None, clock=clock.now)
    try:
        acme = settings.client("ACME")
        services.sync.sync_client(acme)
        # Every ACME issue came in after the baseline unapproved: all of it is creep,
        # priced per person, the group's members read from Jira for the rates.
        effort = services.analysis.snapshot(acme).figures.effort
        assert effort is not None and effort.per_person_rates
        with services.database.session() as session:
            rates = services.analysis.rates(session, acme)
        designer = _account(flavor, DESIGNER[0])
        assert (rates.rate(ivan), rates.rate(designer), rates.rate("someone")) == (150, 80, 50)
        breakdown = services.analysis.effort_breakdown(acme)
        by_name = {p.name: p for p in breakdown.people}
        logged = {
            name: round(
                sum(
                    w.seconds
                    for i in dataset.issues_in_project("ACME")
                    for w in ledger(dataset).of_issue(i)
                    if w.author.display_name == name
                )
                / 3600,
                2,
            )
            for name in ("Ivan Petrov", "Maria Sokolova")
        }
        assert {n: by_name[n].logged_hours for n in logged} == logged
        assert (by_name["Ivan Petrov"].rate, by_name["Maria Sokolova"].rate) == (150, 80)
        assert effort.unbilled_hours == round(sum(logged.values()), 2)
        assert effort.unbilled_amount == round(
            logged["Ivan Petrov"] * 150 + logged["Maria Sokolova"] * 80, 2
        )
    finally:
        services.close()
