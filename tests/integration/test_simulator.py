"""The Jira simulator over real HTTP: endpoints, pagination rules, caps, auth, faults."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from jira_simulator import Dataset, JiraSimulator, serve
from scopeguard.domain.timeparse import parse_jira_datetime

MOSCOW = ZoneInfo("Europe/Moscow")
T0 = datetime(2026, 9, 1, 10, 0, tzinfo=MOSCOW)
EMAIL, TOKEN, PAT = "pm@agency.example", "token", "pat-token"
DEV = ("712020:dev", "Dev One")
CLIENT = ("712020:client", "Client One")
LONG_HISTORY = 120


def build_dataset(issues: int = 60) -> Dataset:
    """ACME-1 has 120 histories; ACME-2 a varied life; the rest none."""
    ds = Dataset.with_default_workflow(user_timezone="Europe/Moscow")
    ds.add_project("ACME", "ACME Corp")
    ds.add_project("BETA", "Beta Ltd")
    for n in range(issues):
        ds.add_issue(
            "ACME",
            f"Deliverable {n + 1}",
            T0 + timedelta(minutes=10 * n),
            labels=["design"] if n % 2 else [],
            story_points=3,
            original_estimate_seconds=3600,
            reporter=CLIENT,
            description="First paragraph.\n\nSecond paragraph.",
        )
    at = T0 + timedelta(days=1)
    for n in range(LONG_HISTORY):
        ds.transition("ACME-1", "Client Review" if n % 2 == 0 else "In Progress", at, DEV)
        at += timedelta(minutes=1)
    ds.set_field("ACME-2", "story_points", 5, at, CLIENT)
    ds.set_field("ACME-2", "labels", ["change-request", "design"], at + timedelta(minutes=1), DEV)
    ds.transition("ACME-2", "In Progress", at + timedelta(minutes=2), DEV)
    ds.transition("ACME-2", "Done", at + timedelta(minutes=3), CLIENT)
    ds.transition("ACME-2", "In Progress", at + timedelta(minutes=4), CLIENT)
    ds.add_comment("ACME-2", "Make it pop", at + timedelta(minutes=5), CLIENT)
    return ds


@dataclass
class Site:
    """A running simulator and an authenticated session against it."""

    sim: JiraSimulator
    url: str
    http: requests.Session

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.http.get(self.url + path, params=params, timeout=10)

    def post(self, path: str, body: Any) -> requests.Response:
        return self.http.post(self.url + path, json=body, timeout=10)


def _site(sim: JiraSimulator, auth: Any) -> Iterator[Site]:
    with serve(sim) as url, requests.Session() as http:
        if isinstance(auth, tuple):
            http.auth = auth
        else:
            http.headers["Authorization"] = auth
        yield Site(sim, url, http)


@pytest.fixture
def cloud() -> Iterator[Site]:
    yield from _site(JiraSimulator(build_dataset(), flavor="cloud"), (EMAIL, TOKEN))


@pytest.fixture
def dc() -> Iterator[Site]:
    sim = JiraSimulator(build_dataset(), flavor="datacenter", dc_version="10.3.0")
    yield from _site(sim, f"Bearer {PAT}")


def all_pages(site: Site, **params: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Follow nextPageToken to the end; returns (issues, raw pages)."""
    issues: list[dict[str, Any]] = []
    pages: list[dict[str, Any]] = []
    token = None
    while True:
        query = dict(params)
        if token:
            query["nextPageToken"] = token
        response = site.get("/rest/api/3/search/jql", **query)
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append(page)
        issues += page["issues"]
        token = page.get("nextPageToken")
        if token is None:
            assert page["isLast"] is True
            return issues, pages
        assert page["isLast"] is False


# -- Cloud search ---------------------------------------------------------------------


