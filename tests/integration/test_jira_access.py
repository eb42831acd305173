"""Jira access the way agencies connect in 2026: service accounts with scoped API tokens,
called through the gateway ``/ex/jira/{cloudId}``.

The scope tables (the simulator's and ScopeGuard's) are checked against Atlassian's
OpenAPI description; a sync runs through the gateway with the cloud id read from
the site; a token without a scope fails with a message naming the scope.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from jira_simulator import JiraSimulator, serve
from jira_simulator.access import SCOPE_MISMATCH, SCOPES, CloudAccess
from scopeguard.adapters.jira import JiraClient
from scopeguard.adapters.jira.scopes import CLASSIC_SCOPES, GRANULAR_SCOPES, required_for
from scopeguard.adapters.store import Database
from scopeguard.adapters.store.worklogs import load_worklogs
from scopeguard.usecases.sync import SyncError, SyncService
from tests.support import clock
from tests.support.paths import OPENAPI_SPEC
from tests.support.settings import SettingsFactory
from tests.support.worklogs import CONTRACT, worklog_site

SCOPED = "scoped-service-account-token"
EMAIL = "scopeguard-bot@serviceaccount.atlassian.com"
EVERYTHING = (*CLASSIC_SCOPES,)

# The simulator's endpoint names and the spec's operations they stand for.
OPERATIONS = {
    "myself": ("get", "/rest/api/3/myself"),
    "statuses": ("get", "/rest/api/3/status"),
    "fields": ("get", "/rest/api/3/field"),
    "projects": ("get", "/rest/api/3/project"),
    "issue": ("get", "/rest/api/3/issue/{issueIdOrKey}"),
    "issue_changelog": ("get", "/rest/api/3/issue/{issueIdOrKey}/changelog"),
    "search_jql": ("get", "/rest/api/3/search/jql"),
    "approximate_count": ("post", "/rest/api/3/search/approximate-count"),
    "bulkfetch": ("post", "/rest/api/3/changelog/bulkfetch"),
    "worklog_updated": ("get", "/rest/api/3/worklog/updated"),
    "worklog_deleted": ("get", "/rest/api/3/worklog/deleted"),
    "worklog_list": ("post", "/rest/api/3/worklog/list"),
    "issue_worklog": ("get", "/rest/api/3/issue/{issueIdOrKey}/worklog"),
    "group_member": ("get", "/rest/api/3/group/member"),
}


def _spec_scopes(spec: dict[str, Any], method: str, path: str) -> tuple[set[str], set[str]]:
    operation = spec["paths"][path][method]
    found = {
        entry["state"]: set(entry["scopes"]) for entry in operation["x-atlassian-oauth2-scopes"]
    }
    return found.get("Current", set()), found.get("Beta", set())


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(OPENAPI_SPEC.read_text(encoding="utf-8"))
    return loaded


def test_the_simulators_scopes_are_atlassians(spec: dict[str, Any]) -> None:
    for endpoint, (method, path) in OPERATIONS.items():
        classic, granular = SCOPES[endpoint]
        assert (set(classic), set(granular)) == _spec_scopes(spec, method, path), endpoint


@pytest.mark.parametrize(
    ("method", "path", "operation"),
    [
        (
            "GET",
            "/rest/api/3/myself",
            ("get", "/rest/api/3/myself"),
        ),
        (
            "GET",
            "/rest/api/3/status",
            ("get", "/rest/api/3/status"),
        ),
        (
            "GET",
            "/rest/api/3/field",
            ("get", "/rest/api/3/field"),
        ),
        (
            "GET",
            "/rest/api/3/search/jql",
            ("get", "/rest/api/3/search/jql"),
        ),
        (
            "POST",
            "/rest/api/3/search/approximate-count",
            ("post", "/rest/api/3/search/approximate-count"),
        ),
        (
            "POST",
            "/rest/api/3/changelog/bulkfetch",
            ("post", "/rest/api/3/changelog/bulkfetch"),
        ),
        (
            "GET",
            "/rest/api/3/issue/10001/changelog",
            ("get", "/rest/api/3/issue/{issueIdOrKey}/changelog"),
        ),
        (
            "GET",
            "/rest/api/3/worklog/updated",
            ("get", "/rest/api/3/worklog/updated"),
        ),
        (
            "GET",
            "/rest/api/3/worklog/deleted",
            ("get", "/rest/api/3/worklog/deleted"),
        ),
        (
            "POST",
            "/rest/api/3/worklog/list",
            ("post", "/rest/api/3/worklog/list"),
        ),
        (
            "GET",
            "/rest/api/3/issue/10001/worklog",
            ("get", "/rest/api/3/issue/{issueIdOrKey}/worklog"),
        ),
        (
            "GET",
            "/rest/api/3/group/member",
            ("get", "/rest/api/3/group/member"),
        ),
        (
            "GET",
            "/rest/api/3/issue/10001",
            ("get", "/rest/api/3/issue/{issueIdOrKey}"),
        ),
    ],
)
def test_scopeguards_scopes_are_atlassians(
    spec: dict[str, Any], method: str, path: str, operation: tuple[str, str]
) -> None:
    required = required_for(method, path)
    assert required is not None
    assert (set(required.classic), set(required.granular)) == _spec_scopes(spec, *operation)
    # The README's list of granular scopes holds every one ScopeGuard's reading needs.
    if "group" not in path:
        assert set(required.granular) <= set(GRANULAR_SCOPES)


def _settings(make_settings: SettingsFactory, url: str, **jira: Any) -> Any:
    return make_settings(
        url,
        [{"key": "ACME", "name": "ACME", "jql": "project = ACME", "contract": CONTRACT}],
        jira={
            "email": EMAIL,
            "api_token": SCOPED,
            "scoped_token": True,
            "gateway_url": url,
            **jira,
        },
    )


@pytest.fixture
def gateway_site() -> Iterator[tuple[JiraSimulator, str]]:
    dataset = worklog_site()
    access = CloudAccess(scoped_tokens={SCOPED: EVERYTHING}, require_gateway=True)
    simulator = JiraSimulator(dataset, flavor="cloud", email=EMAIL, clock=clock.now, access=access)
    with serve(simulator) as url:
        yield simulator, url


def test_a_sync_through_the_gateway_with_the_cloud_id_read_from_the_site(
    gateway_site: tuple[JiraSimulator, str], make_settings: SettingsFactory
) -> None:
    simulator, url = gateway_site
    settings = _settings(make_settings, url)
    database = Database(settings.resolved_database_url)
    database.upgrade()
    jira = JiraClient(settings.jira, sleep=lambda _s: None)
    report = SyncService(settings, database, jira, clock=clock.now).sync_client(
        settings.client("ACME")
    )
    assert report.issues == 3 and report.worklogs == 153
    with database.session() as session:
        assert len(load_worklogs(session, "ACME")) == 153
    assert all(r.status == 200 for r in simulator.requests)
    # Every API call went through the gateway with the cloud id; browse links stay on the site.
    assert jira.transport.base_url == f"{url}/ex/jira/{simulator.access.cloud_id}"  # type: ignore[union-attr]
    assert settings.jira.browse_url("ACME-1") == f"{url}/browse/ACME-1"
    database.dispose()


def test_the_configured_cloud_id_is_used_without_asking_the_site(
    gateway_site: tuple[JiraSimulator, str], make_settings: SettingsFactory
) -> None:
    simulator, url = gateway_site
    assert simulator.access is not None
    settings = _settings(make_settings, url, cloud_id=simulator.access.cloud_id)
    client = JiraClient(settings.jira, sleep=lambda _s: None)
    assert client.statuses()
    assert not [r for r in simulator.requests if r.path == "/_edge/tenant_info"]


def test_the_site_url_refuses_a_scoped_token_and_the_gateway_a_classic_one(
    gateway_site: tuple[JiraSimulator, str],
) -> None:
    simulator, url = gateway_site
    assert simulator.access is not None
    direct = requests.get(f"{url}/rest/api/3/status", auth=(EMAIL, SCOPED), timeout=10)
    assert direct.status_code == 401
    assert direct.json()["errorMessages"]
    through = requests.get(
        f"{url}/ex/jira/{simulator.access.cloud_id}/rest/api/3/status",
        auth=(EMAIL, "token"),
        timeout=10,
    )
    assert through.status_code == 401
    wrong_site = requests.get(f"{url}/ex/jira/not-this-site/rest/api/3/status", timeout=10)
    assert wrong_site.status_code == 404


@pytest.mark.parametrize(
    ("missing", "named"),
    [
        ("worklogs", ("read:jira-work", "read:issue-worklog:jira", "/worklog/updated")),
        ("user", ("read:jira-user", "/myself")),
    ],
)
def test_a_token_without_a_scope_fails_with_a_message_naming_it(
    make_settings: SettingsFactory, missing: str, named: tuple[str, ...]
) -> None:
    granular_reading = set(GRANULAR_SCOPES) - {"read:issue-worklog:jira"}
    scopes = {
        # Everything but the worklogs: the granular scopes without the worklog ones.
        "worklogs": granular_reading | {"read:jira-user"},
        # Work but not the user: /myself (the user's time zone) is refused.
        "user": {"read:jira-work"},
    }[missing]
    dataset = worklog_site()
    access = CloudAccess(scoped_tokens={SCOPED: scopes})
    simulator = JiraSimulator(dataset, flavor="cloud", email=EMAIL, clock=clock.now, access=access)
    with serve(simulator) as url:
        settings = _settings(make_settings, url)
        database = Database(settings.resolved_database_url)
        database.upgrade()
        jira = JiraClient(settings.jira, sleep=lambda _s: None)
        with pytest.raises(SyncError) as caught:
            SyncService(settings, database, jira, clock=clock.now).sync_client(
                settings.client("ACME")
            )
        database.dispose()
    message = str(caught.value)
    for text in named:
        assert text in message
    assert "jira.api_token" in message
    assert SCOPE_MISMATCH["message"] in message
    refused = [r for r in simulator.requests if r.status == 401]
    assert refused
