"""``/api/v1/openapi.json`` describes the API the app serves: its routes, and every answer.

The sample agency is served with personal tokens (a viewer's and a pm's), and
every answer it gives, 200s and errors alike, is checked against the schema
the document names for it, strictly (undeclared keys, moments without an
offset and unknown enum values fail). The README's examples are checked
against the same schemas, so neither the document nor the README can drift
from the code.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from openapi_spec_validator import validate

from scopeguard import __version__
from scopeguard.entrypoints.web import create_app
from scopeguard.entrypoints.web.auth import SESSION_COOKIE
from scopeguard.presentation.openapi import API_PREFIX, openapi_document
from tests.support.agency import Agency, build_agency
from tests.support.openapi import (
    errors_of,
    readme_api_examples,
    response_schema,
    schema_validator,
    template_of,
    without_elisions,
)
from tests.support.people import add_people

OPENAPI = f"{API_PREFIX}/openapi.json"


@pytest.fixture(scope="module")
def agency(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agency]:
    # Its own agency: the accounts added below end open mode for everything built on it.
    yield from build_agency(tmp_path_factory.mktemp("openapi"))


@pytest.fixture(scope="module")
def tokens(agency: Agency) -> dict[str, str]:
    """A personal token of the viewer, the admin and the pm (who sees HLT only)."""
    add_people(agency.services)
    people = agency.services.people
    users = {user.username: user for user in people.users()}
    return {
        name: people.new_token(users[name], "openapi test", address=None)[0]
        for name in ("vera", "ada", "pat")
    }


@pytest.fixture(scope="module")
def web(agency: Agency, tokens: dict[str, str]) -> FlaskClient:
    return create_app(services=agency.services).test_client()


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return openapi_document(version=__version__, session_cookie=SESSION_COOKIE)


def _get(web: FlaskClient, path: str, token: str | None, **headers: str) -> Any:
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return web.get(path, headers=headers)


def _conforms(document: dict[str, Any], path: str, response: Any) -> None:
    """The answer is JSON and valid against the schema documented for its path and status."""
    assert response.mimetype == "application/json", (path, response.status_code)
    template = template_of(document, path)
    status = str(response.status_code)
    assert status in document["paths"][template]["get"]["responses"], (path, status)
    validator = schema_validator(document, response_schema(document, template, status))
    assert errors_of(validator, response.get_json()) == [], (path, status)


def test_the_served_document_is_the_generated_one_and_valid(
    web: FlaskClient, tokens: dict[str, str], document: dict[str, Any]
) -> None:
    served = _get(web, OPENAPI, tokens["vera"])
    assert served.status_code == 200
    assert served.get_json() == document
    validate(served.get_json())  # OpenAPI 3.1, by the reference validator
    assert document["info"]["version"] == __version__
    # Cached like the other documents: compressed on request, and 304 for a caller holding it.
    packed = _get(web, OPENAPI, tokens["vera"], **{"Accept-Encoding": "gzip"})
    assert json.loads(gzip.decompress(packed.data)) == document
    again = _get(web, OPENAPI, tokens["vera"], **{"If-None-Match": served.headers["ETag"]})
    assert again.status_code == 304
    # Outside open mode it is an API call like the others.
    assert _get(web, OPENAPI, None).status_code == 401


def test_every_api_route_is_documented_and_nothing_more(
    web: FlaskClient, document: dict[str, Any]
) -> None:
    assert web.application is not None
    routes = {
        rule.rule.replace("<", "{").replace(">", "}"): rule.methods - {"HEAD", "OPTIONS"}
        for rule in web.application.url_map.iter_rules()
        if rule.rule.startswith(API_PREFIX + "/")
    }
    assert routes == {path: {"GET"} for path in document["paths"]}
    for path, item in document["paths"].items():
        parameters = [
            document["components"]["parameters"][p["$ref"].rsplit("/", 1)[1]]["name"]
            for p in item["get"]["parameters"]
        ]
        assert parameters == [part[1:-1] for part in path.split("/") if part.startswith("{")]


def test_every_answer_of_the_sample_agency_conforms(
    web: FlaskClient, agency: Agency, tokens: dict[str, str], document: dict[str, Any]
) -> None:
    viewer = tokens["vera"]
    clients = _get(web, f"{API_PREFIX}/clients", viewer)
    _conforms(document, f"{API_PREFIX}/clients", clients)
    keys = [entry["key"] for entry in clients.get_json()]
    assert keys == ["TOX", "HLT", "RET", "LAG"]
    checked = 0
    for key in keys:
        for what in ("summary", "timeseries"):
            path = f"{API_PREFIX}/clients/{key}/{what}"
            _conforms(document, path, _get(web, path, viewer))
            packed = _get(web, path, viewer, **{"Accept-Encoding": "gzip"})
            assert packed.headers["Content-Encoding"] == "gzip"
            assert json.loads(gzip.decompress(packed.data)) == _get(web, path, viewer).get_json()
        issues = agency.stored_keys(key)
        assert issues, key
        for issue in issues:
            path = f"{API_PREFIX}/clients/{key}/issues/{issue}"
            answer = _get(web, path, viewer)
            assert answer.status_code == 200, path
            _conforms(document, path, answer)
            checked += 1
    assert checked > 50  # every stored issue of the four clients
    for key in keys:  # client risk, internal: the admin's
        path = f"{API_PREFIX}/clients/{key}/risk"
        answer = _get(web, path, tokens["ada"])
        assert answer.status_code == 200, path
        _conforms(document, path, answer)
    _conforms(document, OPENAPI, _get(web, OPENAPI, viewer))


def test_errors_are_documented_error_documents(
    web: FlaskClient, tokens: dict[str, str], document: dict[str, Any]
) -> None:
    viewer, pm = tokens["vera"], tokens["pat"]
    cases = [
        (f"{API_PREFIX}/clients/NOPE/summary", viewer, 404),
        (f"{API_PREFIX}/clients/TOX/issues/TOX-99999", viewer, 404),
        (f"{API_PREFIX}/clients/TOX/timeseries", pm, 404),  # another team's client
        (f"{API_PREFIX}/clients", None, 401),
        (f"{API_PREFIX}/clients/TOX/summary", "not-a-token", 401),
        (f"{API_PREFIX}/clients/TOX/summary?q={'x' * 5000}", viewer, 414),
        (f"{API_PREFIX}/clients/TOX/risk", viewer, 403),  # client risk is for admins
    ]
    for path, token, status in cases:
        answer = _get(web, path, token)
        assert answer.status_code == status, path
        _conforms(document, path.split("?")[0], answer)
        if status == 401:
            assert answer.headers["WWW-Authenticate"] == 'Bearer realm="scopeguard"'
    # The pm's list is the pm's clients only, and still a client list.
    mine = _get(web, f"{API_PREFIX}/clients", pm)
    _conforms(document, f"{API_PREFIX}/clients", mine)
    assert [entry["key"] for entry in mine.get_json()] == ["HLT"]
    # Unknown routes and methods are no operation of the document, and error documents too.
    error = schema_validator(document, {"$ref": "#/components/schemas/ErrorDocument"})
    for answer, status in (
        (_get(web, f"{API_PREFIX}/nothing-here", viewer), 404),
        (web.post(f"{API_PREFIX}/clients", headers={"Authorization": f"Bearer {viewer}"}), 405),
        (web.delete(f"{API_PREFIX}/clients/TOX/summary"), 405),
    ):
        assert answer.status_code == status
        assert errors_of(error, answer.get_json()) == []


def test_the_schemas_are_strict(
    web: FlaskClient, tokens: dict[str, str], document: dict[str, Any]
) -> None:
    """The checks above would catch a drift: each of these changes is refused."""
    path = f"{API_PREFIX}/clients/TOX/summary"
    summary = _get(web, path, tokens["vera"]).get_json()
    validator = schema_validator(document, response_schema(document, template_of(document, path)))
    assert errors_of(validator, summary) == []
    broken = [
        {**summary, "unexpected": 1},
        {**summary, "scope": {**summary["scope"], "unexpected": []}},
        {**summary, "as_of": summary["as_of"][:19]},  # no offset
        {**summary, "health": "great"},
        {**summary, "scope": {**summary["scope"], "by_unit": {"parsecs": {}}}},
        {key: value for key, value in summary.items() if key != "sync"},
    ]
    for document_ in broken:
        assert errors_of(validator, document_), document_


def test_the_readme_examples_conform(document: dict[str, Any]) -> None:
    examples = readme_api_examples()
    covered = set()
    for url, body in examples:
        path = "/" + url.split("/", 3)[3]
        template = template_of(document, path)
        validator = schema_validator(document, response_schema(document, template))
        assert errors_of(validator, without_elisions(body)) == [], url
        covered.add(template.removeprefix(API_PREFIX))
    assert covered >= {
        "/clients",
        "/clients/{key}/summary",
        "/clients/{key}/timeseries",
        "/clients/{key}/issues/{issue_key}",
    }
