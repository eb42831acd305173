"""Engine creation, schema migrations and the schema check for SQLite and PostgreSQL.

In production the schema is migrated once per release (``scopeguard db upgrade``,
the Helm chart's migration Job); every process then only *checks* that the
database is at this release's revision and refuses to start otherwise
(:class:`SchemaMismatchError`), because a web or worker process running on a
schema it was not written for corrupts data quietly.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.util import asbool

Transaction = Session
"""An open unit of work, as :meth:`Database.session` yields it: use cases pass it to
the store's functions and never write SQL on it themselves."""

MIGRATIONS = Path(__file__).parent / "migrations"
_LOCK_KEY = 0x5C09E6A2  # any fixed 32-bit number, private to ScopeGuard
CONNECT_TIMEOUT_SECONDS = 10
"""How long PostgreSQL connection attempts wait (unless the URL says ``connect_timeout``):
an unreachable server is reported in seconds, not after the operating system's minutes."""
UPGRADE_COMMAND = "scopeguard db upgrade"


class DatabaseError(Exception):
    """The database cannot be used as it is; the message says why and what to do."""


class DatabaseUrlError(DatabaseError):
    """``database_url`` is not a URL SQLAlchemy can use (a configuration mistake)."""


class DatabaseUnavailableError(DatabaseError):
    """The database server cannot be reached or the database file cannot be opened."""


class SchemaMismatchError(DatabaseError):
    """The database schema is not the revision this release of ScopeGuard was written for."""

    def __init__(self, current: str | None, head: str, *, known: bool) -> None:
        self.current = current
        self.head = head
        self.known = known
        """Whether this release knows ``current`` (it is behind, not from a newer release)."""
        if current is None:
            message = (
                f"the database has no ScopeGuard schema yet, this ScopeGuard needs revision "
                f"{head}: run `{UPGRADE_COMMAND}`"
            )
        elif known:
            message = (
                f"the database schema is at revision {current}, this ScopeGuard needs {head}: "
                f"run `{UPGRADE_COMMAND}`"
            )
        else:
            message = (
                f"the database schema is at revision {current}, which this ScopeGuard (schema "
                f"{head}) does not know: a newer release migrated it. Run that release again, "
                f"or with it downgrade the schema (`scopeguard db downgrade {head}`), "
                "or restore the backup taken before the upgrade"
            )
        super().__init__(message)


def safe_url(url: str) -> str:
    """``url`` with its password masked, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unparseable database_url)"


def _reason(error: BaseException) -> str:
    # The driver's own message (psycopg's spans lines) on one line, without SQLAlchemy's
    # statement dump and documentation link.
    orig = getattr(error, "orig", None) or error
    return " ".join(str(orig).split())


@contextmanager
def _reachable(url: str) -> Iterator[None]:
    """Turn a failure to connect into :class:`DatabaseUnavailableError` naming the database."""
    try:
        yield
    except OperationalError as error:
        raise DatabaseUnavailableError(
            f"cannot connect to the database {safe_url(url)}: {_reason(error)}"
        ) from error


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the web process read while the worker writes; busy_timeout makes a
    # writer wait for the other's lock instead of failing with "database is locked".
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def sqlite_file(url: URL) -> Path | None:
    """The file a SQLite URL names, ``None`` for a database in memory.

    With ``uri=true`` the name is a ``file:`` URI (``sqlite:///file:/srv/sg.db?uri=true``
    names ``/srv/sg.db``), not a path under the working directory.
    """
    database = url.database
    if not database or database == ":memory:":
        return None
    if asbool(url.query.get("uri", False)) and database.startswith("file:"):
        path = unquote(urlsplit(database).path)
        if path in ("", ":memory:") or url.query.get("mode") == "memory":
            return None
        return Path(path)
    return Path(database)


def create_db_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get WAL mode and their folder is created.

    Raises :class:`DatabaseUrlError` for a URL SQLAlchemy cannot use.
    """
    try:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            file = sqlite_file(parsed)
            if file is not None:
                file.parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"timeout": 30})
            event.listen(engine, "connect", _sqlite_pragmas)
            return engine
        connect_args: dict[str, Any] = {}
        if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
            connect_args["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
        return create_engine(url, pool_pre_ping=True, connect_args=connect_args)
    except (ArgumentError, NoSuchModuleError) as error:
        raise DatabaseUrlError(f"database_url {safe_url(url)}: {error}") from error
    except OSError as error:  # the SQLite file's folder cannot be created
        raise DatabaseUnavailableError(
            f"cannot open the database {safe_url(url)}: {error.strerror}: {error.filename}"
        ) from error


class Database:
    """One database: its engine, sessions and schema migrations."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_db_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on error."""
        with self._sessions() as session, session.begin():
            yield session

    def upgrade(self, revision: str = "head") -> None:
        """Apply Alembic migrations up to ``revision``.

        Several processes may start at once (gunicorn workers and the worker with
        ``database_auto_migrate``), so migrating is serialised: a PostgreSQL advisory
        lock, or a file lock beside the SQLite file. The second process then finds
        nothing to do.
        """
        with self._migrating() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
            if not is_known_revision(current):
                # A newer release's schema: nothing here can upgrade (or safely use) it.
                raise SchemaMismatchError(current, head_revision(), known=False)
            config = alembic_config(self.url)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)

    def downgrade(self, revision: str) -> None:
        """Undo migrations down to ``revision`` (what they created is dropped, with its data)."""
        with self._migrating() as connection:
            config = alembic_config(self.url)
            config.attributes["connection"] = connection
            command.downgrade(config, revision)

    def current_revision(self) -> str | None:
        """The schema revision the database is at; ``None`` for a database never migrated."""
        with _reachable(self.url), self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def check_schema(self) -> None:
        """Raise :class:`SchemaMismatchError` unless the schema is this release's head."""
        current = self.current_revision()
        head = head_revision()
        if current != head:
            raise SchemaMismatchError(current, head, known=is_known_revision(current))

    @contextmanager
    def _migrating(self) -> Iterator[Connection]:
        with (
            _reachable(self.url),
            self._migration_lock(),
            self.engine.begin() as connection,
        ):
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
            yield connection

    @contextmanager
    def _migration_lock(self) -> Iterator[None]:
        parsed = make_url(self.url)
        file = sqlite_file(parsed) if parsed.get_backend_name() == "sqlite" else None
        if file is None:
            yield
            return
        lock = f"{file}.migrate.lock"
        try:
            handle = open(lock, "a+b")  # noqa: SIM115 - held across the yield below
        except OSError as error:
            raise DatabaseUnavailableError(
                f"cannot create the migration lock {lock}: {error.strerror}"
            ) from error
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(url: str) -> AlembicConfig:
    """The Alembic configuration for this package's migrations."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config("sqlite://"))


def head_revision() -> str:
    """The schema revision this release of ScopeGuard is written for."""
    head = _scripts().get_current_head()
    if head is None:  # pragma: no cover - the package ships its migrations
        raise RuntimeError(f"no migrations in {MIGRATIONS}")
    return head


def is_known_revision(revision: str | None) -> bool:
    """Whether ``revision`` is one of this release's migrations (``None``: the empty schema)."""
    if revision is None:
        return True
    try:
        return _scripts().get_revision(revision) is not None
    except (CommandError, RevisionError):  # alembic wraps the one in the other
        return False
