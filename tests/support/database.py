"""A fresh database per test: a SQLite file, or the PostgreSQL server CI starts.

With ``SCOPEGUARD_TEST_DB=postgres`` the server named by
``SCOPEGUARD_TEST_DATABASE_URL`` has its schema dropped and migrated afresh for
each test.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text


def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def fresh_database_url(folder: Path) -> str:
    """An empty database: a new SQLite file in ``folder``, or the reset PostgreSQL one."""
    if os.environ.get("SCOPEGUARD_TEST_DB") == "postgres":
        url = os.environ.get("SCOPEGUARD_TEST_DATABASE_URL")
        if not url:
            pytest.fail("SCOPEGUARD_TEST_DB=postgres needs SCOPEGUARD_TEST_DATABASE_URL")
        _reset_postgres(url)
        return url
    return f"sqlite:///{folder / 'scopeguard.db'}"
