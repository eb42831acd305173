"""Each client's assessed risk as stored, and the stamp of the data it rests on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from scopeguard.adapters.store.models import ClientRiskRow, CommentRow, DirectoryRow, IssueRow
from scopeguard.adapters.store.repository import upsert

_RISK: Table = ClientRiskRow.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class RiskRow:
    """One client's stored assessment: the API document with its score, level and verdict."""

    client_key: str
    fingerprint: str
    computed_at: datetime
    score: int | None
    level: str | None
    verdict: str
    document: dict[str, Any]


def data_stamp(session: Session, client_keys: Sequence[str]) -> list[Any]:
    """What changes whenever a sync stored something the risk reads: per client the issue
    count, the newest update, the histories and the comments; the people directory."""
    issues = {
        key: [count, None if newest is None else newest.isoformat(), int(histories)]
        for key, count, newest, histories in session.execute(
            select(
                IssueRow.client_key,
                func.count(),
                func.max(IssueRow.updated),
                func.coalesce(func.sum(IssueRow.histories_total), 0),
            )
            .where(IssueRow.client_key.in_(list(client_keys)))
            .group_by(IssueRow.client_key)
        )
    }
    comments = dict(
        session.execute(
            select(IssueRow.client_key, func.count(CommentRow.pk))
            .join(CommentRow, CommentRow.issue_pk == IssueRow.pk)
            .where(IssueRow.client_key.in_(list(client_keys)))
            .group_by(IssueRow.client_key)
        ).all()
    )
    entries, fetched = session.execute(
        select(func.count(), func.max(DirectoryRow.fetched_at))
    ).one()
    return [
        {key: [issues.get(key), comments.get(key, 0)] for key in client_keys},
        [entries, None if fetched is None else fetched.isoformat()],
    ]


def save_risks(session: Session, rows: Sequence[RiskRow]) -> None:
    """Insert or replace the clients' assessments (one statement)."""
    upsert(
        session,
        _RISK,
        [
            {
                "client_key": row.client_key,
                "fingerprint": row.fingerprint,
                "computed_at": row.computed_at,
                "score": row.score,
                "level": row.level,
                "verdict": row.verdict,
                "document": row.document,
            }
            for row in rows
        ],
        keys=["client_key"],
    )


def load_risks(session: Session) -> list[RiskRow]:
    """Every stored assessment."""
    return [
        RiskRow(
            row.client_key,
            row.fingerprint,
            row.computed_at,
            row.score,
            row.level,
            row.verdict,
            row.document,
        )
        for row in session.scalars(select(ClientRiskRow).order_by(ClientRiskRow.client_key))
    ]
