"""Liveness and readiness probes."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from scopeguard.adapters.store.models import SyncStateRow
from scopeguard.entrypoints.web.context import services

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz() -> dict[str, Any]:
    """The process is up (no dependencies checked: a database outage must not restart it)."""
    return {"status": "ok"}


@blueprint.get("/readyz")
def readyz() -> tuple[dict[str, Any], int]:
    """The database answers; reports how old the last successful sync is."""
    try:
        with services().database.session() as session:
            session.execute(text("SELECT 1"))
            last = session.scalar(select(func.min(SyncStateRow.last_success)))
    except SQLAlchemyError as exc:
        return {"status": "unavailable", "database": f"error: {type(exc).__name__}"}, 503
    age = None
    if last is not None:
        age = round((services().clock() - last).total_seconds())
    return {"status": "ok", "database": "ok", "oldest_last_sync_seconds": age}, 200