@pytest.mark.parametrize("version", ["2", "3"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_cloud_old_search_is_gone(cloud: Site, version: str, method: str) -> None:
    path = f"{cloud.url}/rest/api/{version}/search"
    response = cloud.http.request(method, path, json={"jql": "project = ACME"}, timeout=10)
    assert response.status_code == 410
    assert "CHANGE-2046" in response.json()["errorMessages"][0]


def test_search_jql_defaults_to_ids_and_pages_by_token(cloud: Site) -> None:
    issues, pages = all_pages(cloud, jql="project = ACME")
    assert [len(p["issues"]) for p in pages] == [50, 10]  # maxResults defaults to 50
    assert all(set(issue) == {"id"} for issue in issues)  # fields defaults to id only
    assert all("total" not in p and "startAt" not in p for p in pages)
    ids = [int(issue["id"]) for issue in issues]
    assert ids == sorted(ids) and len(set(ids)) == 60
    assert "nextPageToken" not in pages[-1]


def test_search_jql_caps_page_size_by_requested_fields(cloud: Site) -> None:
    with_fields = cloud.get(
        "/rest/api/3/search/jql", jql="project = ACME", fields="summary", maxResults=1000
    ).json()
    assert len(with_fields["issues"]) == 60  # under the cap of 100
    ds = cloud.sim.dataset
    for n in range(60, 130):
        ds.add_issue("ACME", f"Extra {n}", T0 + timedelta(days=3, minutes=n))
    capped = cloud.get(
        "/rest/api/3/search/jql", jql="project = ACME", fields="summary,status", maxResults=1000
    ).json()
    assert len(capped["issues"]) == 100 and capped["isLast"] is False
    ids_only = cloud.get(
        "/rest/api/3/search/jql", jql="project = ACME", fields="key", maxResults=1000
    ).json()
    assert len(ids_only["issues"]) == 130 and ids_only["isLast"] is True
    assert set(ids_only["issues"][0]) == {"expand", "id", "self", "key"}


def test_search_jql_fields_selection(cloud: Site) -> None:
    body = cloud.get(
        "/rest/api/3/search/jql", jql="key = ACME-2", fields=["summary,status", "labels"]
    ).json()
    issue = body["issues"][0]
    assert issue["key"] == "ACME-2"
    assert set(issue["fields"]) == {"summary", "status", "labels"}
    assert issue["fields"]["status"]["statusCategory"]["key"] == "indeterminate"
    assert issue["fields"]["labels"] == ["change-request", "design"]
    everything = cloud.get("/rest/api/3/search/jql", jql="key = ACME-2", fields="*all,-comment")
    fields = everything.json()["issues"][0]["fields"]
    assert "comment" not in fields and fields["customfield_10016"] == 5.0
    assert fields["description"]["type"] == "doc"  # v3 speaks ADF
    navigable = cloud.get("/rest/api/3/search/jql", jql="key = ACME-2", fields="*navigable")
    assert "comment" not in navigable.json()["issues"][0]["fields"]
    v2 = cloud.get("/rest/api/2/search/jql", jql="key = ACME-2", fields="description").json()
    assert v2["issues"][0]["fields"]["description"] == "First paragraph.\n\nSecond paragraph."


def test_search_jql_post_matches_get_and_rejects_unknown_keys(cloud: Site) -> None:
    posted = cloud.post(
        "/rest/api/3/search/jql",
        {"jql": "project = ACME ORDER BY key DESC", "maxResults": 3, "fields": ["key"]},
    ).json()
    assert [i["key"] for i in posted["issues"]] == ["ACME-60", "ACME-59", "ACME-58"]
    follow = cloud.post(
        "/rest/api/3/search/jql",
        {
            "jql": "project = ACME ORDER BY key DESC",
            "maxResults": 3,
            "fields": ["key"],
            "nextPageToken": posted["nextPageToken"],
        },
    ).json()
    assert [i["key"] for i in follow["issues"]] == ["ACME-57", "ACME-56", "ACME-55"]
    bad = cloud.post("/rest/api/3/search/jql", {"jql": "project = ACME", "startAt": 0})
    assert bad.status_code == 400 and "startAt" in bad.json()["errorMessages"][0]


def test_search_jql_tokens_are_checked(cloud: Site) -> None:
    first = cloud.get("/rest/api/3/search/jql", jql="project = ACME", maxResults=10).json()
    garbage = cloud.get(
        "/rest/api/3/search/jql", jql="project = ACME", nextPageToken="not-a-token!!"
    )
    assert garbage.status_code == 400
    other_query = cloud.get(
        "/rest/api/3/search/jql", jql="project = BETA", nextPageToken=first["nextPageToken"]
    )
    assert other_query.status_code == 400


def test_search_jql_pages_come_from_one_snapshot(cloud: Site) -> None:
    first = cloud.get("/rest/api/3/search/jql", jql="project = ACME", maxResults=30).json()
    # A new issue arriving between pages does not shift the second page.
    cloud.sim.dataset.add_issue("ACME", "Late arrival", T0 - timedelta(days=30))
    second = cloud.get(
        "/rest/api/3/search/jql",
        jql="project = ACME",
        maxResults=30,
        nextPageToken=first["nextPageToken"],
    ).json()
    ids = [i["id"] for i in first["issues"] + second["issues"]]
    assert len(ids) == len(set(ids)) == 60 and second["isLast"] is True


def test_search_jql_refuses_unbounded_and_invalid_queries(cloud: Site) -> None:
    unbounded = cloud.get("/rest/api/3/search/jql", jql="ORDER BY created")
    assert unbounded.status_code == 400
    assert "Unbounded JQL" in unbounded.json()["errorMessages"][0]
    unknown = cloud.get("/rest/api/3/search/jql", jql="colour = red")
    assert unknown.status_code == 400
    assert unknown.json() == {
        "errorMessages": [
            "Field 'colour' does not exist or you do not have permission to view it."
        ],
        "errors": {},
    }
    missing = cloud.get("/rest/api/3/search/jql", jql="project = NOPE")
    assert "does not exist for the field 'project'" in missing.json()["errorMessages"][0]


def test_search_jql_reads_dates_in_the_user_zone(cloud: Site) -> None:
    # ACME-1 was created 2026-09-01 10:00 Moscow = 07:00 UTC.
    at_ten = cloud.get(
        "/rest/api/3/search/jql", jql='project = ACME AND created <= "2026/09/01 10:00"'
    )
    assert [i["id"] for i in at_ten.json()["issues"]] == [cloud.sim.dataset.issue("ACME-1").id]
    updated = cloud.get(
        "/rest/api/3/search/jql",
        jql='project = ACME AND updated >= "2026-09-02" ORDER BY updated DESC',
        fields="updated",
    ).json()
    keys = [i["key"] for i in updated["issues"]]
    assert keys == ["ACME-2", "ACME-1"]
    stamp = updated["issues"][0]["fields"]["updated"]
    assert stamp.endswith("+0300") and parse_jira_datetime(stamp).tzinfo is not None


def test_search_jql_inline_changelog_is_newest_forty(cloud: Site) -> None:
    body = cloud.get(
        "/rest/api/3/search/jql", jql="key in (ACME-1, ACME-3)", expand="changelog"
    ).json()
    by_id = {i["id"]: i for i in body["issues"]}
    long_one = by_id[cloud.sim.dataset.issue("ACME-1").id]["changelog"]
    assert long_one["total"] == LONG_HISTORY
    assert long_one["startAt"] == 0 and long_one["maxResults"] == 40
    histories = long_one["histories"]
    assert len(histories) == 40
    stamps = [parse_jira_datetime(h["created"]) for h in histories]
    assert stamps == sorted(stamps, reverse=True)  # newest first
    newest = cloud.sim.dataset.issue("ACME-1").histories[-1]
    assert histories[0]["id"] == newest.id
    empty = by_id[cloud.sim.dataset.issue("ACME-3").id]["changelog"]
    assert empty == {"startAt": 0, "maxResults": 0, "total": 0, "histories": []}


def test_approximate_count(cloud: Site) -> None:
    assert cloud.post("/rest/api/3/search/approximate-count", {"jql": "project = ACME"}).json() == {
        "count": 60
    }
    assert cloud.post("/rest/api/3/search/approximate-count", {"jql": ""}).status_code == 400


# -- changelogs ------------------------------------------------------------------------


def test_issue_changelog_pages_oldest_first(cloud: Site) -> None:
    seen: list[dict[str, Any]] = []
    start = 0
    while True:
        page = cloud.get("/rest/api/3/issue/ACME-1/changelog", startAt=start, maxResults=500)
        body = page.json()
        assert body["maxResults"] == 100  # capped
        assert body["total"] == LONG_HISTORY and body["startAt"] == start
        seen += body["values"]
        if body["isLast"]:
            assert "nextPage" not in body
            break
        assert body["nextPage"].endswith(f"startAt={start + 100}&maxResults=100")
        start += len(body["values"])
    ids = [int(h["id"]) for h in seen]
    assert ids == sorted(ids) and len(ids) == LONG_HISTORY
    stamps = [parse_jira_datetime(h["created"]) for h in seen]
    assert stamps == sorted(stamps)
    assert cloud.get("/rest/api/3/issue/NOPE-1/changelog").status_code == 404


def test_bulkfetch_orders_by_issue_then_oldest_and_spans_pages(cloud: Site) -> None:
    ds = cloud.sim.dataset
    wanted = ["ACME-2", "ACME-1", "ACME-3"]  # ACME-3 has no history
    expected = [(ds.issue(k).id, h.id) for k in ("ACME-1", "ACME-2") for h in ds.issue(k).histories]
    got: list[tuple[str, str]] = []
    body: dict[str, Any] = {"issueIdsOrKeys": wanted, "maxResults": 50}
    pages = 0
    while True:
        response = cloud.post("/rest/api/3/changelog/bulkfetch", body)
        assert response.status_code == 200, response.text
        page = response.json()
        pages += 1
        assert sum(len(log["changeHistories"]) for log in page["issueChangeLogs"]) <= 50
        got += [
            (log["issueId"], h["id"])
            for log in page["issueChangeLogs"]
            for h in log["changeHistories"]
        ]
        if "nextPageToken" not in page:
            break
        body["nextPageToken"] = page["nextPageToken"]
    assert got == expected
    assert pages == 3  # 125 histories, 50 a page: ACME-1 spans all three


def test_bulkfetch_filters_by_field_ids(cloud: Site) -> None:
    page = cloud.post(
        "/rest/api/3/changelog/bulkfetch",
        {"issueIdsOrKeys": ["ACME-2"], "fieldIds": ["customfield_10016", "labels"]},
    ).json()
    histories = page["issueChangeLogs"][0]["changeHistories"]
    items = [item for h in histories for item in h["items"]]
    assert [i["fieldId"] for i in items] == ["customfield_10016", "labels"]
    assert items[0]["field"] == "Story point estimate"
    assert (items[0]["fromString"], items[0]["toString"]) == ("3", "5")
    assert (items[1]["fromString"], items[1]["toString"]) == ("design", "change-request design")
    resolution_only = cloud.post(
        "/rest/api/3/changelog/bulkfetch",
        {"issueIdsOrKeys": ["ACME-2", "ACME-3"], "fieldIds": ["resolution"]},
    ).json()
    entries = resolution_only["issueChangeLogs"][0]["changeHistories"]
    assert [[i["toString"] for i in h["items"]] for h in entries] == [["Done"], [None]]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"issueIdsOrKeys": []}, "between 1 and 1000"),
        ({"issueIdsOrKeys": [f"ACME-{n}" for n in range(1001)]}, "between 1 and 1000"),
        ({"issueIdsOrKeys": ["ACME-1"], "fieldIds": [f"f{n}" for n in range(11)]}, "at most 10"),
        ({"issueIdsOrKeys": ["ACME-1"], "maxResults": 10001}, "between 1 and 10000"),
        ({"issueIdsOrKeys": ["ACME-1"], "maxResults": 0}, "between 1 and 10000"),
        ({"issueIdsOrKeys": ["ACME-1"], "startAt": 0}, 'Unrecognized field "startAt"'),
        ({"issueIdsOrKeys": ["ACME-1"], "nextPageToken": "bogus"}, "token is invalid"),
        ({"fieldIds": ["status"]}, "issueIdsOrKeys"),
    ],
)
def test_bulkfetch_limits(cloud: Site, body: dict[str, Any], fragment: str) -> None:
    response = cloud.post("/rest/api/3/changelog/bulkfetch", body)
    assert response.status_code == 400
    assert fragment in response.json()["errorMessages"][0]


