"""Jira Data Center: issues by ``/rest/api/2/search`` pages, histories inline or per issue.

``GET /rest/api/2/search`` with ``expand=changelog`` (``startAt`` paging; the
server caps ``maxResults``, so the page size is read back from each answer).
For an issue whose ``changelog.total`` exceeds the histories inlined in the
search page, ``GET /rest/api/2/issue/{id}?expand=changelog`` (the documented
Data Center way; DC's REST API has no paged ``/issue/{id}/changelog``
resource) returns the full history.

``startAt`` pages are independent once the first answer told the page size and
the total, so a read with several workers deals the pages out to them
(:meth:`DataCenterReader.streams`): worker *i* of *n* reads pages *1 + i*,
*1 + i + n*, ….
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from functools import partial
from typing import TypeVar
from urllib.parse import quote

from scopeguard.adapters.jira import wire
from scopeguard.adapters.jira.decoding import JsonObject
from scopeguard.adapters.jira.errors import JiraMalformedResponse
from scopeguard.adapters.jira.pipeline import Stream, chain
from scopeguard.adapters.jira.transport import JiraTransport
from scopeguard.adapters.jira.wire import History, SearchIssue, WireIssue, search_issue_id

SEARCH_PAGE = 1000
"""What we ask Data Center for; the server caps it (``jira.search.views.default.max``)."""

T = TypeVar("T")

Key = tuple[int, int]
"""Where a search page starts, and how many issues it asks for."""


class DataCenterReader:
    """Reads a Data Center site's issues with their complete histories."""

    def __init__(self, transport: JiraTransport) -> None:
        self._transport = transport

    def _page(
        self, jql: str, fields: list[str], start: int, size: int, expand: str | None
    ) -> wire.DataCenterSearchPage:
        params: JsonObject = {
            "jql": jql,
            "startAt": start,
            "maxResults": size,
            "fields": ",".join(fields),
        }
        if expand:
            params["expand"] = expand
        page = self._transport.request_as(
            wire.DataCenterSearchPage, "GET", "/rest/api/2/search", params=params
        )
        if page.maxResults < 1:
            raise JiraMalformedResponse(f"search page has maxResults {page.maxResults}")
        return page

    def _search_pages(
        self, jql: str, fields: list[str], *, expand: str | None, ahead: bool = False
    ) -> Iterator[list[SearchIssue]]:
        path = "/rest/api/2/search"

        def fetch(at: Key) -> bytes:
            start, size = at
            params: JsonObject = {
                "jql": jql,
                "startAt": start,
                "maxResults": size,
                "fields": ",".join(fields),
            }
            if expand:
                params["expand"] = expand
            return self._transport.request_bytes("GET", path, params=params)

        current = [0]  # startAt of the page follow() reads (pages come in order)

        def follow(page: wire.DataCenterSearchPage | wire.DataCenterSearchNext) -> Key | None:
            if page.maxResults < 1:
                raise JiraMalformedResponse(f"search page has maxResults {page.maxResults}")
            # Advance by what came back, not by the cap: if the server returns fewer
            # issues than it promised, no issue is skipped. Data Center caps
            # maxResults (jira.search.views.default.max): ask for what it serves.
            start = current[0] + len(page.issues)
            if not page.issues or start >= page.total:
                return None
            current[0] = start
            return start, page.maxResults

        what = f"GET {path}"
        pages = chain(
            (0, SEARCH_PAGE),
            fetch,
            lambda answer: wire.decode_as(answer, wire.DataCenterSearchPage, what),
            follow,
            glance=lambda answer: follow(wire.decode_as(answer, wire.DataCenterSearchNext, what)),
            ahead=ahead,
        )
        for page in pages:
            yield page.issues

    def read(
        self,
        jql: str,
        fields: list[str],
        batch_size: int,
        *,
        convert: Callable[[list[WireIssue]], list[T]],
        ahead: bool = False,
    ) -> Iterator[list[T]]:
        """Issues of ``jql`` with complete histories, one converted group per search
        page; with ``ahead``, the next pages are requested before this one is
        handed over. (Per page, not per batch: converting a batch at once would
        leave the requests idle meanwhile.)"""
        for issues in self._search_pages(jql, fields, expand="changelog", ahead=ahead):
            if issues:
                yield convert(self._completed(issues))

    def streams(
        self,
        jql: str,
        fields: list[str],
        batch_size: int,
        *,
        split: int,
        jql_datetime: Callable[[datetime], str],
        ahead: bool,
        convert: Callable[[list[WireIssue]], list[T]],
    ) -> list[Stream[list[T]]]:
        """Readers that together return every issue of ``jql`` (see the module docs).

        With ``split`` > 1 the first page is read here, at once: its answer gives
        the page size and the total the others are dealt by.
        """
        if split <= 1:
            return [partial(self.read, jql, fields, batch_size, convert=convert, ahead=ahead)]
        first = self._page(jql, fields, 0, SEARCH_PAGE, "changelog")
        return [
            partial(self._dealt, jql, fields, first, index, split, convert=convert, ahead=ahead)
            for index in range(split)
        ]

    def _dealt(
        self,
        jql: str,
        fields: list[str],
        first: wire.DataCenterSearchPage,
        index: int,
        workers: int,
        *,
        convert: Callable[[list[WireIssue]], list[T]],
        ahead: bool,
    ) -> Iterator[list[T]]:
        size = first.maxResults
        if index == 0 and first.issues:
            yield convert([self._complete(issue) for issue in first.issues])
        if (1 + index) * size >= first.total:
            return
        path = "/rest/api/2/search"

        def fetch(number: int) -> bytes:
            params: JsonObject = {
                "jql": jql,
                "startAt": number * size,
                "maxResults": size,
                "fields": ",".join(fields),
                "expand": "changelog",
            }
            return self._transport.request_bytes("GET", path, params=params)

        current = [1 + index]  # the page number of the page follow() reads

        def follow(page: wire.DataCenterSearchPage | wire.DataCenterSearchNext) -> int | None:
            following = current[0] + workers
            if not page.issues or following * size >= page.total:
                return None
            current[0] = following
            return following

        what = f"GET {path}"
        pages = chain(
            1 + index,
            fetch,
            lambda answer: wire.decode_as(answer, wire.DataCenterSearchPage, what),
            follow,
            glance=lambda answer: follow(wire.decode_as(answer, wire.DataCenterSearchNext, what)),
            ahead=ahead,
        )
        number = 1 + index - workers
        for page in pages:
            number += workers  # the chain's pages come in order, each `workers` on
            issues = list(page.issues)
            # A page shorter than promised before the end: read on from where it
            # stopped, so that no issue of this page's range is skipped.
            while issues and len(issues) < size and number * size + len(issues) < page.total:
                more = self._page(
                    jql, fields, number * size + len(issues), size - len(issues), "changelog"
                )
                if not more.issues:
                    break
                issues.extend(more.issues)
            del page
            if issues:
                yield convert(self._completed(issues))

    def _completed(self, issues: list[SearchIssue]) -> list[WireIssue]:
        """The issues with complete histories; ``issues`` is emptied, so that the
        caller's (suspended) frame keeps no second reference to the decoded page."""
        complete = [self._complete(issue) for issue in issues]
        issues.clear()
        return complete

    def _complete(self, issue: SearchIssue) -> WireIssue:
        key = issue.key
        if not key:
            raise JiraMalformedResponse(f"issue {issue.id!r} has no key")
        changelog = issue.changelog
        if changelog is None:
            raise JiraMalformedResponse(f"issue {key}: search result has no changelog.histories")
        histories = changelog.histories
        total = changelog.total if changelog.total is not None else len(histories)
        issue_id = search_issue_id(issue)
        if total > len(histories):
            # The search inlined only part of the history; the single-issue
            # resource returns all of it.
            histories = self._full_changelog(issue_id, key, total)
        return WireIssue(issue_id, key, issue.fields, histories)

    def _full_changelog(self, issue_id: str, key: str, total: int) -> list[History]:
        issue = self._transport.request_as(
            wire.DataCenterIssue,
            "GET",
            f"/rest/api/2/issue/{quote(issue_id, safe='')}",
            # Only the changelog is needed; one cheap field keeps the answer small.
            params={"expand": "changelog", "fields": "created"},
        )
        histories = issue.changelog.histories
        if len(histories) < total:
            raise JiraMalformedResponse(
                f"issue {key}: Jira reports {total} histories but returned only {len(histories)}"
            )
        return histories

    def issue_ids(self, jql: str) -> Iterator[list[tuple[str, str]]]:
        """(id, key) of every issue of ``jql``, one list per search page."""
        for issues in self._search_pages(jql, ["key"], expand=None):
            if issues:
                yield [(search_issue_id(issue), issue.key) for issue in issues]
