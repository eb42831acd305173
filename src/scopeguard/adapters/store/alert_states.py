"""Where each alert rule stands for each client and subject, changed only by compare-and-set.

Every change is one statement that names the state it expects (``INSERT … ON
CONFLICT DO NOTHING`` for a first alert, ``UPDATE … WHERE active = …`` after),
so of two evaluations racing on one client only one wins a crossing, and the
winner adds the outbox rows in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Float,
    String,
    Table,
    bindparam,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from scopeguard.adapters.store.models import AlertStateRow
from scopeguard.adapters.store.sql import insert_ignore, rowcount
from scopeguard.domain.alert_rules import Observation, StateView

StateKey = tuple[str, str]
"""(rule event name, subject)."""


def load_states(session: Session, client_key: str) -> dict[StateKey, StateView]:
    """Every stored state of the client's rules."""
    # Plain columns, not ORM objects: a contract can hold 20,000 issue states, and
    # building an identity-mapped object per row cost more than the query.
    rows = session.execute(
        select(
            AlertStateRow.rule,
            AlertStateRow.subject,
            AlertStateRow.active,
            AlertStateRow.value,
            AlertStateRow.limit,
            AlertStateRow.notified_value,
        ).where(AlertStateRow.client_key == client_key)
    )
    return {
        (rule, subject): StateView(active, value, limit, notified)
        for rule, subject, active, value, limit, notified in rows
    }


def first_alerts(
    session: Session, client_key: str, seen: Sequence[Observation], now: datetime
) -> set[StateKey]:
    """Store the first states of many rules and subjects at once, active.

    One multi-row ``INSERT … ON CONFLICT DO NOTHING RETURNING``: a contract's first
    evaluation can cross 20,000 issues' limits. Returns the states this call
    inserted; another evaluation's are left alone (and not alerted again here).
    """
    if not seen:
        return set()
    table = cast("Table", AlertStateRow.__table__)
    if session.get_bind().dialect.name == "postgresql":
        return _first_alerts_unnest(session, table, client_key, seen, now)
    statement = (
        sqlite.insert(table).on_conflict_do_nothing().returning(table.c.rule, table.c.subject)
    )
    rows = [
        {
            "client_key": client_key,
            "rule": item.rule.value,
            "subject": item.subject,
            "active": True,
            "notified_value": item.value,
            "fired_at": now,
            **_figures(item, now),
        }
        for item in seen
    ]
    return {(rule, subject) for rule, subject in session.execute(statement, rows)}


def _first_alerts_unnest(
    session: Session,
    table: Table,
    client_key: str,
    seen: Sequence[Observation],
    now: datetime,
) -> set[StateKey]:
    # One statement with five array parameters: psycopg parses every multi-row
    # VALUES statement afresh, which for 20,000 rows cost seconds, not the insert.
    columns = (
        func.unnest(
            bindparam("rules", [item.rule.value for item in seen], type_=ARRAY(String)),
            bindparam("subjects", [item.subject for item in seen], type_=ARRAY(String)),
            bindparam("values", [float(item.value) for item in seen], type_=ARRAY(Float)),
            bindparam(
                "limits",
                [None if item.limit is None else float(item.limit) for item in seen],
                type_=ARRAY(Float),
            ),
        )
        .table_valued("rule", "subject", "value", "limit")
        .render_derived(name="incoming")
    )
    rows = select(
        literal(client_key, String),
        columns.c.rule,
        columns.c.subject,
        literal(True),
        columns.c.value,
        columns.c.limit,
        columns.c.value,
        literal(now, table.c.fired_at.type),
        literal(now, table.c.updated_at.type),
    )
    statement = (
        postgresql.insert(table)
        .from_select(
            [
                "client_key",
                "rule",
                "subject",
                "active",
                "value",
                "limit",
                "notified_value",
                "fired_at",
                "updated_at",
            ],
            rows,
        )
        .on_conflict_do_nothing()
        .returning(table.c.rule, table.c.subject)
    )
    return {(rule, subject) for rule, subject in session.execute(statement)}


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
