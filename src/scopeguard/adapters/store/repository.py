"""Reading and writing issues, histories and sync state.

The sync engine and the metrics code talk to storage only through these
functions, each of which works inside a session the caller opened, so one
transaction can cover one batch of issues and its cursor or outbox rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from scopeguard.adapters.store.models import (
    ChangeItemRow,
    CommentRow,
    IssueRow,
    StatusRow,
    SyncStateRow,
)
from scopeguard.domain.model import (
    ChangeItem,
    Comment,
    Issue,
    Status,
    StatusCategory,
)


@dataclass(frozen=True, slots=True)
class StoredIssue:
    """What the sync hands to storage for one issue."""

    issue: Issue
    raw: dict[str, Any]
    """The issue JSON without its changelog."""
    description: str | None
    histories_total: int


def save_statuses(session: Session, statuses: Iterable[Status]) -> None:
    """Insert or update the site's statuses."""
    existing = {row.jira_id: row for row in session.scalars(select(StatusRow))}
    for status in statuses:
        row = existing.get(status.id)
        if row is None:
            session.add(
                StatusRow(jira_id=status.id, name=status.name, category=status.category.value)
            )
        else:
            row.name = status.name
            row.category = status.category.value


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

    Idempotent: an issue already stored is updated in place and its change items
    and comments are replaced, so syncing the same data twice stores it once.
    Returns the primary keys of the stored issues.
    """
    if not batch:
        return []
    ids = [item.issue.id for item in batch]
    existing = dict(
        session.execute(
            select(IssueRow.jira_id, IssueRow.pk).where(
                IssueRow.client_key == client_key, IssueRow.jira_id.in_(ids)
            )
        ).all()
    )
    if existing:
        stale = list(existing.values())
        session.execute(delete(ChangeItemRow).where(ChangeItemRow.issue_pk.in_(stale)))
        session.execute(delete(CommentRow).where(CommentRow.issue_pk.in_(stale)))

    pks: list[int] = []
    change_rows: list[dict[str, Any]] = []
    comment_rows: list[dict[str, Any]] = []
    for item in batch:
        values = _issue_values(client_key, item, synced_at)
        pk = existing.get(item.issue.id)
        if pk is None:
            pk = session.execute(
                insert(IssueRow).values(values).returning(IssueRow.pk)
            ).scalar_one()
        else:
            session.execute(update(IssueRow).where(IssueRow.pk == pk).values(values))
        pks.append(pk)
        change_rows.extend(_change_values(pk, item.issue.changes))
        comment_rows.extend(
            {
                "issue_pk": pk,
                "jira_id": comment.id,
                "created": comment.created,
                "author_account": comment.author_account,
                "author_name": comment.author_name,
            }
            for comment in item.issue.comments
        )
    if change_rows:
        session.execute(insert(ChangeItemRow), change_rows)
    if comment_rows:
        session.execute(insert(CommentRow), comment_rows)
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
        "created": issue.created,
        "updated": issue.updated,
        "histories_total": item.histories_total,
        "removed_at": None,
        "synced_at": synced_at,
        "raw": item.raw,
    }


def _change_values(issue_pk: int, changes: Iterable[ChangeItem]) -> Iterable[dict[str, Any]]:
    # Items of one history keep their order within it: (history_id, item_index) is
    # the natural key Jira gives us.
    index_in_history: dict[str, int] = {}
    for change in changes:
        index = index_in_history.get(change.history_id, 0)
        index_in_history[change.history_id] = index + 1
        yield {
            "issue_pk": issue_pk,
            "history_id": change.history_id,
            "item_index": index,
            "created": change.created,
            "author_account": change.author_account,
            "author_name": change.author_name,
            "field": change.field,
            "field_id": change.field_id,
            "from_id": change.from_id,
            "from_string": change.from_string,
            "to_id": change.to_id,
            "to_string": change.to_string,
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
    """How many distinct changelog histories are stored for a client."""
    query = (
        select(
            func.count(
                func.distinct(ChangeItemRow.issue_pk.concat(":").concat(ChangeItemRow.history_id))
            )
        )
        .join(IssueRow, IssueRow.pk == ChangeItemRow.issue_pk)
        .where(IssueRow.client_key == client_key)
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
    changes: dict[int, list[ChangeItem]] = {pk: [] for pk in by_pk}
    change_query = select(*_CHANGE_COLUMNS).order_by(ChangeItemRow.pk)
    comment_query = select(CommentRow).order_by(CommentRow.pk)
    if pks is not None:
        change_query = change_query.where(ChangeItemRow.issue_pk.in_(list(by_pk)))
        comment_query = comment_query.where(CommentRow.issue_pk.in_(list(by_pk)))
    else:
        change_query = change_query.join(IssueRow, IssueRow.pk == ChangeItemRow.issue_pk).where(
            IssueRow.client_key == client_key
        )
        comment_query = comment_query.join(IssueRow, IssueRow.pk == CommentRow.issue_pk).where(
            IssueRow.client_key == client_key
        )
    for c in session.execute(change_query):
        changes[c[0]].append(
            ChangeItem(
                history_id=c[1],
                created=c[2],
                author_account=c[3],
                author_name=c[4],
                field=c[5],
                field_id=c[6],
                from_id=c[7],
                from_string=c[8],
                to_id=c[9],
                to_string=c[10],
            )
        )
    comments: dict[int, list[Comment]] = {pk: [] for pk in by_pk}
    for comment in session.scalars(comment_query):
        comments[comment.issue_pk].append(
            Comment(comment.jira_id, comment.created, comment.author_account, comment.author_name)
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
                changes=tuple(changes[row.pk]),
                comments=tuple(comments[row.pk]),
                removed_at=row.removed_at,
            )
        )
    return issues


_CHANGE_COLUMNS = (
    ChangeItemRow.issue_pk,
    ChangeItemRow.history_id,
    ChangeItemRow.created,
    ChangeItemRow.author_account,
    ChangeItemRow.author_name,
    ChangeItemRow.field,
    ChangeItemRow.field_id,
    ChangeItemRow.from_id,
    ChangeItemRow.from_string,
    ChangeItemRow.to_id,
    ChangeItemRow.to_string,
)


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
