"""Worklogs, complete and incremental, read beside each client's issue sync.

The site's worklog feed (``/worklog/updated``) is read from the stored cursor in
a thread of its own while the issues are read, each page's worklogs fetched with
``/worklog/list`` and stored as they arrive; one feed read serves every client
(worklogs are site data). When the issues are stored, every issue of the client
whose stored worklogs do not add up to Jira's ``timespent`` (read with the issue)
is mended: first by the deletions feed (``/worklog/deleted``, only when something
is stored that Jira no longer counts), then by reading that issue's worklogs
(``/issue/{id}/worklog``). A worklog edited or deleted in Jira bumps its issue,
so the next incremental issue read sees the new ``timespent`` even when the feed
could not list the change yet (Jira holds back the last minute).

Cheapest read wins. When the issues are stored and the feed is still going (the
first sync on a big site with years of worklogs, mostly other projects'), the
time the client still misses (its issues' ``timespent`` less what is stored) is
set against the client's time the pages so far brought: if the feed would need
more requests to bring the rest than reading the client's incomplete issues one
by one, it stops and those issues are read per issue; the cursor then starts
from this sync, since every older worklog the client needs is in hand (another
client's issues are mended the same way at its own sync).

The cursor moves only after what it covers is committed, like the issue cursor:
a sync that fails keeps the old one, and storing is idempotent.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from scopeguard.adapters.jira.worklogs import LIST_MAX_IDS, Changes
from scopeguard.adapters.store.db import Database
from scopeguard.adapters.store.worklogs import (
    delete_worklogs,
    feed_cursor,
    logged_seconds,
    mismatched_issues,
    replace_issue_worklogs,
    save_feed_cursor,
    save_worklogs,
)
from scopeguard.config import ClientSettings, Settings
from scopeguard.domain.clock import Clock, utcnow
from scopeguard.domain.effort import WorklogRecord

log = logging.getLogger(__name__)

HELD_BACK_MS = 60_000
"""Jira's feed leaves out the last minute's changes: a cursor set from the clock is
set this much earlier."""


class WorklogReading(Protocol):
    """What the worklog sync needs from Jira
    (:class:`scopeguard.adapters.jira.worklogs.WorklogReader` has it)."""

    def changes(self, kind: str, since: int) -> Changes: ...

    def all_changes(self, kind: str, since: int) -> Iterator[Changes]: ...

    def worklogs(self, ids: Sequence[int]) -> list[WorklogRecord]: ...

    def issue_worklogs(self, issue_id: str) -> list[WorklogRecord]: ...


@dataclass
class WorklogReport:
    """What the worklog part of one client's sync did."""

    read: int = 0
    """Worklogs read from Jira (the feed's and the per-issue reads')."""
    deleted: int = 0
    per_issue: int = 0
    """Issues whose worklogs were read one by one."""
    feed_pages: int = 0
    feed: str = "none"
    """``complete``: the feed was read to its end; ``stopped``: per issue was cheaper;
    ``shared``: another client's sync in the same round read it; ``none``."""
    changed: bool = False
    """Something the client's figures read changed (worklogs stored or deleted)."""


def _ms(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp() * 1000)


class WorklogSync:
    """Keeps the stored worklogs of the site complete, one client's sync at a time."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        reader: Callable[[], WorklogReading],
        *,
        clock: Clock = utcnow,
    ) -> None:
        self.settings = settings
        self.database = database
        self._reader = reader
        self.clock = clock
        self._round: dict[str, bool] | None = None
        """In a round: whether the feed was read, and whether it stored anything."""

    @contextmanager
    def round(self) -> Iterator[None]:
        """Syncs of several clients in a row (``sync_all``): the feed is read once for all."""
        self._round = {"read": False, "stored": False}
        try:
            yield
        finally:
            self._round = None

    def start(self, client: ClientSettings, started: datetime, *, full: bool) -> WorklogRun:
        """Begin reading the feed (in a thread) beside ``client``'s issue read."""
        with self.database.session() as session:
            cursor = feed_cursor(session)
        shared = self._round is not None and self._round["read"]
        run = WorklogRun(self, client, started, cursor, read_feed=not shared, full=full)
        if self._round is not None:
            self._round["read"] = True
            # Worklogs the round's feed stored may be this client's: its figures follow.
            run.report.changed = shared and self._round["stored"]
        return run

    def _stored_in_round(self) -> None:
        if self._round is not None:
            self._round["stored"] = True


