"""A small JQL: tokenizer, recursive-descent parser and evaluator over the dataset.

Supported: ``project``, ``key``/``issuekey``, ``id``, ``labels``, ``status``,
``statusCategory``, ``issuetype``/``type``, ``resolution``, ``summary ~``,
``created``/``updated``/``resolved`` (and their ``…Date`` aliases) with
``= != > >= < <=``, ``IN``/``NOT IN``, ``IS [NOT] EMPTY``, ``AND``/``OR``/``NOT``,
parentheses and ``ORDER BY f [ASC|DESC], …``. Anything else is rejected with a 400
message worded like Jira's, so a client bug shows up as it would against Jira.

Date values are read in the dataset user's time zone: ``"2026/09/01 10:00"``,
``"2026-09-01 10:00"``, ``"2026/09/01"``, ``"2026-09-01"`` or relative periods
(``-15m``, ``-2d``, ``"-1w 2d"``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from jira_simulator.catalog import ISSUE_TYPES
from jira_simulator.dataset import Dataset, SimIssue
from jira_simulator.jira_types import StatusCategory


class JqlError(ValueError):
    """An invalid or unsupported query; the message is what the 400 answer carries."""


# -- tokens ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Token:
    """One lexical token; ``kind`` is word, string, op, lparen, rparen, comma or end."""

    kind: str
    text: str
    position: int
    """1-based character position, as Jira reports it."""

    @property
    def upper(self) -> str:
        """The text in upper case (keywords are case-insensitive)."""
        return self.text.upper()


_OPERATORS = ("!=", ">=", "<=", "!~", "&&", "||", "=", ">", "<", "~", "!")
_WORD = re.compile(r"[\w\-.\/:$@#*+\[\]]+", re.UNICODE)
_KEYWORDS = frozenset(
    {"AND", "OR", "NOT", "IN", "IS", "EMPTY", "NULL", "ORDER", "BY", "ASC", "DESC", "WAS"}
)


def _reserved(char: str, position: int) -> JqlError:
    return JqlError(
        f"Error in the JQL Query: The character '{char}' is a reserved JQL character. "
        f"You must enclose it in a string or use the escape '\\u{ord(char):04x}' instead. "
        f"(line 1, character {position})"
    )


def tokenize(text: str) -> list[Token]:
    """Split a JQL string into tokens (always ending with an ``end`` token)."""
    tokens: list[Token] = []
    index = 0
    length = len(text)
    while index < length:
        char = text[index]
        if char.isspace():
            index += 1
            continue
        position = index + 1
        if char in "\"'":
            quote = char
            index += 1
            chars: list[str] = []
            while index < length and text[index] != quote:
                if text[index] == "\\" and index + 1 < length:
                    index += 1
                chars.append(text[index])
                index += 1
            if index >= length:
                raise JqlError(
                    "Error in the JQL Query: The quoted string "
                    f"{quote}{''.join(chars)} has not been completed. "
                    f"(line 1, character {position})"
                )
            index += 1
            tokens.append(Token("string", "".join(chars), position))
            continue
        if char == "(":
            tokens.append(Token("lparen", char, position))
            index += 1
            continue
        if char == ")":
            tokens.append(Token("rparen", char, position))
            index += 1
            continue
        if char == ",":
            tokens.append(Token("comma", char, position))
            index += 1
            continue
        operator = next((op for op in _OPERATORS if text.startswith(op, index)), None)
        if operator is not None:
            tokens.append(Token("op", operator, position))
            index += len(operator)
            continue
        match = _WORD.match(text, index)
        if match is None:
            raise _reserved(char, position)
        tokens.append(Token("word", match.group(0), position))
        index = match.end()
    tokens.append(Token("end", "", length + 1))
    return tokens


# -- syntax tree -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Value:
    """A literal operand; ``empty`` marks ``EMPTY``/``NULL``."""

    text: str
    position: int
    quoted: bool = False
    empty: bool = False


@dataclass(frozen=True, slots=True)
class Clause:
    """``field operator operand(s)``."""

    field: str
    operator: str
    values: tuple[Value, ...]
    position: int


@dataclass(frozen=True, slots=True)
class BoolOp:
    """``AND``/``OR`` over two or more operands."""

    op: str
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """``NOT`` operand."""

    operand: Node


Node = Clause | BoolOp | Not


@dataclass(frozen=True, slots=True)
class OrderBy:
    """One ``ORDER BY`` term."""

    field: str
    descending: bool
    position: int


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query: optional restriction plus ordering."""

    where: Node | None
    order: tuple[OrderBy, ...] = ()


