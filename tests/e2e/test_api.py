"""The JSON API over the synced sample agency."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from scopeguard.entrypoints.web import create_app
from tests.support.agency import Agency, build_agency


@pytest.fixture(scope="module")
def client(agency: Agency) -> FlaskClient:
    return create_app(services=agency.services).test_client()


def _json(client: FlaskClient, path: str, status: int = 200) -> Any:
    response = client.get(path)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    return response.get_json()


def test_clients_lists_every_client_with_its_health(client: FlaskClient) -> None:
    body = _json(client, "/api/v1/clients")
    assert [c["key"] for c in body] == ["TOX", "HLT", "RET", "LAG"]
    health = {c["key"]: c["health"] for c in body}
    assert health["TOX"] == "breach"
    assert health["HLT"] == "ok"
    # Open mode serves everyone as an admin: the risk scores are there.
    assert all(isinstance(c["risk_score"], int) for c in body)


def test_summary_has_the_documented_shape_and_consistent_figures(client: FlaskClient) -> None:
    summary = _json(client, "/api/v1/clients/TOX/summary")
    assert summary["client"] == "TOX"
    assert set(summary) >= {
        "client",
        "name",
        "as_of",
        "contract",
        "scope",
        "revisions",
        "reopens",
        "overage",
        "health",
        "sync",
    }
    assert datetime.fromisoformat(summary["as_of"]).tzinfo is not None
    scope = summary["scope"]
    assert scope["unit"] == "issues"
    headline = scope["by_unit"]["issues"]
    assert scope["creep"] == headline["creep"]
    assert scope["creep"] == len(scope["added"])  # issues unit: creep counts unapproved added
    assert set(scope["added"]).isdisjoint(scope["approved_changes"])
    revisions = summary["revisions"]
    limit = revisions["per_issue_limit"]
    assert all(n > 0 for n in revisions["by_issue"].values())
    assert revisions["total"] == sum(revisions["by_issue"].values())
    assert sorted(revisions["over_limit"]) == sorted(
        key for key, n in revisions["by_issue"].items() if n > limit
    )
    assert revisions["over_limit"], "the demanding client is past its included rounds"
    assert summary["reopens"]["total"] == sum(summary["reopens"]["by_issue"].values())
    assert summary["sync"]["issues"] > 0
    assert datetime.fromisoformat(summary["sync"]["last_success"]).tzinfo is not None


def test_evidence_trail_matches_the_summary(client: FlaskClient, agency: Agency) -> None:
    summary = _json(client, "/api/v1/clients/TOX/summary")
    for key, count in summary["revisions"]["by_issue"].items():
        trail = _json(client, f"/api/v1/clients/TOX/issues/{key}")
        assert trail["issue"] == key
        assert len(trail["revisions"]) == count
        for round_ in trail["revisions"]:
            assert datetime.fromisoformat(round_["at"]).tzinfo is not None
            assert round_["from_status"] and round_["to_status"] and round_["author"]
        reopens = summary["reopens"]["by_issue"].get(key, 0)
        assert len(trail["reopens"]) == reopens
        assert trail["url"].endswith(f"/browse/{key}")


def test_timeseries_ends_where_the_summary_stands(client: FlaskClient) -> None:
    summary = _json(client, "/api/v1/clients/TOX/summary")
    series = _json(client, "/api/v1/clients/TOX/timeseries")
    days = series["days"]
    assert days[0]["date"] == summary["contract"]["start"][:10]
    last = days[-1]
    assert last["revisions"] == summary["revisions"]["total"]
    assert last["reopens"] == summary["reopens"]["total"]
    dates = [d["date"] for d in days]
    assert dates == sorted(dates) and len(set(dates)) == len(dates)


def test_a_sync_with_no_changes_restamps_the_summary_without_changing_figures(
    client: FlaskClient, agency: Agency
) -> None:
    before = _json(client, "/api/v1/clients/HLT/summary")
    report = agency.services.sync.sync_client(agency.settings.client("HLT"))
    assert report.issues == 0
    after = _json(client, "/api/v1/clients/HLT/summary")
    moment = datetime.fromisoformat
    assert moment(after["sync"]["last_success"]) > moment(before["sync"]["last_success"])
    assert after["as_of"] == after["sync"]["last_success"]
    strip = ("as_of", "sync")
    assert {k: v for k, v in after.items() if k not in strip} == {
        k: v for k, v in before.items() if k not in strip
    }


def test_unknown_client_or_issue_is_a_json_404(client: FlaskClient) -> None:
    assert _json(client, "/api/v1/clients/NOPE/summary", 404)["error"] == "not_found"
    assert "NOPE-1" in _json(client, "/api/v1/clients/TOX/issues/NOPE-1", 404)["message"]


def test_health_and_readiness(client: FlaskClient) -> None:
    assert _json(client, "/healthz") == {"status": "ok"}
    ready = _json(client, "/readyz")
    assert ready["database"] == "ok"
    assert isinstance(ready["oldest_last_sync_seconds"], int)


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlaskClient]:
    folder: Path = tmp_path_factory.mktemp("guarded")
    for agency in build_agency(folder, api_token="s3cret-token-0123456"):
        yield create_app(services=agency.services).test_client()


def test_api_token_is_required_when_configured(guarded: FlaskClient) -> None:
    assert guarded.get("/api/v1/clients").status_code == 401
    wrong = guarded.get("/api/v1/clients", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    right = guarded.get("/api/v1/clients", headers={"Authorization": "Bearer s3cret-token-0123456"})
    assert right.status_code == 200
    assert guarded.get("/healthz").status_code == 200  # probes stay open


def test_summary_is_gzip_compressed_for_clients_that_accept_it(client: FlaskClient) -> None:
    plain = client.get("/api/v1/clients/TOX/summary")
    packed = client.get("/api/v1/clients/TOX/summary", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert json.loads(gzip.decompress(packed.data)) == plain.get_json()
    series = client.get("/api/v1/clients/TOX/timeseries", headers={"Accept-Encoding": "gzip"})
    assert json.loads(gzip.decompress(series.data))["client"] == "TOX"
