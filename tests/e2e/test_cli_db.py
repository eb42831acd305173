"""``scopeguard db …`` and the refusal to start on a schema that is not this release's.

Real processes, as a container runs them; on SQLite, and on PostgreSQL in
``make test-postgres``.
"""

from __future__ import annotations

import socket
from pathlib import Path

from scopeguard.adapters.store.db import head_revision
from tests.support.cli import run_cli, write_minimal_config

HEAD = head_revision()
PREVIOUS = "0003"
BEHIND = f"this ScopeGuard needs {HEAD}: run `scopeguard db upgrade`"


def test_db_upgrade_then_current_then_downgrade(tmp_path: Path, database_url: str) -> None:
    config = str(write_minimal_config(tmp_path, database_url))
    fresh = run_cli("--config", config, "db", "current")
    assert (fresh.returncode, fresh.stdout.strip()) == (
        0,
        f"none (behind: this release needs {HEAD}, run `scopeguard db upgrade`)",
    )

    upgraded = run_cli("--config", config, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout.strip() == f"database schema upgraded from revision none to {HEAD}"
    again = run_cli("--config", config, "db", "upgrade")
    assert again.stdout.strip() == f"database schema is up to date (revision {HEAD})"
    assert run_cli("--config", config, "db", "current").stdout.strip() == f"{HEAD} (this release's)"

    down = run_cli("--config", config, "db", "downgrade", PREVIOUS)
    assert down.returncode == 0, down.stderr
    assert down.stdout.strip() == f"database schema downgraded from revision {HEAD} to {PREVIOUS}"
    unknown = run_cli("--config", config, "db", "downgrade", "no-such-revision")
    assert unknown.returncode == 2
    assert "cannot downgrade to 'no-such-revision'" in unknown.stderr


def test_serve_and_worker_refuse_a_schema_behind_with_one_line(
    tmp_path: Path, database_url: str
) -> None:
    config = str(write_minimal_config(tmp_path, database_url))
    for command in (["serve"], ["serve", "--dev"], ["worker"], ["counts"]):
        result = run_cli("--config", config, *command, timeout=60)
        assert result.returncode == 1, (command, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        # (The worker logs at INFO, so Alembic's lines may come first.)
        assert result.stderr.strip().splitlines()[-1] == (
            f"the database has no ScopeGuard schema yet, this ScopeGuard needs revision {HEAD}: "
            "run `scopeguard db upgrade`"
        ), command
    assert run_cli("--config", config, "db", "upgrade").returncode == 0
    assert run_cli("--config", config, "db", "downgrade", PREVIOUS).returncode == 0
    behind = run_cli("--config", config, "worker", timeout=60)
    assert behind.returncode == 1
    assert behind.stderr.strip().endswith(f"revision {PREVIOUS}, {BEHIND}")
    assert "Traceback" not in behind.stderr


def test_database_auto_migrate_lets_a_process_migrate_itself(
    tmp_path: Path, database_url: str
) -> None:
    config = str(write_minimal_config(tmp_path, database_url, database_auto_migrate=True))
    counted = run_cli("--config", config, "counts")
    assert counted.returncode == 0, counted.stderr
    assert run_cli("--config", config, "db", "current").stdout.startswith(f"{HEAD} ")


def test_an_unreachable_database_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql+psycopg://scopeguard:pw-not-shown@127.0.0.1:{port}/scopeguard"
    config = str(write_minimal_config(tmp_path, url))
    for command in (["db", "upgrade"], ["db", "current"], ["serve"], ["worker"]):
        result = run_cli("--config", config, *command, timeout=60)
        assert result.returncode == 1, command
        assert result.stderr.startswith(
            "cannot connect to the database postgresql+psycopg://scopeguard:***@127.0.0.1:"
        ), (command, result.stderr)
        assert "Traceback" not in result.stderr and "pw-not-shown" not in result.stderr


def test_an_unusable_database_url_is_a_configuration_error(tmp_path: Path) -> None:
    config = str(write_minimal_config(tmp_path, "nodb+x://u:pw@h/d"))
    result = run_cli("--config", config, "db", "upgrade")
    assert result.returncode == 2
    assert result.stderr.startswith("database_url nodb+x://u:***@h/d: Can't load plugin")
