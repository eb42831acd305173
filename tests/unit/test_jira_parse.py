"""Parsing raw Jira JSON into domain issues: synthetic Cloud and Data Center issues, malformed ones.

The same parser against data captured from real Jira sites is in
``tests/integration/test_jira_parse_real.py`` (it reads files).
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from scopeguard.adapters.jira import (
    JiraMalformedResponse,
    parse_description,
    parse_issue,
)
from scopeguard.domain.model import Status, StatusCategory

# --- synthetic Cloud v3 issue -----------------------------------------------------------


def _cloud_issue() -> dict[str, Any]:
    author = {"accountId": "acc-1", "displayName": "Pat Manager"}
    return {
        "id": "10042",
        "key": "ACME-7",
        "fields": {
            "summary": "Landing page",
            "status": {
                "id": "10007",
                "name": "Принято клиентом",
                "statusCategory": {"key": "done"},
            },
            "issuetype": {"name": "Story"},
            "project": {"key": "ACME"},
            "created": "2026-09-01T00:30:00.000+0300",
            "updated": "2026-09-03T12:00:00.000+0000",
            "labels": ["change-request", "ux"],
            "resolution": {"name": "Done"},
            "reporter": author,
            "description": {"type": "doc", "version": 1, "content": []},
            "comment": {
                "comments": [
                    {"id": "2", "created": "2026-09-02T10:00:00.000+0000", "author": author},
                    {"id": "1", "created": "2026-09-01T10:00:00.000+0000", "author": None},
                ],
                "total": 2,
            },
            "timeoriginalestimate": 7200,
            "customfield_10016": 5,
        },
        "changelog": {
            "startAt": 0,
            "maxResults": 2,
            "total": 2,
            "histories": [
                {
                    "id": "201",
                    "created": "2026-09-02T09:00:00.000-0700",
                    "author": author,
                    "items": [
                        {
                            "field": "status",
                            "fieldtype": "jira",
                            "fieldId": "status",
                            "from": "10001",
                            "fromString": "In Progress",
                            "to": "10007",
                            "toString": "Принято клиентом",
                        },
                        {
                            "field": "resolution",
                            "fieldtype": "jira",
                            "fieldId": "resolution",
                            "from": None,
                            "fromString": None,
                            "to": "10000",
                            "toString": "Done",
                        },
                    ],
                },
                {
                    "id": "200",
                    "created": "2026-09-02T17:00:00.000+0200",
                    "items": [
                        {
                            "field": "Story point estimate",
                            "fieldtype": "custom",
                            "fieldId": "customfield_10016",
                            "from": None,
                            "fromString": "3",
                            "to": None,
                            "toString": "5",
                        }
                    ],
                },
            ],
        },
    }


def test_cloud_issue_fields_comments_and_history_order() -> None:
    issue = parse_issue(_cloud_issue(), statuses={}, story_points_field="customfield_10016")
    assert issue.project_key == "ACME"
    assert issue.issue_type == "Story"
    assert issue.created == datetime(2026, 8, 31, 21, 30, tzinfo=UTC)
    assert issue.labels == ("change-request", "ux")
    assert issue.resolution == "Done"
    assert issue.story_points == 5.0
    assert issue.original_estimate_seconds == 7200
    assert issue.status == Status("10007", "Принято клиентом", StatusCategory.DONE)
    assert [c.id for c in issue.comments] == ["1", "2"]
    assert issue.comments[0].author_account is None
    assert issue.comments[1].author_account == "acc-1"
    # 17:00+02:00 (15:00 UTC) comes before 09:00-07:00 (16:00 UTC), whatever the ids say.
    assert [c.history_id for c in issue.changes] == ["200", "201", "201"]
    assert issue.changes[0].author_account is None  # automation: no author
    assert issue.changes[1].author_name == "Pat Manager"
    assert issue.status_changes[0].to_id == "10007"


def test_known_status_id_uses_the_site_status() -> None:
    site = Status("10007", "Accepted", StatusCategory.DONE)
    issue = parse_issue(_cloud_issue(), statuses={"10007": site}, story_points_field=None)
    assert issue.status is site
    assert issue.story_points is None


def test_issue_without_changelog_has_no_changes() -> None:
    raw = _cloud_issue()
    del raw["changelog"]
    del raw["fields"]["comment"]
    del raw["fields"]["labels"]
    issue = parse_issue(raw, statuses={}, story_points_field="customfield_99999")
    assert issue.changes == ()
    assert issue.comments == ()
    assert issue.labels == ()
    assert issue.story_points is None


def _broken(mutate: Any) -> dict[str, Any]:
    raw = copy.deepcopy(_cloud_issue())
    mutate(raw)
    return raw


BROKEN = {
    "no key": (lambda r: r.pop("key"), "has no key"),
    "no fields": (lambda r: r.pop("fields"), "fields is missing"),
    "no project": (lambda r: r["fields"].pop("project"), "fields.project"),
    "no status": (lambda r: r["fields"].pop("status"), "fields.status"),
    "naive created": (
        lambda r: r["fields"].update(created="2026-09-01T10:00:00.000"),
        "fields.created is not a valid timestamp",
    ),
    "numeric updated": (lambda r: r["fields"].update(updated=1756700000), "fields.updated"),
    "unknown status without category": (
        lambda r: r["fields"]["status"].pop("statusCategory"),
        "statusCategory",
    ),
    "labels not a list": (lambda r: r["fields"].update(labels="ux"), "fields.labels"),
    "story points text": (
        lambda r: r["fields"].update(customfield_10016="five"),
        "story points",
    ),
    "history without created": (
        lambda r: r["changelog"]["histories"][0].pop("created"),
        "history 201 created",
    ),
    "history bad created": (
        lambda r: r["changelog"]["histories"][1].update(created="yesterday"),
        "history 200 created is not a valid timestamp",
    ),
    "history without id": (lambda r: r["changelog"]["histories"][0].pop("id"), "histories[0].id"),
    "item without field": (
        lambda r: r["changelog"]["histories"][0]["items"][0].pop("field"),
        "history 201 item 0 field",
    ),
    "histories not a list": (
        lambda r: r["changelog"].update(histories={"id": "1"}),
        "changelog.histories",
    ),
    "truncated changelog": (
        lambda r: r["changelog"].update(total=45),
        "changelog is incomplete (2 of 45 histories)",
    ),
    "comment without created": (
        lambda r: r["fields"]["comment"]["comments"][0].pop("created"),
        "comments[0].created",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_malformed_issue_is_rejected_naming_issue_and_problem(case: str) -> None:
    mutate, expected = BROKEN[case]
    with pytest.raises(JiraMalformedResponse) as caught:
        parse_issue(_broken(mutate), statuses={}, story_points_field="customfield_10016")
    message = str(caught.value)
    assert expected in message
    if case != "no key":
        assert "ACME-7" in message


def test_non_object_issue_is_rejected() -> None:
    with pytest.raises(JiraMalformedResponse):
        parse_issue(["ACME-1"], statuses={}, story_points_field=None)  # type: ignore[arg-type]


# --- descriptions --------------------------------------------------------------------


def test_adf_description_becomes_plain_text() -> None:
    doc = {
        "type": "doc",
        "version": 1,
        "content": [
            {
                "type": "heading",
                "attrs": {"level": 2},
                "content": [{"type": "text", "text": "Goal"}],
            },
            {
                "type": "paragraph",
                "content": [
                    {"type": "text", "text": "Ask "},
                    {"type": "mention", "attrs": {"id": "acc-1", "text": "@Pat"}},
                    {"type": "text", "text": " first", "marks": [{"type": "strong"}]},
                    {"type": "hardBreak"},
                    {"type": "text", "text": "then build"},
                    {"type": "emoji", "attrs": {"shortName": ":smile:", "text": "😄"}},
                ],
            },
            {
                "type": "bulletList",
                "content": [
                    {
                        "type": "listItem",
                        "content": [
                            {"type": "paragraph", "content": [{"type": "text", "text": "one"}]}
                        ],
                    },
                    {
                        "type": "listItem",
                        "content": [
                            {
                                "type": "paragraph",
                                "content": [
                                    {"type": "inlineCard", "attrs": {"url": "https://example.org"}}
                                ],
                            }
                        ],
                    },
                ],
            },
            {"type": "rule"},
            {"type": "codeBlock", "content": [{"type": "text", "text": "x = 1"}]},
        ],
    }
    assert parse_description(doc) == (
        "Goal\nAsk @Pat first\nthen build😄\none\nhttps://example.org\nx = 1"
    )


def test_plain_descriptions_and_empty_documents() -> None:
    assert parse_description("h1. Title\r\nbody") == "h1. Title\r\nbody"
    assert parse_description(None) is None
    assert parse_description({"type": "doc", "version": 1, "content": []}) is None


def test_unknown_description_shape_is_rejected() -> None:
    with pytest.raises(JiraMalformedResponse):
        parse_description({"type": "paragraph"})
    with pytest.raises(JiraMalformedResponse):
        parse_description(42)
