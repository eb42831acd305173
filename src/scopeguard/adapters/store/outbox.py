"""The alert outbox: one row per alert and channel, claimed by one dispatcher at a time.

A row is claimed with one ``UPDATE … WHERE id = :id AND <due>``, committed
before sending; only the dispatcher whose update matched sends it. Rows stay
until delivered or given up, so a dispatcher killed mid-delivery loses nothing:
its claim expires and the row is due again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, insert, or_, select, update
from sqlalchemy.orm import Session

from scopeguard.adapters.store.models import AlertOutboxRow
from scopeguard.adapters.store.sql import rowcount


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """An outbox row to add."""

    id: str
    alert_id: str
    client_key: str
    event: str
    subject: str
    issue: str | None
    channel_index: int
    channel_type: str
    payload: dict[str, Any]
    """The alert's JSON document, as every channel renders it."""
    created_at: datetime
    give_up_at: datetime


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A row this dispatcher has claimed and now sends."""

    id: str
    alert_id: str
    client_key: str
    channel_index: int
    channel_type: str
    payload: dict[str, Any]
    attempts: int
    """Attempts so far, this one included."""
    give_up_at: datetime


def add_deliveries(session: Session, deliveries: Sequence[NewDelivery]) -> None:
    """Queue deliveries, due at once (in the caller's transaction), in one statement."""
    if not deliveries:
        return
    session.execute(
        insert(AlertOutboxRow),
        [
            {
                "id": item.id,
                "alert_id": item.alert_id,
                "client_key": item.client_key,
                "event": item.event,
                "subject": item.subject,
                "issue": item.issue,
                "channel_index": item.channel_index,
                "channel_type": item.channel_type,
                "payload": item.payload,
                "status": "pending",
                "attempts": 0,
                "created_at": item.created_at,
                "next_attempt_at": item.created_at,
                "give_up_at": item.give_up_at,
            }
            for item in deliveries
        ],
    )


def _due(now: datetime) -> ColumnElement[bool]:
    return or_(
        and_(AlertOutboxRow.status == "pending", AlertOutboxRow.next_attempt_at <= now),
        and_(AlertOutboxRow.status == "sending", AlertOutboxRow.claim_expires_at < now),
    )


def due_ids(session: Session, now: datetime, limit: int) -> list[str]:
    """Rows due now (pending and due, or claimed by a dispatcher that stopped), oldest first."""
    return list(
        session.scalars(
            select(AlertOutboxRow.id)
            .where(_due(now))
            .order_by(AlertOutboxRow.created_at, AlertOutboxRow.id)
            .limit(limit)
        )
    )


def claim(
    session: Session, row_id: str, holder: str, now: datetime, claim_seconds: float
) -> ClaimedDelivery | None:
    """Claim one row for ``holder`` if it is still due; ``None`` if another has it."""
    claimed = rowcount(
        session.execute(
            update(AlertOutboxRow)
            .where(AlertOutboxRow.id == row_id, _due(now))
            .values(
                status="sending",
                claimed_by=holder,
                claim_expires_at=now + timedelta(seconds=claim_seconds),
                attempts=AlertOutboxRow.attempts + 1,
                last_attempt_at=now,
            )
            .execution_options(synchronize_session=False)
        )
    )
    if claimed != 1:
        return None
    row = session.get(AlertOutboxRow, row_id)
    if row is None:
        return None
    return ClaimedDelivery(
        row.id,
        row.alert_id,
        row.client_key,
        row.channel_index,
        row.channel_type,
        row.payload,
        row.attempts,
        row.give_up_at,
    )


def delivered(session: Session, row_id: str, holder: str, at: datetime) -> None:
    """The receiver accepted the row."""
    _finish(
        session,
        row_id,
        holder,
        {"status": "delivered", "delivered_at": at, "last_error": None},
    )


def retry_later(session: Session, row_id: str, holder: str, at: datetime, error: str) -> None:
    """The attempt failed; try again at ``at``."""
    _finish(
        session, row_id, holder, {"status": "pending", "next_attempt_at": at, "last_error": error}
    )


def failed(session: Session, row_id: str, holder: str, error: str) -> None:
    """The row will not be delivered: recorded with its last error."""
    _finish(session, row_id, holder, {"status": "failed", "last_error": error})


def _finish(session: Session, row_id: str, holder: str, values: dict[str, Any]) -> None:
    session.execute(
        update(AlertOutboxRow)
        .where(AlertOutboxRow.id == row_id, AlertOutboxRow.claimed_by == holder)
        .values(claimed_by=None, claim_expires_at=None, **values)
        .execution_options(synchronize_session=False)
    )
