"""Storage on a real database file (and on PostgreSQL in CI): migrations, idempotent saves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import select, text

from scopeguard.adapters.store import Database
from scopeguard.adapters.store.changelog import decode_changes
from scopeguard.adapters.store.db import alembic_config
from scopeguard.adapters.store.models import ClientSnapshotRow, CommentRow, IssueRow
from scopeguard.adapters.store.repository import (
    StoredIssue,
    history_count,
    issue_count,
    load_issues,
    load_statuses,
    mark_removed,
    save_issues,
    save_statuses,
)
from scopeguard.adapters.store.snapshot_store import restamp_snapshot, save_snapshot
from scopeguard.domain.model import ChangeItem, Comment, Issue, Status, StatusCategory
from tests.support import clock

MSK = timezone(timedelta(hours=3))
DONE = Status("10001", "Принято клиентом", StatusCategory.DONE)
TODO = Status("1", "To Do", StatusCategory.NEW)


def _issue(key: str, jira_id: str, *, histories: int = 2, summary: str = "Landing page") -> Issue:
    created = datetime(2026, 9, 1, 0, 30, tzinfo=MSK)
    changes = tuple(
        ChangeItem(
            history_id=str(1000 + n),
            created=created + timedelta(hours=n + 1),
            field="status",
            field_id="status",
            from_id="1",
            from_string="To Do",
            to_id="10001",
            to_string="Принято клиентом",
            author_account="acc-1",
            author_name="Client",
        )
        for n in range(histories)
    )
    return Issue(
        key=key,
        id=jira_id,
        project_key="ACME",
        issue_type="Story",
        summary=summary,
        created=created,
        updated=created + timedelta(days=1),
        status=DONE,
        labels=("change-request",),
        story_points=3.0,
        changes=changes,
        comments=(Comment("c1", created, "acc-1", "Client"),),
    )


def _stored(issue: Issue) -> StoredIssue:
    return StoredIssue(issue=issue, description="Make it pop", histories_total=2)


def test_migrations_apply_twice_and_sqlite_runs_in_wal_mode(database_url: str) -> None:
    database = Database(database_url)
    database.upgrade()
    database.upgrade()
    if database.engine.dialect.name == "sqlite":
        with database.engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    database.dispose()


def test_saving_the_same_issues_twice_stores_them_once_and_overwrites_fields(
    database_url: str,
) -> None:
    database = Database(database_url)
    database.upgrade()
    now = clock.now()
    with database.session() as session:
        save_statuses(session, [DONE, TODO])
        save_issues(session, "ACME", [_stored(_issue("ACME-1", "101"))], now)
    with database.session() as session:
        save_issues(session, "ACME", [_stored(_issue("ACME-1", "101", summary="Landing v2"))], now)
        assert issue_count(session, "ACME") == 1
        assert history_count(session, "ACME") == 2
        assert session.scalar(select(IssueRow.summary)) == "Landing v2"
        assert len(session.scalars(select(IssueRow.pk)).all()) == 1
        assert len(session.scalars(select(CommentRow)).all()) == 1
    with database.session() as session:
        assert load_statuses(session)["10001"].category is StatusCategory.DONE
        (loaded,) = load_issues(session, "ACME")
    original = _issue("ACME-1", "101", summary="Landing v2")
    assert loaded.changes == original.changes
    assert loaded.created == original.created  # the same instant, as an aware datetime
    assert loaded.created.tzinfo is not None
    assert loaded.status.name == "Принято клиентом"
    assert loaded.comments[0].author_name == "Client"
    database.dispose()


def test_issues_missing_from_jira_are_marked_removed_not_deleted(database_url: str) -> None:
    database = Database(database_url)
    database.upgrade()
    now = clock.now()
    with database.session() as session:
        save_issues(
            session,
            "ACME",
            [_stored(_issue("ACME-1", "101")), _stored(_issue("ACME-2", "102"))],
            now,
        )
    with database.session() as session:
        assert [key for _, key in mark_removed(session, "ACME", {"101"}, now)] == ["ACME-2"]
        assert mark_removed(session, "ACME", {"101"}, now) == []
        assert issue_count(session, "ACME") == 1
        assert issue_count(session, "ACME", include_removed=True) == 2
    with database.session() as session:
        save_issues(session, "ACME", [_stored(_issue("ACME-2", "102"))], now)
        assert issue_count(session, "ACME") == 2  # it came back into scope
    database.dispose()


def test_migration_0005_packs_stored_change_items_and_keeps_comments_and_facts(
    database_url: str,
) -> None:
    """A database written by 0004 (a row per change item, raw JSON) upgrades with every
    change item intact, in order, and nothing referring to the issues lost."""
    database = Database(database_url)
    database.upgrade("0004")
    created = "2026-09-01 00:30:00"
    with database.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO issues (pk, client_key, jira_id, key, project_key, issue_type, "
                "summary, status_id, status_name, status_category, labels, created, updated, "
                "histories_total, synced_at, raw) VALUES (7, 'ACME', '101', 'ACME-1', 'ACME', "
                "'Story', 'Landing', '1', 'To Do', 'new', '[]', :at, :at, 2, :at, '{}')"
            ),
            {"at": created},
        )
        items = [
            # history 1001 has two items; 1002 one; the row order is the stored order.
            ("1001", 0, "2026-09-01 01:00:00", "status", "status", "1", "To Do", "3", "Doing"),
            ("1001", 1, "2026-09-01 01:00:00", "resolution", "resolution", None, None, "1", "Ok"),
            ("1002", 0, "2026-09-01 02:00:00.250000", "labels", "labels", None, "", None, "x"),
        ]
        for history, index, at, field, field_id, from_id, from_s, to_id, to_s in items:
            connection.execute(
                text(
                    "INSERT INTO change_items (issue_pk, history_id, item_index, created, "
                    "author_account, author_name, field, field_id, from_id, from_string, "
                    "to_id, to_string) VALUES (7, :h, :i, :at, 'acc-1', 'Клиент', :f, :fid, "
                    ":fi, :fs, :ti, :ts)"
                ),
                {
                    "h": history,
                    "i": index,
                    "at": at,
                    "f": field,
                    "fid": field_id,
                    "fi": from_id,
                    "fs": from_s,
                    "ti": to_id,
                    "ts": to_s,
                },
            )
        connection.execute(
            text(
                "INSERT INTO comments (issue_pk, jira_id, created, author_account, author_name) "
                "VALUES (7, 'c1', :at, 'acc-1', 'Client')"
            ),
            {"at": created},
        )
        connection.execute(
            text(
                "INSERT INTO issue_facts (issue_pk, client_key, fingerprint, facts, stamp) "
                "VALUES (7, 'ACME', 'f', '[]', 1)"
            )
        )
    database.upgrade("0005")
    # Read in SQL: the models are the head's, with columns later migrations add.
    with database.engine.connect() as connection:
        facts = connection.execute(text("SELECT count(*) FROM issue_facts")).scalar_one()
        packed = connection.execute(text("SELECT changelog FROM issues WHERE pk = 7")).scalar_one()
    assert facts == 1
    assert len(decode_changes(packed)) == 3
    # 0007 empties the facts cache (its storage form changed); refreshes refill it.
    database.upgrade()
    with database.session() as session:
        assert session.execute(text("SELECT count(*) FROM issue_facts")).scalar_one() == 0
        (issue,) = load_issues(session, "ACME")
        assert history_count(session, "ACME") == 2
    assert issue.comments[0].id == "c1"
    assert [
        (c.history_id, c.field, c.from_id, c.from_string, c.to_id, c.to_string)
        for c in issue.changes
    ] == [
        ("1001", "status", "1", "To Do", "3", "Doing"),
        ("1001", "resolution", None, None, "1", "Ok"),
        ("1002", "labels", None, "", None, "x"),
    ]
    assert issue.changes[2].created == datetime(2026, 9, 1, 2, 0, 0, 250000, tzinfo=UTC)
    assert {c.author_name for c in issue.changes} == {"Клиент"}
    # And back: 0004's rows again, from the packed column.
    command.downgrade(alembic_config(database_url), "0004")
    with database.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT history_id, item_index, field FROM change_items ORDER BY pk")
        ).all()
    assert [tuple(row) for row in rows] == [
        ("1001", 0, "status"),
        ("1001", 1, "resolution"),
        ("1002", 0, "labels"),
    ]
    database.dispose()


def test_two_refreshes_of_one_client_at_once_store_two_versions(database_url: str) -> None:
    # A process that held version N as its own after a refresh that another process's
    # refresh overwrote under the same N + 1 would serve its documents as the stored ones.
    database = Database(database_url)
    database.upgrade()
    now = clock.now()
    snapshot = {
        "fingerprint": "f",
        "config_fingerprint": "c",
        "computed_at": now,
        "series_until": now.date(),
        "summary": {},
        "series": {},
    }
    with database.session() as session:
        assert save_snapshot(session, "ACME", **snapshot) == 1  # type: ignore[arg-type]
    with database.session() as first:
        before = first.get(ClientSnapshotRow, "ACME")  # read before the other one commits
        assert before is not None and before.version == 1
        with database.session() as second:
            assert save_snapshot(second, "ACME", **snapshot) == 2  # type: ignore[arg-type]
        assert save_snapshot(first, "ACME", **snapshot) == 3  # type: ignore[arg-type]
    with database.session() as session:
        restamp_snapshot(session, "ACME", {})  # type: ignore[typeddict-item]
    with database.session() as session:
        stored = session.get(ClientSnapshotRow, "ACME")
        assert stored is not None and stored.version == 4
    database.dispose()


@pytest.mark.parametrize("flag", ["true", "1"])
def test_a_sqlite_uri_filename_is_not_made_a_folder_under_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flag: str
) -> None:
    # `sqlite:///file:/srv/sg.db?uri=true` names /srv/sg.db; read as a plain path,
    # its folder was created as ./file:/srv in whatever directory the process ran
    # (and the migration lock went there too).
    working = tmp_path / "working"
    working.mkdir()
    monkeypatch.chdir(working)
    target = tmp_path / "data" / "scopeguard.db"
    database = Database(f"sqlite:///file:{target}?uri={flag}")
    try:
        database.upgrade()
        with database.session() as session:
            assert session.execute(text("SELECT count(*) FROM issues")).scalar() == 0
    finally:
        database.dispose()
    assert target.is_file()
    assert list(working.iterdir()) == []
