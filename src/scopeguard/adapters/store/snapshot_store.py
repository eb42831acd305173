"""Each client's snapshot in ``client_snapshots``: the summary and series documents, versioned.

The documents are the API's own JSON (:mod:`scopeguard.presentation.documents`);
``version`` grows with every write so a reader can keep its decoded copy until
it changes, and the fingerprints say what the figures were computed from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import cast

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from scopeguard.adapters.store.models import ClientSnapshotRow, SyncStateRow
from scopeguard.adapters.store.repository import issue_count
from scopeguard.domain.figures import SyncStatus
from scopeguard.presentation.documents import SeriesDocument, SummaryDocument


@dataclass(frozen=True, slots=True)
class SnapshotHead:
    """What a reader checks before deciding whether its decoded copy is current."""

    version: int
    fingerprint: str
    config_fingerprint: str
    series_until: date


@dataclass(frozen=True, slots=True)
class StoredSnapshot:
    """A stored snapshot with its documents."""

    head: SnapshotHead
    computed_at: datetime
    summary: SummaryDocument
    series: SeriesDocument


def snapshot_head(session: Session, client_key: str) -> SnapshotHead | None:
    """The stored snapshot's version and fingerprints (one small query), if any."""
    row = session.execute(
        select(
            ClientSnapshotRow.version,
            ClientSnapshotRow.fingerprint,
            ClientSnapshotRow.config_fingerprint,
            ClientSnapshotRow.series_until,
        ).where(ClientSnapshotRow.client_key == client_key)
    ).first()
    if row is None:
        return None
    return SnapshotHead(
        row.version, row.fingerprint, row.config_fingerprint, date.fromisoformat(row.series_until)
    )


def load_snapshot(session: Session, client_key: str) -> StoredSnapshot | None:
    """The stored snapshot, if any."""
    row = session.get(ClientSnapshotRow, client_key)
    if row is None:
        return None
    head = SnapshotHead(
        row.version,
        row.fingerprint,
        row.config_fingerprint,
        date.fromisoformat(row.series_until),
    )
    # The JSON columns hold exactly what save_snapshot wrote.
    summary = cast("SummaryDocument", row.summary)
    series = cast("SeriesDocument", row.series)
    return StoredSnapshot(head, row.computed_at, summary, series)


def save_snapshot(
    session: Session,
    client_key: str,
    *,
    fingerprint: str,
    config_fingerprint: str,
    computed_at: datetime,
    series_until: date,
    summary: SummaryDocument,
    series: SeriesDocument,
) -> int:
    """Store a newly computed snapshot; returns its version."""
    values = {
        "fingerprint": fingerprint,
        "config_fingerprint": config_fingerprint,
        "computed_at": computed_at,
        "series_until": series_until.isoformat(),
        "summary": dict(summary),
        "series": dict(series),
    }
    version = _bump(session, client_key, values)
    if version is None:
        session.add(ClientSnapshotRow(client_key=client_key, version=1, **values))
        session.flush()
        version = 1
    return version


def restamp_snapshot(session: Session, client_key: str, summary: SummaryDocument) -> None:
    """Replace the stored summary document (a sync that changed nothing moved ``as_of``)."""
    _bump(session, client_key, {"summary": dict(summary)})


def _bump(session: Session, client_key: str, values: dict[str, object]) -> int | None:
    """Write ``values`` and the next version in one statement; ``None``: no row yet.

    One UPDATE, not a read then a write: two processes refreshing one client at once
    (the worker after a sync, a web process at midnight) both read version N and
    both wrote N + 1, and the one that lost kept serving its own documents as the
    stored version N + 1.
    """
    bumped = session.execute(
        update(ClientSnapshotRow)
        .where(ClientSnapshotRow.client_key == client_key)
        .values(version=ClientSnapshotRow.version + 1, **values)
        .returning(ClientSnapshotRow.version)
        .execution_options(synchronize_session="fetch")
    ).scalar_one_or_none()
    return bumped


def sync_status(session: Session, client_key: str) -> SyncStatus:
    """When the client's data last came from Jira, and how many issues it has."""
    state = session.get(SyncStateRow, client_key)
    last = state.last_success if state is not None else None
    return SyncStatus(last_success=last, issues=issue_count(session, client_key))


def stored_points_field(session: Session, client_key: str) -> str | None:
    """The story points field the last sync found on the site, if any."""
    state = session.get(SyncStateRow, client_key)
    return state.story_points_field if state is not None else None
