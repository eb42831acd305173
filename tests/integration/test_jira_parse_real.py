"""Parsing raw Jira JSON into domain issues, checked against data captured from real Jira sites.

The real files are in ``tests/data/jira/real/`` with their licences
(``tests/data/README.md``).
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from scopeguard.adapters.jira import (
    parse_description,
    parse_issue,
)
from scopeguard.domain.model import Status, StatusCategory
from tests.support.paths import REAL_JIRA as REAL


def _puppet() -> list[dict[str, Any]]:
    items = json.loads((REAL / "puppet-server" / "jira.json").read_text(encoding="utf-8"))
    return [item["data"] for item in items]


def _patternfly() -> list[dict[str, Any]]:
    # Concatenated JSON objects, one per issue, as GrimoireLab's test data stores them.
    text = (REAL / "patternfly-cloud" / "jira_raw_fields.json").read_text(encoding="utf-8")
    decoder = json.JSONDecoder()
    issues: list[dict[str, Any]] = []
    index = 0
    while True:
        while index < len(text) and text[index].isspace():
            index += 1
        if index >= len(text):
            return issues
        document, index = decoder.raw_decode(text, index)
        issues.append(document["_source"]["data"])


def _sp_cloud() -> list[dict[str, Any]]:
    folder = REAL / "sp-cloud-sample"
    return [
        json.loads(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("SP-*.json"))
    ]


def _sp_statuses() -> dict[str, Status]:
    raw = json.loads((REAL / "sp-cloud-sample" / "statuses.json").read_text(encoding="utf-8"))
    return {
        s["id"]: Status(s["id"], s["name"], StatusCategory.from_jira(s["statusCategory"]["key"]))
        for s in raw
    }


SOURCES = {
    "puppet-server": (_puppet, "customfield_10002", 5, 99),
    "patternfly-cloud": (_patternfly, "customfield_10005", 10, None),
    "sp-cloud-sample": (_sp_cloud, "customfield_10016", 6, 21),
}


def _raw_items(issue: dict[str, Any]) -> Counter[tuple[Any, ...]]:
    return Counter(
        (
            str(history["id"]),
            item["field"],
            item.get("fieldId"),
            item.get("from"),
            item.get("fromString"),
            item.get("to"),
            item.get("toString"),
        )
        for history in issue["changelog"]["histories"]
        for item in history["items"]
    )


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_every_history_item_of_real_issues_becomes_a_change_item(source: str) -> None:
    load, points_field, issue_count, history_count = SOURCES[source]
    raw_issues = load()
    assert len(raw_issues) == issue_count
    if history_count is not None:
        assert sum(len(i["changelog"]["histories"]) for i in raw_issues) == history_count
    statuses = _sp_statuses() if source == "sp-cloud-sample" else {}

    for raw in raw_issues:
        issue = parse_issue(raw, statuses=statuses, story_points_field=points_field)
        assert issue.key == raw["key"]
        assert issue.id == str(raw["id"])
        parsed = Counter(
            (c.history_id, c.field, c.field_id, c.from_id, c.from_string, c.to_id, c.to_string)
            for c in issue.changes
        )
        assert parsed == _raw_items(raw), issue.key
        assert len(issue.changes) == sum(len(h["items"]) for h in raw["changelog"]["histories"])
        moments = [c.created for c in issue.changes]
        assert moments == sorted(moments)
        assert all(m.tzinfo is not None for m in moments)
        assert issue.created.tzinfo is not None and issue.updated.tzinfo is not None
        assert issue.created <= issue.updated
        assert issue.status.id == raw["fields"]["status"]["id"]


def test_server_data_reopen_is_seen_in_order_and_old_items_lack_field_ids() -> None:
    raw = next(i for i in _puppet() if i["key"] == "PUP-3483")
    issue = parse_issue(raw, statuses={}, story_points_field="customfield_10002")
    transitions = [(c.from_string, c.to_string) for c in issue.status_changes]
    assert transitions == [("Open", "Resolved"), ("Resolved", "Open")]
    assert all(c.field_id is None for c in issue.changes)
    # Unknown to the (empty) status map: built from the issue's own category.
    assert issue.status.name == "Open"
    assert issue.status.category is StatusCategory.NEW
    first = issue.status_changes[0]
    assert first.created == datetime(
        2015, 7, 7, 8, 4, 31, 629000, tzinfo=timezone(-timedelta(hours=7))
    )
    assert first.author_account is not None and first.author_name is not None


def test_server_data_story_points_and_resolution() -> None:
    by_key = {
        i["key"]: parse_issue(i, statuses={}, story_points_field="customfield_10002")
        for i in _puppet()
    }
    assert by_key["PUP-6295"].story_points == 8.0
    assert by_key["PUP-6551"].story_points == 1.0
    assert by_key["PUP-3483"].story_points is None
    assert by_key["PUP-6159"].resolution is not None
    assert by_key["PUP-6159"].status.category is StatusCategory.DONE
    assert by_key["PUP-6551"].reporter_account == "moses"
    assert by_key["PUP-6551"].reporter_name == "Moses Mendoza"


def test_cloud_sample_done_then_reopened_with_site_statuses() -> None:
    statuses = _sp_statuses()
    raw = next(i for i in _sp_cloud() if i["key"] == "SP-5")
    # Cloud answers newest first; the parser must not trust that order.
    created = [h["created"] for h in raw["changelog"]["histories"]]
    assert created == sorted(created, reverse=True)
    issue = parse_issue(raw, statuses=statuses, story_points_field=None)
    transitions = [c.to_string for c in issue.status_changes]
    assert transitions == [
        "Selected for Development",
        "In Progress",
        "Review",
        "Done",
        "Selected for Development",
        "In Progress",
        "Done",
    ]
    assert issue.status is statuses["10002"]
    assert issue.status.category is StatusCategory.DONE
    assert all(c.field_id is not None for c in issue.changes)
    assert all(c.author_account and c.author_account.startswith("557058:") for c in issue.changes)
    assert issue.story_points is None


def test_grimoirelab_wrapped_story_points_are_read() -> None:
    points = {
        i["key"]: parse_issue(i, statuses={}, story_points_field="customfield_10005").story_points
        for i in _patternfly()
    }
    assert sorted(p for p in points.values() if p is not None) == [3.0, 3.0, 3.0, 8.0]


# --- synthetic Cloud v3 issue -----------------------------------------------------------


# --- descriptions --------------------------------------------------------------------


def test_real_descriptions_are_kept_as_written() -> None:
    for raw in _puppet():
        assert parse_description(raw["fields"]["description"]) == raw["fields"]["description"]
