"""Jira Data Center: issues by ``/rest/api/2/search`` pages, histories inline or per issue.

``GET /rest/api/2/search`` with ``expand=changelog`` (``startAt`` paging; the
server caps ``maxResults``, so the page size is read back from each answer).
For an issue whose ``changelog.total`` exceeds the histories inlined in the
search page, ``GET /rest/api/2/issue/{id}?expand=changelog`` (the documented
Data Center way; DC's REST API has no paged ``/issue/{id}/changelog``
resource) returns the full history.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from urllib.parse import quote

from scopeguard.adapters.jira.decoding import (
    JsonObject,
    expect_object,
    is_int,
    issue_id_of,
    issue_key_of,
    issues_of,
    kind,
    rebatch,
    set_changelog,
)
from scopeguard.adapters.jira.errors import JiraMalformedResponse
from scopeguard.adapters.jira.transport import JiraTransport

SEARCH_PAGE = 1000
"""What we ask Data Center for; the server caps it (``jira.search.views.default.max``)."""


class DataCenterReader:
    """Reads a Data Center site's issues with their complete histories."""

    def __init__(self, transport: JiraTransport) -> None:
        self._transport = transport

    def _search_pages(
        self, jql: str, fields: list[str], *, expand: str | None
    ) -> Iterator[list[JsonObject]]:
        start = 0
        page_size = SEARCH_PAGE
        while True:
            params: JsonObject = {
                "jql": jql,
                "startAt": start,
                "maxResults": page_size,
                "fields": ",".join(fields),
            }
            if expand:
                params["expand"] = expand
            page = expect_object(
                self._transport.request("GET", "/rest/api/2/search", params=params), "search"
            )
            issues = issues_of(page, "search")
            total, served = page.get("total"), page.get("maxResults")
            if not is_int(total) or not is_int(served) or served < 1:
                raise JiraMalformedResponse(
                    f"search page lacks total/maxResults integers: total={total!r}, "
                    f"maxResults={served!r}"
                )
            # Data Center caps maxResults (jira.search.views.default.max); ask for
            # what it actually serves from now on.
            page_size = served
            yield issues
            # Advance by what came back, not by the cap: if the server returns
            # fewer issues than it promised, no issue is skipped.
            start += len(issues)
            if not issues or start >= total:
                return

    def issue_batches(
        self, jql: str, fields: list[str], batch_size: int
    ) -> Iterator[list[JsonObject]]:
        """Raw issues of ``jql`` in batches of at most ``batch_size``, histories complete."""
        pages = self._search_pages(jql, fields, expand="changelog")
        for batch in rebatch(pages, batch_size):
            for issue in batch:
                self._complete_changelog(issue)
            yield batch

    def _complete_changelog(self, issue: JsonObject) -> None:
        key = issue_key_of(issue)
        changelog = issue.get("changelog")
        if not isinstance(changelog, Mapping) or not isinstance(changelog.get("histories"), list):
            raise JiraMalformedResponse(f"issue {key}: search result has no changelog.histories")
        histories: list[JsonObject] = changelog["histories"]
        total = changelog.get("total", len(histories))
        if not is_int(total):
            raise JiraMalformedResponse(f"issue {key}: changelog.total is {kind(total)}")
        if total > len(histories):
            # The search inlined only part of the history; the single-issue
            # resource returns all of it.
            histories = self._full_changelog(issue_id_of(issue), key, total)
        set_changelog(issue, histories)

    def _full_changelog(self, issue_id: str, key: str, total: int) -> list[JsonObject]:
        raw = self._transport.request(
            "GET",
            f"/rest/api/2/issue/{quote(issue_id, safe='')}",
            # Only the changelog is needed; one cheap field keeps the answer small.
            params={"expand": "changelog", "fields": "created"},
        )
        issue = expect_object(raw, f"issue {key}")
        changelog = issue.get("changelog")
        histories = changelog.get("histories") if isinstance(changelog, Mapping) else None
        if not isinstance(histories, list):
            raise JiraMalformedResponse(f"issue {key}: expand=changelog gave no histories list")
        if len(histories) < total:
            raise JiraMalformedResponse(
                f"issue {key}: Jira reports {total} histories but returned only {len(histories)}"
            )
        return histories

    def issue_ids(self, jql: str) -> Iterator[list[tuple[str, str]]]:
        """(id, key) of every issue of ``jql``, one list per search page."""
        for issues in self._search_pages(jql, ["key"], expand=None):
            if issues:
                yield [(issue_id_of(issue), issue_key_of(issue)) for issue in issues]
