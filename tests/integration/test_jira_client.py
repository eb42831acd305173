"""The Jira client over real HTTP against the simulator, for Cloud and Data Center.

Sleeping is injected (recorded, never waited), so rate-limit storms and backoff
run instantly; the request counts are the client's own ``requests_made`` checked
against what the simulator served.
"""

from __future__ import annotations

import json
import math
import random
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

import pytest
import requests

from jira_simulator import Dataset, JiraSimulator, load_real, serve
from scopeguard.adapters.jira import (
    ISSUE_FIELDS,
    JiraAuthError,
    JiraClient,
    JiraMalformedResponse,
    JiraUnavailable,
    parse_issue,
)
from scopeguard.adapters.jira.retry import BackoffPolicy, server_delay
from scopeguard.adapters.jira.transport import SITE_HOLD_REREAD_SECONDS
from scopeguard.adapters.store.db import Database, DatabaseUnavailableError
from scopeguard.adapters.store.site_holds import SiteHolds
from scopeguard.config import JiraSettings
from scopeguard.domain.model import Issue, StatusCategory
from tests.support.paths import REAL_JIRA

MOSCOW = ZoneInfo("Europe/Moscow")
BASE = datetime(2026, 3, 2, 9, 0, tzinfo=MOSCOW)
EMAIL, TOKEN, PAT = "pm@agency.example", "token", "pat-token"
FLAVORS = ("cloud", "datacenter")


def settings_for(url: str, flavor: str, **extra: Any) -> JiraSettings:
    """Settings as a user would write them; ``deployment`` stays ``auto`` unless given."""
    credentials: dict[str, Any] = (
        {"email": EMAIL, "api_token": TOKEN} if flavor == "cloud" else {"pat": PAT}
    )
    return JiraSettings.model_validate({"url": url, **credentials, **extra})


