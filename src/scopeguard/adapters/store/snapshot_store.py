"""Each client's snapshot in ``client_snapshots``: the summary and series documents, versioned.

The documents are the API's own JSON (:mod:`scopeguard.presentation.documents`);
``version`` grows with every write so a reader can keep its decoded copy until
it changes, and the fingerprints say what the figures were computed from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import cast

from sqlalchemy import select
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
    row = session.get(ClientSnapshotRow, client_key)
    if row is None:
        row = ClientSnapshotRow(client_key=client_key, version=0)
        session.add(row)
    row.fingerprint = fingerprint
    row.config_fingerprint = config_fingerprint
    row.version += 1
    row.computed_at = computed_at
    row.series_until = series_until.isoformat()
    row.summary = dict(summary)
    row.series = dict(series)
    return row.version


def restamp_snapshot(session: Session, client_key: str, summary: SummaryDocument) -> None:
    """Replace the stored summary document (a sync that changed nothing moved ``as_of``)."""
    row = session.get(ClientSnapshotRow, client_key)
    if row is not None:
        row.summary = dict(summary)
        row.version += 1


def sync_status(session: Session, client_key: str) -> SyncStatus:
    """When the client's data last came from Jira, and how many issues it has."""
    state = session.get(SyncStateRow, client_key)
    last = state.last_success if state is not None else None
    return SyncStatus(last_success=last, issues=issue_count(session, client_key))


def stored_points_field(session: Session, client_key: str) -> str | None:
    """The story points field the last sync found on the site, if any."""
    state = session.get(SyncStateRow, client_key)
    return state.story_points_field if state is not None else None
