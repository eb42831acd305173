"""The API fuzzed from its own OpenAPI document (Schemathesis), over a real socket.

The app is served by werkzeug on a loopback port in this process, so requests
go through HTTP as a client's would (gzip-compressed answers decoded by the
client, cookies, headers). Schemathesis reads ``/api/v1/openapi.json`` as the
app serves it and generates
requests for every operation: path parameters that are valid and invalid by the
document, real client and issue keys of the sample agency mixed in so the 200
answers are fuzzed too, with and without the personal token. Its checks: no
5xx, every status documented, every body valid against its schema, the
documented content type and headers, and a request without credentials refused
(the document says every operation needs them).

Bounded for CI: a fixed number of examples per operation (the whole module
takes well under a minute on 2 cores), no deadline per example (the machine is
shared), and Hypothesis's example database is not written, so a run does not
depend on earlier ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from jira_simulator import serve
from scopeguard.entrypoints.web import create_app
from scopeguard.presentation.openapi import API_PREFIX, OPERATIONS
from tests.support.agency import Agency, build_agency
from tests.support.people import add_people

EXAMPLES = 60
"""Generated requests per operation (six operations)."""


@pytest.fixture(scope="module")
def agency(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agency]:
    yield from build_agency(tmp_path_factory.mktemp("fuzz"))


@pytest.fixture(scope="module")
def tokens(agency: Agency) -> dict[str, str]:
    """A viewer's and an admin's personal token (adding the accounts ends open mode)."""
    add_people(agency.services)
    people = agency.services.people
    users = {user.username: user for user in people.users()}
    return {
        name: people.new_token(users[name], "fuzz", address=None)[0] for name in ("vera", "ada")
    }


ADMIN_ONLY = {"getClientRisk"}
"""Operations only an admin may call (the viewer's 403 is tested in test_openapi.py)."""


@pytest.fixture(scope="module")
def api_schemas(
    agency: Agency, tokens: dict[str, str]
) -> Iterator[dict[GenerationMode, schemathesis.BaseSchema]]:
    """The served document, loaded once per generation mode: only valid requests may be
    steered to real keys (a negative case made valid would be "accepted" wrongly)."""
    with serve(create_app(services=agency.services)) as url:
        auth = {"Authorization": f"Bearer {tokens['vera']}"}
        schemas = {
            mode: schemathesis.openapi.from_url(f"{url}{API_PREFIX}/openapi.json", headers=auth)
            for mode in GenerationMode
        }
        _real_keys_sometimes(schemas[GenerationMode.POSITIVE], agency)
        yield schemas


def _real_keys_sometimes(schema: schemathesis.BaseSchema, agency: Agency) -> None:
    known = {key: agency.stored_keys(key) for key in ("TOX", "HLT", "RET", "LAG")}

    @schema.hook
    def flatmap_path_parameters(
        _context: schemathesis.HookContext, path_parameters: dict[str, Any]
    ) -> st.SearchStrategy[dict[str, Any]]:
        """Half of the time a real client (and one of its issues): fuzzing reaches the 200s."""
        if not path_parameters or "key" not in path_parameters:
            return st.just(path_parameters)
        real = st.sampled_from(sorted(known)).flatmap(
            lambda key: st.sampled_from(known[key]).map(
                lambda issue: {
                    **path_parameters,
                    "key": key,
                    **({"issue_key": issue} if "issue_key" in path_parameters else {}),
                }
            )
        )
        return st.one_of(st.just(path_parameters), real)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("operation_id", [operation.operation_id for operation in OPERATIONS])
def test_the_api_conforms_to_its_document(
    api_schemas: dict[GenerationMode, schemathesis.BaseSchema],
    tokens: dict[str, str],
    operation_id: str,
    mode: GenerationMode,
) -> None:
    operation = api_schemas[mode].find_operation_by_id(operation_id)
    token = tokens["ada" if operation_id in ADMIN_ONLY else "vera"]
    statuses: list[int] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def fuzz(case: schemathesis.Case) -> None:
        response = case.call_and_validate(headers={"Authorization": f"Bearer {token}"})
        statuses.append(response.status_code)

    fuzz()
    if mode is GenerationMode.POSITIVE:
        assert 200 in statuses, statuses  # the real keys were reached, not only 404s
