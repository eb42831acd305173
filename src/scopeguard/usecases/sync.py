"""Complete and incremental sync of each client's issues into storage.

The cursor rule that keeps data safe: a client's cursor is the start time of
its last *successful* sync and moves only after everything that sync read has
been committed. Batches are committed as they arrive, so a failure halfway
keeps what was stored; the next run reads again from the old cursor, and
because storing is idempotent nothing is duplicated.

Reading runs ahead of storing: while one batch is parsed and committed here,
the Jira adapter has the next pages in flight (``sync.concurrency`` requests at
once, bounded, see :meth:`JiraSource.iter_issues`). Batches are committed in the
order they arrive; the cursor rule is unchanged, since it moves only at the end.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from contextlib import closing, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol, TypeVar
from zoneinfo import ZoneInfo

from scopeguard.adapters.jira.decoding import JsonObject
from scopeguard.adapters.jira.errors import JiraError, JiraMalformedResponse
from scopeguard.adapters.jira.parse import ISSUE_FIELDS, FetchedIssue
from scopeguard.adapters.store.db import Database
from scopeguard.adapters.store.errors import STORAGE_ERRORS, describe_storage_error
from scopeguard.adapters.store.models import SyncRunRow
from scopeguard.adapters.store.repository import (
    StoredIssue,
    mark_removed,
    save_issues,
    save_statuses,
    stored_issue,
    sync_state,
)
from scopeguard.config import ClientSettings, Settings
from scopeguard.domain.clock import Clock, utcnow
from scopeguard.domain.model import Issue, Status
from scopeguard.usecases.collector import fewer_collections
from scopeguard.usecases.directory import refresh_directory
from scopeguard.usecases.worklog_sync import WorklogReading, WorklogRun, WorklogSync

log = logging.getLogger(__name__)
T = TypeVar("T")


class JiraSource(Protocol):
    """What the sync needs from Jira (:class:`scopeguard.adapters.jira.JiraClient` has it)."""

    @property
    def requests_made(self) -> int: ...

    def statuses(self, *, refresh: bool = False) -> dict[str, Status]: ...

    def story_points_field_id(self) -> str | None: ...

    def refresh_metadata(self, *, user_zone: bool = True) -> None:
        """Read whatever site metadata is missing or stale, all at once."""

    def iter_issues(
        self,
        jql: str,
        *,
        fields: Iterable[str],
        statuses: Mapping[str, Status],
        story_points_field: str | None,
        prepare: Callable[[FetchedIssue], T],
        batch_size: int = 1000,
        concurrency: int = 1,
        full: bool = False,
        unknown_statuses: set[str] | None = None,
    ) -> Generator[list[T], None, None]:
        """Parsed issues with complete histories, read ahead by ``concurrency`` workers
        and passed through ``prepare`` in them."""

    def user_timezone(self) -> ZoneInfo: ...

    def jql_datetime(self, moment: datetime) -> str: ...

    def iter_issue_batches(
        self, jql: str, *, fields: Iterable[str], batch_size: int = 1000
    ) -> Iterable[list[JsonObject]]: ...

    def iter_issue_ids(self, jql: str) -> Iterable[list[tuple[str, str]]]: ...

    def worklog_reader(self) -> WorklogReading:
        """Worklogs of the site (:mod:`scopeguard.usecases.worklog_sync`)."""

    def group_members(self, group: str) -> list[str] | None:
        """Account ids of a Jira group's members (``None``: no such group)."""

    def accounts_by_email(self, email: str) -> list[str]:
        """Account ids whose email Jira shows as ``email``."""


class SyncError(Exception):
    """A client's sync failed; what was committed before the failure stays."""

    def __init__(self, client_key: str, cause: Exception) -> None:
        self.client_key = client_key
        self.cause = cause
        super().__init__(f"sync of {client_key} failed: {cause}")


@dataclass
class SyncReport:
    """What one client's sync did."""

    client_key: str
    full: bool
    issues: int = 0
    histories: int = 0
    removed: list[str] = field(default_factory=list)
    requests: int = 0
    seconds: float = 0.0
    """Wall time of the whole sync, the listener's work (facts, snapshot, alerts) included."""
    facts_seconds: float = 0.0
    """Of :attr:`seconds`, the listener's work on each stored batch (metric facts)."""
    after_seconds: float = 0.0
    """Of :attr:`seconds`, the listener's work once the sync is done (snapshot, alerts)."""
    changed_issue_pks: list[int] = field(default_factory=list)
    removed_pks: list[int] = field(default_factory=list)
    reconciled: bool = False
    worklogs: int = 0
    """Worklogs read from Jira (the feed's share and the per-issue reads)."""
    worklogs_changed: bool = False
    """Stored worklogs changed: the client's effort figures must be recomputed."""

    def line(self) -> str:
        """One line of progress for the CLI."""
        kind = "full" if self.full else "incremental"
        removed = f", {len(self.removed)} removed" if self.removed else ""
        return (
            f"{self.client_key}: {self.issues} issues, {self.histories} histories{removed}, "
            f"{self.worklogs} worklogs, "
            f"{self.requests} Jira requests, {self.seconds:.1f}s ({kind}), of which "
            f"{self.facts_seconds:.1f}s metric facts, {self.after_seconds:.1f}s snapshot "
            "and alerts"
        )