def test_bulkfetch_skips_unknown_and_deleted_issues(cloud: Site) -> None:
    cloud.sim.dataset.delete_issue("ACME-2")
    page = cloud.post(
        "/rest/api/3/changelog/bulkfetch", {"issueIdsOrKeys": ["ACME-2", "NOPE-9", "ACME-1"]}
    ).json()
    assert [log["issueId"] for log in page["issueChangeLogs"]] == [
        cloud.sim.dataset.issue("ACME-1").id
    ]
    assert cloud.get("/rest/api/3/issue/ACME-2").status_code == 404


def test_history_items_mirror_jira(cloud: Site) -> None:
    histories = cloud.get("/rest/api/3/issue/ACME-2/changelog").json()["values"]
    items = [(h["author"]["accountId"], h["items"]) for h in histories]
    resolved = items[3][1]
    assert [i["field"] for i in resolved] == ["resolution", "status"]
    assert resolved[0] == {
        "field": "resolution",
        "fieldtype": "jira",
        "fieldId": "resolution",
        "from": None,
        "fromString": None,
        "to": "10000",
        "toString": "Done",
    }
    reopened = items[4][1]
    assert [i["field"] for i in reopened] == ["status", "resolution"]
    assert reopened[0]["fromString"] == "Done" and reopened[0]["toString"] == "In Progress"
    assert reopened[1]["to"] is None and reopened[1]["fromString"] == "Done"
    assert items[4][0] == CLIENT[0]


