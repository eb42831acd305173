"""Complete comments: the inline ``fields.comment`` of a search page, completed by paging.

A search page carries only an issue's first comments (its ``comment`` field says
``total``; Jira cuts it at a few dozen, and the client-risk signals need every
comment with its text). For an issue whose inline comments fall short of that
total, the rest are read from ``GET /rest/api/3/issue/{id}/comment`` (Cloud) or
``/rest/api/2/issue/{id}/comment`` (Data Center), starting where the inline
field stopped, ``COMMENT_PAGE`` at a time: ``ceil((total − inline) ÷ 100)``
requests per such issue, the lower bound, and none for the others. The sync
stays incremental: only issues the search listed (updated since the cursor)
are completed.

Runs in the reading threads, beside the parsing, so the requests go through the
transport's bounded worker pool and shared backoff like every other one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

from scopeguard.adapters.jira.errors import JiraMalformedResponse
from scopeguard.adapters.jira.parse import slim_comment
from scopeguard.adapters.jira.transport import JiraTransport
from scopeguard.adapters.jira.wire import WireIssue

COMMENT_PAGE = 100
"""``maxResults`` of a comment page (the endpoint's maximum on Cloud and Data Center)."""


def _counts(fields: Mapping[str, Any]) -> tuple[int, int]:
    container = fields.get("comment")
    if not isinstance(container, Mapping):
        return 0, 0
    comments = container.get("comments")
    present = len(comments) if isinstance(comments, list) else 0
    total = container.get("total")
    if not isinstance(total, int) or isinstance(total, bool):
        return present, present
    return present, total


def complete_comments(transport: JiraTransport, issues: Iterable[WireIssue]) -> int:
    """Read the comments the search pages left out into each issue's ``comment`` field.

    Returns the requests made. Comments are merged by id (one added between the
    search and this read is kept once); the field's ``total`` becomes what was read.
    """
    made = 0
    for issue in issues:
        present, total = _counts(issue.fields)
        if total <= present:
            continue
        container = dict(issue.fields["comment"])
        comments: list[Any] = list(container.get("comments") or ())
        seen = {c.get("id") for c in comments if isinstance(c, Mapping)}
        path = f"{transport.api}/issue/{quote(issue.id, safe='')}/comment"
        start = present
        while start < total:
            page = transport.request(
                "GET",
                path,
                params={"startAt": start, "maxResults": COMMENT_PAGE, "orderBy": "created"},
            )
            made += 1
            if not isinstance(page, Mapping) or not isinstance(page.get("comments"), list):
                raise JiraMalformedResponse(
                    f"GET {path}: issue {issue.key}'s comment page has no list of comments"
                )
            values: list[Any] = page["comments"]
            for value in values:
                identifier = value.get("id") if isinstance(value, Mapping) else None
                if identifier is None or identifier not in seen:
                    seen.add(identifier)
                    comments.append(slim_comment(value) if isinstance(value, Mapping) else value)
            page_total = page.get("total")
            if isinstance(page_total, int) and not isinstance(page_total, bool):
                total = page_total  # comments were added or deleted meanwhile
            if not values:
                break  # fewer than promised (deleted meanwhile): what is there is all
            start += len(values)
        container["comments"] = comments
        container["total"] = len(comments)
        issue.fields["comment"] = container
    return made
