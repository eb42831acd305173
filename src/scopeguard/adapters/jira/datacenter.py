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
from urllib.parse import quote

from scopeguard.adapters.jira import wire
from scopeguard.adapters.jira.decoding import JsonObject, rebatch
from scopeguard.adapters.jira.errors import JiraMalformedResponse
from scopeguard.adapters.jira.pipeline import Stream
from scopeguard.adapters.jira.transport import JiraTransport
from scopeguard.adapters.jira.wire import History, SearchIssue, WireIssue, search_issue_id

SEARCH_PAGE = 1000
"""What we ask Data Center for; the server caps it (``jira.search.views.default.max``)."""


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
        self, jql: str, fields: list[str], *, expand: str | None
    ) -> Iterator[list[SearchIssue]]:
        start = 0
        page_size = SEARCH_PAGE
        while True:
            page = self._page(jql, fields, start, page_size, expand)
            # Data Center caps maxResults (jira.search.views.default.max); ask for
            # what it actually serves from now on.
            page_size = page.maxResults
            yield page.issues
            # Advance by what came back, not by the cap: if the server returns
            # fewer issues than it promised, no issue is skipped.
            start += len(page.issues)
            if not page.issues or start >= page.total:
                return

    def read(self, jql: str, fields: list[str], batch_size: int) -> Iterator[list[WireIssue]]:
        """Issues of ``jql`` with complete histories, in groups of at most ``batch_size``."""
        for batch in rebatch(self._search_pages(jql, fields, expand="changelog"), batch_size):
            yield [self._complete(issue) for issue in batch]

    def streams(
        self,
        jql: str,
        fields: list[str],
        batch_size: int,
        *,
        split: int,
        jql_datetime: Callable[[datetime], str],
    ) -> list[Stream[list[WireIssue]]]:
        """Readers that together return every issue of ``jql`` (see the module docs).

        With ``split`` > 1 the first page is read here, at once: its answer gives
        the page size and the total the others are dealt by.
        """
        if split <= 1:
            return [partial(self.read, jql, fields, batch_size)]
        first = self._page(jql, fields, 0, SEARCH_PAGE, "changelog")
        return [partial(self._dealt, jql, fields, first, index, split) for index in range(split)]

    def _dealt(
        self,
        jql: str,
        fields: list[str],
        first: wire.DataCenterSearchPage,
        index: int,
        workers: int,
    ) -> Iterator[list[WireIssue]]:
        size = first.maxResults
        if index == 0 and first.issues:
            yield [self._complete(issue) for issue in first.issues]
        total = first.total
        number = 1 + index
        while number * size < total:
            start = number * size
            issues: list[SearchIssue] = []
            # A page shorter than promised before the end: read on from where it
            # stopped, so that no issue of this page's range is skipped.
            while len(issues) < size:
                page = self._page(jql, fields, start + len(issues), size - len(issues), "changelog")
                total = page.total
                issues.extend(page.issues)
                if not page.issues or start + len(issues) >= total:
                    break
            if issues:
                yield [self._complete(issue) for issue in issues]
            number += workers

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
