"""Pages read only the rows they show: the query plans of their reads, on SQLite and PostgreSQL.

An issue-list page reads the facts of its 50 issues (the keys come from the
snapshot), and an issue's evidence page reads that one issue with its history.
Both must find their rows through an index, however many issues the clients
have: every statement they run is captured and explained against a database
of two clients with thousands of issues each, and no big table may be scanned.
(PostgreSQL is analysed first, as autovacuum would have done; SQLite runs as in
production, without statistics.)
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert, select

from scopeguard.adapters.store.changelog import encode_changes
from scopeguard.adapters.store.db import Database
from scopeguard.adapters.store.facts_codec import encode_facts
from scopeguard.adapters.store.facts_store import facts_by_key
from scopeguard.adapters.store.models import CommentRow, IssueFactsRow, IssueRow
from scopeguard.domain.facts import IssueFacts
from scopeguard.domain.model import ChangeItem
from scopeguard.usecases.snapshots import ScopeAnalysis
from tests.support.settings import SettingsFactory

CLIENTS = ("BIG", "OTHER")
ISSUES = 3000
BIG_TABLES = {"issues", "issue_facts", "comments"}
CREATED = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)


CHANGELOG = encode_changes(
    [
        ChangeItem(
            history_id=f"h{index}",
            created=CREATED + timedelta(hours=index + 1),
            field="status",
            field_id="status",
            from_id="1",
            from_string="To Do",
            to_id="3",
            to_string="In Progress",
            author_account="acc",
            author_name="Someone",
        )
        for index in range(3)
    ]
)
"""Three status changes, packed into every issue's row as the sync stores them."""


def _facts(key: str) -> IssueFacts:
    return IssueFacts(
        key=key,
        summary=f"Issue {key}",
        issue_type="Task",
        created=CREATED,
        entered_at=CREATED,
        added_at=None,
        approved_at=None,
        removed_at=None,
        removal_reason=None,
        revisions=(),
        estimate_events=(),
        story_points=None,
        hours=None,
        status="To Do",
        resolution=None,
    )


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    database.upgrade()
    with database.session() as session:
        session.execute(
            insert(IssueRow),
            [
                {
                    "client_key": client,
                    "jira_id": f"{client}{number}",
                    "key": f"{client}-{number}",
                    "project_key": client,
                    "issue_type": "Task",
                    "summary": f"Issue {client}-{number}",
                    "description": None,
                    "status_id": "1",
                    "status_name": "To Do",
                    "status_category": "new",
                    "resolution": None,
                    "labels": [],
                    "story_points": None,
                    "original_estimate_seconds": None,
                    "reporter_account": None,
                    "reporter_name": None,
                    "created": CREATED,
                    "updated": CREATED,
                    "histories_total": 3,
                    "removed_at": None,
                    "synced_at": CREATED,
                    "changelog": CHANGELOG,
                }
                for client in CLIENTS
                for number in range(1, ISSUES + 1)
            ],
        )
        pks = session.execute(select(IssueRow.pk, IssueRow.client_key, IssueRow.key)).all()
        session.execute(
            insert(IssueFactsRow),
            [
                {
                    "issue_pk": pk,
                    "client_key": client,
                    "fingerprint": "f",
                    "packed": encode_facts(_facts(key)),
                    "stamp": 1,
                }
                for pk, client, key in pks
            ],
        )
        session.execute(
            insert(CommentRow),
            [
                {
                    "issue_pk": pk,
                    "jira_id": f"{pk}",
                    "created": CREATED,
                    "author_account": "acc",
                    "author_name": "Someone",
                }
                for pk, _, _ in pks
            ],
        )
    if database.engine.dialect.name == "postgresql":
        with database.engine.begin() as connection:  # committed: statistics are rows too
            connection.exec_driver_sql("ANALYZE")
    yield database
    database.dispose()


@contextmanager
def statements(database: Database) -> Iterator[list[tuple[str, Any]]]:
    """Every statement the block sends to the database, with its parameters."""
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(database.engine, "before_cursor_execute", record)