class _Parser:
    def __init__(self, text: str):
        self.tokens = tokenize(text)
        self.index = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def is_word(self, *words: str) -> bool:
        token = self.current
        return token.kind == "word" and token.upper in words

    def error(self, expecting: str) -> JqlError:
        token = self.current
        got = "<EOF>" if token.kind == "end" else token.text
        return JqlError(
            f"Error in the JQL Query: Expecting {expecting} but got '{got}'. "
            f"(line 1, character {token.position})"
        )

    def parse(self) -> Query:
        where: Node | None = None
        if not (self.current.kind == "end" or self.is_word("ORDER")):
            where = self.parse_or()
        order: list[OrderBy] = []
        if self.is_word("ORDER"):
            self.advance()
            if not self.is_word("BY"):
                raise self.error("'BY'")
            self.advance()
            while True:
                token = self.current
                if token.kind not in ("word", "string") or (
                    token.kind == "word" and token.upper in _KEYWORDS
                ):
                    raise self.error("a field name")
                self.advance()
                descending = False
                if self.is_word("ASC", "DESC"):
                    descending = self.advance().upper == "DESC"
                order.append(OrderBy(token.text, descending, token.position))
                if self.current.kind != "comma":
                    break
                self.advance()
        if self.current.kind != "end":
            if where is None or order:
                raise self.error("end of query")
            raise self.error("either 'OR' or 'AND'")
        return Query(where, tuple(order))

    def parse_or(self) -> Node:
        operands = [self.parse_and()]
        while self.is_word("OR") or (self.current.kind == "op" and self.current.text == "||"):
            self.advance()
            operands.append(self.parse_and())
        return operands[0] if len(operands) == 1 else BoolOp("OR", tuple(operands))

    def parse_and(self) -> Node:
        operands = [self.parse_not()]
        while self.is_word("AND") or (self.current.kind == "op" and self.current.text == "&&"):
            self.advance()
            operands.append(self.parse_not())
        return operands[0] if len(operands) == 1 else BoolOp("AND", tuple(operands))

    def parse_not(self) -> Node:
        if self.is_word("NOT") or (self.current.kind == "op" and self.current.text == "!"):
            self.advance()
            return Not(self.parse_not())
        if self.current.kind == "lparen":
            self.advance()
            inner = self.parse_or()
            if self.current.kind != "rparen":
                raise self.error("')'")
            self.advance()
            return inner
        return self.parse_clause()

    def parse_clause(self) -> Clause:
        token = self.current
        if token.kind not in ("word", "string") or (
            token.kind == "word" and token.upper in _KEYWORDS
        ):
            raise self.error("a field name")
        self.advance()
        operator = self.parse_operator()
        if operator in ("IS", "IS NOT"):
            if not self.is_word("EMPTY", "NULL"):
                raise self.error("'EMPTY' or 'NULL'")
            value_token = self.advance()
            return Clause(
                token.text,
                operator,
                (Value(value_token.text, value_token.position, empty=True),),
                token.position,
            )
        if operator in ("IN", "NOT IN"):
            if self.current.kind != "lparen":
                raise self.error("'('")
            self.advance()
            values = [self.parse_value()]
            while self.current.kind == "comma":
                self.advance()
                values.append(self.parse_value())
            if self.current.kind != "rparen":
                raise self.error("')' or ','")
            self.advance()
            return Clause(token.text, operator, tuple(values), token.position)
        return Clause(token.text, operator, (self.parse_value(),), token.position)

    def parse_operator(self) -> str:
        token = self.current
        if token.kind == "op" and token.text in ("=", "!=", ">", ">=", "<", "<=", "~", "!~"):
            self.advance()
            return token.text
        if self.is_word("IN"):
            self.advance()
            return "IN"
        if self.is_word("NOT"):
            self.advance()
            if not self.is_word("IN"):
                raise self.error("'IN'")
            self.advance()
            return "NOT IN"
        if self.is_word("IS"):
            self.advance()
            if self.is_word("NOT"):
                self.advance()
                return "IS NOT"
            return "IS"
        if self.is_word("WAS", "CHANGED"):
            raise JqlError(
                f"The simulator does not support the history operator '{token.text}'. "
                f"(line 1, character {token.position})"
            )
        raise self.error(
            "operator",
        )

    def parse_value(self) -> Value:
        token = self.current
        if token.kind == "string":
            self.advance()
            return Value(token.text, token.position, quoted=True)
        if token.kind == "word" and token.upper not in _KEYWORDS - {"EMPTY", "NULL"}:
            self.advance()
            if self.current.kind == "lparen":
                raise JqlError(
                    f"The simulator does not support JQL function '{token.text}()'. "
                    f"(line 1, character {token.position})"
                )
            if token.upper in ("EMPTY", "NULL"):
                return Value(token.text, token.position, empty=True)
            return Value(token.text, token.position)
        raise self.error("either a value, list or function")