class Sleeps(list[float]):
    """An injected ``sleep`` that records the requested waits and returns at once."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


class Recorder:
    """A requests response hook keeping what the client actually sent."""

    def __init__(self) -> None:
        self.sent: list[requests.PreparedRequest] = []

    def __call__(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.sent.append(response.request)

    def params(self, path: str) -> list[dict[str, list[str]]]:
        return [
            parse_qs(urlparse(r.url or "").query)
            for r in self.sent
            if urlparse(r.url or "").path == path
        ]

    def bodies(self, path: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for r in self.sent:
            if urlparse(r.url or "").path == path:
                body = r.body.decode() if isinstance(r.body, bytes) else r.body
                found.append(json.loads(body or "{}"))
        return found


def recording_session() -> tuple[requests.Session, Recorder]:
    session = requests.Session()
    recorder = Recorder()
    session.hooks["response"].append(recorder)
    return session, recorder


def acme_dataset(issues: int = 250, long_history: int = 130) -> tuple[Dataset, str]:
    """ACME issues, one of which (returned key) has ``long_history`` histories.

    Its oldest transitions are the ones a truncated changelog would lose.
    """
    ds = Dataset.with_default_workflow(user_timezone="Europe/Moscow")
    ds.add_project(key="ACME", name="ACME Corp")
    created = [
        ds.add_issue(project="ACME", summary=f"Task {n}", created=BASE + timedelta(minutes=n))
        for n in range(issues)
    ]
    key = created[3].key
    at = BASE + timedelta(days=1)
    ds.transition(key, "In Progress", at=at, author=("acc-first", "First Mover"))
    for n in range(1, long_history):
        target = "To Do" if n % 2 else "In Progress"
        ds.transition(key, target, at=at + timedelta(minutes=n), author=("acc-1", "Dev"))
    ds.transition(created[0].key, "In Progress", at=at, author=("acc-2", "Other Dev"))
    ds.transition(created[0].key, "Done", at=at + timedelta(hours=2), author=("acc-2", "Other Dev"))
    return ds, key


@pytest.fixture(scope="module")
def acme() -> tuple[Dataset, str]:
    return acme_dataset()


def read_all(client: JiraClient, jql: str, batch_size: int = 100) -> list[list[dict[str, Any]]]:
    fields = [*ISSUE_FIELDS, client.story_points_field_id() or "customfield_10016"]
    return list(client.iter_issue_batches(jql, fields=fields, batch_size=batch_size))


def parse_all(client: JiraClient, batches: list[list[dict[str, Any]]]) -> dict[str, Issue]:
    statuses = client.statuses()
    points = client.story_points_field_id()
    return {
        raw["key"]: parse_issue(raw, statuses=statuses, story_points_field=points)
        for batch in batches
        for raw in batch
    }


def fingerprint(batches: list[list[dict[str, Any]]]) -> list[tuple[str, list[str]]]:
    return [
        (raw["key"], [h["id"] for h in raw["changelog"]["histories"]])
        for batch in batches
        for raw in batch
    ]


# --- metadata ---------------------------------------------------------------------------


@pytest.mark.parametrize("flavor", FLAVORS)
def test_metadata_and_deployment_detection(flavor: str, acme: tuple[Dataset, str]) -> None:
    ds, _ = acme
    sim = JiraSimulator(ds, flavor=flavor)
    with serve(sim) as url:
        client = JiraClient(settings_for(url, flavor), sleep=Sleeps())
        assert client.deployment == flavor
        assert client.deployment == flavor  # cached: asked once
        assert sim.request_count("/rest/api/2/serverInfo") == 1

        statuses = client.statuses()
        by_name = {s.name: s for s in statuses.values()}
        assert by_name["Принято клиентом"].category is StatusCategory.DONE
        assert by_name["To Do"].category is StatusCategory.NEW
        assert all(status_id == s.id for status_id, s in statuses.items())

        expected_points = "customfield_10016" if flavor == "cloud" else "customfield_10002"
        assert client.story_points_field_id() == expected_points
        assert client.user_timezone() == MOSCOW
        client.user_timezone()
        client.story_points_field_id()
        api = "/rest/api/3" if flavor == "cloud" else "/rest/api/2"
        assert sim.request_count(f"{api}/status") == 1
        assert sim.request_count(f"{api}/field") == 1
        assert sim.request_count(f"{api}/myself") == 1
        assert client.requests_made == sim.request_count() == 4


@pytest.mark.parametrize("flavor", FLAVORS)
def test_metadata_is_cached_for_its_ttl_and_read_again_after_it_or_when_told(
    flavor: str, acme: tuple[Dataset, str]
) -> None:
    now = [1_000_000.0]
    sim = JiraSimulator(acme[0], flavor=flavor)
    with serve(sim) as url:
        settings = settings_for(url, flavor, deployment=flavor, metadata_ttl_minutes=30)
        client = JiraClient(settings, clock=lambda: now[0])
        client.refresh_metadata()  # statuses, field and user's zone, at once
        api = "/rest/api/3" if flavor == "cloud" else "/rest/api/2"
        paths = (f"{api}/status", f"{api}/field", f"{api}/myself")
        assert [sim.request_count(path) for path in paths] == [1, 1, 1]
        now[0] += 29 * 60
        client.refresh_metadata()
        client.statuses()
        client.story_points_field_id()
        client.user_timezone()
        assert sim.request_count() == 3
        now[0] += 2 * 60  # past the TTL
        client.statuses()
        client.story_points_field_id()
        assert [sim.request_count(path) for path in paths] == [2, 2, 1]
        client.invalidate_metadata()  # a webhook said something changed
        client.refresh_metadata()
        assert [sim.request_count(path) for path in paths] == [3, 3, 2]
        assert client.statuses(refresh=True)
        assert sim.request_count(paths[0]) == 4


def test_configured_story_points_field_needs_no_request(acme: tuple[Dataset, str]) -> None:
    sim = JiraSimulator(acme[0], flavor="cloud")
    with serve(sim) as url:
        settings = settings_for(
            url, "cloud", deployment="cloud", story_points_field="customfield_10099"
        )
        client = JiraClient(settings)
        assert client.story_points_field_id() == "customfield_10099"
        assert client.requests_made == 0


@pytest.mark.parametrize("flavor", FLAVORS)
def test_both_credentials_pick_the_one_that_fits(flavor: str, acme: tuple[Dataset, str]) -> None:
    sim = JiraSimulator(acme[0], flavor=flavor)
    session, recorder = recording_session()
    with serve(sim) as url:
        settings = settings_for(url, flavor, email=EMAIL, api_token=TOKEN, pat=PAT)
        client = JiraClient(settings, session=session)
        assert client.user_timezone() == MOSCOW
    server_info, myself = recorder.sent
    # serverInfo is asked anonymously: which credential to send depends on its answer.
    assert "Authorization" not in server_info.headers
    scheme = myself.headers["Authorization"].split()[0]
    assert scheme == ("Basic" if flavor == "cloud" else "Bearer")


def test_jql_datetime_is_in_the_users_zone_and_selects_by_update() -> None:
    ds = Dataset.with_default_workflow(user_timezone="America/Los_Angeles")
    ds.add_project(key="ZONE", name="Zones")
    early = ds.add_issue(project="ZONE", summary="early", created=BASE)
    late = ds.add_issue(project="ZONE", summary="late", created=BASE)
    ds.transition(early.key, "In Progress", at=datetime(2026, 9, 1, 16, 59, tzinfo=UTC))
    ds.transition(late.key, "In Progress", at=datetime(2026, 9, 1, 17, 1, tzinfo=UTC))
    sim = JiraSimulator(ds, flavor="cloud")
    with serve(sim) as url:
        client = JiraClient(settings_for(url, "cloud"))
        moment = datetime(2026, 9, 1, 17, 0, tzinfo=UTC)  # 10:00 in Los Angeles (PDT)
        assert client.jql_datetime(moment) == '"2026/09/01 10:00"'
        assert client.jql_datetime(moment.astimezone(MOSCOW)) == '"2026/09/01 10:00"'
        jql = f"project = ZONE AND updated >= {client.jql_datetime(moment)}"
        keys = [key for page in client.iter_issue_ids(jql) for _, key in page]
        assert keys == [late.key]
        with pytest.raises(ValueError, match="aware"):
            client.jql_datetime(datetime(2026, 9, 1, 10, 0))


# --- reading issues -----------------------------------------------------------------------


def test_cloud_pages_search_and_recovers_long_histories_with_bulkfetch(
    acme: tuple[Dataset, str],
) -> None:
    ds, long_key = acme
    sim = JiraSimulator(ds, flavor="cloud")
    session, recorder = recording_session()
    with serve(sim) as url:
        client = JiraClient(settings_for(url, "cloud", deployment="cloud"), session=session)
        client.story_points_field_id()
        before = client.requests_made
        batches = read_all(client, "project = ACME ORDER BY key ASC", batch_size=100)
        used = client.requests_made - before
        issues = parse_all(client, batches)

    assert [len(b) for b in batches] == [100, 100, 50]
    assert len(issues) == 250
    # 3 search pages and one bulkfetch per batch, nothing per issue.
    assert used == 6
    assert sim.request_count("/rest/api/3/search/jql") == 3
    assert sim.request_count("/rest/api/3/changelog/bulkfetch") == 3
    assert sim.request_count("/rest/api/3/issue/") == 0
    for params in recorder.params("/rest/api/3/search/jql"):
        assert "expand" not in params  # Cloud's inline changelog is truncated: never used
        assert params["maxResults"] == ["100"]
    for body in recorder.bodies("/rest/api/3/changelog/bulkfetch"):
        assert set(body) <= {"issueIdsOrKeys", "maxResults", "nextPageToken"}
        assert body["maxResults"] == 10000

    for batch in batches:
        for raw in batch:
            changelog = raw["changelog"]
            assert changelog["total"] == len(changelog["histories"])
            assert changelog["total"] == len(ds.issue(raw["key"]).histories)
    long_issue = issues[long_key]
    assert len(long_issue.status_changes) == 130
    first = long_issue.status_changes[0]
    assert (first.from_string, first.to_string, first.author_account) == (
        "To Do",
        "In Progress",
        "acc-first",
    )
    moments = [c.created for c in long_issue.changes]
    assert moments == sorted(moments)
    done = issues["ACME-1"]
    assert done.status.category is StatusCategory.DONE
    assert done.resolution == "Done"


def test_cloud_bulkfetch_pages_span_issues() -> None:
    ds = Dataset.with_default_workflow(user_timezone="Europe/Moscow")
    ds.generate_bulk(project="SPAN", issues=120, histories_per_issue=90)  # 10,800 histories
    sim = JiraSimulator(ds, flavor="cloud")
    with serve(sim) as url:
        client = JiraClient(settings_for(url, "cloud", deployment="cloud"))
        batches = read_all(client, "project = SPAN", batch_size=1000)
    # Streamed as bulkfetch pages complete issues: one group per page, none lost.
    assert len(batches) == 2
    assert sorted(raw["key"] for b in batches for raw in b) == sorted(i.key for i in ds.issues)
    assert sim.request_count("/rest/api/3/changelog/bulkfetch") == 2
    for raw in (raw for b in batches for raw in b):
        expected = [h.id for h in ds.issue(raw["key"]).histories]
        assert sorted(h["id"] for h in raw["changelog"]["histories"]) == sorted(expected)
        assert raw["changelog"]["total"] == 90


def test_dc_pages_by_the_server_cap_and_completes_truncated_changelogs(
    acme: tuple[Dataset, str],
) -> None:
    ds, long_key = acme
    sim = JiraSimulator(ds, flavor="datacenter", max_results_cap=40, dc_inline_changelog_cap=100)
    session, recorder = recording_session()
    with serve(sim) as url:
        client = JiraClient(
            settings_for(url, "datacenter", deployment="datacenter"), session=session
        )
        client.story_points_field_id()
        before = client.requests_made
        batches = read_all(client, "project = ACME ORDER BY key ASC", batch_size=100)
        used = client.requests_made - before
        issues = parse_all(client, batches)

    assert [len(b) for b in batches] == [100, 100, 50]
    searches = recorder.params("/rest/api/2/search")
    assert len(searches) == math.ceil(250 / 40)
    assert searches[0]["maxResults"] == ["1000"]
    assert all(p["maxResults"] == ["40"] for p in searches[1:])  # read back from the server
    assert [p["startAt"] for p in searches] == [[str(n)] for n in range(0, 250, 40)]
    assert all(p["expand"] == ["changelog"] for p in searches)
    # One follow-up, for the only issue whose inline changelog was truncated.
    assert sim.request_count(f"/rest/api/2/issue/{ds.issue(long_key).id}") == 1
    assert used == len(searches) + 1

    long_issue = issues[long_key]
    assert len(long_issue.status_changes) == 130
    assert long_issue.status_changes[0].author_account == "acc-first"
    assert long_issue.status_changes[0].author_name == "First Mover"
    raw = next(r for b in batches for r in b if r["key"] == long_key)
    assert raw["changelog"]["total"] == len(raw["changelog"]["histories"]) == 130
    created = [h["created"] for h in raw["changelog"]["histories"]]
    assert created == sorted(created)


class WithoutBulkfetch(requests.adapters.HTTPAdapter):
    """A transport for a site (or proxy) without ``changelog/bulkfetch``: it answers 404."""

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        if urlparse(request.url or "").path.endswith("/changelog/bulkfetch"):
            response = requests.Response()
            response.status_code = 404
            response._content = b'{"errorMessages":["Null or not found."]}'
            response.headers["Content-Type"] = "application/json"
            response.request, response.url = request, request.url or ""
            return response
        return super().send(request, *args, **kwargs)


def test_cloud_falls_back_to_paged_issue_changelogs_without_bulkfetch(
    acme: tuple[Dataset, str],
) -> None:
    ds, long_key = acme
    sim = JiraSimulator(ds, flavor="cloud")
    session = requests.Session()
    session.mount("http://", WithoutBulkfetch())
    with serve(sim) as url:
        client = JiraClient(settings_for(url, "cloud", deployment="cloud"), session=session)
        fields = list(ISSUE_FIELDS)
        batches = list(client.iter_issue_batches("project = ACME", fields=fields, batch_size=100))
        issues = parse_all(client, batches)
    assert len(issues) == 250
    assert len(issues[long_key].status_changes) == 130
    assert issues[long_key].status_changes[0].author_account == "acc-first"
    # Tried once, then remembered: one request per issue, two for the 130-history one.
    assert client.requests_made - 2 == 3 + 1 + 250 + 1
    assert sim.request_count("/rest/api/3/issue/") == 251


def sync_read(
    client: JiraClient,
    jql: str,
    *,
    batch_size: int = 1000,
    concurrency: int = 1,
    full: bool = False,
) -> dict[str, Issue]:
    """The sync's own path (typed pages, the one-pass parser, reading ahead), each issue
    once; with one worker a Cloud read makes its bulkfetch requests across batches."""
    groups = client.iter_issues(
        jql,
        fields=[*ISSUE_FIELDS, client.story_points_field_id() or "customfield_10016"],
        statuses=client.statuses(),
        story_points_field=client.story_points_field_id(),
        prepare=lambda fetched: fetched.issue,
        batch_size=batch_size,
        concurrency=concurrency,
        full=full,
    )
    read: dict[str, Issue] = {}
    for group in groups:
        for issue in group:
            assert issue.key not in read
            read[issue.key] = issue
    return read


def test_one_worker_falls_back_to_paged_issue_changelogs_without_bulkfetch(
    acme: tuple[Dataset, str],
) -> None:
    ds, long_key = acme
    sim = JiraSimulator(ds, flavor="cloud")
    with serve(sim) as url:
        settings = settings_for(url, "cloud", deployment="cloud")
        expected = parse_all(
            JiraClient(settings), read_all(JiraClient(settings), "project = ACME", 100)
        )
        session = requests.Session()
        session.mount("http://", WithoutBulkfetch())
        client = JiraClient(settings, session=session)
        client.statuses()
        client.story_points_field_id()
        sim.reset_requests()
        before = client.requests_made
        issues = sync_read(client, "project = ACME", batch_size=100)
    assert issues == expected
    assert len(issues[long_key].status_changes) == 130
    # Tried once, then remembered: three search pages, the one bulkfetch that was
    # answered 404, and the issues' changelog pages (two for the 130-history one).
    assert client.requests_made - before == 3 + 1 + 251
    assert sim.request_count("/rest/api/3/search/jql") == 3
    assert sim.request_count("/rest/api/3/issue/") == 251


def test_one_worker_reads_bulkfetch_pages_ahead_across_batches() -> None:
    # 2,100 issues of 12 histories: three batches of up to 1,000 issues, whose
    # 12,000 histories take two bulkfetch pages each (an issue split between them).
    ds = Dataset.with_default_workflow(user_timezone="Europe/Moscow")
    ds.generate_bulk(project="BULK", issues=2100, histories_per_issue=12)
    sim = JiraSimulator(ds, flavor="cloud")
    with serve(sim) as url:
        settings = settings_for(url, "cloud", deployment="cloud")
        expected = parse_all(
            JiraClient(settings), read_all(JiraClient(settings), "project = BULK", 1000)
        )
        client = JiraClient(settings)
        client.statuses()
        client.story_points_field_id()
        sim.reset_requests()
        issues = sync_read(client, "project = BULK ORDER BY key")
    assert issues == expected
    assert sum(len(issue.changes) for issue in issues.values()) == sum(
        len(h.items) for issue in ds.issues for h in issue.histories
    )
    assert sim.request_count("/rest/api/3/search/jql") == 21
    assert sim.request_count("/rest/api/3/changelog/bulkfetch") == 2 + 2 + 1


@pytest.mark.parametrize("flavor", FLAVORS)
def test_issue_ids_are_listed_cheaply(flavor: str) -> None:
    ds = Dataset.with_default_workflow(user_timezone="Europe/Moscow")
    made = ds.generate_bulk(project="IDS", issues=1200, histories_per_issue=1)
    sim = JiraSimulator(ds, flavor=flavor, max_results_cap=1000)
    session, recorder = recording_session()
    with serve(sim) as url:
        client = JiraClient(settings_for(url, flavor, deployment=flavor), session=session)
        pages = list(client.iter_issue_ids("project = IDS ORDER BY key ASC"))
    listed = [pair for page in pages for pair in page]
    assert sorted(listed) == sorted((i.id, i.key) for i in made)
    if flavor == "cloud":
        assert len(pages) == 1 and client.requests_made == 1
        (params,) = recorder.params("/rest/api/3/search/jql")
        assert params["fields"] == ["key"] and params["maxResults"] == ["5000"]
    else:
        assert len(pages) == 2 and client.requests_made == 2
        assert all(p["fields"] == ["key"] for p in recorder.params("/rest/api/2/search"))


def test_cloud_request_count_for_2500_issues_stays_near_the_lower_bound() -> None:
    ds = Dataset.with_default_workflow(user_timezone="Europe/Moscow")
    ds.generate_bulk(project="BULK", issues=2500, histories_per_issue=12)
    sim = JiraSimulator(ds, flavor="cloud")
    with serve(sim) as url:
        client = JiraClient(settings_for(url, "cloud", deployment="cloud"))
        client.story_points_field_id()
        sim.reset_requests()
        before = client.requests_made
        batches = read_all(client, "project = BULK", batch_size=1000)
        used = client.requests_made - before
    issues = sum(len(b) for b in batches)
    histories = sum(len(raw["changelog"]["histories"]) for b in batches for raw in b)
    assert (issues, histories) == (2500, 2500 * 12)
    # Fewest possible: 100 issues per search page, 10,000 histories per bulkfetch page.
    lower_bound = math.ceil(issues / 100) + math.ceil(histories / 10000)
    pages = sim.request_count("/rest/api/3/search/jql") + sim.request_count(
        "/rest/api/3/changelog/bulkfetch"
    )
    assert used == sim.request_count() == pages
    assert used <= 1.1 * lower_bound, (used, lower_bound)


@pytest.mark.parametrize("flavor", FLAVORS)
def test_real_captured_issues_survive_the_round_trip(flavor: str) -> None:
    real = REAL_JIRA
    ds = Dataset(user_timezone="Europe/Moscow")
    loaded = load_real(ds, real)
    projects = sorted(
        {key.rsplit("-", 1)[0] for s in loaded.sources.values() for key in s.issue_keys}
    )
    sim = JiraSimulator(ds, flavor=flavor)
    with serve(sim) as url:
        client = JiraClient(settings_for(url, flavor))
        batches = read_all(client, f"project in ({', '.join(projects)})", batch_size=1000)
        issues = parse_all(client, batches)
    assert len(issues) == loaded.issue_count == 21
    assert sum(len(raw["changelog"]["histories"]) for b in batches for raw in b) == (
        loaded.history_count
    )
    items = sum(len(h.items) for issue in ds.issues for h in issue.histories)
    assert sum(len(issue.changes) for issue in issues.values()) == items
    reopened = [c.to_string for c in issues["PUP-3483"].status_changes]
    assert reopened == ["Resolved", "Open"]
    # The sync's own path (typed pages, one-pass parser, read ahead by four workers)
    # gives the very issues the raw JSON gives through parse_issue.
    with serve(sim) as url:
        client = JiraClient(settings_for(url, flavor))
        fast = sync_read(client, f"project in ({', '.join(projects)})", concurrency=4, full=True)
        assert fast == issues


# --- failures -------------------------------------------------------------------------------


@pytest.mark.parametrize("flavor", FLAVORS)
def test_a_429_storm_is_ridden_out_honouring_retry_after(
    flavor: str, acme: tuple[Dataset, str]
) -> None:
    ds, _ = acme
    sim = JiraSimulator(ds, flavor=flavor, max_results_cap=100)
    with serve(sim) as url:
        settings = settings_for(url, flavor, deployment=flavor, max_attempts=10)
        calm = JiraClient(settings)
        expected = fingerprint(read_all(calm, "project = ACME ORDER BY key ASC"))

        sleeps = Sleeps()
        client = JiraClient(settings, sleep=sleeps)
        points = client.story_points_field_id()  # outside the storm
        sim.faults.rate_limit(next_requests=8, retry_after=1)
        before = client.requests_made
        batches = read_all(client, "project = ACME ORDER BY key ASC")
        assert points is not None
    assert fingerprint(batches) == expected
    assert sleeps == [1.0] * 8
    assert client.requests_made - before == calm.requests_made - 1 + 8


def test_503s_are_retried_with_capped_jittered_backoff(acme: tuple[Dataset, str]) -> None:
    ds, _ = acme
    sim = JiraSimulator(ds, flavor="cloud")
    with serve(sim) as url:
        settings = settings_for(url, "cloud", deployment="cloud", max_backoff_seconds=3)
        sleeps = Sleeps()
        client = JiraClient(settings, sleep=sleeps, rng=random.Random(7))
        sim.faults.fail(next_requests=5, status=503)
        statuses = client.statuses()
    assert len(statuses) == len(ds.statuses)
    assert client.requests_made == 6
    assert len(sleeps) == 5
    # Exponential steps 1, 2, 4→3 (capped), 3, 3; each wait is half fixed, half random.
    for wait, step in zip(sleeps, [1, 2, 3, 3, 3], strict=True):
        assert step / 2 <= wait <= step


def test_a_503_with_retry_after_is_honoured(acme: tuple[Dataset, str]) -> None:
    sim = JiraSimulator(acme[0], flavor="datacenter")
    with serve(sim) as url:
        sleeps = Sleeps()
        client = JiraClient(settings_for(url, "datacenter", deployment="datacenter"), sleep=sleeps)
        sim.faults.fail(next_requests=2, status=503, retry_after=7)
        assert client.user_timezone() == MOSCOW
    assert sleeps == [7.0, 7.0]


@pytest.mark.parametrize("flavor", FLAVORS)
def test_exhausted_attempts_raise_unavailable(flavor: str, acme: tuple[Dataset, str]) -> None:
    sim = JiraSimulator(acme[0], flavor=flavor)
    with serve(sim) as url:
        sleeps = Sleeps()
        client = JiraClient(
            settings_for(url, flavor, deployment=flavor, max_attempts=3), sleep=sleeps
        )
        sim.faults.go_down_after(2)
        with pytest.raises(JiraUnavailable) as caught:
            read_all(client, "project = ACME ORDER BY key ASC")
    error = caught.value
    assert error.status == 503 and error.attempts == 3
    assert "503" in str(error) and "3 attempts" in str(error)
    assert len(sleeps) == 2
    assert client.requests_made == sim.request_count() == 2 + 3


def test_rate_limit_longer_than_the_backoff_cap_fails_at_once(acme: tuple[Dataset, str]) -> None:
    sim = JiraSimulator(acme[0], flavor="cloud")
    with serve(sim) as url:
        sleeps = Sleeps()
        client = JiraClient(settings_for(url, "cloud", deployment="cloud"), sleep=sleeps)
        sim.faults.rate_limit(next_requests=5, retry_after=600)
        with pytest.raises(JiraUnavailable, match="max_backoff_seconds") as caught:
            client.statuses()
    assert caught.value.status == 429
    assert sleeps == []
    assert client.requests_made == 1


# --- the site's Retry-After, shared between processes ---------------------------------------


@pytest.fixture
def site_holds(database_url: str) -> Iterator[SiteHolds]:
    """The database-kept site holds every worker's transport shares."""
    database = Database(database_url)
    database.upgrade()
    yield SiteHolds(database)
    database.dispose()


