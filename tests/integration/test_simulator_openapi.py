"""Cloud answers of the simulator validated against Atlassian's OpenAPI description.

Two narrow, documented allowances, and nothing else:

* ``format: date-time`` also accepts Jira's own timestamp form
  ``2026-09-01T00:30:00.000+0300`` (no colon in the offset), which real Jira sends
  and RFC 3339 rejects (``tests/data/jira``; Atlassian's timestamps);
* ``ChangeDetails.from/fromString/to/toString`` may be ``null``: the spec types them
  as plain strings, yet Jira sends ``null`` for an empty side of a change – the
  spec's own example for ``GET /issue/{key}/changelog`` does, and so does the real
  Cloud export in tests/data/jira/real/patternfly-cloud.

The last tests prove both allowances stay narrow: other malformed timestamps,
wrong types and nulls elsewhere are still rejected.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from openapi_core import OpenAPI
from openapi_core.configurations import Config
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_core.testing import MockResponse
from openapi_core.validation.response.exceptions import InvalidData
from rfc3339_validator import validate_rfc3339

from jira_simulator import Dataset, JiraSimulator, scenarios, serve
from jira_simulator.people import add_group
from jira_simulator.real import load_patternfly
from jira_simulator.worklogs import ledger
from tests.support.paths import OPENAPI_SPEC, REAL_JIRA

MOSCOW = ZoneInfo("Europe/Moscow")
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=MOSCOW)
AUTH = ("pm@agency.example", "token")
JIRA_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{4}$")
NULLABLE_CHANGE_DETAILS = ("from", "fromString", "to", "toString")


def jira_date_time(value: Any) -> bool:
    """RFC 3339, or exactly Jira's ``yyyy-MM-dd'T'HH:mm:ss.SSSZ`` form."""
    if not isinstance(value, str):
        return True  # formats only constrain strings; the type check catches the rest
    return bool(JIRA_TIMESTAMP.match(value)) or validate_rfc3339(value)


@pytest.fixture(scope="module")
def raw_spec() -> dict[str, Any]:
    path = OPENAPI_SPEC
    spec: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return spec


def build_openapi(
    raw_spec: dict[str, Any], base_url: str, *, jira_allowances: bool = True
) -> OpenAPI:
    spec = copy.deepcopy(raw_spec)
    spec["servers"] = [{"url": base_url}]
    extra: dict[str, Any] = {}
    if jira_allowances:
        properties = spec["components"]["schemas"]["ChangeDetails"]["properties"]
        for name in NULLABLE_CHANGE_DETAILS:
            properties[name]["nullable"] = True
        extra["extra_format_validators"] = {"date-time": jira_date_time}
    # The spec has one invalid enum default, hence no spec validation.
    return OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None, **extra))