def parse(text: str) -> Query:
    """Parse a JQL string; raises :class:`JqlError` with Jira-like wording."""
    return _Parser(text).parse()


# -- evaluation --------------------------------------------------------------------

Predicate = Callable[[SimIssue], bool]

_FIELD_ALIASES = {
    "project": "project",
    "key": "key",
    "issuekey": "key",
    "id": "id",
    "labels": "labels",
    "label": "labels",
    "status": "status",
    "statuscategory": "statusCategory",
    "issuetype": "issuetype",
    "type": "issuetype",
    "resolution": "resolution",
    "summary": "summary",
    "created": "created",
    "createddate": "created",
    "updated": "updated",
    "updateddate": "updated",
    "resolved": "resolutiondate",
    "resolutiondate": "resolutiondate",
}

# Real Jira fields the simulator does not implement: a clear 400 instead of a
# misleading "does not exist".
_KNOWN_UNSUPPORTED = frozenset(
    {
        "assignee",
        "reporter",
        "creator",
        "priority",
        "sprint",
        "component",
        "fixversion",
        "affectedversion",
        "text",
        "description",
        "comment",
        "duedate",
        "due",
        "environment",
        "parent",
        "epic link",
        "watcher",
        "watchers",
        "votes",
        "timespent",
        "originalestimate",
        "remainingestimate",
        "worklogdate",
        "lastviewed",
        "filter",
        "level",
        "rank",
        "attachments",
        "story points",
        "story point estimate",
    }
)

_ORDERABLE = {
    "created",
    "updated",
    "key",
    "id",
    "project",
    "summary",
    "status",
    "issuetype",
    "resolutiondate",
    "resolution",
}

