"""Turning raw Jira issue JSON (Cloud v3 or Data Center v2) into domain :class:`Issue` objects.

The parser is strict about what the metrics depend on (keys, timestamps, status,
every change item) and raises :class:`JiraMalformedResponse` naming the issue and
the problem, rather than guessing: a silently dropped history would undercount
revisions. Optional fields (labels, estimates, comments) may be absent or null.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from scopeguard.adapters.jira import wire
from scopeguard.adapters.jira.errors import JiraMalformedResponse
from scopeguard.domain.model import (
    ChangeItem,
    Comment,
    Issue,
    Status,
    StatusCategory,
    sort_changes,
)
from scopeguard.domain.timeparse import parse_jira_datetime

ISSUE_FIELDS: tuple[str, ...] = (
    "summary",
    "status",
    "issuetype",
    "project",
    "created",
    "updated",
    "labels",
    "resolution",
    "reporter",
    "description",
    "comment",
    "timeoriginalestimate",
    "timespent",
    # Read by the client-risk signals (escalation, who the PM is, who created it):
    "priority",
    "duedate",
    "assignee",
    "creator",
)
"""The issue fields ScopeGuard asks Jira for; the caller adds the story points field.
``timespent`` (the sum of the issue's worklogs) tells the worklog sync which issues'
stored worklogs are incomplete (:mod:`scopeguard.usecases.worklog_sync`)."""


def parse_issue(
    raw: Mapping[str, Any],
    *,
    statuses: Mapping[str, Status],
    story_points_field: str | None,
) -> Issue:
    """Build a domain :class:`Issue` from one raw Jira issue.

    ``statuses`` maps status ids to the site's statuses (``JiraClient.statuses()``);
    an id missing from it is built from the issue's own ``statusCategory``.
    ``changes`` holds every item of every history in ``raw["changelog"]``, sorted
    chronologically. An issue without a ``changelog`` key (a webhook's issue) has
    no changes; a changelog that admits to being incomplete (``total`` larger
    than the histories present) is rejected.
    """
    if not isinstance(raw, Mapping):
        raise JiraMalformedResponse(f"an issue is not a JSON object but {_kind(raw)}")
    key = raw.get("key")
    if not isinstance(key, str) or not key:
        raise JiraMalformedResponse(f"an issue (id {raw.get('id')!r}) has no key")
    ctx = _Context(key)
    issue_id = ctx.identifier(raw.get("id"), "id")
    fields = ctx.mapping(raw.get("fields"), "fields")
    return _issue(
        ctx,
        issue_id,
        fields,
        _changes(ctx, raw.get("changelog")),
        statuses=statuses,
        story_points_field=story_points_field,
    )


@dataclass(frozen=True, slots=True)
class FetchedIssue:
    """An issue as the sync reads it: parsed, with what storage keeps beside it."""

    issue: Issue
    histories_total: int
    time_spent_seconds: int | None = None
    """Jira's ``timespent``: the seconds of the issue's worklogs (``None``: none)."""


def parse_fetched(
    issue_id: str,
    key: str,
    fields: Mapping[str, Any],
    histories: Sequence[wire.History],
    *,
    statuses: Mapping[str, Status],
    story_points_field: str | None,
    strings: dict[str, str],
    unknown_statuses: set[str] | None = None,
) -> FetchedIssue:
    """One issue of a sync from its decoded search fields and its complete histories.

    The same rules as :func:`parse_issue` in one pass over typed histories (each
    timestamp parsed once). ``strings`` interns the texts of change items (status
    names, authors, field names) across a sync: they repeat by the hundred thousand,
    and one shared object each keeps the parsed issues small. Status ids the issue
    or its status changes name that ``statuses`` lacks are added to
    ``unknown_statuses`` (the caller may then read the statuses again).
    """
    ctx = _Context(key)
    items: list[ChangeItem] = []
    for history in histories:
        items.extend(_typed_history_items(ctx, history, strings))
    changes = sort_changes(items)
    issue = _issue(
        ctx, issue_id, fields, changes, statuses=statuses, story_points_field=story_points_field
    )
    if unknown_statuses is not None:
        if issue.status.id not in statuses:
            unknown_statuses.add(issue.status.id)
        for change in changes:
            if change.is_status_change:
                for status_id in (change.from_id, change.to_id):
                    if status_id is not None and status_id not in statuses:
                        unknown_statuses.add(status_id)
    return FetchedIssue(issue, len(histories), _seconds(ctx, fields.get("timespent")))


def _issue(
    ctx: _Context,
    issue_id: str,
    fields: Mapping[str, Any],
    changes: tuple[ChangeItem, ...],
    *,
    statuses: Mapping[str, Status],
    story_points_field: str | None,
) -> Issue:
    project = ctx.mapping(fields.get("project"), "fields.project")
    issue_type = ctx.mapping(fields.get("issuetype"), "fields.issuetype")
    reporter_account, reporter_name = _user(
        ctx.optional_mapping(fields.get("reporter"), "reporter")
    )
    resolution = ctx.optional_mapping(fields.get("resolution"), "fields.resolution")
    priority = ctx.optional_mapping(fields.get("priority"), "fields.priority")
    assignee, _ = _user(ctx.optional_mapping(fields.get("assignee"), "fields.assignee"))
    creator, _ = _user(ctx.optional_mapping(fields.get("creator"), "fields.creator"))

    return Issue(
        key=ctx.key,
        id=issue_id,
        project_key=ctx.string(project.get("key"), "fields.project.key"),
        issue_type=ctx.string(issue_type.get("name"), "fields.issuetype.name"),
        summary=ctx.string(fields.get("summary"), "fields.summary", allow_empty=True),
        created=ctx.timestamp(fields.get("created"), "fields.created"),
        updated=ctx.timestamp(fields.get("updated"), "fields.updated"),
        status=_status(ctx, fields.get("status"), statuses),
        labels=_labels(ctx, fields.get("labels")),
        resolution=(
            ctx.string(resolution.get("name"), "fields.resolution.name")
            if resolution is not None
            else None
        ),
        story_points=_story_points(ctx, fields, story_points_field),
        original_estimate_seconds=_seconds(ctx, fields.get("timeoriginalestimate")),
        reporter_account=reporter_account,
        reporter_name=reporter_name,
        changes=changes,
        comments=_comments(ctx, fields.get("comment")),
        description=_text(ctx, fields.get("description"), "fields.description"),
        priority=(
            None
            if priority is None
            else ctx.optional_string(priority.get("name"), "fields.priority.name")
        ),
        due_date=_due_date(ctx, fields.get("duedate")),
        assignee_account=assignee,
        creator_account=creator,
    )


def reading_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """``fields`` with only what :func:`parse_issue` reads of each: a search page's
    fields carry URLs, avatars and display metadata several times that size.

    For the Cloud reader, whose search results wait for their bulkfetch (up to
    1,000 per batch and worker) and should not wait at full size. A value of an
    unexpected shape is kept as it is, for the parser to reject.
    """
    slim: dict[str, Any] = {}
    for name, value in fields.items():
        keep = _READ_OF.get(name)
        slim[name] = keep(value) if keep is not None and isinstance(value, Mapping) else value
    return slim


_Slimmer = Callable[[Mapping[str, Any]], dict[str, Any]]


def _only(*keys: str) -> _Slimmer:
    def pick(value: Mapping[str, Any]) -> dict[str, Any]:
        return {key: value[key] for key in keys if key in value}

    return pick


_user_keys = _only("accountId", "name", "key", "displayName")


def _status_keys(value: Mapping[str, Any]) -> dict[str, Any]:
    slim = _only("id", "name")(value)
    category = value.get("statusCategory")
    slim["statusCategory"] = _only("key")(category) if isinstance(category, Mapping) else category
    return slim


def slim_comment(comment: Mapping[str, Any]) -> dict[str, Any]:
    """What :func:`parse_issue` reads of one comment, its body already plain text.

    An Atlassian document is several times the size of its text, and a search page's
    comments wait for their batch: turned into text now, they wait at that size.
    """
    slim = _only("id", "created", "updated", "jsdPublic", "visibility")(comment)
    for role in ("author", "updateAuthor"):
        if role in comment:
            user = comment[role]
            slim[role] = _user_keys(user) if isinstance(user, Mapping) else user
    if "body" in comment:
        body = comment["body"]
        slim["body"] = _adf_text(body) if isinstance(body, Mapping) else body
    return slim


def _comment_keys(value: Mapping[str, Any]) -> dict[str, Any]:
    comments = value.get("comments")
    if not isinstance(comments, list):
        return dict(value)
    kept = [slim_comment(c) if isinstance(c, Mapping) else c for c in comments]
    # total says whether the field holds them all (see adapters/jira/comments.py).
    slim = _only("total", "startAt", "maxResults")(value)
    slim["comments"] = kept
    return slim


_READ_OF: dict[str, _Slimmer] = {
    "status": _status_keys,
    "issuetype": _only("name"),
    "project": _only("key"),
    "resolution": _only("name"),
    "reporter": _user_keys,
    "assignee": _user_keys,
    "creator": _user_keys,
    "priority": _only("name"),
    "comment": _comment_keys,
}


def parse_description(raw: Any) -> str | None:
    """The issue description as plain text.

    Cloud v3 sends an Atlassian Document Format tree: the ``text`` nodes are
    joined, each paragraph-like block on its own line. Data Center (and Cloud v2)
    send a plain (wiki markup) string, returned unchanged. ``None`` or an empty
    document gives ``None``.
    """
    if raw is None:
        return None
    if isinstance(raw, str):
        return raw
    if isinstance(raw, Mapping) and raw.get("type") == "doc":
        return _adf_text(raw)
    raise JiraMalformedResponse(
        f"a description is neither text nor an Atlassian document but {_kind(raw)}"
    )


def _adf_text(document: Mapping[str, Any]) -> str | None:
    text = "\n".join(_adf_blocks(document))
    return text or None


# --- issue parts ----------------------------------------------------------------


def _text(ctx: _Context, value: Any, where: str) -> str | None:
    try:
        return parse_description(value)
    except JiraMalformedResponse:
        raise ctx.error(f"{where} is neither text nor an Atlassian document") from None


def _due_date(ctx: _Context, value: Any) -> date | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ctx.error(f"fields.duedate is not a date but {_kind(value)}")
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise ctx.error(f"fields.duedate is not a date: {value!r}") from None


def _status(ctx: _Context, value: Any, statuses: Mapping[str, Status]) -> Status:
    status = ctx.mapping(value, "fields.status")
    status_id = ctx.identifier(status.get("id"), "fields.status.id")
    known = statuses.get(status_id)
    if known is not None:
        return known
    # A status created after statuses() was read, or one the site hides from the
    # status list: the issue carries its category, which is what done-ness needs.
    category = ctx.mapping(status.get("statusCategory"), "fields.status.statusCategory")
    category_key = ctx.string(category.get("key"), "fields.status.statusCategory.key")
    return Status(
        id=status_id,
        name=ctx.string(status.get("name"), "fields.status.name"),
        category=StatusCategory.from_jira(category_key),
    )


def _labels(ctx: _Context, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(label, str) for label in value):
        raise ctx.error(f"fields.labels is not a list of strings but {_kind(value)}")
    return tuple(value)


def _story_points(ctx: _Context, fields: Mapping[str, Any], field_id: str | None) -> float | None:
    if field_id is None:
        return None
    value = fields.get(field_id)
    if isinstance(value, Mapping) and "value" in value and value.get("id") in (field_id, None):
        # GrimoireLab's Jira collector (the source of the captured real data)
        # stores custom fields as {"name", "value", "id"}; Jira itself sends the bare number.
        value = value["value"]
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ctx.error(f"story points ({field_id}) are not a number but {_kind(value)}")
    try:
        return float(value)
    except ValueError:
        raise ctx.error(f"story points ({field_id}) are not a number: {value!r}") from None


def _seconds(ctx: _Context, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ctx.error(f"fields.timeoriginalestimate is not a number but {_kind(value)}")
    return int(value)


def _comments(ctx: _Context, value: Any) -> tuple[Comment, ...]:
    container = ctx.optional_mapping(value, "fields.comment")
    if container is None:
        return ()
    raw_comments = container.get("comments")
    if raw_comments is None:
        return ()
    if not isinstance(raw_comments, list):
        raise ctx.error(f"fields.comment.comments is not a list but {_kind(raw_comments)}")
    comments: list[Comment] = []
    for index, item in enumerate(raw_comments):
        where = f"fields.comment.comments[{index}]"
        comment = ctx.mapping(item, where)
        account, name = _user(ctx.optional_mapping(comment.get("author"), f"{where}.author"))
        editor, _ = _user(
            ctx.optional_mapping(comment.get("updateAuthor"), f"{where}.updateAuthor")
        )
        updated = comment.get("updated")
        comments.append(
            Comment(
                id=ctx.identifier(comment.get("id"), f"{where}.id"),
                created=ctx.timestamp(comment.get("created"), f"{where}.created"),
                author_account=account,
                author_name=name,
                body=_text(ctx, comment.get("body"), f"{where}.body"),
                updated=None if updated is None else ctx.timestamp(updated, f"{where}.updated"),
                update_author_account=editor,
                internal=_internal(comment),
            )
        )
    return tuple(sorted(comments, key=lambda c: (c.created, _numeric(c.id), c.id)))


def _internal(comment: Mapping[str, Any]) -> bool:
    """Whether the client cannot see the comment: a service-desk internal note
    (``jsdPublic: false``) or one restricted to a role or group (``visibility``)."""
    if comment.get("jsdPublic") is False:
        return True
    visibility = comment.get("visibility")
    return isinstance(visibility, Mapping) and bool(
        visibility.get("value") or visibility.get("identifier")
    )


def _changes(ctx: _Context, value: Any) -> tuple[ChangeItem, ...]:
    if value is None:
        return ()
    changelog = ctx.mapping(value, "changelog")
    histories = changelog.get("histories")
    if not isinstance(histories, list):
        raise ctx.error(f"changelog.histories is not a list but {_kind(histories)}")
    total = changelog.get("total")
    if isinstance(total, int) and not isinstance(total, bool) and total > len(histories):
        # Cloud's inline changelog keeps only the newest histories; parsing it as
        # if complete would lose the oldest transitions, the ones that matter most.
        raise ctx.error(
            f"changelog is incomplete ({len(histories)} of {total} histories); "
            "read issues through JiraClient.iter_issue_batches, which fetches all of them"
        )
    items: list[ChangeItem] = []
    for index, history in enumerate(histories):
        items.extend(_history_items(ctx, history, f"changelog.histories[{index}]"))
    return sort_changes(items)


def _history_items(ctx: _Context, value: Any, where: str) -> list[ChangeItem]:
    history = ctx.mapping(value, where)
    history_id = ctx.identifier(history.get("id"), f"{where}.id")
    where = f"history {history_id}"
    created = ctx.timestamp(history.get("created"), f"{where} created")
    # Automation and deleted users can leave a history without an author.
    account, name = _user(ctx.optional_mapping(history.get("author"), f"{where} author"))
    raw_items = history.get("items")
    if not isinstance(raw_items, list):
        raise ctx.error(f"{where} has no list of items but {_kind(raw_items)}")
    items: list[ChangeItem] = []
    for index, raw_item in enumerate(raw_items):
        item = ctx.mapping(raw_item, f"{where} item {index}")
        items.append(
            ChangeItem(
                history_id=history_id,
                created=created,
                field=ctx.string(item.get("field"), f"{where} item {index} field"),
                # Old Jira Server data has no fieldId; the field name then identifies it.
                field_id=ctx.optional_string(item.get("fieldId"), f"{where} item {index} fieldId"),
                from_id=_value_text(item.get("from")),
                from_string=_value_text(item.get("fromString")),
                to_id=_value_text(item.get("to")),
                to_string=_value_text(item.get("toString")),
                author_account=account,
                author_name=name,
            )
        )
    return items


def _typed_history_items(
    ctx: _Context, history: wire.History, strings: dict[str, str]
) -> list[ChangeItem]:
    history_id = wire.history_id(history)
    created = ctx.timestamp(history.created, f"history {history_id} created")
    account, name = user_names(history.author)
    if account is not None:
        account = strings.setdefault(account, account)
    if name is not None:
        name = strings.setdefault(name, name)
    items: list[ChangeItem] = []
    intern = strings.setdefault
    for index, item in enumerate(history.items):
        field = item.field
        if not field:
            raise ctx.error(f"history {history_id} item {index} field is missing or empty")
        field_id = item.fieldId
        items.append(
            ChangeItem(
                history_id,
                created,
                intern(field, field),
                None if field_id is None else intern(field_id, field_id),
                _interned(item.from_, intern),
                _interned(item.fromString, intern),
                _interned(item.to, intern),
                _interned(item.toString, intern),
                account,
                name,
            )
        )
    return items


def _interned(value: wire.Scalar, intern: Callable[[str, str], str]) -> str | None:
    """A change item value as text, one shared object per distinct text of the sync."""
    if value is None:
        return None
    text = value if isinstance(value, str) else _value_text(value)
    return None if text is None else intern(text, text)


def user_names(author: wire.User | None) -> tuple[str | None, str | None]:
    """(account, display name) of a decoded user, as :func:`_user`: empty text is ``None``."""
    if author is None:
        return None, None
    return author.accountId or author.name or author.key or None, author.displayName or None


def user_account(user: Mapping[str, Any]) -> str | None:
    """A user object's account: Cloud's ``accountId``, else Data Center's ``name`` or
    ``key`` (``None`` when it has none)."""
    return _user(user)[0]


def _user(user: Mapping[str, Any] | None) -> tuple[str | None, str | None]:
    """(account, display name): Cloud's ``accountId``, else Data Center's ``name`` or ``key``."""
    if user is None:
        return None, None
    account: str | None = None
    for attribute in ("accountId", "name", "key"):
        candidate = user.get(attribute)
        if isinstance(candidate, str) and candidate:
            account = candidate
            break
    display = user.get("displayName")
    return account, display if isinstance(display, str) and display else None


def _value_text(value: Any) -> str | None:
    # Change item values are strings in Jira's JSON, but some apps write numbers.
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise JiraMalformedResponse(f"a change item value is {_kind(value)}, not text")


# --- Atlassian Document Format ------------------------------------------------------

# Blocks whose children are inline content: each becomes one line of text.
_TEXT_BLOCKS = frozenset({"paragraph", "heading", "codeBlock", "taskItem", "decisionItem"})


def _adf_blocks(node: Mapping[str, Any]) -> list[str]:
    kind = node.get("type")
    children = [child for child in node.get("content") or () if isinstance(child, Mapping)]
    if kind in _TEXT_BLOCKS:
        return ["".join(_adf_inline(child) for child in children)]
    if kind == "text" or (not children and isinstance(node.get("attrs"), Mapping)):
        # Inline content directly inside a container (not valid ADF, but harmless).
        inline = _adf_inline(node)
        return [inline] if inline else []
    lines: list[str] = []
    for child in children:
        lines.extend(_adf_blocks(child))
    return lines


def _adf_inline(node: Mapping[str, Any]) -> str:
    kind = node.get("type")
    if kind == "text":
        text = node.get("text")
        return text if isinstance(text, str) else ""
    if kind == "hardBreak":
        return "\n"
    attrs = node.get("attrs")
    if isinstance(attrs, Mapping):
        if kind in ("mention", "emoji", "status"):
            for name in ("text", "shortName"):
                value = attrs.get(name)
                if isinstance(value, str) and value:
                    return value
        if kind in ("inlineCard", "blockCard") and isinstance(attrs.get("url"), str):
            return str(attrs["url"])
        if kind == "date":
            stamp = attrs.get("timestamp")
            try:
                return datetime.fromtimestamp(int(str(stamp)) / 1000, UTC).date().isoformat()
            except (TypeError, ValueError, OverflowError):
                return ""
    children = node.get("content")
    if isinstance(children, list):
        return "".join(_adf_inline(child) for child in children if isinstance(child, Mapping))
    return ""


# --- validation helpers ----------------------------------------------------------------


class _Context:
    """Validation helpers that name the issue in every error."""

    def __init__(self, key: str) -> None:
        self.key = key

    def error(self, problem: str) -> JiraMalformedResponse:
        return JiraMalformedResponse(f"issue {self.key}: {problem}")

    def mapping(self, value: Any, where: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.error(f"{where} is missing or not an object ({_kind(value)})")
        return value

    def optional_mapping(self, value: Any, where: str) -> Mapping[str, Any] | None:
        if value is None:
            return None
        return self.mapping(value, where)

    def string(self, value: Any, where: str, *, allow_empty: bool = False) -> str:
        if not isinstance(value, str) or (not value and not allow_empty):
            raise self.error(f"{where} is missing or not text ({_kind(value)})")
        return value

    def optional_string(self, value: Any, where: str) -> str | None:
        if value is None:
            return None
        return self.string(value, where, allow_empty=True)

    def identifier(self, value: Any, where: str) -> str:
        # Jira writes ids as strings ("10001"); accept integers from older servers.
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return self.string(value, where)

    def timestamp(self, value: Any, where: str) -> datetime:
        if not isinstance(value, str):
            raise self.error(f"{where} is missing or not a timestamp ({_kind(value)})")
        if len(value) == 28 and value[10] == "T" and value[19] == "." and value[23] in "+-":
            # Jira's own form (2026-09-01T00:30:00.000+0300), which fromisoformat
            # reads directly at a seventh of the general parser's cost.
            try:
                return datetime.fromisoformat(value)
            except ValueError:
                pass  # the general parser says what is wrong with it
        try:
            return parse_jira_datetime(value)
        except ValueError as exc:
            raise self.error(f"{where} is not a valid timestamp: {exc}") from None


def _numeric(identifier: str) -> int:
    return int(identifier) if identifier.isdigit() else 0


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"text {shown!r}"
    return type(value).__name__
