"""Jira webhooks (``POST /hooks/jira``): a changed issue asks for a sync of its client soon.

Near real time is optional and best effort; the scheduled sync stays the source
of truth (a lost webhook costs latency, never data). Only requests signed with
``jira.webhook_secret`` are accepted: Jira's admin webhooks send
``X-Hub-Signature: sha256=<hex HMAC-SHA256 of the raw body>``. An unsigned or
wrongly signed request gets 401 and changes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from flask import Blueprint, Response, jsonify, request

from scopeguard.adapters.store.sync_requests import request_sync
from scopeguard.domain.keys import project_of
from scopeguard.entrypoints.web.context import services

blueprint = Blueprint("hooks", __name__, url_prefix="/hooks")

SYNC_EVENTS = frozenset({"jira:issue_created", "jira:issue_updated"})
MAX_BODY = 5 * 1024 * 1024
"""Jira issue events with a long changelog stay well under this."""
MAX_DEPTH = 32
"""Jira's issue events nest about 8 deep; deeper is not Jira."""
MAX_KEY = 255


def signature_valid(secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is ``sha256=`` + the HMAC-SHA256 of ``body`` (constant-time)."""
    if not header:
        return False
    scheme, _, given = header.strip().partition("=")
    if scheme.lower() != "sha256" or not given:
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), given.strip().lower().encode())


def _answer(status: int, **body: Any) -> tuple[Response, int]:
    return jsonify(body), status


def _depth(value: Any) -> int:
    """How deep lists and objects nest in ``value`` (without recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if deepest > MAX_DEPTH:
                return deepest
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


def _text(value: Any) -> str | None:
    # A signed body is still data: a list or an object where Jira sends a string
    # is ignored, and so is anything too long or with control characters.
    if isinstance(value, str) and 0 < len(value) <= MAX_KEY and value.isprintable():
        return value
    return None


def _project_key(payload: dict[str, Any]) -> tuple[str | None, str | None]:
    issue = payload.get("issue")
    if not isinstance(issue, dict):
        return None, None
    key = _text(issue.get("key"))
    fields = issue.get("fields")
    project = fields.get("project") if isinstance(fields, dict) else None
    if isinstance(project, dict) and _text(project.get("key")) is not None:
        return _text(project.get("key")), key
    return (project_of(key) if key is not None else None), key


@blueprint.post("/jira")
def jira() -> tuple[Response, int]:
    """Verify the signature, then schedule a debounced sync of the issue's client."""
    settings = services().settings
    secret = settings.jira.webhook_secret
    if not secret:
        return _answer(
            404, error="not_found", message="Jira webhooks are off (jira.webhook_secret)"
        )
    # Counted while it streams in (chunked bodies too): 413 at the limit, never more read.
    limit = min(MAX_BODY, settings.web.max_request_bytes)
    request.max_content_length = limit
    body = request.get_data(cache=False)
    if len(body) >= limit:
        # Werkzeug stops a stream without Content-Length at the limit; one byte more
        # tells a body of exactly the limit from a longer one (which raises 413).
        request.stream.read(1)
    if not signature_valid(secret, body, request.headers.get("X-Hub-Signature")):
        return _answer(401, error="unauthorized", message="missing or wrong X-Hub-Signature")
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return _answer(400, error="bad_request", message="the body is not JSON")
    if not isinstance(payload, dict):
        return _answer(400, error="bad_request", message="the body is not a JSON object")
    if _depth(payload) > MAX_DEPTH:
        return _answer(400, error="bad_request", message="the body nests too deeply")
    event = _text(payload.get("webhookEvent"))
    if event not in SYNC_EVENTS:
        return _answer(202, scheduled=[], ignored=event or "not an event name")
    project, issue_key = _project_key(payload)
    if project is None:
        return _answer(202, scheduled=[], ignored="no project in the payload")
    matching = [c for c in settings.clients if c.covers_project(project)]
    now = services().clock()
    scheduled: list[str] = []
    for client in matching:
        request_sync(
            services().database,
            client.key,
            now=now,
            debounce_seconds=settings.jira.webhook_debounce_seconds,
            reason=f"{event} {issue_key or project}",
        )
        scheduled.append(client.key)
    return _answer(202, scheduled=scheduled)
