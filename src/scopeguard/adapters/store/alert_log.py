"""The delivery log: what was sent to whom, and what failed (for the panel and the CLI)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from scopeguard.adapters.store.models import AlertOutboxRow


def delivery_log(session: Session, client_key: str | None, limit: int = 50) -> list[dict[str, Any]]:
    """The latest deliveries of one client (``None``: every client), newest first.

    Each entry: ``id`` (the delivery), ``alert_id`` (sent as ``X-ScopeGuard-Delivery``),
    ``client``, ``event``, ``issue`` (key or ``None``), ``title``, ``text``,
    ``created``, ``status`` (``pending``, ``sending``, ``delivered``, ``failed``),
    ``attempts``, ``last_error``, ``next_attempt_at``, ``delivered_at``, ``channel``
    (``webhook``, ``slack``, ``teams``, ``email``). Times are aware UTC datetimes.
    """
    query = select(AlertOutboxRow).order_by(
        AlertOutboxRow.created_at.desc(), AlertOutboxRow.channel_index, AlertOutboxRow.id
    )
    if client_key is not None:
        query = query.where(AlertOutboxRow.client_key == client_key)
    entries: list[dict[str, Any]] = []
    for row in session.scalars(query.limit(limit)):
        entries.append(
            {
                "id": row.id,
                "alert_id": row.alert_id,
                "client": row.client_key,
                "event": row.event,
                "issue": row.issue,
                "title": row.payload.get("title"),
                "text": row.payload.get("text"),
                "created": row.created_at,
                "status": row.status,
                "attempts": row.attempts,
                "last_error": row.last_error,
                "next_attempt_at": row.next_attempt_at if row.status == "pending" else None,
                "delivered_at": row.delivered_at,
                "channel": row.channel_type,
            }
        )
    return entries