class Checked:
    """A running Cloud simulator plus a validator bound to its URL."""

    def __init__(self, url: str, openapi: OpenAPI, sim: JiraSimulator):
        self.url = url
        self.openapi = openapi
        self.sim = sim
        self.http = requests.Session()
        self.http.auth = AUTH

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Send a request, then validate it and its answer against the spec."""
        response = self.http.request(method, self.url + path, timeout=10, **kwargs)
        assert response.status_code == 200, response.text
        request = RequestsOpenAPIRequest(response.request)
        self.openapi.validate_request(request)
        self.openapi.validate_response(request, RequestsOpenAPIResponse(response))
        return response


@pytest.fixture(scope="module")
def site(raw_spec: dict[str, Any]) -> Iterator[Checked]:
    ds = Dataset.with_default_workflow(user_timezone="Europe/Moscow")
    load_patternfly(ds, REAL_JIRA / "patternfly-cloud")
    scenarios.agency(ds, NOW, MOSCOW)
    sim = JiraSimulator(ds, flavor="cloud")
    with serve(sim) as url:
        checked = Checked(url, build_openapi(raw_spec, url), sim)
        yield checked
        checked.http.close()
    assert sim.errors == []


def test_search_jql_default_and_with_fields(site: Checked) -> None:
    ids_only = site.call("GET", "/rest/api/3/search/jql", params={"jql": "project = TOX"})
    token = ids_only.json().get("nextPageToken")
    assert ids_only.json()["issues"] and token is None
    paged = site.call(
        "GET", "/rest/api/3/search/jql", params={"jql": "project = TOX", "maxResults": 5}
    )
    site.call(
        "GET",
        "/rest/api/3/search/jql",
        params={
            "jql": "project = TOX",
            "maxResults": 5,
            "nextPageToken": paged.json()["nextPageToken"],
        },
    )
    site.call(
        "GET",
        "/rest/api/3/search/jql",
        params={"jql": "project in (TOX, HLT) ORDER BY updated DESC", "fields": "*all"},
    )
    site.call(
        "POST",
        "/rest/api/3/search/jql",
        json={"jql": "project = RET", "fields": ["summary", "status", "customfield_10016"]},
    )


def test_search_jql_with_changelog_including_real_cloud_histories(site: Checked) -> None:
    for jql in ("project = TOX", "project in (OSUX, PTNFLY, E2E, UXVDN)"):
        body = site.call(
            "GET",
            "/rest/api/3/search/jql",
            params={"jql": jql, "expand": "changelog", "fields": "*navigable", "maxResults": 20},
        ).json()
        assert any(issue["changelog"]["histories"] for issue in body["issues"])


def test_bulkfetch_pages_and_filters(site: Checked) -> None:
    keys = [issue.key for issue in site.sim.dataset.issues_in_project("TOX")]
    body: dict[str, Any] = {"issueIdsOrKeys": keys, "maxResults": 40}
    first = site.call("POST", "/rest/api/3/changelog/bulkfetch", json=body).json()
    body["nextPageToken"] = first["nextPageToken"]
    site.call("POST", "/rest/api/3/changelog/bulkfetch", json=body)
    site.call(
        "POST",
        "/rest/api/3/changelog/bulkfetch",
        json={"issueIdsOrKeys": ["OSUX-34", "PTNFLY-1673"], "fieldIds": ["status", "labels"]},
    )


def test_issue_changelog_and_issue(site: Checked) -> None:
    page = site.call(
        "GET", "/rest/api/3/issue/OSUX-34/changelog", params={"startAt": 10, "maxResults": 20}
    ).json()
    assert page["isLast"] is False and page["total"] == 71
    site.call("GET", "/rest/api/3/issue/TOX-1/changelog")
    site.call("GET", "/rest/api/3/issue/TOX-1", params={"expand": "changelog"})


def test_comment_pages_group_members_and_user_search(site: Checked) -> None:
    dataset = site.sim.dataset
    busy = max(dataset.issues_in_project("TOX"), key=lambda issue: len(issue.comments))
    page = site.call(
        "GET",
        f"/rest/api/3/issue/{busy.key}/comment",
        params={"startAt": 1, "maxResults": 2, "orderBy": "created"},
    ).json()
    assert page["total"] == len(busy.comments) and len(page["comments"]) == 2
    assert page["comments"][0]["body"]["type"] == "doc"
    dataset.user("712020:openapi-designer", "Dana Designer", email="dana@agency.example")
    dataset.add_group_member("Designers", ("712020:openapi-designer", "Dana Designer"))
    members = site.call(
        "GET", "/rest/api/3/group/member", params={"groupname": "Designers", "maxResults": 1}
    ).json()
    assert members["values"][0]["accountId"] == "712020:openapi-designer"
    found = site.call("GET", "/rest/api/3/user/search", params={"query": "dana@agency"}).json()
    assert [user["emailAddress"] for user in found] == ["dana@agency.example"]


def test_site_metadata(site: Checked) -> None:
    for path in ("status", "field", "myself", "serverInfo"):
        site.call("GET", f"/rest/api/3/{path}")
    site.call("POST", "/rest/api/3/search/approximate-count", json={"jql": "project = HLT"})


def test_worklog_resources_as_jira_pages_them(site: Checked) -> None:
    book = ledger(site.sim.dataset)
    logged = max(site.sim.dataset.issues_in_project("TOX"), key=lambda i: len(book.of_issue(i)))
    total = len(book.of_issue(logged))
    page = site.call(
        "GET", f"/rest/api/3/issue/{logged.key}/worklog", params={"startAt": 1, "maxResults": 2}
    ).json()
    assert (page["total"], len(page["worklogs"]), page["startAt"]) == (total, 2, 1)
    site.call("GET", f"/rest/api/3/issue/{logged.id}/worklog")
    updated = site.call("GET", "/rest/api/3/worklog/updated", params={"since": 0}).json()
    assert updated["lastPage"] is True and updated["values"]
    ids = [value["worklogId"] for value in updated["values"][:1000]]
    listed = site.call("POST", "/rest/api/3/worklog/list", json={"ids": ids}).json()
    assert {int(w["id"]) for w in listed} == set(ids)
    assert all(w["comment"]["type"] == "doc" for w in listed if "comment" in w)
    doomed = book.of_issue(logged)[-1]
    book.delete(doomed.id, NOW - timedelta(days=1))
    deleted = site.call("GET", "/rest/api/3/worklog/deleted", params={"since": 0}).json()
    assert [v["worklogId"] for v in deleted["values"]] == [int(doomed.id)]
    fields = site.call(
        "GET",
        "/rest/api/3/search/jql",
        params={"jql": f"key = {logged.key}", "fields": "timespent,worklog"},
    ).json()["issues"][0]["fields"]
    assert fields["timespent"] == sum(w.seconds for w in book.of_issue(logged))
    assert fields["worklog"]["total"] == total - 1 and len(fields["worklog"]["worklogs"]) <= 20


def test_group_members(site: Checked) -> None:
    add_group(site.sim.dataset, "Designers", [("712020:agency-dev-maria", "Maria Sokolova")])
    page = site.call("GET", "/rest/api/3/group/member", params={"groupname": "Designers"}).json()
    assert [m["accountId"] for m in page["values"]] == ["712020:agency-dev-maria"]


def test_removed_search_answers_gone_outside_the_spec(
    site: Checked, raw_spec: dict[str, Any]
) -> None:
    # The spec still lists /search (deprecated) and knows no 410; Jira answers 410 since
    # CHANGE-2046, so the answer is checked here and cannot be validated against the spec.
    operation = raw_spec["paths"]["/rest/api/3/search"]["get"]
    assert operation["deprecated"] is True and "410" not in operation["responses"]
    gone = site.http.get(
        site.url + "/rest/api/3/search", params={"jql": "project = TOX"}, timeout=10
    )
    assert gone.status_code == 410


# -- the allowances stay narrow ---------------------------------------------------------


def _validate_body(site: Checked, response: requests.Response, body: Any, openapi: OpenAPI) -> None:
    request = RequestsOpenAPIRequest(response.request)
    tampered = MockResponse(json.dumps(body).encode(), status_code=200)
    openapi.validate_response(request, tampered)


def _failed_paths(caught: pytest.ExceptionInfo[InvalidData]) -> set[str]:
    """The JSON paths the schema validator complained about."""
    cause = caught.value.__cause__
    errors = getattr(cause, "schema_errors", ())
    return {".".join(str(part) for part in error.absolute_path) for error in errors}


def test_stock_date_time_check_rejects_jira_timestamps(
    site: Checked, raw_spec: dict[str, Any]
) -> None:
    response = site.call("GET", "/rest/api/3/serverInfo")
    strict = build_openapi(raw_spec, site.url, jira_allowances=False)
    with pytest.raises(InvalidData) as caught:
        _validate_body(site, response, response.json(), strict)
    assert _failed_paths(caught) == {"serverTime", "buildDate"}


@pytest.mark.parametrize(
    "stamp",
    ["yesterday", "2026-09-01T00:30:00", "2026-09-01 00:30:00.000+0300", "2026-09-01T00:30+0300"],
)
def test_other_timestamp_shapes_are_still_rejected(site: Checked, stamp: str) -> None:
    response = site.call("GET", "/rest/api/3/issue/TOX-1/changelog")
    body = response.json()
    body["values"][0]["created"] = stamp
    with pytest.raises(InvalidData) as caught:
        _validate_body(site, response, body, site.openapi)
    assert _failed_paths(caught) == {"values.0.created"}


def _tamper(body: dict[str, Any], change: str) -> str:
    """Break one value of a changelog page; returns the JSON path that is now wrong."""
    history = body["values"][0]
    if change == "isLast-as-string":
        body["isLast"] = "false"
        return "isLast"
    if change == "total-as-string":
        body["total"] = str(body["total"])
        return "total"
    if change == "history-id-as-number":
        history["id"] = int(history["id"])
        return "values.0.id"
    if change == "history-id-null":
        history["id"] = None
        return "values.0.id"
    if change == "item-from-as-number":
        history["items"][0]["from"] = 10000
        return "values.0.items.0.from"
    if change == "field-null":
        history["items"][0]["field"] = None
        return "values.0.items.0.field"
    if change == "unknown-item-key":
        history["items"][0]["extra"] = "x"
        return "values.0.items.0"
    history["author"]["displayName"] = None
    return "values.0.author.displayName"


@pytest.mark.parametrize(
    "change",
    [
        "isLast-as-string",
        "total-as-string",
        "history-id-as-number",
        "history-id-null",
        "item-from-as-number",
        "field-null",
        "unknown-item-key",
        "author-null-name",
    ],
)
def test_wrong_types_elsewhere_are_rejected(site: Checked, change: str) -> None:
    response = site.call("GET", "/rest/api/3/issue/TOX-1/changelog")
    body = response.json()
    _validate_body(site, response, body, site.openapi)  # untouched: valid
    broken = _tamper(body, change)
    with pytest.raises(InvalidData) as caught:
        _validate_body(site, response, body, site.openapi)
    assert _failed_paths(caught) == {broken}
