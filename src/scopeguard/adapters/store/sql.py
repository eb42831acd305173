"""Small SQL helpers that read the same on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Session


def insert_ignore(session: Session, model: type[DeclarativeBase], values: dict[str, Any]) -> bool:
    """Insert one row unless its primary key exists; ``True`` if this call inserted it.

    ``INSERT … ON CONFLICT DO NOTHING`` on both databases: the loser of two
    concurrent inserts gets ``False`` instead of an error that would abort its
    transaction (PostgreSQL aborts the whole transaction on a failed insert).
    """
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    table = cast(Table, model.__table__)
    # RETURNING tells whether the row went in: an INSERT's row count is not reliable
    # through SQLAlchemy on psycopg (it reports -1).
    statement = (
        module.insert(table)
        .values(**values)
        .on_conflict_do_nothing()
        .returning(*table.primary_key.columns)
    )
    return session.execute(statement).first() is not None


def rowcount(result: Any) -> int:
    """Rows an UPDATE or DELETE matched."""
    assert isinstance(result, CursorResult)
    return int(result.rowcount)
