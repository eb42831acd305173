"""The JSON documents the API serves, built in one place.

The stored snapshot (:mod:`scopeguard.usecases.snapshots`) and the monthly report
(:mod:`scopeguard.reports`) both describe a client with these documents, so a
report's figures can be compared with the API's key for key.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from scopeguard.adapters.store.models import SyncStateRow
from scopeguard.adapters.store.repository import issue_count
from scopeguard.domain.contract import Contract
from scopeguard.domain.metrics import DayPoint, ScopeSummary


def sync_block(session: Session, client_key: str, zone: ZoneInfo) -> dict[str, Any]:
    """``{"last_success", "issues"}``: when the client's data last came from Jira, and how much."""
    state = session.get(SyncStateRow, client_key)
    last: datetime | None = state.last_success if state is not None else None
    return {
        "last_success": last.astimezone(zone).isoformat() if last is not None else None,
        "issues": issue_count(session, client_key),
    }


def summary_document(
    summary: ScopeSummary, client_key: str, name: str, sync: dict[str, Any]
) -> dict[str, Any]:
    """The API's summary JSON (``/api/v1/clients/<key>/summary``), keys in documented order."""
    document: dict[str, Any] = {"client": client_key, "name": name}
    document.update(summary.to_dict())
    document["sync"] = dict(sync)
    return document


def series_document(
    points: Sequence[DayPoint], contract: Contract, zone: ZoneInfo, client_key: str
) -> dict[str, Any]:
    """The API's series JSON (``/api/v1/clients/<key>/timeseries``)."""
    return {
        "client": client_key,
        "timezone": zone.key,
        "units": [unit.value for unit in contract.scope],
        "days": [point.to_dict() for point in points],
    }
