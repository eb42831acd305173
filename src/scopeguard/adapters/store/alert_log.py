"""The delivery log: what was sent to whom, and what failed (for the panel and the CLI)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from scopeguard.adapters.store.models import AlertOutboxRow


@dataclass(frozen=True, slots=True)
class DeliveryEntry:
    """One delivery of one alert through one channel."""

    id: str
    """The delivery (one outbox row)."""
    alert_id: str
    """Sent as ``X-ScopeGuard-Delivery``; shared by the alert's deliveries."""
    client: str
    event: str
    issue: str | None
    title: str | None
    text: str | None
    created: datetime
    status: str
    """``pending``, ``sending``, ``delivered`` or ``failed``."""
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    """When the next attempt is due (pending deliveries only)."""
    delivered_at: datetime | None
    channel: str
    """``webhook``, ``slack``, ``teams`` or ``email``."""

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form (moments as ISO 8601), for ``scopeguard alerts list --json``."""
        return {
            key: value.isoformat() if isinstance(value, datetime) else value
            for key, value in asdict(self).items()
        }


def delivery_log(session: Session, client_key: str | None, limit: int = 50) -> list[DeliveryEntry]:
    """The latest deliveries of one client (``None``: every client), newest first."""
    query = select(AlertOutboxRow).order_by(
        AlertOutboxRow.created_at.desc(), AlertOutboxRow.channel_index, AlertOutboxRow.id
    )
    if client_key is not None:
        query = query.where(AlertOutboxRow.client_key == client_key)
    return [
        DeliveryEntry(
            id=row.id,
            alert_id=row.alert_id,
            client=row.client_key,
            event=row.event,
            issue=row.issue,
            title=row.payload.get("title"),
            text=row.payload.get("text"),
            created=row.created_at,
            status=row.status,
            attempts=row.attempts,
            last_error=row.last_error,
            next_attempt_at=row.next_attempt_at if row.status == "pending" else None,
            delivered_at=row.delivered_at,
            channel=row.channel_type,
        )
        for row in session.scalars(query.limit(limit))
    ]
