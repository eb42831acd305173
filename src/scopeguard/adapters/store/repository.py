"""Reading and writing issues, histories and sync state.

The sync engine and the metrics code talk to storage only through these
functions, each of which works inside a session the caller opened, so one
transaction can cover one batch of issues and its cursor or outbox rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from scopeguard.adapters.store.changelog import decode_changes, encode_changes
from scopeguard.adapters.store.models import (
    CommentRow,
    IssueRow,
    StatusRow,
    SyncStateRow,
)
from scopeguard.domain.model import (
    Comment,
    Issue,
    Status,
    StatusCategory,
)

_ISSUES: Table = IssueRow.__table__  # type: ignore[assignment]
_COMMENTS: Table = CommentRow.__table__  # type: ignore[assignment]
_STATUSES: Table = StatusRow.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class StoredIssue:
    """What the sync hands to storage for one issue."""

    issue: Issue
    description: str | None
    histories_total: int
    packed_changes: bytes | None = None
    """``issue.changes`` already packed (:func:`stored_issue`), or ``None`` to pack on save."""
    time_spent_seconds: int | None = None
    """Jira's ``timespent`` (the issue's logged seconds), for the worklog sync's check."""


def stored_issue(
    issue: Issue,
    description: str | None,
    histories_total: int,
    time_spent_seconds: int | None = None,
) -> StoredIssue:
    """A :class:`StoredIssue` with its history packed now.

    Packing (zlib) is a good part of what saving costs, and zlib lets go of the
    GIL while it works, so it pays to do it in the threads that read from Jira,
    ahead of the one that writes to the database.
    """
    packed = encode_changes(issue.changes) if issue.changes else None
    return StoredIssue(issue, description, histories_total, packed, time_spent_seconds)


def upsert(
    session: Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    keys: Sequence[str],
) -> None:
    """Insert ``rows`` into ``table``, overwriting the other columns of rows whose ``keys``
    (a unique constraint's columns) already exist: one executemany statement.

    SQLite and PostgreSQL spell it the same (``INSERT … ON CONFLICT … DO UPDATE``)
    but SQLAlchemy builds it per dialect; this is the one place that chooses.
    """
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        statement: Any = postgresql.insert(table)
    elif dialect == "sqlite":
        statement = sqlite.insert(table)
    else:
        raise NotImplementedError(f"no upsert for the {dialect} dialect")
    columns = [name for name in rows[0] if name not in keys]
    statement = statement.on_conflict_do_update(
        index_elements=list(keys), set_={name: statement.excluded[name] for name in columns}
    )
    session.execute(statement, list(rows))


def save_statuses(session: Session, statuses: Iterable[Status]) -> None:
    """Insert or update the site's statuses."""
    upsert(
        session,
        _STATUSES,
        [{"jira_id": s.id, "name": s.name, "category": s.category.value} for s in statuses],
        keys=["jira_id"],
    )


def load_statuses(session: Session) -> dict[str, Status]:
    """All known statuses keyed by Jira id."""
    return {
        row.jira_id: Status(row.jira_id, row.name, StatusCategory(row.category))
        for row in session.scalars(select(StatusRow))
    }


def save_issues(
    session: Session, client_key: str, batch: Sequence[StoredIssue], synced_at: datetime
) -> list[int]:
    """Insert or overwrite a batch of issues with their complete histories and comments.

    Idempotent: an issue already stored is overwritten in place (same primary key)
    and its comments are replaced, so syncing the same data twice stores it once.
    Three statements for the whole batch (one upsert executemany, one read of the
    primary keys, the comments), whatever its size. Returns the primary keys of
    the stored issues, in the batch's order.
    """
    if not batch:
        return []
    upsert(
        session,
        _ISSUES,
        [_issue_values(client_key, item, synced_at) for item in batch],
        keys=["client_key", "jira_id"],
    )
    ids = [item.issue.id for item in batch]
    pk_of = dict(
        session.execute(
            select(IssueRow.jira_id, IssueRow.pk).where(
                IssueRow.client_key == client_key, IssueRow.jira_id.in_(ids)
            )
        ).all()
    )
    pks = [pk_of[issue_id] for issue_id in ids]
    session.execute(delete(_COMMENTS).where(_COMMENTS.c.issue_pk.in_(pks)))
    comment_rows = [
        {
            "issue_pk": pk,
            "jira_id": comment.id,
            "created": comment.created,
            "author_account": comment.author_account,
            "author_name": comment.author_name,
            "body": comment.body,
            "updated": comment.updated,
            "update_author_account": comment.update_author_account,
            "internal": comment.internal,
        }
        for pk, item in zip(pks, batch, strict=True)
        for comment in item.issue.comments
    ]
    if comment_rows:
        session.execute(insert(_COMMENTS), comment_rows)
    return pks


