"""Fixtures shared by every tier; the helpers behind them live in ``tests/support``.

The database is a real SQLite file in the test's temporary folder, or, when
``SCOPEGUARD_TEST_DB=postgres``, the PostgreSQL server named by
``SCOPEGUARD_TEST_DATABASE_URL`` with its schema dropped and migrated afresh for
each test (:mod:`tests.support.database`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scopeguard.config import Settings
from tests.support.database import fresh_database_url
from tests.support.paths import artifacts_path
from tests.support.settings import SettingsFactory, settings_for


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    return artifacts_path()


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """A fresh, empty database for one test."""
    return fresh_database_url(tmp_path)


@pytest.fixture
def make_settings(database_url: str, tmp_path: Path) -> SettingsFactory:
    """Build validated settings the way a user's YAML file would give them."""

    def build(
        jira_url: str,
        clients: list[dict[str, Any]],
        *,
        deployment: str = "cloud",
        **extra: Any,
    ) -> Settings:
        return settings_for(
            jira_url,
            clients,
            database_url=database_url,
            instance=tmp_path / "instance",
            deployment=deployment,
            **extra,
        )

    return build
