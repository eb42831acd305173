"""The simulator's JQL subset: tokenizer, parser, evaluation and Jira-like errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from jira_simulator import Dataset
from jira_simulator.jql import (
    BoolOp,
    Clause,
    JqlError,
    Not,
    parse,
    parse_date_value,
    search,
    tokenize,
)

MOSCOW = ZoneInfo("Europe/Moscow")
NOW = datetime(2026, 9, 10, 12, 0, tzinfo=MOSCOW)
DEV = ("acc-dev", "Dev")


@pytest.fixture
def ds() -> Dataset:
    data = Dataset.with_default_workflow(user_timezone="Europe/Moscow")
    data.add_project("ACME", "ACME Corp")
    data.add_project("BETA", "Beta Ltd")
    base = datetime(2026, 9, 1, 0, 30, tzinfo=MOSCOW)
    data.add_issue("ACME", "Hero section", base, labels=["design"])  # ACME-1 00:30 MSK
    data.add_issue("ACME", "Make it pop", base + timedelta(days=1), labels=["change-request"])
    data.add_issue("BETA", "Pricing page", base + timedelta(days=2))  # BETA-1
    data.add_issue("ACME", "Footer", base + timedelta(days=3), issue_type="Bug")  # ACME-3
    data.transition("ACME-1", "In Progress", base + timedelta(days=4), DEV)
    data.transition("ACME-1", "Done", base + timedelta(days=5), DEV)
    return data


def keys(ds: Dataset, jql: str) -> list[str]:
    return [issue.key for issue in search(jql, ds, NOW)]


def test_tokenizer_handles_strings_operators_and_words() -> None:
    tokens = tokenize('project = "ACME Corp" AND labels != x AND key in (A-1,A-2)')
    kinds = [(t.kind, t.text) for t in tokens]
    assert kinds[:3] == [("word", "project"), ("op", "="), ("string", "ACME Corp")]
    assert ("op", "!=") in kinds
    assert ("word", "A-1") in kinds and ("comma", ",") in kinds
    assert kinds[-1] == ("end", "")
    assert tokens[2].position == 11


def test_escaped_quotes_inside_strings() -> None:
    token = tokenize(r'summary ~ "say \"hi\""')[2]
    assert token.kind == "string" and token.text == 'say "hi"'


def test_parser_builds_precedence_and_parentheses() -> None:
    query = parse("project = A OR project = B AND NOT labels = x ORDER BY created DESC, key")
    assert isinstance(query.where, BoolOp) and query.where.op == "OR"
    right = query.where.operands[1]
    assert isinstance(right, BoolOp) and right.op == "AND"
    assert isinstance(right.operands[1], Not)
    assert [(o.field, o.descending) for o in query.order] == [("created", True), ("key", False)]
    grouped = parse("(project = A OR project = B) AND labels = x")
    assert isinstance(grouped.where, BoolOp) and grouped.where.op == "AND"


def test_in_lists_and_is_empty() -> None:
    query = parse("key in (A-1, 'A-2') and labels is not EMPTY")
    assert isinstance(query.where, BoolOp)
    first, second = query.where.operands
    assert isinstance(first, Clause) and [v.text for v in first.values] == ["A-1", "A-2"]
    assert isinstance(second, Clause) and second.operator == "IS NOT"


def test_only_order_by_is_an_unbounded_query() -> None:
    assert parse("ORDER BY key").where is None
    assert parse("").where is None


@pytest.mark.parametrize(
    ("jql", "message"),
    [
        ("project = ", "Expecting either a value, list or function but got '<EOF>'"),
        ("project ACME", "Expecting operator but got 'ACME'"),
        ("project = A B", "Expecting either 'OR' or 'AND' but got 'B'"),
        ("(project = A", "Expecting ')' but got '<EOF>'"),
        ('summary ~ "open', "has not been completed"),
        ("project = A%", "The character '%' is a reserved JQL character"),
        ("status WAS Done", "does not support the history operator 'WAS'"),
        ("updated > startOfDay()", "does not support JQL function 'startOfDay()'"),
        ("project = A ORDER created", "Expecting 'BY' but got 'created'"),
    ],
)
def test_syntax_errors_read_like_jira(jql: str, message: str) -> None:
    with pytest.raises(JqlError, match=None) as caught:
        parse(jql)
    assert message in str(caught.value)


def test_project_key_labels_and_boolean_logic(ds: Dataset) -> None:
    assert keys(ds, "project = ACME") == ["ACME-1", "ACME-2", "ACME-3"]
    assert keys(ds, "project in (ACME, BETA) ORDER BY key DESC") == [
        "BETA-1",
        "ACME-3",
        "ACME-2",
        "ACME-1",
    ]
    assert keys(ds, 'project = "Beta Ltd"') == ["BETA-1"]
    assert keys(ds, "key in (ACME-2, BETA-1)") == ["ACME-2", "BETA-1"]
    assert keys(ds, "labels = design OR labels = change-request") == ["ACME-1", "ACME-2"]
    assert keys(ds, "labels in (design, change-request) AND project = ACME") == ["ACME-1", "ACME-2"]
    # Negative operators never match an EMPTY field, as in Jira.
    assert keys(ds, "labels != design") == ["ACME-2"]
    assert keys(ds, "labels is EMPTY") == ["ACME-3", "BETA-1"]
    assert keys(ds, "project = ACME AND NOT labels = design") == ["ACME-2", "ACME-3"]
    assert keys(ds, "project = ACME AND (labels = design OR issuetype = Bug)") == [
        "ACME-1",
        "ACME-3",
    ]


def test_status_category_resolution_and_summary(ds: Dataset) -> None:
    assert keys(ds, 'status = "Done"') == ["ACME-1"]
    assert keys(ds, "statusCategory = Done") == ["ACME-1"]
    assert keys(ds, "statusCategory != done AND project = ACME") == ["ACME-2", "ACME-3"]
    assert keys(ds, "resolution = Unresolved AND project = ACME") == ["ACME-2", "ACME-3"]
    assert keys(ds, "resolution is not EMPTY") == ["ACME-1"]
    assert keys(ds, 'summary ~ "pop"') == ["ACME-2"]


def test_dates_are_read_in_the_user_zone(ds: Dataset) -> None:
    # ACME-1 was created 2026-09-01 00:30 in Moscow, i.e. 2026-08-31 21:30 UTC.
    assert "ACME-1" in keys(ds, 'created >= "2026/09/01"')
    assert "ACME-1" in keys(ds, 'created >= "2026-09-01 00:30"')
    assert "ACME-1" not in keys(ds, 'created > "2026-09-01 00:30"')
    assert keys(ds, 'created < "2026/09/01 00:31"') == ["ACME-1"]
    assert keys(ds, "created = '2026/09/01 00:30'") == ["ACME-1"]
    assert keys(ds, 'created >= 2026-09-03 AND created <= "2026/09/04 00:30"') == [
        "ACME-3",
        "BETA-1",
    ]
    # ACME-1's transitions moved its updated stamp to 2026-09-06.
    assert keys(ds, 'updated >= "2026/09/05"') == ["ACME-1"]
    assert keys(ds, "resolved >= 2026-09-06") == ["ACME-1"]


def test_relative_dates_count_back_from_now(ds: Dataset) -> None:
    # NOW is 2026-09-10 12:00; -5d is 2026-09-05 12:00.
    assert keys(ds, "updated >= -5d") == ["ACME-1"]
    assert keys(ds, 'updated >= "-1w 2d"') == ["ACME-1"]
    assert keys(ds, "created <= -9d") == ["ACME-1"]
    moment = parse_date_value("-15m", MOSCOW, NOW, "updated")
    assert moment == NOW - timedelta(minutes=15)
    assert parse_date_value("2026/09/01 10:00", MOSCOW, NOW, "updated").astimezone(UTC) == (
        datetime(2026, 9, 1, 7, 0, tzinfo=UTC)
    )


def test_order_by_dates_and_default_order(ds: Dataset) -> None:
    assert keys(ds, "project in (ACME, BETA) ORDER BY created DESC") == [
        "ACME-3",
        "BETA-1",
        "ACME-2",
        "ACME-1",
    ]
    assert keys(ds, "project in (BETA, ACME)") == ["ACME-1", "ACME-2", "ACME-3", "BETA-1"]
    assert keys(ds, "project = ACME ORDER BY updated DESC, key ASC")[0] == "ACME-1"


def test_moved_issues_answer_to_their_old_key(ds: Dataset) -> None:
    ds.move_issue("ACME-2", "BETA", NOW - timedelta(hours=1), DEV)
    assert keys(ds, "key = ACME-2") == ["BETA-2"]
    assert keys(ds, "project = BETA") == ["BETA-1", "BETA-2"]


@pytest.mark.parametrize(
    ("jql", "message"),
    [
        ("foo = bar", "Field 'foo' does not exist or you do not have permission to view it."),
        ("assignee = x", "Field 'assignee' is not supported by the ScopeGuard Jira simulator."),
        ("project = NOPE", "The value 'NOPE' does not exist for the field 'project'."),
        ("key = ACME-99", "An issue with key 'ACME-99' does not exist for field 'key'."),
        ("key = nonsense", "The issue key 'nonsense' for field 'key' is invalid."),
        ("status = Limbo", "The value 'Limbo' does not exist for the field 'status'."),
        ("created >= yesterday", "Date value 'yesterday' for field 'created' is invalid."),
        ("created in (2026-09-01)", "The operator 'IN' is not supported by the 'created' field."),
        ("project > ACME", "The operator '>' is not supported by the 'project' field."),
        ("project = ACME ORDER BY bogus", "Field 'bogus' does not exist"),
        ("project = ACME ORDER BY labels", "Not able to sort using field 'labels'."),
    ],
)
def test_semantic_errors_read_like_jira(ds: Dataset, jql: str, message: str) -> None:
    with pytest.raises(JqlError) as caught:
        search(jql, ds, NOW)
    assert message in str(caught.value)


def test_deleted_issues_disappear(ds: Dataset) -> None:
    ds.delete_issue("ACME-3")
    assert keys(ds, "project = ACME") == ["ACME-1", "ACME-2"]
    with pytest.raises(JqlError, match="does not exist for field 'key'"):
        search("key = ACME-3", ds, NOW)


def test_not_and_or_operators_as_symbols(ds: Dataset) -> None:
    assert keys(ds, "project = ACME && labels = design || project = BETA") == ["ACME-1", "BETA-1"]
    assert keys(ds, "project = ACME AND !(labels = design)") == ["ACME-2", "ACME-3"]


def test_candidates_narrowing_does_not_change_results(ds: Dataset) -> None:
    # An OR mixing an indexed clause with a scan must still see every issue.
    assert keys(ds, "project = BETA OR labels = design") == ["ACME-1", "BETA-1"]
    assert keys(ds, "key = ACME-1 OR key = BETA-1") == ["ACME-1", "BETA-1"]
    assert keys(ds, "project = ACME AND key in (ACME-1, BETA-1)") == ["ACME-1"]
