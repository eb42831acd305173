"""Worklogs from Jira Cloud (REST v3) and Data Center (REST v2), the efficient ways Jira offers.

* ``GET /worklog/updated?since=<ms>``: the ids of worklogs changed after ``since``,
  oldest first, 1,000 a page; the next page is ``since=until`` (the page's
  newest change), the last says ``lastPage``. Site-wide, so one chain serves
  every client; Jira leaves out the last minute's changes, which the next
  read then brings.
* ``POST /worklog/list`` ``{"ids": [...]}``: the worklogs of up to 1,000 ids.
* ``GET /worklog/deleted?since=<ms>``: the ids deleted since, the same paging.
* ``GET /issue/{id}/worklog``: one issue's worklogs, ``startAt`` paged: cheaper
  than the feed where only a few issues of a big site are wanted.

An issue's inline ``fields.worklog`` is never read: Jira caps it at 20 entries.
Answers are decoded by msgspec straight into structs holding only what
ScopeGuard keeps (author, started, seconds, issue, created/updated, comment).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import msgspec

from scopeguard.adapters.jira import wire
from scopeguard.adapters.jira.errors import JiraMalformedResponse
from scopeguard.adapters.jira.parse import parse_description, user_names
from scopeguard.adapters.jira.transport import JiraTransport
from scopeguard.domain.effort import WorklogRecord
from scopeguard.domain.timeparse import parse_jira_datetime

LIST_MAX_IDS = 1000
"""Ids per ``POST /worklog/list`` (Jira's limit)."""
ISSUE_PAGE = 5000
"""Worklogs asked for per ``/issue/{id}/worklog`` page (Cloud's maximum)."""


class _Changed(msgspec.Struct, frozen=True, gc=False):
    worklogId: int  # noqa: N815 - Jira's spelling


class ChangedPage(msgspec.Struct, frozen=True, gc=False):
    """A page of ``/worklog/updated`` or ``/worklog/deleted``."""

    values: list[_Changed]
    until: int
    lastPage: bool = True  # noqa: N815


class WireWorklog(msgspec.Struct, frozen=True, gc=False):
    """One worklog as Jira sends it, the keys ScopeGuard reads."""

    id: str | int
    issueId: str | int  # noqa: N815
    started: str
    timeSpentSeconds: int  # noqa: N815
    author: wire.User | None = None
    created: str | None = None
    updated: str | None = None
    comment: Any = None


class _IssueWorklogs(msgspec.Struct, frozen=True, gc=False):
    worklogs: list[WireWorklog]
    total: int | None = None
    startAt: int = 0  # noqa: N815
    maxResults: int | None = None  # noqa: N815


@dataclass(frozen=True, slots=True)
class Changes:
    """What one feed page said: the ids, how far it got (``until``, ms) and if it was the last."""

    ids: list[int]
    until: int
    last: bool


def _text(value: str | int) -> str:
    return str(value) if isinstance(value, int) else value


def _moment(text: str | None, what: str) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_jira_datetime(text)
    except ValueError as exc:
        raise JiraMalformedResponse(f"{what}: {exc}") from None


def _fetched(raw: WireWorklog) -> WorklogRecord:
    worklog_id = _text(raw.id)
    what = f"worklog {worklog_id}"
    started = _moment(raw.started, what)
    assert started is not None
    if raw.timeSpentSeconds < 0:
        raise JiraMalformedResponse(f"{what}: negative timeSpentSeconds {raw.timeSpentSeconds}")
    # Cloud names people by accountId, Data Center by username (``name``/``key``).
    account, name = user_names(raw.author)
    comment = raw.comment
    return WorklogRecord(
        id=worklog_id,
        issue_id=_text(raw.issueId),
        author_account=account,
        author_name=name,
        started=started,
        seconds=raw.timeSpentSeconds,
        created=_moment(raw.created, what),
        updated=_moment(raw.updated, what),
        comment=parse_description(comment) if comment is not None else None,
    )


class WorklogReader:
    """Reads worklogs from one site through its transport (Cloud v3, Data Center v2)."""

    def __init__(self, transport: JiraTransport) -> None:
        self._transport = transport

    def changes(self, kind: str, since: int) -> Changes:
        """One page of ``/worklog/updated`` (``kind`` ``updated``) or ``/worklog/deleted``."""
        path = f"{self._transport.api}/worklog/{kind}"
        page = self._transport.request_as(ChangedPage, "GET", path, params={"since": since})
        if page.until < since and page.values:
            raise JiraMalformedResponse(f"GET {path}: until {page.until} is before since {since}")
        return Changes(
            ids=[value.worklogId for value in page.values],
            until=max(page.until, since),
            last=page.lastPage,
        )

    def all_changes(self, kind: str, since: int) -> Iterator[Changes]:
        """Every page from ``since`` on, following ``until``."""
        while True:
            page = self.changes(kind, since)
            yield page
            if page.last:
                return
            if page.until <= since:
                # Following it would ask for the same page for ever.
                raise JiraMalformedResponse(
                    f"/worklog/{kind}: a page that is not the last did not move on from {since}"
                )
            since = page.until

    def worklogs(self, ids: Sequence[int]) -> list[WorklogRecord]:
        """The worklogs of ``ids`` (at most :data:`LIST_MAX_IDS`): one request."""
        if not ids:
            return []
        if len(ids) > LIST_MAX_IDS:
            raise ValueError(f"at most {LIST_MAX_IDS} worklog ids per request")
        path = f"{self._transport.api}/worklog/list"
        raw = self._transport.request_bytes("POST", path, body={"ids": list(ids)})
        decoded = wire.decode_as(raw, list[WireWorklog], f"POST {path}")
        return [_fetched(item) for item in decoded]

    def issue_worklogs(self, issue_id: str) -> list[WorklogRecord]:
        """Every worklog of one issue (``startAt`` pages, the server's page size read back)."""
        path = f"{self._transport.api}/issue/{quote(issue_id, safe='')}/worklog"
        found: list[WorklogRecord] = []
        start = 0
        while True:
            page = self._transport.request_as(
                _IssueWorklogs, "GET", path, params={"startAt": start, "maxResults": ISSUE_PAGE}
            )
            found.extend(_fetched(item) for item in page.worklogs)
            start += len(page.worklogs)
            total = page.total if page.total is not None else start
            if not page.worklogs or start >= total:
                return found
