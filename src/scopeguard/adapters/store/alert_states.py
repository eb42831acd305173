"""Where each alert rule stands for each client and subject, changed only by compare-and-set.

Every change is one statement that names the state it expects (``INSERT … ON
CONFLICT DO NOTHING`` for a first alert, ``UPDATE … WHERE active = …`` after),
so of two evaluations racing on one client only one wins a crossing, and the
winner adds the outbox rows in the same transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from scopeguard.adapters.store.models import AlertStateRow
from scopeguard.adapters.store.sql import insert_ignore, rowcount
from scopeguard.domain.alert_rules import Observation, StateView

StateKey = tuple[str, str]
"""(rule event name, subject)."""


def load_states(session: Session, client_key: str) -> dict[StateKey, StateView]:
    """Every stored state of the client's rules."""
    return {
        (row.rule, row.subject): StateView(row.active, row.value, row.limit, row.notified_value)
        for row in session.scalars(
            select(AlertStateRow).where(AlertStateRow.client_key == client_key)
        )
    }


def first_alert(session: Session, client_key: str, seen: Observation, now: datetime) -> bool:
    """Store the first state of a rule and subject, active; ``False`` if another did first."""
    return insert_ignore(
        session,
        AlertStateRow,
        {
            "client_key": client_key,
            "rule": seen.rule.value,
            "subject": seen.subject,
            "active": True,
            "notified_value": seen.value,
            "fired_at": now,
            **_figures(seen, now),
        },
    )


def activate(session: Session, client_key: str, seen: Observation, now: datetime) -> bool:
    """An inactive state crosses its limit again; ``True`` if this call made the change."""
    return _cas(
        session,
        client_key,
        seen,
        AlertStateRow.active.is_(False),
        {**_figures(seen, now), "active": True, "notified_value": seen.value, "fired_at": now},
    )


def another_round(
    session: Session, client_key: str, seen: Observation, notified: float, now: datetime
) -> bool:
    """An active state moves on to a further round; ``True`` if this call made the change."""
    return _cas(
        session,
        client_key,
        seen,
        AlertStateRow.active.is_(True),
        {**_figures(seen, now), "notified_value": seen.value, "fired_at": now},
        AlertStateRow.notified_value == notified,
    )


def reset(session: Session, client_key: str, seen: Observation, now: datetime) -> None:
    """An active state falls back under its limit."""
    _cas(
        session,
        client_key,
        seen,
        AlertStateRow.active.is_(True),
        {**_figures(seen, now), "active": False},
    )


def remember(session: Session, client_key: str, seen: Observation, now: datetime) -> None:
    """New figures on the same side of the limit, kept quietly."""
    _cas(session, client_key, seen, None, _figures(seen, now))


def _figures(seen: Observation, now: datetime) -> dict[str, Any]:
    return {"value": seen.value, "limit": seen.limit, "updated_at": now}


def _cas(
    session: Session,
    client_key: str,
    seen: Observation,
    expected: ColumnElement[bool] | None,
    values: dict[str, Any],
    *more: ColumnElement[bool],
) -> bool:
    conditions = [
        AlertStateRow.client_key == client_key,
        AlertStateRow.rule == seen.rule.value,
        AlertStateRow.subject == seen.subject,
        *([expected] if expected is not None else []),
        *more,
    ]
    statement = (
        update(AlertStateRow)
        .where(*conditions)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return rowcount(session.execute(statement)) == 1
