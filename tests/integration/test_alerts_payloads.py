"""Slack and Teams payloads against their documented shapes, delivered to a local receiver.

The schemas are written from the vendors' references: Slack's Block Kit
(incoming webhooks: ``text`` fallback plus ``blocks``; header, section, actions
and context blocks; text objects; buttons, with their length limits) and
Microsoft's Teams Workflows webhook ("Post card in a chat or channel": a
``message`` whose attachment is an Adaptive Card, ``contentType``
``application/vnd.microsoft.card.adaptive``; card version at most 1.5,
``TextBlock``, ``FactSet`` and ``Action.OpenUrl``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from scopeguard.adapters.delivery.channels import deliver
from scopeguard.config import Settings
from scopeguard.presentation.alert_messages import (
    build_alert,
    slack_payload,
    teams_payload,
    webhook_body,
)
from tests.support.receiver import Receiver, receiver_running
from tests.support.settings import settings_for


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from receiver_running()


def _closed(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    """An object with these properties and no others, ``required`` among them."""
    return {
        "type": "object",
        "required": required,
        "additionalProperties": False,
        "properties": properties,
    }


def _text(kind: str | list[str], limit: int) -> dict[str, Any]:
    return _closed(
        ["type", "text"],
        {
            "type": {"enum": [kind] if isinstance(kind, str) else kind},
            "text": {"type": "string", "minLength": 1, "maxLength": limit},
            "emoji": {"type": "boolean"},
            "verbatim": {"type": "boolean"},
        },
    )


def _list(items: dict[str, Any], most: int) -> dict[str, Any]:
    return {"type": "array", "minItems": 1, "maxItems": most, "items": items}


_BLOCK_ID = {"type": "string", "maxLength": 255}
_ANY_TEXT = ["plain_text", "mrkdwn"]
_BUTTON = _closed(
    ["type", "text"],
    {
        "type": {"const": "button"},
        "text": _text("plain_text", 75),
        "action_id": {"type": "string", "maxLength": 255},
        "url": {"type": "string", "maxLength": 3000, "pattern": "^https?://"},
        "value": {"type": "string", "maxLength": 2000},
        "style": {"enum": ["primary", "danger"]},
    },
)
SLACK_SCHEMA: dict[str, Any] = _closed(
    ["text", "blocks"],
    {
        "text": {"type": "string", "minLength": 1},
        "blocks": _list(
            {
                "oneOf": [
                    _closed(
                        ["type", "text"],
                        {
                            "type": {"const": "header"},
                            "text": _text("plain_text", 150),
                            "block_id": _BLOCK_ID,
                        },
                    ),
                    {
                        **_closed(
                            ["type"],
                            {
                                "type": {"const": "section"},
                                "text": _text(_ANY_TEXT, 3000),
                                "fields": _list(_text(_ANY_TEXT, 2000), 10),
                                "block_id": _BLOCK_ID,
                            },
                        ),
                        "anyOf": [{"required": ["text"]}, {"required": ["fields"]}],
                    },
                    _closed(
                        ["type", "elements"],
                        {"type": {"const": "actions"}, "elements": _list(_BUTTON, 25)},
                    ),
                    _closed(
                        ["type", "elements"],
                        {
                            "type": {"const": "context"},
                            "elements": _list(_text(_ANY_TEXT, 3000), 10),
                        },
                    ),
                ]
            },
            50,
        ),
    },
)

_CARD_ELEMENT: dict[str, Any] = {
    "oneOf": [
        _closed(
            ["type", "text"],
            {
                "type": {"const": "TextBlock"},
                "text": {"type": "string", "minLength": 1},
                "size": {"enum": ["Default", "Small", "Medium", "Large", "ExtraLarge"]},
                "weight": {"enum": ["Default", "Lighter", "Bolder"]},
                "wrap": {"type": "boolean"},
            },
        ),
        _closed(
            ["type", "facts"],
            {
                "type": {"const": "FactSet"},
                "facts": {
                    "type": "array",
                    "minItems": 1,
                    "items": _closed(
                        ["title", "value"],
                        {"title": {"type": "string"}, "value": {"type": "string"}},
                    ),
                },
            },
        ),
    ]
}

TEAMS_SCHEMA: dict[str, Any] = _closed(
    ["type", "attachments"],
    {
        "type": {"const": "message"},
        "attachments": _list(
            _closed(
                ["contentType", "content"],
                {
                    "contentType": {"const": "application/vnd.microsoft.card.adaptive"},
                    "contentUrl": {"type": "null"},
                    "content": _closed(
                        ["type", "version", "body"],
                        {
                            "$schema": {
                                "const": "http://adaptivecards.io/schemas/adaptive-card.json"
                            },
                            "type": {"const": "AdaptiveCard"},
                            "version": {"enum": ["1.0", "1.1", "1.2", "1.3", "1.4", "1.5"]},
                            "body": {"type": "array", "minItems": 1, "items": _CARD_ELEMENT},
                            "actions": {
                                "type": "array",
                                "items": _closed(
                                    ["type", "title", "url"],
                                    {
                                        "type": {"const": "Action.OpenUrl"},
                                        "title": {"type": "string", "minLength": 1},
                                        "url": {"type": "string", "pattern": "^https?://"},
                                    },
                                ),
                            },
                        },
                    ),
                },
            ),
            1,
        ),
    },
)


def _settings(tmp_path: Path, language: str, channels: list[dict[str, Any]]) -> Settings:
    return settings_for(
        "https://agency.atlassian.net",
        [
            {
                "key": "ACME",
                "name": "ACME <Corp> & Sons",
                "jql": "project = ACME",
                "contract": {
                    "start": "2026-01-01",
                    "scope": {"issues": 10},
                    "revisions_per_issue": 2,
                    "report": {"language": language},
                },
                "alerts": channels,
            }
        ],
        database_url=f"sqlite:///{tmp_path / 'x.db'}",
        instance=tmp_path,
        web={"public_url": "https://scopeguard.agency.example/"},
    )


def _alerts(settings: Settings) -> list[dict[str, Any]]:
    client = settings.clients[0]
    moment = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
    cases = [
        ("revision_limit_exceeded", "ACME-7", 3, 2),
        ("revision_total_exceeded", None, 41, 40),
        ("reopen_limit_exceeded", None, 6, 5),
        ("scope_creep_threshold", None, 12.5, 10),
        ("test", None, 0, 0),
    ]
    return [
        build_alert(
            settings,
            client,
            alert_id=f"00000000-0000-4000-8000-00000000000{i}",
            event=event,
            issue=issue,
            value=value,
            limit=limit,
            occurred_at=moment,
        )
        for i, (event, issue, value, limit) in enumerate(cases)
    ]


@pytest.mark.parametrize("language", ["en", "ru"])
def test_slack_and_teams_payloads_match_the_documented_shapes(
    tmp_path: Path, language: str
) -> None:
    settings = _settings(tmp_path, language, [])
    for alert in _alerts(settings):
        slack = slack_payload(alert)
        jsonschema.validate(slack, SLACK_SCHEMA)
        teams = teams_payload(alert)
        jsonschema.validate(teams, TEAMS_SCHEMA)
        # Slack mrkdwn escapes &, < and >; the plain-text header does not need to.
        fields = json.dumps(slack["blocks"][2])
        assert "ACME &lt;Corp&gt; &amp; Sons" in fields
        # The plain fallback is mrkdwn for notifications: escaped the same way.
        assert "<Corp>" not in slack["text"]
        assert "ACME &lt;Corp&gt; &amp; Sons" in slack["text"]
        card = teams["attachments"][0]["content"]
        assert card["body"][0]["text"] == alert["title"]
        assert {
            "title": "Client" if language == "en" else "Клиент",
            "value": "ACME <Corp> & Sons",
        } in card["body"][2]["facts"]
    issue_alert = _alerts(settings)[0]
    buttons = slack_payload(issue_alert)["blocks"][3]["elements"]
    assert [b["url"] for b in buttons] == [
        "https://scopeguard.agency.example/clients/ACME/issues/ACME-7",
        "https://agency.atlassian.net/browse/ACME-7",
    ]
    if language == "ru":
        assert issue_alert["title"] == "Превышен лимит правок: ACME-7"
        assert "12,5%" in _alerts(settings)[3]["text"]
    else:
        assert "12.5%" in _alerts(settings)[3]["text"]


def test_webhook_body_is_exactly_the_documented_fields(tmp_path: Path) -> None:
    settings = _settings(tmp_path, "en", [])
    alert = _alerts(settings)[3]
    body = json.loads(webhook_body(alert))
    assert list(body) == [
        "id", "event", "client", "issue", "value", "limit", "occurred_at", "url", "text",
    ]  # fmt: skip
    assert body == {
        "id": "00000000-0000-4000-8000-000000000003",
        "event": "scope_creep_threshold",
        "client": "ACME",
        "issue": None,
        "value": 12.5,
        "limit": 10,
        "occurred_at": "2026-11-27T09:30:00+00:00",
        "url": "https://scopeguard.agency.example/clients/ACME",
        "text": "ACME <Corp> & Sons: scope creep is 12.5%, at or above the alert threshold of 10%.",
    }


@pytest.mark.parametrize("kind", ["slack", "teams"])
def test_slack_and_teams_are_posted_as_json(tmp_path: Path, receiver: Receiver, kind: str) -> None:
    channel = {"type": kind, "url": receiver.url + f"/{kind}", "allow_private": True}
    settings = _settings(tmp_path, "en", [channel])
    alert = _alerts(settings)[0]
    deliver(settings, settings.clients[0].alerts[0], alert)
    (request,) = receiver.requests
    assert request.path == f"/{kind}"
    assert request.headers["content-type"] == "application/json; charset=utf-8"
    assert "x-scopeguard-signature" not in request.headers
    expected = slack_payload(alert) if kind == "slack" else teams_payload(alert)
    assert request.json() == expected
