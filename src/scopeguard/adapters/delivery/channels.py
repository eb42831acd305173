"""Channels as transports: each turns an alert document into one delivery.

Every transport raises :class:`~scopeguard.adapters.delivery.errors.DeliveryError` (with
``permanent`` set when trying again cannot help) and returns normally only
when the receiver accepted the alert.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from scopeguard.adapters.delivery.email import send_email
from scopeguard.adapters.delivery.errors import DeliveryError
from scopeguard.adapters.delivery.http import Resolver, post, system_resolver
from scopeguard.config import AlertChannelSettings, ClientSettings, Settings
from scopeguard.presentation.alert_messages import (
    email_message,
    slack_payload,
    teams_payload,
    user_agent,
    webhook_body,
)

SIGNATURE_HEADER = "X-ScopeGuard-Signature"
EVENT_HEADER = "X-ScopeGuard-Event"
DELIVERY_HEADER = "X-ScopeGuard-Delivery"


def channels_for(settings: Settings, client: ClientSettings) -> tuple[AlertChannelSettings, ...]:
    """The client's own channels, else the global default ``alerts.channels``."""
    return client.alerts or settings.alerts.channels


def sign(secret: str, body: bytes) -> str:
    """The ``X-ScopeGuard-Signature`` value: ``sha256=`` + hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_request(
    channel: AlertChannelSettings, alert: Mapping[str, Any]
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of a generic webhook delivery."""
    body = webhook_body(alert)
    headers = {
        **_json_headers(),
        EVENT_HEADER: str(alert["event"]),
        DELIVERY_HEADER: str(alert["id"]),
    }
    if channel.secret:
        headers[SIGNATURE_HEADER] = sign(channel.secret, body)
    return body, headers


def _json_headers() -> dict[str, str]:
    return {"Content-Type": "application/json; charset=utf-8", "User-Agent": user_agent()}


def _json(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def deliver(
    settings: Settings,
    channel: AlertChannelSettings,
    alert: Mapping[str, Any],
    *,
    resolver: Resolver = system_resolver,
) -> None:
    """Deliver ``alert`` through ``channel``; raises :class:`DeliveryError` on failure."""
    timeout = settings.alerts.timeout_seconds
    if channel.type == "email":
        if settings.smtp is None:
            raise DeliveryError("email channel but no `smtp:` settings", permanent=True)
        subject, text, html = email_message(alert)
        send_email(settings.smtp, channel.to, subject, text, html)
        return
    if channel.url is None:
        raise DeliveryError(f"{channel.type} channel without a url", permanent=True)
    if channel.type == "webhook":
        body, headers = webhook_request(channel, alert)
    else:
        payload = slack_payload(alert) if channel.type == "slack" else teams_payload(alert)
        body = _json(payload)
        headers = _json_headers()
    post(
        channel.url,
        body,
        headers,
        timeout=timeout,
        allow_private=channel.allow_private,
        resolver=resolver,
    )