def _for_storage(fetched: FetchedIssue) -> StoredIssue:
    # Runs in the reading threads: see stored_issue.
    return stored_issue(
        fetched.issue,
        fetched.issue.description,
        fetched.histories_total,
        fetched.time_spent_seconds,
    )


class SyncListener(Protocol):
    """Told what a sync stored, so derived data (the metrics) can follow."""

    def issues_stored(self, client: ClientSettings, stored: Sequence[tuple[int, Issue]]) -> None:
        """A batch was committed: its issues' primary keys with the parsed issues."""

    def sync_finished(self, client: ClientSettings, report: SyncReport) -> None:
        """The sync succeeded and its cursor has moved."""


_ORDER_BY = re.compile(r"\border\s+by\b.*$", re.IGNORECASE | re.DOTALL)


class SyncService:
    """Brings stored issues of each configured client up to date with Jira."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        jira: JiraSource,
        *,
        clock: Clock = utcnow,
        listener: SyncListener | None = None,
    ) -> None:
        self.settings = settings
        self.database = database
        self.jira = jira
        self.clock = clock
        self.listener = listener
        self.worklogs: WorklogSync | None = (
            WorklogSync(settings, database, jira.worklog_reader, clock=clock)
            if settings.sync.worklogs
            else None
        )

    def sync_all(self, *, full: bool = False) -> list[SyncReport | SyncError]:
        """Sync every client; one client's failure does not stop the others."""
        results: list[SyncReport | SyncError] = []
        # The worklog feed is the site's: read once for every client of the round.
        with self.worklogs.round() if self.worklogs is not None else nullcontext():
            for client in self.settings.clients:
                try:
                    results.append(self.sync_client(client, full=full))
                except SyncError as error:
                    results.append(error)
                except STORAGE_ERRORS as exc:  # before the run could even be recorded
                    log.exception("sync of %s failed on storage", client.key)
                    results.append(SyncError(client.key, RuntimeError(describe_storage_error(exc))))
        return results

    def sync_client(self, client: ClientSettings, *, full: bool = False) -> SyncReport:
        """Sync one client. Raises :class:`SyncError` after recording the failure."""
        started = self.clock()
        t0 = time.perf_counter()
        requests_before = self.jira.requests_made
        with self.database.session() as session:
            state = sync_state(session, client.key)
            cursor = state.cursor
            last_reconcile = state.last_reconcile
            state.last_attempt = started
        full = full or cursor is None
        report = SyncReport(client_key=client.key, full=full)
        try:
            with fewer_collections():
                self._sync(client, report, started, cursor, last_reconcile)
        except STORAGE_ERRORS as exc:
            # A full disk or a read-only database: record the failed run (best effort,
            # the same storage may refuse that too) and let the next client go on.
            report.requests = self.jira.requests_made - requests_before
            message = describe_storage_error(exc)
            try:
                self._record(report, started, error=message)
            except STORAGE_ERRORS:
                log.exception("could not record the failed sync of %s", client.key)
            raise SyncError(client.key, RuntimeError(message)) from exc
        except (JiraError, ValueError, KeyError, TypeError) as exc:
            if not isinstance(exc, JiraError):
                # A page we could not make sense of: never skip it silently.
                exc = JiraMalformedResponse(f"unexpected data from Jira: {exc!r}")
            report.requests = self.jira.requests_made - requests_before
            self._record(report, started, error=str(exc))
            raise SyncError(client.key, exc) from exc
        report.requests = self.jira.requests_made - requests_before
        self._record(report, started, error=None)
        if self.listener is not None:
            t1 = time.perf_counter()
            self.listener.sync_finished(client, report)
            report.after_seconds = time.perf_counter() - t1
        report.seconds = time.perf_counter() - t0
        return report

    def _sync(
        self,
        client: ClientSettings,
        report: SyncReport,
        started: datetime,
        cursor: datetime | None,
        last_reconcile: datetime | None,
    ) -> None:
        # From the cache unless stale; a full sync also learns the user's zone, so the
        # incremental ones after it cost their search request alone.
        self.jira.refresh_metadata(user_zone=True)
        # The groups and emails the people lists name, as stale as the other metadata.
        refresh_directory(self.settings, self.database, self.jira, started)
        statuses = self.jira.statuses()
        points_field = self.jira.story_points_field_id()
        with self.database.session() as session:
            save_statuses(session, statuses.values())
            sync_state(session, client.key).story_points_field = points_field

        base_jql = _ORDER_BY.sub("", client.jql).strip()
        if report.full or cursor is None:
            jql = base_jql
        else:
            since = cursor - timedelta(minutes=self.settings.sync.overlap_minutes)
            jql = f"({base_jql}) AND updated >= {self.jira.jql_datetime(since)}"
        jql += " ORDER BY key ASC"

        fields = list(ISSUE_FIELDS)
        if points_field:
            fields.append(points_field)
        size = self.settings.sync.batch_issues
        seen_ids: set[str] = set()
        unknown: set[str] = set()
        groups = self.jira.iter_issues(
            jql,
            fields=fields,
            statuses=statuses,
            story_points_field=points_field,
            batch_size=size,
            concurrency=self.settings.sync.concurrency,
            full=report.full,
            unknown_statuses=unknown,
            prepare=_for_storage,
        )
        # The worklog feed is read beside the issues (its own thread, the same transport).
        worklogs: WorklogRun | None = (
            self.worklogs.start(client, started, full=report.full) if self.worklogs else None
        )
        try:
            # Closed on the way out, also on an error here: that stops the reading threads.
            with closing(groups):
                self._store_all(client, report, groups, started, seen_ids)
            if worklogs is not None:
                done = worklogs.finish()
                report.worklogs = done.read
                report.worklogs_changed = done.changed
        finally:
            if worklogs is not None:
                worklogs.close()
        if unknown:
            # A status created since the statuses were read: read them again, so the
            # facts (whose fingerprint includes the statuses) are recomputed with it.
            with self.database.session() as session:
                save_statuses(session, self.jira.statuses(refresh=True).values())

        reconcile_due = last_reconcile is None or started - last_reconcile >= timedelta(
            hours=self.settings.sync.reconcile_hours
        )
        if report.full:
            # A full read has just listed every issue in scope: no extra requests.
            present = seen_ids
        elif reconcile_due:
            present = {
                issue_id for page in self.jira.iter_issue_ids(base_jql) for issue_id, _ in page
            }
        else:
            present = None
        if present is not None:
            with self.database.session() as session:
                removed = mark_removed(session, client.key, present, started)
            report.removed = [key for _, key in removed]
            report.removed_pks = [pk for pk, _ in removed]
            report.reconciled = True

    def _store_all(
        self,
        client: ClientSettings,
        report: SyncReport,
        groups: Iterable[list[StoredIssue]],
        started: datetime,
        seen_ids: set[str],
    ) -> None:
        """Commit what is read in transactions of ``sync.batch_issues`` issues."""
        size = self.settings.sync.batch_issues
        pending: list[StoredIssue] = []
        for group in groups:
            for item in group:
                if item.issue.id in seen_ids:
                    # Listed twice (it moved between pages while they were read):
                    # the first read is kept; the next sync reads it again anyway.
                    continue
                seen_ids.add(item.issue.id)
                pending.append(item)
            while len(pending) >= size:
                self._store(client, report, pending[:size], started)
                del pending[:size]
        if pending:
            self._store(client, report, pending, started)

    def _store(
        self,
        client: ClientSettings,
        report: SyncReport,
        batch: list[StoredIssue],
        started: datetime,
    ) -> None:
        """Commit one batch, then tell the listener (timed: it is not the sync's own work)."""
        with self.database.session() as session:
            pks = save_issues(session, client.key, batch, started)
        report.issues += len(batch)
        report.histories += sum(item.histories_total for item in batch)
        report.changed_issue_pks.extend(pks)
        if self.listener is not None:
            t0 = time.perf_counter()
            self.listener.issues_stored(
                client, list(zip(pks, (item.issue for item in batch), strict=True))
            )
            report.facts_seconds += time.perf_counter() - t0

    def _record(self, report: SyncReport, started: datetime, *, error: str | None) -> None:
        finished = self.clock()
        with self.database.session() as session:
            state = sync_state(session, report.client_key)
            if error is None:
                # Only now, with every batch committed, may the cursor move.
                state.cursor = started
                state.last_success = finished
                state.last_error = None
                if report.reconciled:
                    state.last_reconcile = started
            else:
                state.last_error = error
            session.add(
                SyncRunRow(
                    client_key=report.client_key,
                    started=started,
                    finished=finished,
                    full=report.full,
                    ok=error is None,
                    issues=report.issues,
                    histories=report.histories,
                    removed=len(report.removed),
                    requests=report.requests,
                    error=error,
                )
            )
