"""Hostile input gets a 4xx answer, never a 500: webhooks, query strings, routes, headers."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scopeguard.entrypoints.web import create_app
from tests.support.alerts import client_document
from tests.support.database import fresh_database_url
from tests.support.services import pinned_services
from tests.support.settings import settings_for

SECRET = "jira-hook-secret-0123"


def signed(body: bytes) -> dict[str, str]:
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Hub-Signature": f"sha256={digest}"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    folder = tmp_path_factory.mktemp("inputs")
    settings = settings_for(
        "http://127.0.0.1:9",
        [client_document()],
        database_url=fresh_database_url(folder),
        instance=folder / "instance",
        jira={"webhook_secret": SECRET},
        web={"webhook_rate_limit": "100000 per minute", "public_url": "https://sg.example"},
    )
    services = pinned_services(settings)
    yield create_app(services=services)
    services.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.mark.parametrize(
    "payload",
    [
        {"webhookEvent": ["jira:issue_updated"], "issue": {"key": "ACME-1"}},
        {"webhookEvent": {"a": 1}, "issue": {"key": "ACME-1"}},
        {"webhookEvent": "jira:issue_updated", "issue": {"key": ["ACME-1"]}},
        {"webhookEvent": "jira:issue_updated", "issue": {"key": {"k": 1}, "fields": []}},
        {"webhookEvent": "jira:issue_updated", "issue": {"fields": {"project": {"key": 7}}}},
        {"webhookEvent": "jira:issue_updated", "issue": {"key": "ACME-1\r\nX: y"}},
        {"webhookEvent": "jira:issue_updated", "issue": {"key": "A" * 10_000}},
    ],
)
def test_signed_bodies_with_the_wrong_types_are_acknowledged_not_500(
    client: FlaskClient, payload: dict[str, Any]
) -> None:
    body = json.dumps(payload).encode()
    response = client.post("/hooks/jira", data=body, headers=signed(body))
    assert response.status_code == 202, response.get_data(as_text=True)
    assert response.get_json()["scheduled"] == []


@pytest.mark.parametrize("depth", [40, 100_000])
def test_deep_nesting_is_400(client: FlaskClient, depth: int) -> None:
    body = b'{"webhookEvent": "jira:issue_updated", "issue": ' + b"[" * depth + b"]" * depth + b"}"
    response = client.post("/hooks/jira", data=body, headers=signed(body))
    assert response.status_code == 400
    assert response.get_json()["error"] == "bad_request"


def test_a_body_over_the_limit_is_413_even_chunked(client: FlaskClient) -> None:
    response = client.post(
        "/hooks/jira",
        input_stream=io.BytesIO(b"x" * (7 * 1024 * 1024)),
        headers={"Transfer-Encoding": "chunked", **signed(b"")},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 413
    assert response.is_json


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["webhookEvent", "issue", "key", "fields", "project", "x"]),
            children,
            max_size=4,
        )
    ),
    max_leaves=30,
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(_JSON)
def test_no_signed_json_body_gives_a_500(client: FlaskClient, payload: Any) -> None:
    body = json.dumps(payload).encode()
    response = client.post("/hooks/jira", data=body, headers=signed(body))
    assert response.status_code in (202, 400), response.get_data(as_text=True)
    assert response.is_json


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.sampled_from(
        [
            "/",
            "/clients/ACME",
            "/clients/ACME/issues",
            "/clients/ACME/charts/creep.svg",
            "/signin",
            "/api/v1/clients/ACME/summary",
        ]
    ),
    st.dictionaries(
        st.sampled_from(
            [
                "_method",
                "_external",
                "_scheme",
                "_anchor",
                "lang",
                "page",
                "list",
                "sort",
                "dir",
                "unit",
                "next",
                "v",
            ]
        ),
        st.text(max_size=30),
        max_size=5,
    ),
)
def test_no_query_string_gives_a_500(client: FlaskClient, path: str, query: dict[str, str]) -> None:
    response = client.get(path, query_string=query, headers={"Host": "evil.example"})
    assert response.status_code < 500, (path, query, response.get_data(as_text=True)[:500])
    assert b"evil.example" not in response.data


def test_reserved_url_for_arguments_build_no_foreign_links(client: FlaskClient) -> None:
    for query in ("_method=x", "_external=1", "_scheme=javascript", "_anchor=x"):
        response = client.get(f"/?{query}", headers={"Host": "evil.example"})
        assert response.status_code == 200, query
        assert b"evil.example" not in response.data


@pytest.mark.parametrize("page", ["0", "-1", "99999999999999999999", "1e3", "١"])
def test_impossible_page_numbers_are_404(client: FlaskClient, page: str) -> None:
    assert client.get(f"/clients/ACME/issues?list=revised&page={page}").status_code == 404


def test_a_long_query_string_is_414(client: FlaskClient) -> None:
    assert client.get("/?x=" + "a" * 5000).status_code == 414
    assert client.get("/api/v1/clients?x=" + "a" * 5000).is_json


@pytest.mark.parametrize(
    ("method", "path", "code"),
    [
        ("GET", "/api/v1/nothing-here", 404),
        ("GET", "/api/v1", 404),
        ("POST", "/api/v1/clients", 405),
        ("DELETE", "/api/v1/clients/ACME/summary", 405),
        ("GET", "/api/v1/clients/NOPE/summary", 404),
        ("GET", "/hooks/nothing", 404),
    ],
)
def test_every_api_error_is_json(client: FlaskClient, method: str, path: str, code: int) -> None:
    response = client.open(path, method=method)
    assert response.status_code == code
    assert response.is_json and set(response.get_json()) == {"error", "message"}


@pytest.mark.parametrize(
    "path", ["/", "/signin", "/api/v1/clients", "/healthz", "/clients/ACME/charts/creep.svg"]
)
def test_security_headers_on_every_answer(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    headers = response.headers
    assert "frame-ancestors" in headers["Content-Security-Policy"]
    assert "script-src" not in headers["Content-Security-Policy"]  # default-src 'none'
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Strict-Transport-Security"].startswith("max-age=")  # public_url is https
    if response.mimetype == "text/html":
        assert "https://*.atlassian.net" in headers["Content-Security-Policy"]
