"""Load, decode and OS errors are messages with the documented exit code, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml
from sqlalchemy import create_engine, text

from scopeguard.adapters.store.models import SyncRunRow
from tests.support import clock
from tests.support.agency import Agency, agency_site
from tests.support.services import pinned_services


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m scopeguard ARGS`` in a real process."""
    return subprocess.run(
        [sys.executable, "-m", "scopeguard", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=clock.subprocess_env(),
        check=False,
    )


def no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr, result.stderr


def test_a_file_that_is_not_utf8_is_exit_2(tmp_path: Path, agency: Agency) -> None:
    broken = tmp_path / "latin1.yaml"
    broken.write_bytes(agency.config_file.read_bytes() + "# Größe\n".encode("latin-1"))
    result = run("--config", str(broken), "check-config")
    no_traceback(result)
    assert result.returncode == 2 and "is not UTF-8" in result.stderr


def test_an_impossible_date_and_a_duplicate_key_are_exit_2(tmp_path: Path, agency: Agency) -> None:
    source = agency.config_file.read_text()
    for name, broken in (
        ("date", source.replace("jql:", "baseline: 2026-02-30\n    jql:", 1)),
        ("dup", source.replace("jql:", "name: Again\n    jql:", 1)),
    ):
        path = tmp_path / f"{name}.yaml"
        path.write_text(broken)
        result = run("--config", str(path), "check-config")
        no_traceback(result)
        assert result.returncode == 2 and "not valid YAML" in result.stderr, result.stderr


def test_an_unusable_database_is_exit_1_with_a_message(tmp_path: Path, agency: Agency) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    for url in (
        f"sqlite:///{blocker}/scopeguard.db",  # the folder cannot be created
        f"sqlite:///file:{tmp_path / 'ro.db'}?mode=ro&uri=true",  # a read-only database
    ):
        document = yaml.safe_load(agency.config_file.read_text())
        document["database_url"] = url
        config = tmp_path / "db.yaml"
        config.write_text(yaml.safe_dump(document))
        result = run("--config", str(config), "counts")
        no_traceback(result)
        assert result.returncode == 1, result.stderr
        # One line that says it is the database, whichever layer noticed first.
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "database" in result.stderr, result.stderr


def test_a_sync_that_fails_on_storage_is_recorded_and_the_next_client_goes_on(
    tmp_path: Path,
) -> None:
    with agency_site(tmp_path) as site:
        _, settings = site.write_config(tmp_path)
        services = pinned_services(settings, sleep=lambda _s: None)
        services.database  # noqa: B018 - migrate first
        # The database itself refuses HLT's issues, as a full disk would.
        engine = create_engine(settings.resolved_database_url)
        with engine.begin() as connection:
            if connection.dialect.name == "sqlite":
                connection.execute(
                    text(
                        "CREATE TRIGGER refuse_hlt BEFORE INSERT ON issues "
                        "WHEN NEW.client_key = 'HLT' "
                        "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
                    )
                )
            else:
                connection.execute(
                    text(
                        "CREATE FUNCTION refuse_hlt() RETURNS trigger AS $$ BEGIN "
                        "IF NEW.client_key = 'HLT' THEN "
                        "RAISE EXCEPTION 'could not extend file: No space left on device'; "
                        "END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
                    )
                )
                connection.execute(
                    text(
                        "CREATE TRIGGER refuse_hlt BEFORE INSERT ON issues "
                        "FOR EACH ROW EXECUTE FUNCTION refuse_hlt()"
                    )
                )
        engine.dispose()
        results = services.sync.sync_all(full=True)
        outcome = {getattr(r, "client_key", ""): not isinstance(r, Exception) for r in results}
        assert outcome == {"TOX": True, "HLT": False, "RET": True, "LAG": True}
        failed = next(r for r in results if isinstance(r, Exception))
        assert "storage error" in str(failed)
        with services.database.session() as session:
            runs = session.query(SyncRunRow).filter_by(client_key="HLT").all()
        assert [run.ok for run in runs] == [False]
        assert runs[0].error is not None and "storage error" in runs[0].error
        services.close()