_DATE_PATTERNS = (
    ("%Y/%m/%d %H:%M", re.compile(r"^\d{4}/\d{1,2}/\d{1,2} \d{1,2}:\d{2}$")),
    ("%Y-%m-%d %H:%M", re.compile(r"^\d{4}-\d{1,2}-\d{1,2} \d{1,2}:\d{2}$")),
    ("%Y/%m/%d", re.compile(r"^\d{4}/\d{1,2}/\d{1,2}$")),
    ("%Y-%m-%d", re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")),
)
_PERIOD_PART = re.compile(r"([+-]?)(\d+)([wdhm])")
_PERIOD = re.compile(r"^[+-]?\d+[wdhm](\s+[+-]?\d+[wdhm])*$")
_PERIOD_UNITS = {"w": timedelta(weeks=1), "d": timedelta(days=1), "h": timedelta(hours=1)}
_KEY_SHAPE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*-\d+$")
_CATEGORY_VALUES = {
    "to do": StatusCategory.NEW,
    "new": StatusCategory.NEW,
    "2": StatusCategory.NEW,
    "in progress": StatusCategory.INDETERMINATE,
    "indeterminate": StatusCategory.INDETERMINATE,
    "4": StatusCategory.INDETERMINATE,
    "done": StatusCategory.DONE,
    "complete": StatusCategory.DONE,
    "3": StatusCategory.DONE,
}


def parse_date_value(text: str, zone: ZoneInfo, now: datetime, field_name: str) -> datetime:
    """A JQL date operand as an aware datetime, read in ``zone`` (relative to ``now``)."""
    stripped = text.strip()
    for fmt, pattern in _DATE_PATTERNS:
        if pattern.match(stripped):
            try:
                return datetime.strptime(stripped, fmt).replace(tzinfo=zone)
            except ValueError:
                break
    else:
        if _PERIOD.match(stripped):
            delta = timedelta()
            for sign, amount, unit in _PERIOD_PART.findall(stripped):
                step = _PERIOD_UNITS.get(unit, timedelta(minutes=1)) * int(amount)
                delta += -step if sign == "-" else step
            return now.astimezone(zone) + delta
    raise JqlError(
        f"Date value '{text}' for field '{field_name}' is invalid. Valid formats include: "
        "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', "
        "or a period format e.g. '-5d', '4w 2d'."
    )


def _unsupported_operator(operator: str, field_name: str) -> JqlError:
    return JqlError(f"The operator '{operator}' is not supported by the '{field_name}' field.")


def _membership(operator: str, field_name: str, test: Predicate) -> Predicate:
    if operator in ("=", "IN"):
        return test
    if operator in ("!=", "NOT IN"):
        return lambda issue: not test(issue)
    raise _unsupported_operator(operator, field_name)


@dataclass(slots=True)
class CompiledQuery:
    """A query bound to a dataset: a predicate, an optional candidate set, an order."""

    query: Query
    predicate: Predicate | None
    candidates: Callable[[], list[SimIssue]] | None
    order: list[tuple[Callable[[SimIssue], Any], bool]] = field(default_factory=list)
    time_dependent: bool = False
    """Whether a relative date (``-5d``) makes the result depend on the moment it runs."""

    @property
    def bounded(self) -> bool:
        """Whether the query restricts the search (Jira Cloud refuses unbounded ones)."""
        return self.query.where is not None


class _Compiler:
    def __init__(self, ds: Dataset, now: datetime):
        self.ds = ds
        self.now = now
        self.time_dependent = False

    def field_name(self, raw: str) -> str:
        name = _FIELD_ALIASES.get(raw.casefold())
        if name is not None:
            return name
        if raw.casefold() in _KNOWN_UNSUPPORTED or raw.casefold().startswith("cf["):
            raise JqlError(f"Field '{raw}' is not supported by the ScopeGuard Jira simulator.")
        raise JqlError(f"Field '{raw}' does not exist or you do not have permission to view it.")

    def compile(self, node: Node) -> Predicate:
        if isinstance(node, BoolOp):
            parts = [self.compile(operand) for operand in node.operands]
            if node.op == "AND":
                return lambda issue: all(part(issue) for part in parts)
            return lambda issue: any(part(issue) for part in parts)
        if isinstance(node, Not):
            inner = self.compile(node.operand)
            return lambda issue: not inner(issue)
        return self.clause(node)

    def candidates(self, node: Node) -> list[list[SimIssue]] | None:
        """Issue lists that contain every match, or ``None`` when all issues may match."""
        if isinstance(node, Clause):
            name = _FIELD_ALIASES.get(node.field.casefold())
            if node.operator not in ("=", "IN"):
                return None
            if name == "project":
                keys = {self.project_key(value) for value in node.values}
                return [self.ds.issues_in_project(key) for key in sorted(keys)]
            if name in ("key", "id"):
                found = [self.issue_for(value, name) for value in node.values]
                return [[issue for issue in found if issue is not None]]
            return None
        if isinstance(node, BoolOp):
            parts = [self.candidates(operand) for operand in node.operands]
            if node.op == "AND":
                known = [part for part in parts if part is not None]
                if not known:
                    return None
                return min(known, key=lambda lists: sum(len(chunk) for chunk in lists))
            if any(part is None for part in parts):
                return None
            return [chunk for part in parts if part is not None for chunk in part]
        return None

    def project_key(self, value: Value) -> str:
        project = None if value.empty else self.ds.find_project(value.text)
        if project is None:
            raise JqlError(f"The value '{value.text}' does not exist for the field 'project'.")
        return project.key

    def issue_for(self, value: Value, name: str) -> SimIssue | None:
        text = value.text.strip()
        if name == "id":
            if not text.isdigit():
                raise JqlError(f"The issue id '{text}' for field 'id' is invalid.")
            found = self.ds.find_issue(text)
            if found is None or found.id != text:
                raise JqlError(f"An issue with id '{text}' does not exist for field 'id'.")
            return found
        if text.isdigit():
            # Jira accepts an id in a key clause.
            found = self.ds.find_issue(text)
        elif not _KEY_SHAPE.match(text):
            raise JqlError(f"The issue key '{text}' for field 'key' is invalid.")
        else:
            found = self.ds.find_issue(text.upper())
        if found is None:
            raise JqlError(f"An issue with key '{text}' does not exist for field 'key'.")
        return found

    def clause(self, clause: Clause) -> Predicate:
        name = self.field_name(clause.field)
        operator = clause.operator
        values = clause.values
        if operator in ("IS", "IS NOT"):
            return self.emptiness(name, operator == "IS", clause.field)
        if any(value.empty for value in values):
            raise JqlError(
                f"The operator '{operator}' does not accept EMPTY for the field '{clause.field}'."
            )
        if name == "project":
            keys = {self.project_key(value) for value in values}
            return _membership(operator, clause.field, lambda issue: issue.project.key in keys)
        if name in ("key", "id"):
            ids = {found.id for value in values if (found := self.issue_for(value, name))}
            return _membership(operator, clause.field, lambda issue: issue.id in ids)
        if name == "labels":
            wanted = {value.text for value in values}
            if operator in ("=", "IN"):
                return lambda issue: any(label in wanted for label in issue.labels)
            if operator in ("!=", "NOT IN"):
                # Jira's negative operators never match issues where the field is EMPTY.
                return lambda issue: (
                    bool(issue.labels) and not any(label in wanted for label in issue.labels)
                )
            raise _unsupported_operator(operator, clause.field)
        if name == "status":
            status_ids = set()
            for value in values:
                status = self.ds.find_status(value.text)
                if status is None:
                    raise JqlError(
                        f"The value '{value.text}' does not exist for the field 'status'."
                    )
                status_ids.add(status.id)
            return _membership(operator, clause.field, lambda issue: issue.status.id in status_ids)
        if name == "statusCategory":
            categories = set()
            for value in values:
                category = _CATEGORY_VALUES.get(value.text.casefold())
                if category is None:
                    raise JqlError(
                        f"The value '{value.text}' does not exist for the field 'statusCategory'."
                    )
                categories.add(category)
            return _membership(
                operator, clause.field, lambda issue: issue.status.category in categories
            )
        if name == "issuetype":
            known = {t.casefold() for t in ISSUE_TYPES} | {
                issue.issue_type.casefold() for issue in self.ds.issues
            }
            types = set()
            for value in values:
                if value.text.casefold() not in known:
                    raise JqlError(
                        f"The value '{value.text}' does not exist for the field '{clause.field}'."
                    )
                types.add(value.text.casefold())
            return _membership(
                operator, clause.field, lambda issue: issue.issue_type.casefold() in types
            )
        if name == "resolution":
            names = {value.text.casefold() for value in values}
            unresolved = "unresolved" in names

            def resolution_matches(issue: SimIssue) -> bool:
                if issue.resolution is None:
                    return unresolved
                return issue.resolution.casefold() in names

            return _membership(operator, clause.field, resolution_matches)
        if name == "summary":
            needle = values[0].text.casefold().strip("*")
            if operator == "~":
                return lambda issue: needle in issue.summary.casefold()
            if operator == "!~":
                return lambda issue: needle not in issue.summary.casefold()
            raise _unsupported_operator(operator, clause.field)
        return self.dates(name, clause)

    def emptiness(self, name: str, is_empty: bool, raw: str) -> Predicate:
        getters: dict[str, Callable[[SimIssue], bool]] = {
            "labels": lambda issue: not issue.labels,
            "resolution": lambda issue: issue.resolution is None,
            "resolutiondate": lambda issue: issue.resolution_date is None,
            "summary": lambda issue: not issue.summary,
        }
        getter = getters.get(name)
        if getter is None:
            if name in ("created", "updated", "project", "key", "id", "status", "issuetype"):
                # These are never empty.
                return lambda issue: not is_empty
            if name == "statusCategory":
                return lambda issue: not is_empty
            raise _unsupported_operator("IS" if is_empty else "IS NOT", raw)
        if is_empty:
            return getter
        return lambda issue: not getter(issue)

    def dates(self, name: str, clause: Clause) -> Predicate:
        operator = clause.operator
        if operator in ("IN", "NOT IN", "~", "!~"):
            raise _unsupported_operator(operator, clause.field)
        text = clause.values[0].text
        moment = parse_date_value(text, self.ds.zone, self.now, clause.field)
        if _PERIOD.match(text.strip()):
            self.time_dependent = True
        getter: Callable[[SimIssue], datetime | None]
        if name == "created":
            getter = _created
        elif name == "updated":
            getter = _updated
        else:
            getter = _resolved
        compare: Callable[[datetime], bool]
        if operator == "=":
            compare = moment.__eq__
        elif operator == "!=":
            compare = moment.__ne__
        elif operator == ">":
            compare = moment.__lt__
        elif operator == ">=":
            compare = moment.__le__
        elif operator == "<":
            compare = moment.__gt__
        else:
            compare = moment.__ge__

        def matches(issue: SimIssue) -> bool:
            value = getter(issue)
            return value is not None and bool(compare(value))

        return matches

    def order(self, terms: Sequence[OrderBy]) -> list[tuple[Callable[[SimIssue], Any], bool]]:
        result: list[tuple[Callable[[SimIssue], Any], bool]] = []
        for term in terms:
            name = _FIELD_ALIASES.get(term.field.casefold())
            if name is None:
                self.field_name(term.field)  # raises the right "does not exist" error
                raise JqlError(f"Not able to sort using field '{term.field}'.")
            if name not in _ORDERABLE:
                raise JqlError(f"Not able to sort using field '{term.field}'.")
            result.append((_SORT_KEYS[name], term.descending))
        return result


def _created(issue: SimIssue) -> datetime | None:
    return issue.created


def _updated(issue: SimIssue) -> datetime | None:
    return issue.updated


def _resolved(issue: SimIssue) -> datetime | None:
    return issue.resolution_date


def default_order_key(issue: SimIssue) -> tuple[str, int]:
    """The order without ``ORDER BY``: project key, then issue number."""
    return (issue.project.key, issue.number)


def _nullable(value: Any) -> tuple[bool, Any]:
    # EMPTY sorts after every value ascending, as in Jira.
    return (value is None, value if value is not None else 0)


_SORT_KEYS: dict[str, Callable[[SimIssue], Any]] = {
    "created": lambda issue: issue.created,
    "updated": lambda issue: issue.updated,
    "key": default_order_key,
    "id": lambda issue: int(issue.id) if issue.id.isdigit() else 0,
    "project": lambda issue: issue.project.key,
    "summary": lambda issue: issue.summary.casefold(),
    "status": lambda issue: issue.status.name.casefold(),
    "issuetype": lambda issue: issue.issue_type.casefold(),
    "resolutiondate": lambda issue: _nullable(issue.resolution_date),
    "resolution": lambda issue: _nullable(issue.resolution),
}


def compile_query(text: str, ds: Dataset, now: datetime) -> CompiledQuery:
    """Parse and bind ``text`` to ``ds``; values (projects, keys, statuses) are checked now."""
    query = parse(text)
    compiler = _Compiler(ds, now)
    predicate = compiler.compile(query.where) if query.where is not None else None
    lists = compiler.candidates(query.where) if query.where is not None else None

    def gather() -> list[SimIssue]:
        seen: set[str] = set()
        merged: list[SimIssue] = []
        for chunk in lists or ():
            for issue in chunk:
                if issue.id not in seen and not issue.deleted:
                    seen.add(issue.id)
                    merged.append(issue)
        return merged

    return CompiledQuery(
        query=query,
        predicate=predicate,
        candidates=gather if lists is not None else None,
        order=compiler.order(query.order),
        time_dependent=compiler.time_dependent,
    )


def run_query(compiled: CompiledQuery, ds: Dataset) -> list[SimIssue]:
    """Every matching live issue, in query order (default: project key, issue number)."""
    pool: Iterable[SimIssue] = (
        compiled.candidates() if compiled.candidates is not None else ds.issues
    )
    predicate = compiled.predicate
    matched = [issue for issue in pool if predicate is None or predicate(issue)]
    matched.sort(key=default_order_key)
    for key, descending in reversed(compiled.order):
        matched.sort(key=key, reverse=descending)
    return matched


def search(text: str, ds: Dataset, now: datetime) -> list[SimIssue]:
    """Parse, bind and run a query in one call."""
    with ds.lock:
        return run_query(compile_query(text, ds, now), ds)
