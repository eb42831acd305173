"""Jira Cloud: issues by ``/search/jql`` pages, complete histories by changelog bulkfetch.

``GET /rest/api/3/search/jql`` pages (``nextPageToken``) are read without any
changelog and collected up to ``batch_size`` issues, then
``POST /rest/api/3/changelog/bulkfetch`` reads the whole batch's histories
(10,000 per page). ``expand=changelog`` is never used on Cloud: it returns only
the newest 20–40 histories. If bulkfetch does not exist on the site (404/405),
the reader falls back to ``GET /rest/api/3/issue/{id}/changelog`` per issue.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from urllib.parse import quote

from scopeguard.adapters.jira.decoding import (
    JsonObject,
    expect_object,
    history_id_of,
    issue_id_of,
    issue_key_of,
    issues_of,
    kind,
    rebatch,
    set_changelog,
    snippet,
)
from scopeguard.adapters.jira.errors import JiraMalformedResponse, JiraRequestError
from scopeguard.adapters.jira.transport import JiraTransport

LOG = logging.getLogger(__name__)

SEARCH_PAGE = 100
"""Issues per ``/search/jql`` page when fields are requested (Cloud's documented maximum)."""
ID_PAGE = 5000
"""Issues per ``/search/jql`` page when only id and key are requested."""
BULKFETCH_MAX_ISSUES = 1000
BULKFETCH_MAX_HISTORIES = 10000
CHANGELOG_PAGE = 100
"""``/issue/{id}/changelog`` page size (its maximum)."""


class CloudReader:
    """Reads a Cloud site's issues with their complete histories."""

    def __init__(self, transport: JiraTransport) -> None:
        self._transport = transport
        self._bulkfetch_available = True

    def _search_pages(
        self, jql: str, fields: list[str], page_size: int
    ) -> Iterator[list[JsonObject]]:
        token: str | None = None
        seen_tokens: set[str] = set()
        while True:
            params: JsonObject = {
                "jql": jql,
                "maxResults": page_size,
                "fields": ",".join(fields),
            }
            if token is not None:
                params["nextPageToken"] = token
            page = expect_object(
                self._transport.request("GET", "/rest/api/3/search/jql", params=params), "search"
            )
            yield issues_of(page, "search/jql")
            next_token = page.get("nextPageToken")
            if next_token is None or page.get("isLast") is True:
                return
            if not isinstance(next_token, str) or not next_token:
                raise JiraMalformedResponse(
                    f"search/jql gave a nextPageToken of {kind(next_token)}"
                )
            if next_token in seen_tokens:
                # Following it again would loop for ever re-reading the same pages.
                raise JiraMalformedResponse("search/jql repeated a nextPageToken")
            seen_tokens.add(next_token)
            token = next_token

    def issue_batches(
        self, jql: str, fields: list[str], batch_size: int
    ) -> Iterator[list[JsonObject]]:
        """Raw issues of ``jql`` in batches of at most ``batch_size``, histories complete."""
        # Batching across search pages is what keeps bulkfetch calls (and the
        # request count) low: one bulkfetch serves up to 1,000 issues.
        pages = self._search_pages(jql, fields, SEARCH_PAGE)
        for batch in rebatch(pages, batch_size):
            yield from self._with_changelogs(batch)

    def _with_changelogs(self, issues: list[JsonObject]) -> Iterator[list[JsonObject]]:
        """The issues with their complete histories, in groups as bulkfetch pages complete them.

        Yielding per page rather than per batch keeps memory to one page of
        histories (10,000) instead of the batch's (30,000 for 1,000 issues with 30
        histories each) without costing a single extra request.
        """
        by_id = {issue_id_of(issue): issue for issue in issues}
        if self._bulkfetch_available:
            try:
                for complete in self._bulkfetch(list(by_id)):
                    group = []
                    for issue_id, histories in complete.items():
                        issue = by_id.pop(issue_id)
                        set_changelog(issue, histories)
                        group.append(issue)
                    if group:
                        yield group
                return
            except JiraRequestError as exc:
                if exc.status not in (404, 405) or len(by_id) != len(issues):
                    raise
                # Sites (or proxies) without the bulk endpoint: remember, and read
                # each issue's changelog instead. Costs one request per issue.
                LOG.warning(
                    "Jira has no changelog/bulkfetch (HTTP %s); reading changelogs per issue",
                    exc.status,
                )
                self._bulkfetch_available = False
        for issue_id, issue in by_id.items():
            set_changelog(issue, self._issue_changelog_pages(issue_id))
        yield list(by_id.values())

    def _bulkfetch(self, ids: list[str]) -> Iterator[dict[str, list[JsonObject]]]:
        """Histories of ``ids`` per bulkfetch page: each yield holds the issues it completed.

        Jira orders the results by issue, so when a page ends every issue on it
        but the last is complete; the last may continue on the next page. Issues
        without any history come last, with an empty list.
        """
        wanted = set(ids)
        found: dict[str, dict[str, JsonObject]] = {}
        done: set[str] = set()
        token: str | None = None
        seen_tokens: set[str] = set()
        while True:
            # Jira rejects unknown body keys: send exactly these three.
            body: JsonObject = {
                "issueIdsOrKeys": ids,
                "maxResults": BULKFETCH_MAX_HISTORIES,
            }
            if token is not None:
                body["nextPageToken"] = token
            page = expect_object(
                self._transport.request("POST", "/rest/api/3/changelog/bulkfetch", body=body),
                "bulkfetch",
            )
            logs = page.get("issueChangeLogs")
            if not isinstance(logs, list):
                raise JiraMalformedResponse(
                    f"changelog/bulkfetch has no issueChangeLogs list ({kind(logs)})"
                )
            last_on_page: str | None = None
            for entry in logs:
                log = expect_object(entry, "a bulkfetch issueChangeLog")
                issue_id = log.get("issueId")
                changes = log.get("changeHistories")
                if not isinstance(issue_id, str) or not isinstance(changes, list):
                    raise JiraMalformedResponse(
                        "a bulkfetch issueChangeLog lacks issueId or changeHistories: "
                        + snippet(log)
                    )
                if issue_id not in wanted:
                    continue
                if issue_id in done:
                    raise JiraMalformedResponse(
                        f"changelog/bulkfetch sent more history of issue {issue_id} "
                        "after it had moved on to other issues"
                    )
                # One issue's histories may continue on the next page; the same
                # history never counts twice even if a page boundary repeats it.
                bucket = found.setdefault(issue_id, {})
                for history in changes:
                    bucket.setdefault(history_id_of(history, issue_id), history)
                last_on_page = issue_id
            next_token = page.get("nextPageToken")
            if next_token is None:
                complete = {i: list(b.values()) for i, b in found.items()}
                complete.update({i: [] for i in ids if i not in found and i not in done})
                yield complete
                return
            complete = {i: list(b.values()) for i, b in found.items() if i != last_on_page}
            for issue_id in complete:
                del found[issue_id]
            done.update(complete)
            if complete:
                yield complete
            if not isinstance(next_token, str) or not next_token or next_token in seen_tokens:
                raise JiraMalformedResponse(
                    f"changelog/bulkfetch gave an unusable nextPageToken ({kind(next_token)})"
                )
            seen_tokens.add(next_token)
            token = next_token

    def _issue_changelog_pages(self, issue_id: str) -> list[JsonObject]:
        histories: list[JsonObject] = []
        start = 0
        path = f"/rest/api/3/issue/{quote(issue_id, safe='')}/changelog"
        while True:
            page = expect_object(
                self._transport.request(
                    "GET", path, params={"startAt": start, "maxResults": CHANGELOG_PAGE}
                ),
                f"changelog of issue {issue_id}",
            )
            values = page.get("values")
            if not isinstance(values, list):
                raise JiraMalformedResponse(
                    f"the changelog page of issue {issue_id} has no values list ({kind(values)})"
                )
            histories.extend(values)
            start += len(values)
            total = page.get("total")
            if (
                not values
                or page.get("isLast") is True
                or (isinstance(total, int) and start >= total)
            ):
                return histories

    def issue_ids(self, jql: str) -> Iterator[list[tuple[str, str]]]:
        """(id, key) of every issue of ``jql``, up to 5,000 per search page."""
        for issues in self._search_pages(jql, ["key"], ID_PAGE):
            if issues:
                yield [(issue_id_of(issue), issue_key_of(issue)) for issue in issues]