class Posix:
    """An injected POSIX clock the test sets."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_429_is_recorded_for_the_site_and_another_process_waits_it_out_first(
    acme: tuple[Dataset, str], site_holds: SiteHolds
) -> None:
    sim = JiraSimulator(acme[0], flavor="cloud")
    clock = Posix(1_800_000_000.0)
    with serve(sim) as url:
        settings = settings_for(url, "cloud", deployment="cloud")
        first_sleeps = Sleeps()
        first = JiraClient(settings, sleep=first_sleeps, clock=clock, site_hold=site_holds)
        sim.faults.rate_limit(next_requests=1, retry_after=3)
        first.statuses()
        assert first_sleeps == [3.0]  # its own wait, once: the hold it wrote is the same
        assert site_holds.not_before(settings.base_url) == 1_800_000_003.0

        # A second worker, a second later: it waits the remaining 2 s before sending.
        clock.now += 1
        served_when_waiting: list[int] = []

        def second_sleep(seconds: float) -> None:
            served_when_waiting.append(sim.request_count())
            first_sleeps.append(seconds)

        served = sim.request_count()
        second = JiraClient(settings, sleep=second_sleep, clock=clock, site_hold=site_holds)
        assert second.user_timezone() == MOSCOW
    assert first_sleeps == [3.0, 2.0]
    assert served_when_waiting == [served]  # nothing was sent before the wait
    assert second.requests_made == 1
    assert [r.status for r in sim.requests].count(429) == 1


def test_a_shared_hold_longer_than_the_backoff_cap_fails_without_a_request(
    acme: tuple[Dataset, str], site_holds: SiteHolds
) -> None:
    sim = JiraSimulator(acme[0], flavor="cloud")
    clock = Posix(1_800_000_000.0)
    with serve(sim) as url:
        settings = settings_for(url, "cloud", deployment="cloud")
        site_holds.hold(settings.base_url, clock.now + 600, status=429)
        client = JiraClient(settings, sleep=Sleeps(), clock=clock, site_hold=site_holds)
        with pytest.raises(JiraUnavailable, match="max_backoff_seconds") as caught:
            client.statuses()
    assert caught.value.status == 429
    assert sim.request_count() == 0


def test_the_shared_hold_is_read_at_most_twice_a_second_not_per_request(
    acme: tuple[Dataset, str], site_holds: SiteHolds
) -> None:
    reads: list[str] = []

    class Counted:
        def not_before(self, site: str) -> float | None:
            reads.append(site)
            return site_holds.not_before(site)

        def hold(self, site: str, until: float, *, status: int, reason: str | None) -> None:
            site_holds.hold(site, until, status=status, reason=reason)

    sim = JiraSimulator(acme[0], flavor="cloud")
    with serve(sim) as url:
        client = JiraClient(
            settings_for(url, "cloud", deployment="cloud"), sleep=Sleeps(), site_hold=Counted()
        )
        started = time.monotonic()
        for _ in range(20):
            client.invalidate_metadata()
            client.statuses()
        elapsed = time.monotonic() - started
    assert sim.request_count() >= 20
    assert 1 <= len(reads) <= 1 + elapsed / SITE_HOLD_REREAD_SECONDS


def test_a_site_hold_that_cannot_be_read_does_not_stop_jira_requests(
    acme: tuple[Dataset, str], tmp_path: Path
) -> None:
    def unreachable() -> Database:
        raise DatabaseUnavailableError("cannot connect to the database")

    sim = JiraSimulator(acme[0], flavor="cloud")
    with serve(sim) as url:
        sleeps = Sleeps()
        client = JiraClient(
            settings_for(url, "cloud", deployment="cloud"),
            sleep=sleeps,
            site_hold=SiteHolds(unreachable),
        )
        sim.faults.rate_limit(next_requests=1, retry_after=1)
        assert len(client.statuses()) == len(acme[0].statuses)
    assert sleeps == [1.0]


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP port that accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def test_timeouts_are_retried_then_reported(silent_server: str) -> None:
    sleeps = Sleeps()
    settings = settings_for(
        silent_server, "datacenter", deployment="datacenter", timeout_seconds=0.2, max_attempts=2
    )
    client = JiraClient(settings, sleep=sleeps)
    with pytest.raises(JiraUnavailable, match="could not be reached after 2 attempts") as caught:
        client.statuses()
    assert caught.value.status is None and caught.value.attempts == 2
    assert len(sleeps) == 1 and client.requests_made == 2


def test_refused_connections_are_retried_then_reported() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again before use: nothing listens there
    sleeps = Sleeps()
    client = JiraClient(
        settings_for(f"http://127.0.0.1:{port}", "cloud", deployment="cloud", max_attempts=3),
        sleep=sleeps,
    )
    with pytest.raises(JiraUnavailable):
        client.user_timezone()
    assert client.requests_made == 3 and len(sleeps) == 2


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("kind", ["invalid_json", "missing_keys"])
def test_a_malformed_page_is_an_error_not_a_skip(
    flavor: str, kind: str, acme: tuple[Dataset, str]
) -> None:
    sim = JiraSimulator(acme[0], flavor=flavor, max_results_cap=100)
    with serve(sim) as url:
        client = JiraClient(settings_for(url, flavor, deployment=flavor), sleep=Sleeps())
        fields = list(ISSUE_FIELDS)
        pages = client.iter_issue_batches(
            "project = ACME ORDER BY key ASC", fields=fields, batch_size=100
        )
        first = next(pages)  # the first batch is fine
        sim.faults.malformed(next_requests=1, kind=kind)
        with pytest.raises(JiraMalformedResponse):
            next(pages)
    assert len(first) == 100


@pytest.mark.parametrize(
    ("flavor", "wrong", "keys"),
    [
        ("cloud", {"api_token": "expired"}, ("jira.email", "jira.api_token")),
        ("cloud", {"email": "someone@else.example"}, ("jira.email", "jira.api_token")),
        ("datacenter", {"pat": "revoked"}, ("jira.pat",)),
    ],
)
def test_wrong_credentials_name_the_key_to_fix(
    flavor: str, wrong: dict[str, str], keys: tuple[str, ...], acme: tuple[Dataset, str]
) -> None:
    sim = JiraSimulator(acme[0], flavor=flavor)
    with serve(sim) as url:
        for deployment in ("auto", flavor):
            client = JiraClient(settings_for(url, flavor, deployment=deployment, **wrong))
            with pytest.raises(JiraAuthError) as caught:
                client.statuses()
            assert caught.value.status == 401
            assert caught.value.config_keys == keys
            assert all(key in str(caught.value) for key in keys)
            assert client.requests_made == 1  # never retried


def test_pat_only_settings_against_cloud_explain_what_cloud_needs(
    acme: tuple[Dataset, str],
) -> None:
    sim = JiraSimulator(acme[0], flavor="cloud")
    with serve(sim) as url:
        client = JiraClient(settings_for(url, "datacenter", deployment="cloud"))
        with pytest.raises(JiraAuthError, match=r"jira\.email and jira\.api_token"):
            client.statuses()
        assert client.requests_made == 0


# --- retry hints (no HTTP) ------------------------------------------------------------------


def test_server_delay_reads_retry_after_and_rate_limit_reset() -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC).timestamp()
    assert server_delay({"Retry-After": "5"}, now) == 5.0
    assert server_delay({"retry-after": "2.5"}, now) == 2.5
    assert server_delay({"Retry-After": "Sun, 01 Mar 2026 12:00:30 GMT"}, now) == 30.0
    assert server_delay({"X-RateLimit-Reset": "2026-03-01T12:00:42.000Z"}, now) == 42.0
    assert server_delay({"X-RateLimit-Reset": "2026-03-01T15:01:00+03:00"}, now) == 60.0
    # Retry-After wins over the reset time; unusable or past hints give no advice.
    both = {"Retry-After": "3", "X-RateLimit-Reset": "2026-03-01T12:10:00Z"}
    assert server_delay(both, now) == 3.0
    assert server_delay({"X-RateLimit-Reset": "2026-03-01T11:59:00Z"}, now) is None
    assert server_delay({"Retry-After": "soon"}, now) is None
    assert server_delay({}, now) is None


class WithoutRetryAfter(requests.adapters.HTTPAdapter):
    """A transport that drops ``Retry-After``, leaving only ``X-RateLimit-Reset`` as the hint."""

    def build_response(self, req: Any, resp: Any) -> requests.Response:
        response = super().build_response(req, resp)
        response.headers.pop("Retry-After", None)
        return response


def test_rate_limit_reset_is_read_with_the_injected_clock(acme: tuple[Dataset, str]) -> None:
    jira_now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    sim = JiraSimulator(acme[0], flavor="cloud", clock=lambda: jira_now)
    session = requests.Session()
    session.mount("http://", WithoutRetryAfter())
    with serve(sim) as url:
        sleeps = Sleeps()
        client = JiraClient(
            settings_for(url, "cloud", deployment="cloud"),
            sleep=sleeps,
            session=session,
            clock=lambda: jira_now.timestamp() - 10,  # our clock is 10 s behind Jira's
        )
        sim.faults.rate_limit(next_requests=1, retry_after=4)  # resets at jira_now + 4 s
        client.statuses()
    assert sleeps == [14.0]


def test_backoff_grows_and_is_capped() -> None:
    policy = BackoffPolicy(max_attempts=6, max_backoff_seconds=10, rng=random.Random(1))
    waits = [policy.backoff(n) for n in range(1, 8)]
    for wait, step in zip(waits, [1, 2, 4, 8, 10, 10, 10], strict=True):
        assert step / 2 <= wait <= step
