"""What an alert says: the stored alert document and each channel's rendering of it.

The document is built once, when the alert is enqueued, in the client's report
language (``contract.report.language``); channels render it when they deliver,
so a retry sends the same words. Only the webhook's documented fields
(:data:`WEBHOOK_FIELDS`) go to webhook receivers; the rest (title, links, client
name, language) serve Slack, Teams and email.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from babel.numbers import format_decimal

from scopeguard import __version__
from scopeguard.config import ClientSettings, Settings
from scopeguard.domain.alert_rules import Observation, Rule
from scopeguard.domain.keys import natural_key
from scopeguard.presentation.i18n import gettext_for, locale, ngettext_for, normalize_language

TEST_EVENT = "test"
"""The event of ``scopeguard alerts test`` messages."""

WEBHOOK_FIELDS = ("id", "event", "client", "issue", "value", "limit", "occurred_at", "url", "text")
"""The JSON body a webhook receives, in this order."""
DIGEST_EVENT = "revision_limit_digest"
"""The event of a digest: many issues past their revision allowance in one evaluation."""
DIGEST_FIELDS = ("count", "issues")
"""Fields a digest's webhook body has besides :data:`WEBHOOK_FIELDS`."""


def panel_url(settings: Settings, client_key: str, issue: str | None = None) -> str:
    """The ScopeGuard page of the client (or of one issue's evidence trail)."""
    base = f"{settings.web.public_url.rstrip('/')}/clients/{quote(client_key, safe='')}"
    return f"{base}/issues/{quote(issue, safe='')}" if issue else base


def _number(value: float) -> float | int:
    """Counts as integers in JSON (``3``, not ``3.0``); percentages keep their decimal."""
    return int(value) if float(value).is_integer() else value


def _shown(value: float, language: str) -> str:
    return format_decimal(value, format="#,##0.#", locale=locale(language))


def _texts(
    rule: str, language: str, *, client: str, issue: str | None, value: float, limit: float
) -> tuple[str, str]:
    _ = gettext_for(language)
    ngettext = ngettext_for(language)
    count = int(value)
    fields = {
        "client": client,
        "issue": issue or "",
        "value": _shown(value, language),
        "limit": _shown(limit, language),
    }
    if rule == Rule.REVISION_LIMIT:
        title = _("Revision limit exceeded: {issue}")
        text = ngettext(
            "{client}: {issue} has had {value} revision round; the contract allows {limit} "
            "per issue.",
            "{client}: {issue} has had {value} revision rounds; the contract allows {limit} "
            "per issue.",
            count,
        )
    elif rule == Rule.REVISION_TOTAL:
        title = _("Total revision limit exceeded")
        text = ngettext(
            "{client}: {value} revision round in total; the contract allows {limit}.",
            "{client}: {value} revision rounds in total; the contract allows {limit}.",
            count,
        )
    elif rule == Rule.REOPEN_LIMIT:
        title = _("Reopen limit exceeded")
        text = ngettext(
            "{client}: issues were reopened {value} time; the contract allows {limit}.",
            "{client}: issues were reopened {value} times; the contract allows {limit}.",
            count,
        )
    elif rule == Rule.UNBILLED_HOURS:
        title = _("Unbilled hours threshold reached")
        text = _(
            "{client}: {value} hours logged outside the contract (revision rounds beyond the "
            "allowance and creep), at or above the alert threshold of {limit} hours."
        )
    elif rule == Rule.SCOPE_CREEP:
        title = _("Scope creep threshold reached")
        # No "% " in messages: catalog tools would read it as a %-format directive.
        text = _("{client}: scope creep is {value}%, at or above the alert threshold of {limit}%.")
    elif rule == Rule.CLIENT_RISK_HIGH:
        title = _("Client risk is high")
        text = _(
            "{client}: the client risk score is {value}, at or above the alert score of "
            "{limit}. See the client risk section for the signals and their events."
        )
    else:
        title = _("Test alert")
        text = _("{client}: this is a test message from ScopeGuard. This channel works.")
    return title.format(**fields), text.format(**fields)