def test_history_ids_grow_with_time(cloud: Site) -> None:
    ds = cloud.sim.dataset
    histories = sorted((h for issue in ds.issues for h in issue.histories), key=lambda h: int(h.id))
    assert [h.created for h in histories] == sorted(h.created for h in histories)


# -- issues ------------------------------------------------------------------------------


def test_get_issue_shapes_on_cloud(cloud: Site) -> None:
    issue = cloud.get("/rest/api/3/issue/ACME-2", expand="changelog").json()
    fields = issue["fields"]
    assert issue["key"] == "ACME-2" and issue["self"].endswith(f"/rest/api/3/issue/{issue['id']}")
    assert fields["project"] == {
        **fields["project"],
        "key": "ACME",
        "name": "ACME Corp",
    }
    assert fields["issuetype"]["name"] == "Story"
    assert fields["reporter"]["accountId"] == CLIENT[0]
    assert fields["reporter"]["timeZone"] == "Europe/Moscow"
    assert fields["resolution"] is None and fields["timeoriginalestimate"] == 3600
    assert fields["created"] == "2026-09-01T10:10:00.000+0300"
    comment = fields["comment"]
    assert comment["total"] == 1 and comment["comments"][0]["body"]["type"] == "doc"
    assert issue["changelog"]["total"] == 5
    assert [h["created"] for h in issue["changelog"]["histories"]] == sorted(
        (h["created"] for h in issue["changelog"]["histories"]), reverse=True
    )
    by_id = cloud.get(f"/rest/api/3/issue/{issue['id']}", fields="summary").json()
    assert by_id["fields"] == {"summary": "Deliverable 2"}
    v2 = cloud.get("/rest/api/2/issue/ACME-2", fields="comment").json()
    assert v2["fields"]["comment"]["comments"][0]["body"] == "Make it pop"