IDENTIFYING = {"pk", "rowid", "key", "issue_pk"}
"""Columns that name rows one by one: an issue's primary key, or (with its client) its key."""
_SQLITE_ACCESS = re.compile(r"^(SCAN|SEARCH) (\w+)(?: USING (.*?))?(?: \((.*)\))?$")
_CONDITION_COLUMN = re.compile(r"\(*(\w+)\)*(?:::[\w ]+)?\s*(?:=|<|>|IN\b)")


def unbounded(database: Database, statement: str, parameters: Any) -> list[str]:
    """How ``statement`` would read a big table beyond the rows it names (empty: it does not).

    A bounded read reaches each big table through an index condition on an
    identifying column; a scan, or an index range on the client alone, reads a
    whole client (or every client).
    """
    with database.engine.connect() as connection:
        if database.engine.dialect.name == "sqlite":
            plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            found = []
            for detail in (row[3] for row in plan):
                match = _SQLITE_ACCESS.match(detail)
                if match is None or match[2] not in BIG_TABLES:
                    continue
                how, condition = match[3] or "", match[4] or ""
                columns = {part.split("=")[0].strip() for part in condition.split(" AND ")}
                if "PRIMARY KEY" in how and "rowid" in condition:
                    continue
                if match[1] == "SEARCH" and columns & IDENTIFYING:
                    continue
                found.append(detail)
            return found
        document = connection.exec_driver_sql(
            f"EXPLAIN (FORMAT JSON) {statement}", parameters
        ).scalar_one()
    plan = (document if isinstance(document, list) else json.loads(document))[0]["Plan"]
    found = []

    def walk(node: dict[str, Any]) -> None:
        table = node.get("Relation Name") or node.get("Index Name", "").split("_", 1)[-1]
        if node.get("Relation Name") in BIG_TABLES and node["Node Type"] == "Seq Scan":
            found.append(f"Seq Scan on {table}")
        if "Index Cond" in node or node["Node Type"].endswith("Index Scan"):
            columns = set(_CONDITION_COLUMN.findall(node.get("Index Cond", "")))
            if not columns & IDENTIFYING:
                found.append(f"{node['Node Type']} {node.get('Index Name')}: {columns}")
        for child in node.get("Plans", []):
            walk(child)

    walk(plan)
    return found


def test_a_page_of_an_issue_list_reads_only_its_issues(database: Database) -> None:
    page = [f"BIG-{number}" for number in range(1000, 1050)]
    with statements(database) as sent, database.session() as session:
        found = facts_by_key(session, "BIG", page)
    assert sorted(found) == sorted(page)
    reads = [(sql, params) for sql, params in sent if any(table in sql for table in BIG_TABLES)]
    assert len(reads) == 2  # the issues' keys, then their facts
    for sql, params in reads:
        assert unbounded(database, sql, params) == [], sql


def test_the_check_sees_a_scan(database: Database) -> None:
    # What the page's read looked like before: the facts filtered on their own
    # client column only. The check above would have failed on it.
    with statements(database) as sent, database.session() as session:
        session.scalars(
            select(IssueFactsRow.packed)
            .where(IssueFactsRow.client_key == "BIG")
            .join(IssueRow, IssueRow.pk == IssueFactsRow.issue_pk)
            .where(IssueRow.key.in_(["BIG-1000", "BIG-1001"]))
        ).all()
    ((sql, params),) = sent
    assert unbounded(database, sql, params)


def test_an_issue_evidence_page_reads_one_issue(
    database: Database, make_settings: SettingsFactory
) -> None:
    settings = make_settings(
        "http://127.0.0.1:9",
        [
            {
                "key": client,
                "name": client,
                "jql": f"project = {client}",
                "contract": {
                    "start": "2026-08-01",
                    "scope": {"issues": 10},
                    "revisions_per_issue": 2,
                },
            }
            for client in CLIENTS
        ],
    )
    analysis = ScopeAnalysis(settings, database)
    analysis.refresh(settings.client("BIG"))  # as every sync leaves it: a stored snapshot
    with statements(database) as sent:
        trail = analysis.issue_trail(settings.client("BIG"), "BIG-2000")
    assert trail is not None and trail.issue == "BIG-2000"
    big = [(sql, params) for sql, params in sent if any(table in sql for table in BIG_TABLES)]
    assert len(big) >= 3  # the issue, its changes, its comments
    for sql, params in big:
        assert unbounded(database, sql, params) == [], sql
