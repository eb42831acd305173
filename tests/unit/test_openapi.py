"""The OpenAPI document is generated from every document type, and as strict as they are."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime
from typing import NotRequired, get_origin
from zoneinfo import ZoneInfo

from typing_extensions import get_type_hints, is_typeddict

from scopeguard.domain.contract import ScopeUnit
from scopeguard.domain.figures import IssueTrail
from scopeguard.domain.health import Health
from scopeguard.domain.metrics import RevisionRound
from scopeguard.presentation import documents
from scopeguard.presentation.documents import error_document, trail_document
from scopeguard.presentation.openapi import API_PREFIX, OPERATIONS, openapi_document
from tests.support.openapi import errors_of, response_schema, schema_validator

DOCUMENT = openapi_document(version="1.2.3", session_cookie="scopeguard_session")
SCHEMAS = DOCUMENT["components"]["schemas"]


def test_the_document_says_what_it_is() -> None:
    # The reference validator reads /etc/mime.types: tests/e2e/test_openapi.py runs it.
    assert DOCUMENT["openapi"] == "3.1.0"
    assert DOCUMENT["info"]["version"] == "1.2.3"


def test_every_document_type_is_a_closed_component_schema() -> None:
    types = [
        name
        for name, value in inspect.getmembers(documents, inspect.isclass)
        if is_typeddict(value) and value.__module__ == documents.__name__
    ]
    assert "SummaryDocument" in types and "ErrorDocument" in types
    for name in types:
        schema = SCHEMAS[name]
        assert schema["additionalProperties"] is False, name
        hints = get_type_hints(getattr(documents, name), include_extras=True)
        assert set(schema["properties"]) == set(hints), name
        # A key the code may leave out (NotRequired) is the only kind not required.
        always = {key for key, hint in hints.items() if get_origin(hint) is not NotRequired}
        assert set(schema.get("required", [])) == always, name


def test_fixed_forms_come_from_the_domain() -> None:
    summary = SCHEMAS["SummaryDocument"]["properties"]
    assert summary["health"]["enum"] == [level.value for level in Health]
    assert summary["as_of"]["format"] == "date-time"
    by_unit = SCHEMAS["ScopeDocument"]["properties"]["by_unit"]
    assert by_unit["propertyNames"]["enum"] == [unit.value for unit in ScopeUnit]
    assert SCHEMAS["DayDocument"]["properties"]["date"]["format"] == "date"


def test_every_operation_has_its_errors_and_parameters() -> None:
    for operation in OPERATIONS:
        path = API_PREFIX + operation.path
        get = DOCUMENT["paths"][path]["get"]
        assert {"200", "401", "414"} <= set(get["responses"]), path
        names = [
            DOCUMENT["components"]["parameters"][p["$ref"].rsplit("/", 1)[1]]["name"]
            for p in get["parameters"]
        ]
        assert [f"{{{name}}}" for name in names] == [
            part for part in path.split("/") if part.startswith("{")
        ]
    assert DOCUMENT["components"]["securitySchemes"]["session"]["name"] == "scopeguard_session"
    assert {scheme for entry in DOCUMENT["security"] for scheme in entry} == set(
        DOCUMENT["components"]["securitySchemes"]
    )


def test_what_the_builders_write_conforms_and_nothing_else_does() -> None:
    zone = ZoneInfo("Europe/Moscow")
    moment = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    trail = IssueTrail(
        client="ACME",
        issue="ACME-7",
        summary="Hero banner",
        status="In Progress",
        url="https://agency.atlassian.net/browse/ACME-7",
        revisions_per_issue=2,
        rounds=(
            RevisionRound(1, moment, "Vic", "acc-1", "Client Review", "Open", False, False, "1"),
            RevisionRound(2, moment, None, None, "Done", "Open", True, False, "2"),
        ),
        added_at=moment,
        approved=False,
        removed_at=None,
    )
    written = trail_document(trail, zone)
    validator = schema_validator(
        DOCUMENT, response_schema(DOCUMENT, f"{API_PREFIX}/clients/{{key}}/issues/{{issue_key}}")
    )
    assert errors_of(validator, written) == []
    assert errors_of(validator, {**written, "extra": True})
    assert errors_of(validator, {**written, "added_at": "2026-11-02 12:30"})
    assert errors_of(validator, {**written, "revisions": [{**written["revisions"][0], "x": 1}]})
    error = schema_validator(DOCUMENT, {"$ref": "#/components/schemas/ErrorDocument"})
    assert errors_of(error, error_document("not_found", "unknown client 'X'")) == []
    assert errors_of(error, {"error": "not_found"})
