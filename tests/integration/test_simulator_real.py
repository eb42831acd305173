"""Real Jira exports loaded into the simulator: counts, verbatim histories, statuses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from jira_simulator import (
    Dataset,
    JiraSimulator,
    RealLoad,
    load_patternfly,
    load_puppet,
    load_real,
    load_sp_cloud,
    serve,
)
from jira_simulator.real import (
    PATTERNFLY,
    PUPPET,
    SP_CLOUD,
    infer_category,
    iter_concatenated_json,
)
from scopeguard.domain.timeparse import parse_jira_datetime
from tests.support.paths import REAL_JIRA

AUTH = ("pm@agency.example", "token")


def real_root() -> Path:
    return REAL_JIRA


def raw_issues() -> dict[str, list[dict[str, Any]]]:
    """The exports read independently of the loaders (plain json, no simulator code)."""
    root = real_root()
    puppet = [item["data"] for item in json.loads((root / PUPPET / "jira.json").read_text())]
    text = (root / PATTERNFLY / "jira_raw_fields.json").read_text()
    decoder = json.JSONDecoder()
    patternfly: list[dict[str, Any]] = []
    position = 0
    while position < len(text):
        if text[position].isspace():
            position += 1
            continue
        value, position = decoder.raw_decode(text, position)
        patternfly.append(value["_source"]["data"])
    sp = [json.loads(p.read_text()) for p in sorted((root / SP_CLOUD).glob("SP-*.json"))]
    return {PUPPET: puppet, PATTERNFLY: patternfly, SP_CLOUD: sp}


@pytest.fixture(scope="module")
def raw() -> dict[str, list[dict[str, Any]]]:
    return raw_issues()


@pytest.fixture(scope="module")
def loaded() -> tuple[Dataset, RealLoad]:
    ds = Dataset(user_timezone="Europe/Moscow")
    return ds, load_real(ds, real_root())


@pytest.fixture(scope="module")
def cloud(loaded: tuple[Dataset, RealLoad]) -> Iterator[tuple[str, requests.Session]]:
    with serve(JiraSimulator(loaded[0], flavor="cloud")) as url, requests.Session() as http:
        http.auth = AUTH
        yield url, http


def test_loaded_counts_equal_the_raw_files(
    raw: dict[str, list[dict[str, Any]]], loaded: tuple[Dataset, RealLoad]
) -> None:
    ds, result = loaded
    for source, issues in raw.items():
        part = result.sources[source]
        assert sorted(part.issue_keys) == sorted(issue["key"] for issue in issues)
        assert part.history_count == sum(len(i["changelog"]["histories"]) for i in issues)
    # The README's table; patternfly holds 182 histories (README says 192).
    assert [(s.issue_count, s.history_count) for s in result.sources.values()] == [
        (5, 99),
        (10, 182),
        (6, 21),
    ]
    assert len(ds.issues) == result.issue_count == 21
    assert ds.history_count() == result.history_count == 302


def test_served_counts_equal_the_raw_files(
    raw: dict[str, list[dict[str, Any]]], cloud: tuple[str, requests.Session]
) -> None:
    url, http = cloud
    keys = [issue["key"] for issues in raw.values() for issue in issues]
    projects = sorted({key.split("-")[0] for key in keys})
    found = http.get(
        f"{url}/rest/api/3/search/jql",
        params={"jql": f"project in ({', '.join(projects)})", "fields": "key", "maxResults": 100},
        timeout=10,
    ).json()
    assert sorted(i["key"] for i in found["issues"]) == sorted(keys)
    page = http.post(
        f"{url}/rest/api/3/changelog/bulkfetch",
        json={"issueIdsOrKeys": keys, "maxResults": 10000},
        timeout=10,
    ).json()
    served = sum(len(log["changeHistories"]) for log in page["issueChangeLogs"])
    assert served == sum(len(i["changelog"]["histories"]) for v in raw.values() for i in v)


def test_histories_are_served_verbatim(
    raw: dict[str, list[dict[str, Any]]],
    loaded: tuple[Dataset, RealLoad],
    cloud: tuple[str, requests.Session],
) -> None:
    url, http = cloud
    remaps = {source: part.status_id_map for source, part in loaded[1].sources.items()}
    for source, issues in raw.items():
        for issue in issues:
            expected = sorted(
                issue["changelog"]["histories"],
                key=lambda h: (parse_jira_datetime(h["created"]), int(h["id"])),
            )
            served = http.get(
                f"{url}/rest/api/3/issue/{issue['key']}/changelog", timeout=10
            ).json()["values"]
            assert [h["id"] for h in served] == [h["id"] for h in expected]
            assert [h["created"] for h in served] == [h["created"] for h in expected]
            assert [h["author"] for h in served] == [h["author"] for h in expected]
            for got, want in zip(served, expected, strict=True):
                for got_item, want_item in zip(got["items"], want["items"], strict=True):
                    compared = got_item
                    if want_item["field"] == "status":
                        # Only cross-site status id collisions are rewritten.
                        remap = remaps[source]
                        for side in ("from", "to"):
                            assert got_item[side] == remap.get(want_item[side], want_item[side])
                        compared = {**got_item, "from": want_item["from"], "to": want_item["to"]}
                    assert compared == want_item


def test_real_fields_are_served_verbatim_except_status(
    raw: dict[str, list[dict[str, Any]]], cloud: tuple[str, requests.Session]
) -> None:
    url, http = cloud
    issue = raw[PUPPET][0]
    served = http.get(f"{url}/rest/api/2/issue/{issue['key']}", timeout=10).json()
    assert served["id"] == issue["id"]
    fields = served["fields"]
    assert set(fields) == set(issue["fields"])
    for name, value in issue["fields"].items():
        if name != "status":
            assert fields[name] == value, name
    assert fields["status"]["name"] == issue["fields"]["status"]["name"]


def test_status_ids_are_consistent_across_the_merged_sites(
    loaded: tuple[Dataset, RealLoad], cloud: tuple[str, requests.Session]
) -> None:
    url, http = cloud
    statuses = {s["id"]: s for s in http.get(f"{url}/rest/api/3/status", timeout=10).json()}
    assert len(statuses) == len(loaded[0].statuses)
    ds, result = loaded
    # The three sites disagree about ids 10000-10002; the SP sample's are rewritten.
    assert result.sources[SP_CLOUD].status_id_map["10001"] != "10001"
    assert statuses[result.sources[SP_CLOUD].status_id_map["10001"]]["name"] == (
        "Selected for Development"
    )
    for issue in ds.issues:
        body = http.get(
            f"{url}/rest/api/3/issue/{issue.key}", params={"fields": "status"}, timeout=10
        ).json()
        status = body["fields"]["status"]
        assert statuses[status["id"]]["name"] == status["name"]
        for history in http.get(f"{url}/rest/api/3/issue/{issue.key}/changelog", timeout=10).json()[
            "values"
        ]:
            for item in history["items"]:
                if item["field"] == "status":
                    assert statuses[item["to"]]["name"] == item["toString"]
                    assert statuses[item["from"]]["name"] == item["fromString"]


def test_done_is_a_category_and_reopens_are_visible(
    loaded: tuple[Dataset, RealLoad], cloud: tuple[str, requests.Session]
) -> None:
    url, http = cloud
    categories = {
        s["name"]: s["statusCategory"]["key"]
        for s in http.get(f"{url}/rest/api/3/status", timeout=10).json()
    }
    assert categories["Resolved"] == "done"
    assert categories["Open"] == "new"
    assert categories["Selected for Development"] == "indeterminate"
    assert categories["Ready for Merge"] == "indeterminate"

    def status_moves(key: str) -> list[tuple[str, str]]:
        values = http.get(f"{url}/rest/api/3/issue/{key}/changelog", timeout=10).json()["values"]
        return [
            (i["fromString"], i["toString"])
            for h in values
            for i in h["items"]
            if i["field"] == "status"
        ]

    assert ("Resolved", "Open") in status_moves("PUP-3483")
    assert ("Done", "Selected for Development") in status_moves("SP-5")
    ds = loaded[0]
    assert ds.issue("PUP-3483").status.name == "Open"
    assert ds.issue("SP-5").resolution == "Done"


def test_inline_changelog_of_a_real_cloud_issue_is_capped(
    cloud: tuple[str, requests.Session],
) -> None:
    url, http = cloud
    body = http.get(
        f"{url}/rest/api/3/search/jql",
        params={"jql": "key = OSUX-34", "expand": "changelog"},
        timeout=10,
    ).json()
    changelog = body["issues"][0]["changelog"]
    assert changelog["total"] == 71 and len(changelog["histories"]) == 40
    stamps = [parse_jira_datetime(h["created"]) for h in changelog["histories"]]
    assert stamps == sorted(stamps, reverse=True)


def test_real_data_on_data_center(loaded: tuple[Dataset, RealLoad]) -> None:
    sim = JiraSimulator(loaded[0], flavor="datacenter")
    with serve(sim) as url:
        body = requests.get(
            f"{url}/rest/api/2/search",
            params={"jql": "project = PUP", "expand": "changelog"},
            headers={"Authorization": "Bearer pat-token"},
            timeout=10,
        ).json()
    assert body["total"] == 5
    for issue in body["issues"]:
        ids = [int(h["id"]) for h in issue["changelog"]["histories"]]
        assert ids == sorted(ids) and len(ids) == issue["changelog"]["total"]


def test_per_source_loaders_and_concatenated_reader() -> None:
    assert [v for v in iter_concatenated_json('{"a": 1}\n{"b": 2}{"c": [3]}  ')] == [
        {"a": 1},
        {"b": 2},
        {"c": [3]},
    ]
    ds = Dataset()
    sp = load_sp_cloud(ds, real_root() / SP_CLOUD)
    assert sp.issue_count == 6 and sp.status_id_map == {}  # alone, nothing collides
    assert load_puppet(ds, real_root() / PUPPET / "jira.json").issue_count == 5
    assert load_patternfly(ds, real_root() / PATTERNFLY).issue_count == 10


@pytest.mark.parametrize(
    ("name", "category"),
    [
        ("Resolved", "done"),
        ("Won't Fix", "done"),
        ("Принято клиентом", "done"),
        ("Reopened", "new"),
        ("Backlog", "new"),
        ("Ready for Test", "indeterminate"),
        ("Accepted", "indeterminate"),
    ],
)
def test_category_rule_for_statuses_seen_only_in_histories(name: str, category: str) -> None:
    assert infer_category(name).value == category