def test_moved_issue_keeps_its_id_and_old_key(cloud: Site) -> None:
    ds = cloud.sim.dataset
    moved = ds.move_issue("ACME-5", "BETA", T0 + timedelta(days=5), DEV)
    assert moved.key == "BETA-1"
    old = cloud.get("/rest/api/3/issue/ACME-5").json()
    assert old["key"] == "BETA-1" and old["id"] == moved.id
    assert old["fields"]["project"]["key"] == "BETA"
    last = cloud.get("/rest/api/3/issue/BETA-1/changelog").json()["values"][-1]
    assert [(i["field"], i["fromString"], i["toString"]) for i in last["items"]] == [
        ("Key", "ACME-5", "BETA-1"),
        ("project", "ACME Corp", "Beta Ltd"),
    ]
    found = cloud.get("/rest/api/3/search/jql", jql="key = ACME-5", fields="key").json()
    assert [i["key"] for i in found["issues"]] == ["BETA-1"]


def test_statuses_fields_myself_and_server_info_on_cloud(cloud: Site) -> None:
    statuses = cloud.get("/rest/api/3/status").json()
    by_name = {s["name"]: s for s in statuses}
    assert by_name["Принято клиентом"]["statusCategory"]["key"] == "done"
    assert by_name["Client Review"]["statusCategory"] == {
        "self": f"{cloud.url}/rest/api/3/statuscategory/4",
        "id": 4,
        "key": "indeterminate",
        "colorName": "yellow",
        "name": "In Progress",
    }
    assert by_name["Won't Do"]["statusCategory"]["key"] == "done"
    fields = {f["id"]: f for f in cloud.get("/rest/api/3/field").json()}
    assert fields["customfield_10016"]["name"] == "Story point estimate"
    assert fields["customfield_10016"]["schema"]["custom"].endswith("jsw-story-points")
    assert "customfield_10002" not in fields
    me = cloud.get("/rest/api/3/myself").json()
    assert me["timeZone"] == "Europe/Moscow" and me["emailAddress"] == EMAIL
    assert "accountId" in me and "name" not in me
    info = cloud.get("/rest/api/3/serverInfo").json()
    assert info["deploymentType"] == "Cloud" and info["version"] == "1001.0.0-SNAPSHOT"
    assert info["baseUrl"] == cloud.url
    server_time = parse_jira_datetime(info["serverTime"])
    assert abs(server_time - datetime.now(UTC)) < timedelta(minutes=1)
    assert cloud.get("/rest/api/2/serverInfo").json()["deploymentType"] == "Cloud"


