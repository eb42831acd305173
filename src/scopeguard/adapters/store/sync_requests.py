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


def take_due_sync_requests(database: Database, now: datetime) -> list[str]:
    """Remove and return the client keys whose requested sync is due."""
    taken: list[str] = []
    with database.session() as session:
        due = session.execute(
            select(SyncRequestRow.client_key, SyncRequestRow.requested_at).where(
                SyncRequestRow.due_at <= now
            )
        ).all()
    for client_key, requested_at in due:
        with database.session() as session:
            # Deleting is the claim: only one scheduler gets each request.
            gone = rowcount(
                session.execute(
                    delete(SyncRequestRow).where(
                        SyncRequestRow.client_key == client_key,
                        SyncRequestRow.requested_at == requested_at,
                    )
                )
            )
        if gone == 1:
            taken.append(client_key)
    return taken
