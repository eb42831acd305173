"""An issue's stored words (summary and description), for checking its brief."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scopeguard.adapters.store.models import IssueRow


@dataclass(frozen=True, slots=True)
class StoredBrief:
    """What the last sync stored of an issue's brief."""

    client_key: str
    key: str
    summary: str
    description: str | None


def stored_brief(session: Session, issue_key: str) -> StoredBrief | None:
    """The issue ``issue_key`` (any case) as stored; when several clients have it, the first."""
    row = session.execute(
        select(IssueRow.client_key, IssueRow.key, IssueRow.summary, IssueRow.description)
        .where(func.upper(IssueRow.key) == issue_key.strip().upper())
        .order_by(IssueRow.removed_at.is_not(None), IssueRow.client_key)
        .limit(1)
    ).first()
    if row is None:
        return None
    return StoredBrief(row.client_key, row.key, row.summary, row.description)