class WorklogRun:
    """The worklog part of one client's sync: :meth:`finish` after the issues are stored,
    :meth:`close` in every case (it stops the feed thread)."""

    def __init__(
        self,
        sync: WorklogSync,
        client: ClientSettings,
        started: datetime,
        cursor: int | None,
        *,
        read_feed: bool,
        full: bool,
    ) -> None:
        self._sync = sync
        self._client = client
        self._started = started
        self._cursor = cursor
        self._full = full
        self._reader = sync._reader()
        self.report = WorklogReport(feed="none" if read_feed else "shared")
        self._stop = threading.Event()
        self._done = False
        self._error: BaseException | None = None
        self._stored_until: int | None = None
        self._first_page = threading.Event()
        """Set once the first page is stored (or the feed ended): the pace is known."""
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        if read_feed:
            self._thread = threading.Thread(
                target=self._feed, name=f"worklogs-{client.key}", daemon=True
            )
            self._thread.start()

    # -- the feed, in its thread ------------------------------------------------------

    def _feed(self) -> None:
        since = self._cursor or 0
        # The worklogs of one page are fetched and stored while the next page is asked for.
        pool = ThreadPoolExecutor(1, thread_name_prefix="worklogs-list")
        pending: Future[None] | None = None
        try:
            while not self._stop.is_set():
                page = self._reader.changes("updated", since)
                with self._lock:
                    self.report.feed_pages += 1
                if pending is not None:
                    pending.result()
                pending = pool.submit(self._list_and_store, page.ids, page.until)
                if page.last:
                    pending.result()
                    pending = None
                    self._done = True
                    return
                since = page.until
            if pending is not None:
                pending.result()
        except BaseException as exc:  # carried to finish(), on the sync's thread
            self._error = exc
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            self._first_page.set()

    def _list_and_store(self, ids: list[int], until: int) -> None:
        for start in range(0, len(ids), LIST_MAX_IDS):
            if self._stop.is_set():
                return
            fetched = self._reader.worklogs(ids[start : start + LIST_MAX_IDS])
            self._store(fetched)
        with self._lock:
            self._stored_until = until
        self._first_page.set()

    def _store(self, fetched: Sequence[WorklogRecord]) -> None:
        if not fetched:
            return
        with self._sync.database.session() as session:
            save_worklogs(session, fetched, self._sync.clock())
        self._sync._stored_in_round()
        with self._lock:
            self.report.read += len(fetched)
            self.report.changed = True

    # -- after the issues are stored --------------------------------------------------

    def _remaining_requests(self, jira_seconds: int, stored_seconds: int) -> float:
        """The feed requests still needed for this client's missing time, at the rate the
        pages so far brought it (``inf`` when they brought none of it)."""
        missing = max(0, jira_seconds - stored_seconds)
        if missing == 0:
            return 0.0
        with self._lock:
            pages = self.report.feed_pages
        if stored_seconds <= 0 or pages == 0:
            return math.inf
        # Each page of ids costs its request and one /worklog/list.
        return 2 * pages * missing / stored_seconds

    def finish(self) -> WorklogReport:
        """Complete the client's worklogs and move the cursor; raises what the feed raised."""
        database = self._sync.database
        client = self._client
        new_cursor: int | None = None
        if self._thread is not None:
            # Decide on the pace of at least one page, never on a race with the first.
            self._first_page.wait()
            if self._thread.is_alive():
                with database.session() as session:
                    incomplete = len(mismatched_issues(session, client.key))
                    jira_seconds, stored_seconds = logged_seconds(session, client.key)
                remaining = self._remaining_requests(jira_seconds, stored_seconds)
                if incomplete and remaining > incomplete:
                    log.info(
                        "worklogs of %s: %d issues read one by one instead of ~%.0f more feed "
                        "requests",
                        client.key,
                        incomplete,
                        remaining,
                    )
                    self._stop.set()
            self._thread.join()
            if self._error is not None:
                raise self._error
            if self._done:
                self.report.feed = "complete"
                new_cursor = self._stored_until
            else:
                self.report.feed = "stopped"
                # Every older worklog this client needs is read per issue below.
                new_cursor = _ms(self._started) - HELD_BACK_MS
        self._mend()
        with database.session() as session:
            if new_cursor is not None:
                save_feed_cursor(session, new_cursor, self._sync.clock())
        return self.report

    def _mend(self) -> None:
        """Make the client's stored worklogs add up to Jira's ``timespent`` on every issue."""
        database = self._sync.database
        client = self._client
        with database.session() as session:
            mismatches = mismatched_issues(session, client.key)
        if any(m.stored_seconds > m.jira_seconds for m in mismatches) and self._cursor is not None:
            deleted = [
                str(wid)
                for page in self._reader.all_changes("deleted", self._cursor)
                for wid in page.ids
            ]
            if deleted:
                with database.session() as session:
                    gone = delete_worklogs(session, deleted)
                self.report.deleted += gone
                self.report.changed = self.report.changed or gone > 0
                with database.session() as session:
                    mismatches = mismatched_issues(session, client.key)
        if not mismatches:
            return
        workers = max(1, self._sync.settings.sync.concurrency)
        ids = [m.issue_id for m in mismatches]
        with ThreadPoolExecutor(workers, thread_name_prefix="worklogs-issue") as pool:
            for issue_id, fetched in zip(
                ids, pool.map(self._reader.issue_worklogs, ids), strict=True
            ):
                with database.session() as session:
                    replace_issue_worklogs(session, issue_id, fetched, self._sync.clock())
                self.report.read += len(fetched)
                self.report.per_issue += 1
                self.report.changed = True

    def close(self) -> None:
        """Stop the feed thread (when the sync ends early) and wait for it."""
        self._stop.set()
        if self._thread is not None:
            deadline = time.monotonic() + 60
            self._thread.join(timeout=max(0.0, deadline - time.monotonic()))
