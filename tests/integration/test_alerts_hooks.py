"""``POST /hooks/jira`` over a real socket: signatures, debounced sync requests."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import urllib3
from sqlalchemy import select

from jira_simulator import serve
from scopeguard.adapters.store.models import SyncRequestRow
from scopeguard.adapters.store.sync_requests import take_due_sync_requests
from scopeguard.bootstrap import Services
from scopeguard.entrypoints.web import create_app
from tests.support import clock
from tests.support.alerts import client_document
from tests.support.services import pinned_services
from tests.support.settings import SettingsFactory

SECRET = "jira-hook-secret"


def _event(event: str = "jira:issue_updated", key: str = "ACME-12", project: str = "ACME") -> bytes:
    payload = {
        "timestamp": 1764230400000,
        "webhookEvent": event,
        "issue_event_type_name": "issue_generic",
        "issue": {"id": "10042", "key": key, "fields": {"project": {"key": project}}},
        "changelog": {"items": [{"field": "status", "fromString": "Done", "toString": "To Do"}]},
    }
    return json.dumps(payload).encode()


def _signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Hub-Signature": f"sha256={digest}"}


class Site:
    """ScopeGuard's web app on a loopback port."""

    def __init__(self, url: str, services: Services) -> None:
        self.url = url
        self.services = services
        self.http = urllib3.PoolManager()

    def post(self, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        answer = self.http.request(
            "POST", self.url + "/hooks/jira", body=body, headers=headers, retries=False
        )
        return answer.status, json.loads(answer.data)

    def requests(self) -> list[SyncRequestRow]:
        with self.services.database.session() as session:
            return list(session.scalars(select(SyncRequestRow)))


def _site(make_settings: SettingsFactory, **jira: Any) -> Iterator[Site]:
    second = client_document()
    second.update(key="OTHER", name="Other", jql="project in (OTH, ACMEX)")
    settings = make_settings("http://127.0.0.1:9", [client_document(), second], jira=jira)
    services = pinned_services(settings)
    with serve(create_app(services=services)) as url:
        yield Site(url, services)
    services.close()


@pytest.fixture
def site(make_settings: SettingsFactory) -> Iterator[Site]:
    yield from _site(make_settings, webhook_secret=SECRET, webhook_debounce_seconds=20)


def test_a_signed_issue_event_requests_one_debounced_sync(site: Site) -> None:
    before = clock.now()
    body = _event()
    assert site.post(body, _signed(body)) == (202, {"scheduled": ["ACME"]})
    (request,) = site.requests()
    assert request.client_key == "ACME"
    assert request.reason == "jira:issue_updated ACME-12"
    assert before + timedelta(seconds=20) <= request.due_at <= clock.now() + timedelta(seconds=20)
    # A burst joins the pending request instead of postponing or adding one.
    created = _event("jira:issue_created", key="ACME-13")
    assert site.post(created, _signed(created)) == (202, {"scheduled": ["ACME"]})
    assert [(r.client_key, r.due_at) for r in site.requests()] == [("ACME", request.due_at)]
    # Only once due, and then only once.
    assert take_due_sync_requests(site.services.database, clock.now()) == []
    later = request.due_at + timedelta(seconds=1)
    assert take_due_sync_requests(site.services.database, later) == ["ACME"]
    assert take_due_sync_requests(site.services.database, later) == []
    assert site.requests() == []


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "application/json"},
        _signed(b"something else"),
        _signed(_event(), secret="wrong-secret"),
        {"X-Hub-Signature": "sha1=" + hmac.new(SECRET.encode(), _event(), "sha1").hexdigest()},
        {"X-Hub-Signature": "sha256="},
        {"X-Hub-Signature": "sha256=zz"},
    ],
    ids=["missing", "other-body", "wrong-secret", "sha1", "empty", "garbage"],
)
def test_bad_signatures_are_401_and_change_nothing(site: Site, headers: dict[str, str]) -> None:
    status, body = site.post(_event(), headers)
    assert (status, body["error"]) == (401, "unauthorized")
    assert site.requests() == []


def test_other_events_and_projects_are_acknowledged_only(site: Site) -> None:
    deleted = _event("jira:issue_deleted")
    assert site.post(deleted, _signed(deleted)) == (
        202,
        {"scheduled": [], "ignored": "jira:issue_deleted"},
    )
    foreign = _event(project="ZZZ", key="ZZZ-1")
    assert site.post(foreign, _signed(foreign)) == (202, {"scheduled": []})
    assert site.requests() == []
    # The project key is matched exactly (ACMEX is OTHER's, not ACME's).
    other = _event(project="ACMEX", key="ACMEX-3")
    assert site.post(other, _signed(other)) == (202, {"scheduled": ["OTHER"]})


def test_signed_garbage_is_400(site: Site) -> None:
    body = b"{not json"
    status, answer = site.post(body, _signed(body))
    assert (status, answer["error"]) == (400, "bad_request")
    assert site.requests() == []


def test_without_a_secret_the_endpoint_is_off(make_settings: SettingsFactory) -> None:
    for site in _site(make_settings):
        body = _event()
        status, answer = site.post(body, _signed(body))
        assert status == 404 and "webhook_secret" in answer["message"]
        assert site.requests() == []
