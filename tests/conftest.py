"""Fixtures shared by every tier.

The database is a real SQLite file in the test's temporary folder, or, when
``SCOPEGUARD_TEST_DB=postgres``, the PostgreSQL server named by
``SCOPEGUARD_TEST_DATABASE_URL`` with its schema dropped and migrated afresh for
each test.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import create_engine, text

from scopeguard.config import Settings, parse_settings

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_path() -> Path:
    """The project's sibling ``shared/`` folder (Jira reference data)."""
    override = os.environ.get("SCOPEGUARD_SHARED_DIR")
    return Path(override) if override else REPO_ROOT.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    path = shared_path()
    if not (path / "jira").is_dir():
        pytest.fail(f"shared Jira reference data not found at {path} (set SCOPEGUARD_SHARED_DIR)")
    return path


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    path = Path(os.environ.get("SCOPEGUARD_ARTIFACTS", REPO_ROOT / "artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path


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


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """A fresh, empty database for one test."""
    return fresh_database_url(tmp_path)


SettingsFactory = Callable[..., Settings]


def settings_for(
    jira_url: str,
    clients: list[dict[str, Any]],
    *,
    database_url: str,
    instance: Path,
    deployment: str = "cloud",
    **extra: Any,
) -> Settings:
    """Validated settings built the way a user's YAML file would give them."""
    jira: dict[str, Any] = {"url": jira_url, "deployment": deployment}
    if deployment == "datacenter":
        jira["pat"] = "pat-token"
    else:
        jira.update(email="pm@agency.example", api_token="token")
    jira.update(extra.pop("jira", {}))
    document = {
        "database_url": database_url,
        "instance_path": str(instance),
        "jira": jira,
        "agency": {"timezone": "Europe/Moscow"},
        "clients": clients,
        **extra,
    }
    return parse_settings(yaml.safe_dump(document, allow_unicode=True), env={})


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