# -- Data Center ---------------------------------------------------------------------------


def test_dc_search_pages_with_start_at_and_server_cap(dc: Site) -> None:
    first = dc.get("/rest/api/2/search", jql="project = ACME", maxResults=1000).json()
    assert first["maxResults"] == 50  # the server's cap, echoed back
    assert first["total"] == 60 and first["startAt"] == 0 and len(first["issues"]) == 50
    second = dc.get("/rest/api/2/search", jql="project = ACME", startAt=50, maxResults=50).json()
    assert len(second["issues"]) == 10
    keys = [i["key"] for i in first["issues"] + second["issues"]]
    assert keys == [f"ACME-{n}" for n in range(1, 61)]
    fields = first["issues"][1]["fields"]
    assert "comment" not in fields and fields["customfield_10002"] == 5.0  # *navigable
    assert isinstance(fields["description"], str)
    assert fields["reporter"]["name"] == "client" and "accountId" not in fields["reporter"]
    posted = dc.post(
        "/rest/api/2/search", {"jql": "project = ACME", "startAt": 58, "fields": ["summary"]}
    ).json()
    assert [i["fields"] for i in posted["issues"]] == [
        {"summary": "Deliverable 59"},
        {"summary": "Deliverable 60"},
    ]


def test_dc_cap_is_configurable() -> None:
    sim = JiraSimulator(build_dataset(), flavor="datacenter", max_results_cap=1000)
    for site in _site(sim, f"Bearer {PAT}"):
        body = site.get("/rest/api/2/search", jql="project = ACME", maxResults=1000).json()
        assert body["maxResults"] == 1000 and len(body["issues"]) == 60


def test_dc_inline_changelog_is_oldest_hundred_then_paged(dc: Site) -> None:
    issue = dc.get(
        "/rest/api/2/search", jql="key = ACME-1", expand="changelog", fields="summary"
    ).json()["issues"][0]
    changelog = issue["changelog"]
    assert changelog["total"] == LONG_HISTORY > len(changelog["histories"]) == 100
    assert changelog["maxResults"] == 100
    ids = [int(h["id"]) for h in changelog["histories"]]
    assert ids == sorted(ids)  # oldest first on DC
    assert all("fieldId" not in item for h in changelog["histories"] for item in h["items"])
    rest = dc.get("/rest/api/2/issue/ACME-1/changelog", startAt=100).json()
    assert rest["total"] == LONG_HISTORY and rest["isLast"] is True
    assert [int(h["id"]) for h in rest["values"]] == sorted(int(h["id"]) for h in rest["values"])
    assert int(rest["values"][0]["id"]) > ids[-1]
    full = dc.get("/rest/api/2/issue/ACME-1", expand="changelog").json()["changelog"]
    assert len(full["histories"]) == LONG_HISTORY  # GET issue is not capped on DC


def test_dc_identity_and_missing_cloud_endpoints(dc: Site) -> None:
    info = dc.get("/rest/api/2/serverInfo").json()
    assert info["deploymentType"] == "Server" and info["version"] == "10.3.0"
    assert info["versionNumbers"] == [10, 3, 0]
    me = dc.get("/rest/api/2/myself").json()
    assert me["name"] == me["key"] == "agency-pm" and me["timeZone"] == "Europe/Moscow"
    fields = {f["id"]: f for f in dc.get("/rest/api/2/field").json()}
    assert fields["customfield_10002"]["name"] == "Story Points"
    history = dc.get("/rest/api/2/issue/ACME-2/changelog").json()["values"][0]
    assert history["items"][0]["field"] == "Story Points"
    assert history["author"]["name"] == "client"
    assert dc.get("/rest/api/3/serverInfo").status_code == 404
    assert dc.get("/rest/api/2/search/jql", jql="project = ACME").status_code == 404
    assert (
        dc.post("/rest/api/2/changelog/bulkfetch", {"issueIdsOrKeys": ["ACME-1"]}).status_code
        == 404
    )
    unbounded = dc.get("/rest/api/2/search", maxResults=1).json()
    assert unbounded["total"] == 60  # DC allows unbounded JQL