def _issue_values(client_key: str, item: StoredIssue, synced_at: datetime) -> dict[str, Any]:
    issue = item.issue
    return {
        "client_key": client_key,
        "jira_id": issue.id,
        "key": issue.key,
        "project_key": issue.project_key,
        "issue_type": issue.issue_type,
        "summary": issue.summary,
        "description": item.description,
        "status_id": issue.status.id,
        "status_name": issue.status.name,
        "status_category": issue.status.category.value,
        "resolution": issue.resolution,
        "labels": list(issue.labels),
        "story_points": issue.story_points,
        "original_estimate_seconds": issue.original_estimate_seconds,
        "reporter_account": issue.reporter_account,
        "reporter_name": issue.reporter_name,
        "priority": issue.priority,
        "due_date": issue.due_date,
        "assignee_account": issue.assignee_account,
        "creator_account": issue.creator_account,
        "created": issue.created,
        "updated": issue.updated,
        "histories_total": item.histories_total,
        "time_spent_seconds": item.time_spent_seconds,
        "removed_at": None,
        "synced_at": synced_at,
        "changelog": (
            item.packed_changes
            if item.packed_changes is not None or not issue.changes
            else encode_changes(issue.changes)
        ),
    }


def mark_removed(
    session: Session, client_key: str, present_ids: set[str], at: datetime
) -> list[tuple[int, str]]:
    """Mark stored issues that Jira no longer lists for the client as removed.

    Returns ``(pk, key)`` of the issues newly marked, by key. The rows stay:
    removed scope is reported, not forgotten.
    """
    rows = session.execute(
        select(IssueRow.pk, IssueRow.jira_id, IssueRow.key).where(
            IssueRow.client_key == client_key, IssueRow.removed_at.is_(None)
        )
    ).all()
    gone = [(pk, key) for pk, jira_id, key in rows if jira_id not in present_ids]
    if gone:
        session.execute(
            update(IssueRow).where(IssueRow.pk.in_([pk for pk, _ in gone])).values(removed_at=at)
        )
    return sorted(gone, key=lambda pair: pair[1])


def sync_state(session: Session, client_key: str) -> SyncStateRow:
    """The client's sync state row, created on first use."""
    state = session.get(SyncStateRow, client_key)
    if state is None:
        state = SyncStateRow(client_key=client_key)
        session.add(state)
        session.flush()
    return state


def issue_count(session: Session, client_key: str, *, include_removed: bool = False) -> int:
    """How many issues are stored for a client."""
    query = select(func.count()).select_from(IssueRow).where(IssueRow.client_key == client_key)
    if not include_removed:
        query = query.where(IssueRow.removed_at.is_(None))
    return int(session.execute(query).scalar_one())


def history_count(session: Session, client_key: str) -> int:
    """How many changelog histories are stored for a client (removed issues included)."""
    query = select(func.coalesce(func.sum(IssueRow.histories_total), 0)).where(
        IssueRow.client_key == client_key
    )
    return int(session.execute(query).scalar_one())


def load_issues(
    session: Session, client_key: str, *, pks: Iterable[int] | None = None
) -> list[Issue]:
    """Rebuild domain issues (with histories and comments) from storage."""
    statuses = load_statuses(session)
    query = select(IssueRow).where(IssueRow.client_key == client_key)
    if pks is not None:
        query = query.where(IssueRow.pk.in_(list(pks)))
    rows = list(session.scalars(query.order_by(IssueRow.pk)))
    if not rows:
        return []
    by_pk = {row.pk: row for row in rows}
    comment_query = select(CommentRow).order_by(CommentRow.pk)
    if pks is not None:
        comment_query = comment_query.where(CommentRow.issue_pk.in_(list(by_pk)))
    else:
        comment_query = comment_query.join(IssueRow, IssueRow.pk == CommentRow.issue_pk).where(
            IssueRow.client_key == client_key
        )
    comments: dict[int, list[Comment]] = {pk: [] for pk in by_pk}
    for comment in session.scalars(comment_query):
        comments[comment.issue_pk].append(
            Comment(
                comment.jira_id,
                comment.created,
                comment.author_account,
                comment.author_name,
                body=comment.body,
                updated=comment.updated,
                update_author_account=comment.update_author_account,
                internal=comment.internal,
            )
        )
    issues = []
    for row in rows:
        status = statuses.get(row.status_id) or Status(
            row.status_id, row.status_name, StatusCategory(row.status_category)
        )
        issues.append(
            Issue(
                key=row.key,
                id=row.jira_id,
                project_key=row.project_key,
                issue_type=row.issue_type,
                summary=row.summary,
                created=row.created,
                updated=row.updated,
                status=status,
                labels=tuple(row.labels),
                resolution=row.resolution,
                story_points=row.story_points,
                original_estimate_seconds=row.original_estimate_seconds,
                reporter_account=row.reporter_account,
                reporter_name=row.reporter_name,
                changes=decode_changes(row.changelog),
                comments=tuple(comments[row.pk]),
                removed_at=row.removed_at,
                description=row.description,
                priority=row.priority,
                due_date=row.due_date,
                assignee_account=row.assignee_account,
                creator_account=row.creator_account,
            )
        )
    return issues


def find_issue(session: Session, client_key: str, issue_key: str) -> int | None:
    """The primary key of the client's issue ``issue_key``, if it is stored."""
    pk: int | None = session.scalar(
        select(IssueRow.pk).where(IssueRow.client_key == client_key, IssueRow.key == issue_key)
    )
    return pk


def reporters_by_key(session: Session, client_key: str) -> dict[str, str | None]:
    """Who reported each of the client's issues (display name, else account id)."""
    return {
        key: name or account
        for key, name, account in session.execute(
            select(IssueRow.key, IssueRow.reporter_name, IssueRow.reporter_account).where(
                IssueRow.client_key == client_key
            )
        )
    }
