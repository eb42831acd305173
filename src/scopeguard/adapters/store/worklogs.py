"""Worklogs in storage: the site's logged time, its feed cursor, and the completeness check.

Worklogs are the site's, keyed by Jira's worklog id; a client's worklogs are
those on its issues (``worklogs.issue_id = issues.jira_id``). Each function works
in a session the caller opened, like :mod:`scopeguard.adapters.store.repository`.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, and_, delete, func, select
from sqlalchemy.orm import Session

from scopeguard.adapters.store.models import (
    IssueRow,
    WorklogRow,
    WorklogStateRow,
)
from scopeguard.adapters.store.repository import upsert
from scopeguard.domain.effort import Worklog, WorklogRecord

_WORKLOGS: Table = WorklogRow.__table__  # type: ignore[assignment]
SITE = "site"
"""The name of the site's feed cursor row."""
_IN_CHUNK = 900
"""Ids per ``IN (…)`` list: under SQLite's old 999-parameter limit."""


def save_worklogs(session: Session, records: Sequence[WorklogRecord], synced_at: datetime) -> None:
    """Insert or overwrite worklogs (idempotent: the same worklog twice is stored once)."""
    upsert(
        session,
        _WORKLOGS,
        [
            {
                "jira_id": r.id,
                "issue_id": r.issue_id,
                "author_account": r.author_account,
                "author_name": r.author_name,
                "started": r.started,
                "seconds": r.seconds,
                "created": r.created,
                "updated": r.updated,
                "comment": r.comment,
                "synced_at": synced_at,
            }
            for r in {record.id: record for record in records}.values()
        ],
        keys=["jira_id"],
    )


def delete_worklogs(session: Session, ids: Iterable[str]) -> int:
    """Forget deleted worklogs; returns how many were stored."""
    wanted = list(dict.fromkeys(ids))
    gone = 0
    for start in range(0, len(wanted), _IN_CHUNK):
        chunk = wanted[start : start + _IN_CHUNK]
        result = session.execute(delete(_WORKLOGS).where(_WORKLOGS.c.jira_id.in_(chunk)))
        gone += int(getattr(result, "rowcount", 0) or 0)
    return gone


def replace_issue_worklogs(
    session: Session, issue_id: str, records: Sequence[WorklogRecord], synced_at: datetime
) -> None:
    """Make the issue's stored worklogs exactly ``records`` (a complete per-issue read)."""
    keep = [r.id for r in records]
    statement = delete(_WORKLOGS).where(_WORKLOGS.c.issue_id == issue_id)
    if keep:
        statement = statement.where(_WORKLOGS.c.jira_id.not_in(keep))
    session.execute(statement)
    save_worklogs(session, records, synced_at)


@dataclass(frozen=True, slots=True)
class Mismatch:
    """An issue whose stored worklogs do not add up to Jira's ``timespent``."""

    issue_id: str
    stored_seconds: int
    jira_seconds: int


def mismatched_issues(session: Session, client_key: str) -> list[Mismatch]:
    """The client's issues (not removed) whose stored worklog seconds differ from Jira's
    ``timespent`` as last read: worklogs missing, deleted, or edited since."""
    stored = func.coalesce(func.sum(WorklogRow.seconds), 0)
    rows = session.execute(
        select(IssueRow.jira_id, IssueRow.time_spent_seconds, stored)
        .select_from(IssueRow)
        .outerjoin(WorklogRow, WorklogRow.issue_id == IssueRow.jira_id)
        .where(IssueRow.client_key == client_key, IssueRow.removed_at.is_(None))
        .group_by(IssueRow.jira_id, IssueRow.time_spent_seconds)
        .having(func.coalesce(IssueRow.time_spent_seconds, 0) != stored)
    ).all()
    return [Mismatch(jira_id, int(stored_s), int(spent or 0)) for jira_id, spent, stored_s in rows]


def logged_seconds(session: Session, client_key: str) -> tuple[int, int]:
    """(Jira's ``timespent`` summed over the client's issues, the seconds stored for them),
    removed issues left out."""
    jira = session.execute(
        select(func.coalesce(func.sum(IssueRow.time_spent_seconds), 0)).where(
            IssueRow.client_key == client_key, IssueRow.removed_at.is_(None)
        )
    ).scalar_one()
    stored = session.execute(
        select(func.coalesce(func.sum(WorklogRow.seconds), 0))
        .join(IssueRow, IssueRow.jira_id == WorklogRow.issue_id)
        .where(IssueRow.client_key == client_key, IssueRow.removed_at.is_(None))
    ).scalar_one()
    return int(jira or 0), int(stored or 0)


def feed_cursor(session: Session) -> int | None:
    """Where the site's worklog feed is to be read from (ms; ``None``: never read)."""
    row = session.get(WorklogStateRow, SITE)
    return None if row is None else row.since_ms


def save_feed_cursor(session: Session, since_ms: int, at: datetime) -> None:
    """Move the site's feed cursor (call in the transaction after what it covers)."""
    row = session.get(WorklogStateRow, SITE)
    if row is None:
        session.add(WorklogStateRow(name=SITE, since_ms=since_ms, last_success=at))
    else:
        row.since_ms = since_ms if row.since_ms is None else max(row.since_ms, since_ms)
        row.last_success = at


def load_worklogs(session: Session, client_key: str) -> list[Worklog]:
    """The client's worklogs (on any of its issues, removed ones too), by issue key,
    in start order (:func:`stream_worklogs`, all at once)."""
    return list(stream_worklogs(session, client_key))


def stream_worklogs(session: Session, client_key: str) -> Generator[Worklog, None, None]:
    """The client's worklogs as they are read, in start order: for one pass over them,
    with a few thousand alive at a time instead of 200,000 (read it to its end, or
    close it, before the session is used again).

    Only what the figures read (who, when, how long): a worklog's comment and edit
    times stay in the table.
    """
    rows = session.execute(
        select(
            WorklogRow.jira_id,
            IssueRow.key,
            WorklogRow.author_account,
            WorklogRow.author_name,
            WorklogRow.started,
            WorklogRow.seconds,
        )
        .join(IssueRow, and_(IssueRow.jira_id == WorklogRow.issue_id))
        .where(IssueRow.client_key == client_key)
        .order_by(WorklogRow.started, WorklogRow.jira_id)
        .execution_options(yield_per=5000)
    )
    # Keys and people repeat by the thousand: one string object each, not one per row.
    shared: dict[str | None, str | None] = {}

    def one(text: str | None) -> str | None:
        return shared.setdefault(text, text)

    try:
        for wid, key, account, name, started, seconds in rows:
            yield Worklog(wid, cast(str, one(key)), one(account), one(name), started, seconds)
    finally:
        # Closed with the stream, not whenever it is collected: on PostgreSQL the rows
        # come from a server-side cursor on the session's connection, which goes back
        # to the pool when the session ends.
        rows.close()


def worklog_count(session: Session, client_key: str) -> int:
    """How many worklogs are stored on the client's issues."""
    return int(
        session.execute(
            select(func.count())
            .select_from(WorklogRow)
            .join(IssueRow, IssueRow.jira_id == WorklogRow.issue_id)
            .where(IssueRow.client_key == client_key)
        ).scalar_one()
    )