# -- authentication --------------------------------------------------------------------


def test_cloud_authentication(cloud: Site) -> None:
    url = cloud.url + "/rest/api/3/myself"
    missing = requests.get(url, timeout=10)
    assert missing.status_code == 401 and missing.json()["errorMessages"]
    wrong = requests.get(url, auth=(EMAIL, "nope"), timeout=10)
    assert wrong.status_code == 401 and wrong.headers["X-Seraph-LoginReason"]
    bearer = requests.get(url, headers={"Authorization": f"Bearer {PAT}"}, timeout=10)
    assert bearer.status_code == 401  # Cloud API tokens go in Basic auth
    anonymous_info = requests.get(cloud.url + "/rest/api/3/serverInfo", timeout=10)
    assert anonymous_info.status_code == 200
    wrong_info = requests.get(cloud.url + "/rest/api/3/serverInfo", auth=(EMAIL, "x"), timeout=10)
    assert wrong_info.status_code == 401


def test_dc_authentication(dc: Site) -> None:
    url = dc.url + "/rest/api/2/myself"
    assert (
        requests.get(url, headers={"Authorization": "Bearer wrong"}, timeout=10).status_code == 401
    )
    assert requests.get(url, auth=(EMAIL, TOKEN), timeout=10).status_code == 200
    assert requests.get(url, auth=("agency-pm", TOKEN), timeout=10).status_code == 200
    assert requests.get(url, timeout=10).status_code == 401


# -- faults ----------------------------------------------------------------------------------


def test_rate_limit_burst_then_recovery(cloud: Site) -> None:
    cloud.sim.faults.rate_limit(next_requests=2, retry_after=3)
    for _ in range(2):
        limited = cloud.get("/rest/api/3/myself")
        assert limited.status_code == 429
        assert limited.headers["Retry-After"] == "3"
        assert limited.headers["RateLimit-Reason"] == "jira-burst-based"
        reset = datetime.fromisoformat(limited.headers["X-RateLimit-Reset"].replace("Z", "+00:00"))
        assert reset > datetime.now(UTC)
    assert cloud.get("/rest/api/3/myself").status_code == 200
    assert [r.status for r in cloud.sim.requests] == [429, 429, 200]


def test_server_errors_and_outage(cloud: Site) -> None:
    cloud.sim.faults.fail(next_requests=2, status=503, retry_after=5)
    first = cloud.get("/rest/api/3/status")
    assert first.status_code == 503 and first.headers["Retry-After"] == "5"
    assert cloud.get("/rest/api/3/status").status_code == 503
    assert cloud.get("/rest/api/3/status").status_code == 200
    cloud.sim.faults.fail(next_requests=1, status=500)
    assert cloud.get("/rest/api/3/status").status_code == 500
    cloud.sim.faults.go_down_after(2)
    assert [cloud.get("/rest/api/3/status").status_code for _ in range(4)] == [200, 200, 503, 503]
    cloud.sim.faults.clear()
    assert cloud.get("/rest/api/3/status").status_code == 200
    with pytest.raises(ValueError, match="5xx"):
        cloud.sim.faults.fail(status=429)


def test_malformed_answers(cloud: Site) -> None:
    cloud.sim.faults.malformed(next_requests=1)
    broken = cloud.get("/rest/api/3/search/jql", jql="project = ACME")
    assert broken.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(broken.text)
    cloud.sim.faults.malformed(next_requests=1, kind="missing_keys")
    # Error answers do not use up a malformed-body fault.
    assert cloud.get("/rest/api/3/issue/NOPE-1").json()["errorMessages"]
    empty = cloud.get("/rest/api/3/search/jql", jql="project = ACME").json()
    assert "issues" not in empty and "isLast" not in empty
    assert "issues" in cloud.get("/rest/api/3/search/jql", jql="project = ACME").json()


def test_latency_and_request_records(cloud: Site) -> None:
    cloud.sim.faults.latency_seconds = 0.05
    started = time.perf_counter()
    cloud.get("/rest/api/3/status")
    cloud.get("/rest/api/3/issue/ACME-1/changelog")
    assert time.perf_counter() - started >= 0.1
    assert cloud.sim.request_count() == 2
    assert cloud.sim.request_count("/rest/api/3/issue/") == 1
    assert cloud.sim.requests[1] == ("GET", "/rest/api/3/issue/ACME-1/changelog", 200)
    cloud.sim.reset_requests()
    assert cloud.sim.request_count() == 0
    cloud.sim.faults.clear()
    assert cloud.sim.faults.latency_seconds == 0
    assert cloud.sim.errors == []


