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


def _project_key(payload: dict[str, Any]) -> tuple[str | None, str | None]:
    issue = payload.get("issue")
    if not isinstance(issue, dict):
        return None, None
    key = issue.get("key") if isinstance(issue.get("key"), str) else None
    fields = issue.get("fields")
    project = fields.get("project") if isinstance(fields, dict) else None
    if isinstance(project, dict) and isinstance(project.get("key"), str):
        return project["key"], key
    return project_of(key), key


@blueprint.post("/jira")
def jira() -> tuple[Response, int]:
    """Verify the signature, then schedule a debounced sync of the issue's client."""
    settings = services().settings
    secret = settings.jira.webhook_secret
    if not secret:
        return _answer(
            404, error="not_found", message="Jira webhooks are off (jira.webhook_secret)"
        )
    if request.content_length is not None and request.content_length > MAX_BODY:
        return _answer(413, error="too_large", message="request body too large")
    body = request.get_data(cache=False)
    if len(body) > MAX_BODY:
        return _answer(413, error="too_large", message="request body too large")
    if not signature_valid(secret, body, request.headers.get("X-Hub-Signature")):
        return _answer(401, error="unauthorized", message="missing or wrong X-Hub-Signature")
    try:
        payload = json.loads(body)
    except ValueError:
        return _answer(400, error="bad_request", message="the body is not JSON")
    if not isinstance(payload, dict):
        return _answer(400, error="bad_request", message="the body is not a JSON object")
    event = payload.get("webhookEvent")
    if event not in SYNC_EVENTS:
        return _answer(202, scheduled=[], ignored=str(event))
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
