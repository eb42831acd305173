"""Complete comments with their text, edits and visibility; groups and emails; over HTTP.

A 250-comment issue is synced from the simulator on Cloud (ADF bodies, ``jsdPublic``)
and Data Center (wiki markup, role visibility): every comment is stored, with the
requests for the ones beyond the inline field at their lower bound. The sync stays
incremental: an unchanged issue costs no comment request.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import pytest

from jira_simulator import Dataset, JiraSimulator, serve
from jira_simulator.payloads import INLINE_COMMENT_CAP
from scopeguard.adapters.jira import JiraClient
from scopeguard.adapters.store import Database
from scopeguard.adapters.store.repository import load_issues
from scopeguard.config import Settings
from scopeguard.domain.model import Issue
from scopeguard.usecases.directory import load
from scopeguard.usecases.sync import SyncService
from tests.support import clock
from tests.support.settings import SettingsFactory

MSK = timezone(timedelta(hours=3))
PM = ("712020:pm", "Olga PM")
DESIGNER = ("712020:designer", "Dana Designer")
CLIENT = ("557058:client", "Клиент Петров")
COMMENTS = 250


def chatty_dataset() -> Dataset:
    """ACME-1 with 250 comments (some internal, one restricted, one edited), ACME-2 with 3."""
    ds = Dataset.with_default_workflow(user_timezone="Europe/Moscow")
    ds.add_project("ACME", "ACME Corp")
    start = datetime(2026, 9, 1, 10, 0, tzinfo=MSK)
    busy = ds.add_issue(
        "ACME",
        "Endless thread",
        created=start,
        reporter=CLIENT,
        assignee=PM,
        priority="High",
        due_date=date(2026, 10, 1),
        description="Сделайте красиво.\nКак обсуждали.",
    )
    for n in range(COMMENTS):
        author = CLIENT if n % 2 else PM
        ds.add_comment(
            busy.key,
            f"Comment {n}: make it pop\nline two",
            start + timedelta(hours=n),
            author,
            internal=n % 50 == 10,
            visibility="Developers" if n == 77 else None,
        )
    ds.edit_comment(busy.key, busy.comments[3].id, "Edited text", start + timedelta(days=20), PM)
    quiet = ds.add_issue("ACME", "Quiet one", created=start, reporter=PM)
    for n in range(3):
        ds.add_comment(quiet.key, f"Short {n}", start + timedelta(minutes=n), CLIENT)
    ds.user(DESIGNER[0], DESIGNER[1], email="dana@agency.example")
    ds.add_group_member("Designers", DESIGNER)
    ds.add_group_member("Designers", PM)
    return ds


@dataclass
class Site:
    simulator: JiraSimulator
    settings: Settings
    database: Database
    sync: SyncService
    flavor: str

    def issues(self) -> dict[str, Issue]:
        with self.database.session() as session:
            return {issue.key: issue for issue in load_issues(session, "ACME")}

    def comment_requests(self) -> int:
        return sum(
            1
            for record in self.simulator.requests
            if record.path.endswith("/comment") and "/issue/" in record.path
        )


@pytest.fixture(params=["cloud", "datacenter"])
def site(request: pytest.FixtureRequest, make_settings: SettingsFactory) -> Iterator[Site]:
    flavor: str = request.param
    simulator = JiraSimulator(
        chatty_dataset(),
        flavor=flavor,
        email="pm@agency.example",
        api_token="token",
        pat="pat-token",
        clock=clock.now,
    )
    with serve(simulator) as url:
        settings = make_settings(
            url,
            [
                {
                    "key": "ACME",
                    "name": "ACME Corp",
                    "jql": "project = ACME",
                    "contract": {
                        "start": "2026-09-01",
                        "scope": {"issues": 10},
                        "revisions_per_issue": 2,
                    },
                }
            ],
            deployment=flavor,
            agency={
                "timezone": "Europe/Moscow",
                "team": ["group:Designers", "dana@agency.example", "group:Nobody"],
            },
        )
        database = Database(settings.resolved_database_url)
        database.upgrade()
        client = JiraClient(settings.jira, sleep=lambda _: None)
        yield Site(
            simulator,
            settings,
            database,
            SyncService(settings, database, client, clock=clock.now),
            flavor,
        )
        database.dispose()


def test_every_comment_is_stored_with_its_text_edit_and_visibility(site: Site) -> None:
    report = site.sync.sync_client(site.settings.client("ACME"))
    busy = site.issues()["ACME-1"]
    assert len(busy.comments) == COMMENTS
    assert [c.id for c in busy.comments] == [
        c.id for c in site.simulator.dataset.issue("ACME-1").comments
    ]
    first = busy.comments[0]
    # ADF on Cloud (a hardBreak between the lines), wiki markup on Data Center: the same text.
    assert first.body == "Comment 0: make it pop\nline two"
    assert first.author_account == (PM[0] if site.flavor == "cloud" else "pm")
    edited = busy.comments[3]
    assert edited.body == "Edited text" and edited.edited
    assert edited.update_author_account == (PM[0] if site.flavor == "cloud" else "pm")
    internal = {n for n, c in enumerate(busy.comments) if c.internal}
    # jsdPublic exists on Cloud only; a role restriction on both.
    assert internal == ({10, 60, 77, 110, 160, 210} if site.flavor == "cloud" else {77})
    assert busy.description == "Сделайте красиво.\nКак обсуждали."
    assert busy.priority == "High" and busy.due_date == date(2026, 10, 1)
    assert busy.assignee_account == (PM[0] if site.flavor == "cloud" else "pm")
    assert busy.created_by == (CLIENT[0] if site.flavor == "cloud" else "client")
    # The lower bound: ceil((250 − 20 inline) ÷ 100) = 3 pages for the busy issue, none
    # for the quiet one.
    missing = COMMENTS - INLINE_COMMENT_CAP
    assert site.comment_requests() == -(-missing // 100) == 3
    assert report.requests >= 3
    assert len(site.issues()["ACME-2"].comments) == 3


def test_an_incremental_sync_completes_only_what_changed(site: Site) -> None:
    client = site.settings.client("ACME")
    site.sync.sync_client(client)
    before = site.comment_requests()
    site.sync.sync_client(client)
    assert site.comment_requests() == before  # nothing changed: no comment page read
    later = clock.now() + timedelta(minutes=1)
    site.simulator.dataset.add_comment("ACME-1", "One more", later, CLIENT)
    site.sync.sync_client(client)
    assert site.comment_requests() == before + 3
    assert len(site.issues()["ACME-1"].comments) == COMMENTS + 1


def test_groups_and_emails_become_the_directory(site: Site) -> None:
    site.sync.sync_client(site.settings.client("ACME"))
    directory = load(site.database)
    if site.flavor == "cloud":
        assert directory.groups["Designers"] == frozenset({DESIGNER[0], PM[0]})
        assert directory.emails == {DESIGNER[0]: "dana@agency.example"}
    else:
        assert directory.groups["Designers"] == frozenset({"designer", "pm"})
        assert directory.emails == {"designer": "dana@agency.example"}
    assert directory.groups["Nobody"] == frozenset()
    people = site.settings.client_people(site.settings.client("ACME"), directory)
    pm = PM[0] if site.flavor == "cloud" else "pm"
    assert people.sides.is_agency(pm, clock.now())
    assert not people.sides.is_agency(CLIENT[0], clock.now())
    # Looked up once per metadata TTL: a second sync asks for none of it again.
    lookups = [
        r for r in site.simulator.requests if "/group/member" in r.path or "/user/search" in r.path
    ]
    site.sync.sync_client(site.settings.client("ACME"))
    again = [
        r for r in site.simulator.requests if "/group/member" in r.path or "/user/search" in r.path
    ]
    assert len(again) == len(lookups) == 3