def test_relative_dates_follow_the_clock() -> None:
    moments = [T0 + timedelta(days=1, hours=3)]
    sim = JiraSimulator(build_dataset(), flavor="cloud", clock=lambda: moments[0])
    for site in _site(sim, (EMAIL, TOKEN)):
        query = {"jql": "project = ACME AND updated >= -1h", "fields": "key"}
        assert [i["key"] for i in site.get("/rest/api/3/search/jql", **query).json()["issues"]] == [
            "ACME-2"
        ]
        moments[0] += timedelta(hours=2)  # same data, later: nothing is that recent any more
        assert site.get("/rest/api/3/search/jql", **query).json()["issues"] == []


def test_concurrent_mutation_while_serving(cloud: Site) -> None:
    ds = cloud.sim.dataset
    before = cloud.get("/rest/api/3/search/jql", jql="project = ACME", fields="status").json()
    ds.transition("ACME-3", "In Progress", T0 + timedelta(days=10), DEV)
    after = cloud.get("/rest/api/3/search/jql", jql="key = ACME-3", fields="status,updated").json()[
        "issues"
    ][0]["fields"]
    assert after["status"]["name"] == "In Progress"
    assert after["updated"] == "2026-09-11T10:00:00.000+0300"
    assert len(before["issues"]) == 50


# -- dataset rules ---------------------------------------------------------------------


def test_dataset_refuses_inconsistent_input() -> None:
    ds = Dataset.with_default_workflow()
    ds.add_project("ACME", "ACME Corp")
    with pytest.raises(ValueError, match="timezone-aware"):
        ds.add_issue("ACME", "x", datetime(2026, 9, 1))
    issue = ds.add_issue("ACME", "x", T0)
    with pytest.raises(ValueError, match="already in"):
        ds.transition(issue.key, "To Do", T0, DEV)
    with pytest.raises(KeyError, match="unknown status"):
        ds.transition(issue.key, "Limbo", T0, DEV)
    with pytest.raises(ValueError, match="already used"):
        ds.add_status("10001", "Something else", "done")
    assert ds.set_field(issue.key, "summary", "x", T0, DEV) is None  # unchanged: no history
    custom = Dataset(user_timezone="Europe/Moscow")
    custom.add_status(id="10001", name="Принято клиентом", category="done")
    custom.add_default_workflow()
    assert custom.status("Принято клиентом").id == "10001"
    assert custom.status("Done").id != "10001"


def test_bulk_generation_is_deterministic_and_time_ordered() -> None:
    first = Dataset.with_default_workflow()
    started = time.perf_counter()
    issues = first.generate_bulk(issues=2000, histories_per_issue=30, seed=3)
    assert time.perf_counter() - started < 5
    second = Dataset.with_default_workflow()
    second.generate_bulk(issues=2000, histories_per_issue=30, seed=3)
    assert first.history_count() == second.history_count() == 60000
    assert [i.status.name for i in first.issues] == [i.status.name for i in second.issues]
    histories = sorted((h for i in issues for h in i.histories), key=lambda h: int(h.id))
    assert [h.created for h in histories] == sorted(h.created for h in histories)
    for issue in issues[:50]:
        statuses = [item for h in issue.histories for item in h.items if item.field == "status"]
        assert statuses[-1].to_string == issue.status.name
        assert all(a.to_string == b.from_string for a, b in itertools.pairwise(statuses))
        assert (issue.resolution is not None) == (issue.status.name == "Done")
    sim = JiraSimulator(first)
    for site in _site(sim, (EMAIL, TOKEN)):
        keys, pages = all_pages(site, jql="project = BULK", fields="key", maxResults=5000)
        assert len(keys) == 2000 and len(pages) == 1
        page = site.post(
            "/rest/api/3/changelog/bulkfetch",
            {"issueIdsOrKeys": [i["key"] for i in keys[:400]], "maxResults": 10000},
        ).json()
        assert sum(len(log["changeHistories"]) for log in page["issueChangeLogs"]) == 10000
        assert "nextPageToken" in page
