"""Syncs a Jira webhook asked for, queued in the database for whichever worker runs jobs."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select

from scopeguard.adapters.store.db import Database
from scopeguard.adapters.store.models import SyncRequestRow
from scopeguard.adapters.store.sql import insert_ignore, rowcount


def request_sync(
    database: Database, client_key: str, *, now: datetime, debounce_seconds: float, reason: str
) -> bool:
    """Ask for a sync of one client soon; ``False`` if one is already pending.

    Debounced: the first request of a burst sets the due time
    (``now + debounce_seconds``); further requests before that sync starts join
    it. A request made after the sync has started asks for another.
    """
    with database.session() as session:
        return insert_ignore(
            session,
            SyncRequestRow,
            {
                "client_key": client_key,
                "requested_at": now,
                "due_at": now + timedelta(seconds=debounce_seconds),
                "reason": reason[:255],
            },
        )


def due_sync_requests(database: Database, now: datetime) -> list[tuple[str, datetime]]:
    """The pending requests that are due, as ``(client_key, requested_at)``; nothing taken."""
    with database.session() as session:
        due = session.execute(
            select(SyncRequestRow.client_key, SyncRequestRow.requested_at).where(
                SyncRequestRow.due_at <= now
            )
        ).all()
    return [(client_key, requested_at) for client_key, requested_at in due]


def take_sync_request(database: Database, client_key: str, requested_at: datetime) -> bool:
    """Remove one due request; ``True`` if this call did (deleting is the claim: only one
    worker gets each request, and a newer request for the client stays)."""
    with database.session() as session:
        gone = rowcount(
            session.execute(
                delete(SyncRequestRow).where(
                    SyncRequestRow.client_key == client_key,
                    SyncRequestRow.requested_at == requested_at,
                )
            )
        )
    return gone == 1


def take_due_sync_requests(database: Database, now: datetime) -> list[str]:
    """Remove and return the client keys whose requested sync is due."""
    return [
        client_key
        for client_key, requested_at in due_sync_requests(database, now)
        if take_sync_request(database, client_key, requested_at)
    ]
