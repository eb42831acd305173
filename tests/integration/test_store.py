"""Storage on a real database file (and on PostgreSQL in CI): migrations, idempotent saves."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select, text

from scopeguard.adapters.store import Database
from scopeguard.adapters.store.models import ChangeItemRow, IssueRow
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
    return StoredIssue(
        issue=issue, raw={"key": issue.key}, description="Make it pop", histories_total=2
    )


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
        assert len(session.scalars(select(ChangeItemRow)).all()) == 2
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