def build_alert(
    settings: Settings,
    client: ClientSettings,
    *,
    alert_id: str,
    event: str,
    issue: str | None,
    value: float,
    limit: float,
    occurred_at: datetime,
    further_round: bool = False,
) -> dict[str, Any]:
    """The alert document stored in the outbox (webhook fields first)."""
    language = normalize_language(client.contract.report.language)
    title, text = _texts(event, language, client=client.name, issue=issue, value=value, limit=limit)
    if further_round:
        _ = gettext_for(language)
        title = _("Another revision round: {issue}").format(issue=issue)
    return {
        "id": alert_id,
        "event": event,
        "client": client.key,
        "issue": issue,
        "value": _number(value),
        "limit": _number(limit),
        "occurred_at": occurred_at.isoformat(),
        "url": panel_url(settings, client.key, issue),
        "text": text,
        # Not sent to webhooks; used to render the other channels.
        "title": title,
        "client_name": client.name,
        "language": language,
        "issue_url": settings.jira.browse_url(issue) if issue else None,
        "further_round": further_round,
    }


def build_digest(
    settings: Settings,
    client: ClientSettings,
    crossed: Sequence[Observation],
    *,
    alert_id: str,
    occurred_at: datetime,
) -> dict[str, Any]:
    """One alert for many issues past their revision allowance (the worst named first).

    ``value`` is how many issues crossed, ``limit`` the allowance; ``issues`` names
    the worst ``alerts.digest_size`` of them, and ``url`` opens the full list.
    """
    language = normalize_language(client.contract.report.language)
    _ = gettext_for(language)
    ngettext = ngettext_for(language)
    worst = sorted(crossed, key=lambda o: (-o.value, natural_key(o.subject)))
    named = worst[: settings.alerts.digest_size]
    limit = crossed[0].limit
    count = len(crossed)
    listed = ", ".join(f"{o.subject} ({_shown(o.value, language)})" for o in named)
    text = ngettext(
        "{client}: {count} issue passed its allowance of {limit} revision rounds. "
        "The most revised: {listed}.",
        "{client}: {count} issues passed their allowance of {limit} revision rounds. "
        "The most revised: {listed}.",
        count,
    ).format(client=client.name, count=count, limit=_shown(limit, language), listed=listed)
    title = ngettext(
        "Revision limit exceeded on {count} issue",
        "Revision limit exceeded on {count} issues",
        count,
    ).format(count=count)
    return {
        "id": alert_id,
        "event": DIGEST_EVENT,
        "client": client.key,
        "issue": None,
        "value": count,
        "limit": _number(limit),
        "occurred_at": occurred_at.isoformat(),
        "url": f"{panel_url(settings, client.key)}/issues?list=over_limit",
        "text": text,
        "count": count,
        "issues": [
            {
                "issue": o.subject,
                "value": _number(o.value),
                "limit": _number(o.limit),
                "url": panel_url(settings, client.key, o.subject),
            }
            for o in named
        ],
        "title": title,
        "client_name": client.name,
        "language": language,
        "issue_url": None,
        "further_round": False,
    }


def webhook_body(alert: Mapping[str, Any]) -> bytes:
    """The exact bytes POSTed to a webhook (and signed)."""
    fields = (*WEBHOOK_FIELDS, *DIGEST_FIELDS) if alert["event"] == DIGEST_EVENT else WEBHOOK_FIELDS
    body = {name: alert.get(name) for name in fields}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def user_agent() -> str:
    """The ``User-Agent`` of ScopeGuard's outgoing requests."""
    return f"ScopeGuard/{__version__}"


def _labels(language: str) -> dict[str, str]:
    _ = gettext_for(language)
    return {
        "client": _("Client"),
        "issue": _("Issue"),
        "value": _("Value"),
        "limit": _("Limit"),
        "event": _("Event"),
        "panel": _("Open in ScopeGuard"),
        "jira": _("Open in Jira"),
    }


def _facts(alert: Mapping[str, Any]) -> list[tuple[str, str]]:
    language = alert["language"]
    labels = _labels(language)
    facts = [(labels["client"], str(alert["client_name"]))]
    if alert["event"] == DIGEST_EVENT:
        facts += [(str(item["issue"]), _shown(item["value"], language)) for item in alert["issues"]]
        return facts
    if alert.get("issue"):
        facts.append((labels["issue"], str(alert["issue"])))
    if alert["event"] != TEST_EVENT:
        facts.append((labels["value"], _shown(alert["value"], language)))
        facts.append((labels["limit"], _shown(alert["limit"], language)))
    return facts


