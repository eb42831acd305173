"""A process refuses a schema that is not its release's, unless told to migrate it.

Runs on SQLite, and on PostgreSQL in ``make test-postgres``.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from sqlalchemy import text

from scopeguard.adapters.store.db import (
    Database,
    DatabaseUnavailableError,
    DatabaseUrlError,
    SchemaMismatchError,
    head_revision,
)
from scopeguard.entrypoints.web import create_app
from tests.support.services import pinned_services
from tests.support.settings import SettingsFactory

PREVIOUS = "0003"  # the revision before this release's head


def test_head_is_the_last_shipped_migration() -> None:
    versions = Path(__file__).resolve().parents[2] / "src/scopeguard/adapters/store/migrations"
    newest = max(path.name for path in (versions / "versions").glob("[0-9]*_*.py"))
    assert head_revision() == newest.split("_")[0]
    assert head_revision() > PREVIOUS


def test_a_fresh_database_is_refused_then_accepted_once_upgraded(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings("http://127.0.0.1:9", [])
    refusing = pinned_services(settings, migrate=False)
    with pytest.raises(SchemaMismatchError) as caught:
        refusing.database  # noqa: B018
    assert caught.value.current is None
    assert str(caught.value) == (
        f"the database has no ScopeGuard schema yet, this ScopeGuard needs revision "
        f"{head_revision()}: run `scopeguard db upgrade`"
    )
    database = Database(settings.resolved_database_url)
    try:
        assert database.current_revision() is None
        database.upgrade()
        assert database.current_revision() == head_revision()
    finally:
        database.dispose()
    accepting = pinned_services(settings, migrate=False)
    try:
        accepting.database.check_schema()
    finally:
        accepting.close()


def test_a_schema_behind_names_both_revisions_and_the_command(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings("http://127.0.0.1:9", [])
    database = Database(settings.resolved_database_url)
    try:
        database.upgrade()
        database.downgrade(PREVIOUS)
        assert database.current_revision() == PREVIOUS
        with pytest.raises(SchemaMismatchError) as caught:
            database.check_schema()
    finally:
        database.dispose()
    assert caught.value.known
    assert str(caught.value) == (
        f"the database schema is at revision {PREVIOUS}, this ScopeGuard needs "
        f"{head_revision()}: run `scopeguard db upgrade`"
    )
    # Told to migrate itself (database_auto_migrate), a process upgrades instead.
    migrating = pinned_services(settings, migrate=True)
    try:
        migrating.database.check_schema()
    finally:
        migrating.close()


def test_a_schema_from_a_newer_release_is_refused_as_unknown(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings("http://127.0.0.1:9", [])
    database = Database(settings.resolved_database_url)
    try:
        database.upgrade()
        with database.engine.begin() as connection:  # what a later release's migration leaves
            connection.execute(text("UPDATE alembic_version SET version_num = '9001'"))
        with pytest.raises(SchemaMismatchError) as caught:
            database.check_schema()
        # Even with auto-migrate, an unknown revision is not something to upgrade from.
        with pytest.raises(SchemaMismatchError, match="9001, which this ScopeGuard"):
            database.upgrade()
    finally:
        database.dispose()
    assert not caught.value.known
    message = str(caught.value)
    assert message.startswith("the database schema is at revision 9001, which this ScopeGuard")
    assert f"scopeguard db downgrade {head_revision()}" in message


def test_the_web_app_follows_database_auto_migrate(make_settings: SettingsFactory) -> None:
    refusing = make_settings("http://127.0.0.1:9", [])
    assert refusing.database_auto_migrate is False  # the default: production refuses
    with pytest.raises(SchemaMismatchError):
        create_app(refusing)
    migrating = make_settings("http://127.0.0.1:9", [], database_auto_migrate=True)
    app = create_app(migrating)
    try:
        assert app.test_client().get("/readyz").status_code == 200
    finally:
        app.extensions["scopeguard"].close()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_an_unreachable_server_is_one_message_without_the_password() -> None:
    url = f"postgresql+psycopg://scopeguard:s3cret-pw@127.0.0.1:{_closed_port()}/scopeguard"
    database = Database(url)
    try:
        for attempt in (database.current_revision, database.upgrade, database.check_schema):
            with pytest.raises(DatabaseUnavailableError) as caught:
                attempt()
            message = str(caught.value)
            assert message.startswith(
                "cannot connect to the database postgresql+psycopg://scopeguard:***@127.0.0.1:"
            )
            assert "Connection refused" in message
            assert "s3cret-pw" not in message and "\n" not in message
    finally:
        database.dispose()


def test_an_unusable_url_is_a_configuration_error() -> None:
    with pytest.raises(DatabaseUrlError, match=r"database_url nodb\+x://u:\*\*\*@h/d"):
        Database("nodb+x://u:pw@h/d")
    with pytest.raises(DatabaseUrlError, match="Could not parse"):
        Database("not a url")
