"""Jira Cloud: issues by ``/search/jql`` pages, complete histories by changelog bulkfetch.

``GET /rest/api/3/search/jql`` pages (``nextPageToken``) are read without any
changelog and collected up to ``batch_size`` issues, then
``POST /rest/api/3/changelog/bulkfetch`` reads the whole batch's histories
(10,000 per page). ``expand=changelog`` is never used on Cloud: it returns only
the newest 20–40 histories. If bulkfetch does not exist on the site (404/405),
the reader falls back to ``GET /rest/api/3/issue/{id}/changelog`` per issue.

A page token chain is sequential by nature, so a full read with several workers
is split into ranges of the issues' ``created`` time, each paged by its own token
and bulkfetched on its own (:meth:`CloudReader.streams`). ``created`` never
changes, so an issue updated while the sync runs stays in its range; adjacent
ranges share their boundary text (``created < "X"`` and ``created >= "X"``), so
however Jira reads that local time (a DST fold), no issue falls between them.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from functools import partial
from itertools import pairwise
from typing import NamedTuple, TypeVar
from urllib.parse import quote

from scopeguard.adapters.jira import wire
from scopeguard.adapters.jira.decoding import JsonObject, rebatch
from scopeguard.adapters.jira.errors import JiraMalformedResponse, JiraRequestError
from scopeguard.adapters.jira.parse import reading_fields
from scopeguard.adapters.jira.pipeline import AHEAD, Stream, chain, run_streams
from scopeguard.adapters.jira.transport import JiraTransport
from scopeguard.adapters.jira.wire import History, SearchIssue, WireIssue, search_issue_id
from scopeguard.domain.timeparse import parse_jira_datetime

LOG = logging.getLogger(__name__)

T = TypeVar("T")

SEARCH_PAGE = 100
"""Issues per ``/search/jql`` page when fields are requested (Cloud's documented maximum)."""
ID_PAGE = 5000
"""Issues per ``/search/jql`` page when only id and key are requested."""
BULKFETCH_MAX_ISSUES = 1000
BULKFETCH_MAX_HISTORIES = 10000
BULKFETCH_PAGES_HELD = 1
"""Bulkfetch pages the readers of a split read hold at once (see :meth:`CloudReader.streams`)."""
CHANGELOG_PAGE = 100
"""``/issue/{id}/changelog`` page size (its maximum)."""
_BULKFETCH_PATH = "/rest/api/3/changelog/bulkfetch"
_BULKFETCH = f"POST {_BULKFETCH_PATH}"
_ORDER_BY = re.compile(r"\border\s+by\b.*$", re.IGNORECASE | re.DOTALL)


def split_order(jql: str) -> tuple[str, str]:
    """``jql`` without its ``ORDER BY`` clause, and that clause (``ORDER BY key ASC`` if none)."""
    match = _ORDER_BY.search(jql)
    if match is None:
        return jql.strip(), "ORDER BY key ASC"
    return jql[: match.start()].strip(), match.group(0).strip()


def _wire(issue: SearchIssue, histories: list[History]) -> WireIssue:
    if not issue.key:
        raise JiraMalformedResponse(f"issue {issue.id!r} has no key")
    return WireIssue(search_issue_id(issue), issue.key, issue.fields, histories)


def _slim(issues: list[SearchIssue]) -> list[SearchIssue]:
    # The batch's search results wait for its bulkfetch pages: at their read size.
    return [
        SearchIssue(issue.id, issue.key, reading_fields(issue.fields), issue.changelog)
        for issue in issues
    ]


class _Answer(NamedTuple):
    """A bulkfetch answer of :meth:`CloudReader._read_ahead`, with the batch it is for."""

    batch: list[SearchIssue]
    ids: list[str]
    answer: bytes | None
    token: str | None
    """The next page's token as the reader found it (``None``: the batch's last answer)."""


def _follow_bulkfetch(token: str | None, seen_tokens: set[str]) -> str | None:
    """The next page's token (``None`` after the last page), checked to move on."""
    if token is None:
        return None
    if not token or token in seen_tokens:
        raise JiraMalformedResponse(
            f"changelog/bulkfetch gave an unusable nextPageToken ({token!r})"
        )
    seen_tokens.add(token)
    return token


def _decoded_pages(first: _Answer, rest: Iterator[_Answer]) -> Iterator[wire.BulkfetchPage]:
    """The bulkfetch pages of ``first``'s batch, taken from ``rest`` up to its last one,
    decoded one at a time (each answer freed before the next is decoded)."""
    item: _Answer | None = first
    del first
    while item is not None:
        assert item.answer is not None  # a batch read per issue has one answer, alone
        page = wire.decode_as(item.answer, wire.BulkfetchPage, _BULKFETCH)
        if page.nextPageToken != item.token:
            # The reader found the token in the bytes alone (wire.bulkfetch_next_token)
            # and has already followed it: a page that says otherwise must not pass.
            raise JiraMalformedResponse(
                "changelog/bulkfetch: the page's nextPageToken could not be read reliably"
            )
        last = item.token is None
        del item
        yield page
        del page
        item = None if last else next(rest, None)


class CloudReader:
    """Reads a Cloud site's issues with their complete histories."""

    def __init__(self, transport: JiraTransport) -> None:
        self._transport = transport
        self._bulkfetch_available = True

    def _search_pages(
        self,
        jql: str,
        fields: list[str],
        page_size: int,
        *,
        ahead: bool = False,
        buffer: int = AHEAD,
    ) -> Iterator[list[SearchIssue]]:
        path = "/rest/api/3/search/jql"
        seen_tokens: set[str] = set()

        def fetch(token: str) -> bytes:
            params: JsonObject = {"jql": jql, "maxResults": page_size, "fields": ",".join(fields)}
            if token:
                params["nextPageToken"] = token
            return self._transport.request_bytes("GET", path, params=params)

        def follow(page: wire.CloudSearchPage | wire.CloudSearchNext) -> str | None:
            token = page.nextPageToken
            if token is None or page.isLast is True:
                return None
            if not token:
                raise JiraMalformedResponse("search/jql gave an empty nextPageToken")
            if token in seen_tokens:
                # Following it again would loop for ever re-reading the same pages.
                raise JiraMalformedResponse("search/jql repeated a nextPageToken")
            seen_tokens.add(token)
            return token

        what = f"GET {path}"
        pages = chain(
            "",
            fetch,
            lambda answer: wire.decode_as(answer, wire.CloudSearchPage, what),
            follow,
            glance=lambda answer: follow(wire.decode_as(answer, wire.CloudSearchNext, what)),
            ahead=ahead,
            buffer=buffer,
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
        pages_held: threading.Semaphore | None = None,
    ) -> Iterator[list[T]]:
        """Issues of ``jql`` with complete histories, in groups of at most ``batch_size``,
        each group passed through ``convert`` (parsing, say) before it is handed over.

        With ``ahead``, each next page is requested before this one is handed over;
        ``pages_held`` bounds the bulkfetch pages that several readers hold at once.
        """
        # Batching across search pages is what keeps bulkfetch calls (and the
        # request count) low: one bulkfetch serves up to 1,000 issues. Reading ahead,
        # the next batch's search pages are fetched while this batch's bulkfetch
        # pages are (ten search pages are ~3 MB; one bulkfetch page is ~8 MB).
        batches = rebatch(
            map(
                _slim,
                self._search_pages(
                    jql, fields, SEARCH_PAGE, ahead=ahead, buffer=-(-batch_size // SEARCH_PAGE)
                ),
            ),
            batch_size,
        )
        if ahead:
            # One reader alone (a split read's readers do not read ahead): nothing to share.
            assert pages_held is None, "a reader that reads ahead holds its own pages"
            yield from self._read_ahead(batches, convert=convert)
            return
        for batch in batches:
            yield from self._with_changelogs(batch, convert=convert, pages_held=pages_held)

    def _read_ahead(
        self,
        batches: Iterator[list[SearchIssue]],
        *,
        convert: Callable[[list[WireIssue]], list[T]],
    ) -> Iterator[list[T]]:
        """One reader's batches with their histories; a thread of its own makes the
        bulkfetch requests of every batch, one after another.

        A bulkfetch chain per batch, started when the caller reached the batch, left
        the one request allowed in flight idle while the batch's last page was
        parsed: ~0.1 s a batch, 3 s of a one-worker sync of 20,000 issues. Here the
        next batch's first request goes out as soon as this batch's last answer is
        in, at most ``AHEAD`` answers before the caller.
        """

        def answers() -> Iterator[_Answer]:
            # In the reading thread. An answer of `None`: read this batch per issue.
            for batch in batches:
                ids = list(dict.fromkeys(search_issue_id(issue) for issue in batch))
                # Decided once a batch: another reader of this site turning bulkfetch
                # off must not cut a batch short between two of its pages.
                token: str | None = "" if self._bulkfetch_available else None
                seen_tokens: set[str] = set()
                answered = False
                while token is not None:
                    try:
                        answer = self._bulkfetch_request(ids, token)
                    except JiraRequestError as exc:
                        if answered or exc.status not in (404, 405):
                            raise
                        self._bulkfetch_missing(exc.status)
                        break
                    found = wire.bulkfetch_next_token(answer, _BULKFETCH)
                    token = _follow_bulkfetch(found, seen_tokens)
                    yield _Answer(batch, ids, answer, found)
                    answered = True
                    del answer
                if not answered:
                    yield _Answer(batch, ids, None, None)

        items = run_streams([answers], workers=1, buffer=AHEAD)
        try:
            for first in items:
                by_id = {search_issue_id(issue): issue for issue in first.batch}
                if first.answer is None:
                    yield self._per_issue(by_id, convert)
                    continue
                ids = first.ids
                pages = _decoded_pages(first, items)
                del first  # its page lives in `pages` alone, decoded and dropped in turn
                yield from self._converted(by_id, self._completed(ids, pages), convert)
        finally:
            items.close()

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
        """Readers that together return every issue of ``jql`` once (see the module docs).

        With ``split`` > 1, two one-issue probes (run at once) find the oldest and
        newest ``created``; the span between is cut into ``split`` ranges.
        """
        whole: Stream[list[T]] = partial(
            self.read, jql, fields, batch_size, convert=convert, ahead=ahead
        )
        if split <= 1:
            return [whole]
        base, order = split_order(jql)
        with ThreadPoolExecutor(2, thread_name_prefix="jira-probe") as pool:
            oldest, newest = pool.map(
                lambda direction: self._created_probe(base, direction), ("ASC", "DESC")
            )
        if oldest is None or newest is None or newest - oldest < timedelta(minutes=split):
            return [whole]
        step = (newest - oldest) / split
        marks: list[str] = []
        for index in range(1, split):
            text = jql_datetime(oldest + step * index)
            if not marks or text != marks[-1]:
                marks.append(text)
        conditions = [f"created < {marks[0]}"]
        conditions += [f"created >= {a} AND created < {b}" for a, b in pairwise(marks)]
        conditions.append(f"created >= {marks[-1]}")
        # A bulkfetch page is ~20 MB from its answer until it is parsed, and parsing
        # holds the GIL: a second one at once bought ~10 % of wall time for ~25 MB of
        # peak memory (20,000 x 30), the other workers' search pages meanwhile.
        pages_held = threading.BoundedSemaphore(BULKFETCH_PAGES_HELD)
        return [
            partial(
                self.read,
                f"({base}) AND {condition} {order}",
                fields,
                batch_size,
                convert=convert,
                ahead=ahead,
                pages_held=pages_held,
            )
            for condition in conditions
        ]

    def _created_probe(self, base: str, direction: str) -> datetime | None:
        page = self._transport.request_as(
            wire.CloudSearchPage,
            "GET",
            "/rest/api/3/search/jql",
            params={
                "jql": f"({base}) ORDER BY created {direction}",
                "maxResults": 1,
                "fields": "created",
            },
        )
        if not page.issues:
            return None
        created = page.issues[0].fields.get("created")
        if not isinstance(created, str):
            raise JiraMalformedResponse(f"search/jql gave an issue without created: {created!r}")
        return parse_jira_datetime(created)

    def _with_changelogs(
        self,
        issues: list[SearchIssue],
        *,
        convert: Callable[[list[WireIssue]], list[T]],
        pages_held: threading.Semaphore | None = None,
    ) -> Iterator[list[T]]:
        """The issues with their complete histories, converted, in groups as bulkfetch
        pages complete them (see :meth:`_converted`); each page requested when the one
        before is read (a reader that reads ahead uses :meth:`_read_ahead`)."""
        by_id = {search_issue_id(issue): issue for issue in issues}
        if self._bulkfetch_available:
            yielded = False
            completes = self._bulkfetch(list(by_id))
            try:
                for ready in self._converted(by_id, completes, convert, pages_held=pages_held):
                    yielded = True
                    yield ready
                return
            except JiraRequestError as exc:
                if exc.status not in (404, 405) or yielded:
                    raise
                self._bulkfetch_missing(exc.status)
            finally:
                completes.close()
        yield self._per_issue(by_id, convert)

    @staticmethod
    def _converted(
        by_id: dict[str, SearchIssue],
        completes: Iterator[dict[str, list[History]]],
        convert: Callable[[list[WireIssue]], list[T]],
        *,
        pages_held: threading.Semaphore | None = None,
    ) -> Iterator[list[T]]:
        """The issues of each bulkfetch page's completed histories, converted.

        Yielding per page rather than per batch keeps memory to one page of
        histories (10,000) instead of the batch's (30,000 for 1,000 issues with 30
        histories each) without costing a single extra request. A bulkfetch page
        counts against ``pages_held`` from its request until its issues are
        converted: then only the (much smaller) result is left of it. Each issue
        is taken out of ``by_id`` as it is completed.
        """
        while True:
            if pages_held is not None:
                pages_held.acquire()
            try:
                complete = next(completes, None)
                if complete is None:
                    return
                group = [
                    _wire(by_id.pop(issue_id), histories)
                    for issue_id, histories in complete.items()
                ]
                complete.clear()  # the histories now live in `group` alone
                ready = convert(group) if group else []
                del group
            finally:
                if pages_held is not None:
                    pages_held.release()
            if ready:
                yield ready

    def _per_issue(
        self, by_id: dict[str, SearchIssue], convert: Callable[[list[WireIssue]], list[T]]
    ) -> list[T]:
        """The issues converted with histories read per issue (a site without bulkfetch)."""
        return convert([_wire(issue, self._issue_changelog_pages(i)) for i, issue in by_id.items()])

    def _bulkfetch_missing(self, status: int | None) -> None:
        # Sites (or proxies) without the bulk endpoint: remember, and read each
        # issue's changelog instead. Costs one request per issue.
        LOG.warning(
            "Jira has no changelog/bulkfetch (HTTP %s); reading changelogs per issue", status
        )
        self._bulkfetch_available = False

    def _bulkfetch_request(self, ids: list[str], token: str) -> bytes:
        # Jira rejects unknown body keys: send exactly these three.
        body: JsonObject = {"issueIdsOrKeys": ids, "maxResults": BULKFETCH_MAX_HISTORIES}
        if token:
            body["nextPageToken"] = token
        return self._transport.request_bytes("POST", _BULKFETCH_PATH, body=body)

    def _bulkfetch(self, ids: list[str]) -> Generator[dict[str, list[History]], None, None]:
        """Histories of ``ids`` per bulkfetch page (see :meth:`_completed`), each page
        requested when the one before is read."""
        seen_tokens: set[str] = set()
        pages = chain(
            "",
            partial(self._bulkfetch_request, ids),
            lambda answer: wire.decode_as(answer, wire.BulkfetchPage, _BULKFETCH),
            lambda page: _follow_bulkfetch(page.nextPageToken, seen_tokens),
            # Unused without `ahead`; should it ever read ahead, a token found in the
            # bytes alone would need the check of `_decoded_pages`: decode instead.
            glance=lambda answer: _follow_bulkfetch(
                wire.decode_as(answer, wire.BulkfetchNext, _BULKFETCH).nextPageToken,
                seen_tokens,
            ),
            ahead=False,
        )
        yield from self._completed(ids, pages)

    @staticmethod
    def _completed(
        ids: list[str], pages: Iterator[wire.BulkfetchPage]
    ) -> Generator[dict[str, list[History]], None, None]:
        """Histories of ``ids`` from their bulkfetch pages: each yield holds the issues
        a page completed.

        Jira orders the results by issue, so when a page ends every issue on it
        but the last is complete; the last may continue on the next page. Issues
        without any history come last, with an empty list.
        """
        wanted = set(ids)
        found: dict[str, dict[str, History]] = {}
        done: set[str] = set()

        for page in pages:
            last_on_page: str | None = None
            for log in page.issueChangeLogs:
                issue_id = log.issueId
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
                for history in log.changeHistories:
                    bucket.setdefault(wire.history_id(history), history)
                last_on_page = issue_id
            last_page = page.nextPageToken is None
            # What is needed of the page is in `found` now; the rest (the issues this
            # batch did not ask for) need not stay alive while the caller parses.
            del page
            if last_page:
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

    def _issue_changelog_pages(self, issue_id: str) -> list[History]:
        histories: list[History] = []
        start = 0
        path = f"/rest/api/3/issue/{quote(issue_id, safe='')}/changelog"
        while True:
            page = self._transport.request_as(
                wire.ChangelogPage,
                "GET",
                path,
                params={"startAt": start, "maxResults": CHANGELOG_PAGE},
            )
            histories.extend(page.values)
            start += len(page.values)
            total = page.total
            if not page.values or page.isLast is True or (total is not None and start >= total):
                return histories

    def issue_ids(self, jql: str) -> Iterator[list[tuple[str, str]]]:
        """(id, key) of every issue of ``jql``, up to 5,000 per search page."""
        for issues in self._search_pages(jql, ["key"], ID_PAGE):
            if issues:
                yield [(search_issue_id(issue), issue.key) for issue in issues]