def _slack_escape(text: str) -> str:
    # Slack's mrkdwn treats only these three as control characters.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slack_payload(alert: Mapping[str, Any]) -> dict[str, Any]:
    """An incoming-webhook message with Block Kit blocks and a plain ``text`` fallback.

    Limits from Slack's Block Kit reference: header text 150 characters, section
    text 3,000, at most 10 fields of 2,000, button text 75, button URL 3,000.
    """
    labels = _labels(alert["language"])
    fields = [
        {"type": "mrkdwn", "text": _clip(f"*{_slack_escape(k)}*\n{_slack_escape(v)}", 2000)}
        for k, v in _facts(alert)
    ][:10]
    buttons: list[dict[str, Any]] = [
        {
            "type": "button",
            "action_id": "open_scopeguard",
            "text": {"type": "plain_text", "text": _clip(labels["panel"], 75)},
            "url": _clip(str(alert["url"]), 3000),
        }
    ]
    if alert.get("issue_url"):
        buttons.append(
            {
                "type": "button",
                "action_id": "open_jira",
                "text": {"type": "plain_text", "text": _clip(labels["jira"], 75)},
                "url": _clip(str(alert["issue_url"]), 3000),
            }
        )
    return {
        # The fallback is read as mrkdwn too (notifications, old clients): a client name
        # with `<!channel>` or `<https://evil|click>` must stay text there as well.
        "text": _clip(_slack_escape(f"{alert['title']}: {alert['text']}"), 3000),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": _clip(alert["title"], 150)}},
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": _clip(_slack_escape(alert["text"]), 3000)},
            },
            {"type": "section", "fields": fields},
            {"type": "actions", "elements": buttons},
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": _slack_escape(f"{alert['event']} · {alert['occurred_at']}"),
                    }
                ],
            },
        ],
    }


ADAPTIVE_CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"


def teams_payload(alert: Mapping[str, Any]) -> dict[str, Any]:
    """A Teams Workflows webhook message: one Adaptive Card (1.4) attachment."""
    labels = _labels(alert["language"])
    actions: list[dict[str, Any]] = [
        {"type": "Action.OpenUrl", "title": labels["panel"], "url": alert["url"]}
    ]
    if alert.get("issue_url"):
        actions.append(
            {"type": "Action.OpenUrl", "title": labels["jira"], "url": alert["issue_url"]}
        )
    card = {
        "$schema": ADAPTIVE_CARD_SCHEMA,
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {
                "type": "TextBlock",
                "text": alert["title"],
                "size": "Large",
                "weight": "Bolder",
                "wrap": True,
            },
            {"type": "TextBlock", "text": alert["text"], "wrap": True},
            {
                "type": "FactSet",
                "facts": [{"title": k, "value": v} for k, v in _facts(alert)],
            },
        ],
        "actions": actions,
    }
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


def email_message(alert: Mapping[str, Any]) -> tuple[str, str, str]:
    """Subject, plain text and HTML of an alert email."""
    language = alert["language"]
    _ = gettext_for(language)
    labels = _labels(language)
    subject = f"[ScopeGuard] {alert['client_name']}: {alert['title']}"
    footer = _(
        "You receive this because this address is configured for ScopeGuard alerts of {client}."
    ).format(client=alert["client_name"])
    facts = _facts(alert)
    links = [(labels["panel"], str(alert["url"]))]
    if alert.get("issue_url"):
        links.append((labels["jira"], str(alert["issue_url"])))
    text_lines = [alert["title"], "", alert["text"], ""]
    text_lines += [f"{k}: {v}" for k, v in facts]
    text_lines += [""] + [f"{k}: {v}" for k, v in links] + ["", "-- ", footer]
    esc = html.escape
    rows = "".join(
        f'<tr><th scope="row" style="text-align:left;padding:2px 12px 2px 0">{esc(k)}</th>'
        f"<td>{esc(v)}</td></tr>"
        for k, v in facts
    )
    anchors = " · ".join(f'<a href="{esc(url, quote=True)}">{esc(k)}</a>' for k, url in links)
    body = (
        f'<!DOCTYPE html><html lang="{esc(language)}"><head><meta charset="utf-8">'
        f"<title>{esc(subject)}</title></head>"
        '<body style="font-family:sans-serif;font-size:14px;color:#1a1a1a">'
        f'<h1 style="font-size:18px">{esc(alert["title"])}</h1>'
        f"<p>{esc(alert['text'])}</p><table>{rows}</table><p>{anchors}</p>"
        f'<p style="color:#666;font-size:12px">{esc(footer)}</p></body></html>'
    )
    return subject, "\n".join(text_lines) + "\n", body
