"""The Jira adapter's face: issues with complete histories, and site metadata, from one site.

:class:`JiraClient` is what the sync uses (it satisfies
:class:`scopeguard.usecases.sync.JiraSource`). It asks the site what it is
once, then reads with :class:`~scopeguard.adapters.jira.cloud.CloudReader` or
:class:`~scopeguard.adapters.jira.datacenter.DataCenterReader`; every request
of either goes through one :class:`~scopeguard.adapters.jira.transport.JiraTransport`.

Site metadata (statuses, the story points field, the user's time zone) changes
rarely, so it is kept for ``jira.metadata_ttl_minutes`` and read again after
that, when :meth:`JiraClient.invalidate_metadata` says so (a Jira webhook), or
when the sync meets a status id it does not know. A sync with nothing changed
then costs its one search request.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests

from scopeguard.adapters.jira import directory
from scopeguard.adapters.jira.cloud import BULKFETCH_MAX_ISSUES, CloudReader
from scopeguard.adapters.jira.comments import complete_comments
from scopeguard.adapters.jira.datacenter import DataCenterReader
from scopeguard.adapters.jira.decoding import (
    JsonObject,
    expect_object,
    field_order,
    kind,
    rebatch,
    snippet,
)
from scopeguard.adapters.jira.errors import JiraMalformedResponse
from scopeguard.adapters.jira.parse import FetchedIssue, parse_fetched
from scopeguard.adapters.jira.pipeline import run_streams
from scopeguard.adapters.jira.transport import DeploymentName, JiraTransport, SiteHold
from scopeguard.adapters.jira.wire import WireIssue
from scopeguard.adapters.jira.worklogs import WorklogReader
from scopeguard.config import JiraSettings
from scopeguard.domain.model import Status, StatusCategory

T = TypeVar("T")

_STORY_POINT_NAMES: dict[DeploymentName, tuple[str, ...]] = {
    # Company-managed Cloud projects created before 2020 and most Data Center
    # sites call it "Story Points"; newer Cloud sites "Story point estimate".
    "cloud": ("story point estimate", "story points"),
    "datacenter": ("story points", "story point estimate"),
}


class JiraClient:
    """Reads issues, complete histories and site metadata from one Jira site.

    ``sleep``, ``clock``, ``session``, ``rng`` and ``site_hold`` (the site's
    ``Retry-After`` shared between processes) are the transport's
    (:class:`~scopeguard.adapters.jira.transport.JiraTransport`).
    """

    def __init__(
        self,
        settings: JiraSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        session: requests.Session | None = None,
        rng: random.Random | None = None,
        site_hold: SiteHold | None = None,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._transport = JiraTransport(
            settings, sleep=sleep, clock=clock, session=session, rng=rng, site_hold=site_hold
        )
        self._ttl = settings.metadata_ttl_minutes * 60
        self._statuses: dict[str, Status] | None = None
        self._statuses_at = 0.0
        self._user_zone: ZoneInfo | None = None
        self._user_zone_at = 0.0
        self._points_field: str | None = None
        self._points_field_known = False
        self._points_field_at = 0.0
        self._cloud: CloudReader | None = None
        self._datacenter: DataCenterReader | None = None
        self._worklogs: WorklogReader | None = None
        self._comment_requests = 0
        self._comment_lock = threading.Lock()

    @property
    def requests_made(self) -> int:
        """HTTP requests sent so far, every retry and every failed attempt included."""
        return self._transport.requests_made

    @property
    def deployment(self) -> DeploymentName:
        """``cloud`` or ``datacenter``: from settings, else from ``serverInfo`` (asked once)."""
        return self._transport.deployment

    def close(self) -> None:
        """Release the HTTP connections (not those of a session passed in by the caller)."""
        self._transport.close()

    def __enter__(self) -> JiraClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def _reader(self) -> CloudReader | DataCenterReader:
        if self.deployment == "cloud":
            if self._cloud is None:
                self._cloud = CloudReader(self._transport)
            return self._cloud
        if self._datacenter is None:
            self._datacenter = DataCenterReader(self._transport)
        return self._datacenter

    def worklog_reader(self) -> WorklogReader:
        """Worklogs of this site (feeds, lists, per issue)."""
        if self._worklogs is None:
            self._worklogs = WorklogReader(self._transport)
        return self._worklogs

    @property
    def transport(self) -> JiraTransport:
        """The site's transport (``scopeguard doctor`` sends its probes through it)."""
        return self._transport

    def _fresh(self, fetched_at: float) -> bool:
        return self._clock() - fetched_at < self._ttl

    def invalidate_metadata(self) -> None:
        """Read statuses, fields and the user's zone again on next use (a webhook said
        something changed)."""
        self._statuses_at = self._points_field_at = self._user_zone_at = float("-inf")

    def refresh_metadata(self, *, user_zone: bool = True) -> None:
        """Read, all at once, whichever metadata is missing or older than the TTL: the
        statuses, the story points field and (with ``user_zone``) the user's zone.

        Costs one latency instead of three; the later calls are then answered from
        the cache.
        """
        self.deployment  # noqa: B018 - known before the parallel requests need it
        wanted: list[Callable[[], object]] = []
        if self._statuses is None or not self._fresh(self._statuses_at):
            wanted.append(partial(self.statuses, refresh=True))
        if not self._settings.story_points_field and (
            not self._points_field_known or not self._fresh(self._points_field_at)
        ):
            wanted.append(self.story_points_field_id)
        if user_zone and (self._user_zone is None or not self._fresh(self._user_zone_at)):
            wanted.append(self.user_timezone)
        if len(wanted) <= 1:
            for call in wanted:
                call()
            return
        with ThreadPoolExecutor(len(wanted), thread_name_prefix="jira-meta") as pool:
            for future in [pool.submit(call) for call in wanted]:
                future.result()

    def statuses(self, *, refresh: bool = False) -> dict[str, Status]:
        """Every workflow status of the site, keyed by status id (cached for the TTL;
        ``refresh`` reads them again now)."""
        if not refresh and self._statuses is not None and self._fresh(self._statuses_at):
            return dict(self._statuses)
        fetched_at = self._clock()
        raw = self._transport.request("GET", f"{self._transport.api}/status")
        if not isinstance(raw, list):
            raise JiraMalformedResponse(f"the status list is not a JSON array but {kind(raw)}")
        statuses: dict[str, Status] = {}
        for entry in raw:
            status = expect_object(entry, "a status")
            status_id, name = status.get("id"), status.get("name")
            category = status.get("statusCategory")
            if (
                not isinstance(status_id, str)
                or not isinstance(name, str)
                or not isinstance(category, Mapping)
                or not isinstance(category.get("key"), str)
            ):
                raise JiraMalformedResponse(
                    f"a status lacks id, name or statusCategory.key: {snippet(status)}"
                )
            statuses[status_id] = Status(status_id, name, StatusCategory.from_jira(category["key"]))
        self._statuses, self._statuses_at = statuses, fetched_at
        return dict(statuses)

    def story_points_field_id(self) -> str | None:
        """The story points custom field id: ``jira.story_points_field``, else found by name.

        Looks for "Story point estimate" (Cloud) or "Story Points" (Data Center),
        case-insensitively, then the other name. When several custom fields share
        the name, the oldest (lowest id) wins: it is the one Jira Software created.
        """
        if self._settings.story_points_field:
            return self._settings.story_points_field
        if not self._points_field_known or not self._fresh(self._points_field_at):
            fetched_at = self._clock()
            raw = self._transport.request("GET", f"{self._transport.api}/field")
            if not isinstance(raw, list):
                raise JiraMalformedResponse(f"the field list is not a JSON array but {kind(raw)}")
            by_name: dict[str, list[str]] = {}
            for entry in raw:
                field = expect_object(entry, "a field")
                field_id, name = field.get("id"), field.get("name")
                if isinstance(field_id, str) and isinstance(name, str):
                    by_name.setdefault(name.strip().casefold(), []).append(field_id)
            found: str | None = None
            for wanted in _STORY_POINT_NAMES[self._transport.deployment]:
                candidates = by_name.get(wanted)
                if candidates:
                    found = min(candidates, key=field_order)
                    break
            self._points_field, self._points_field_known = found, True
            self._points_field_at = fetched_at
        return self._points_field

    def user_timezone(self) -> ZoneInfo:
        """The time zone of the Jira user ScopeGuard logs in as (``/myself``; cached)."""
        if self._user_zone is None or not self._fresh(self._user_zone_at):
            fetched_at = self._clock()
            me = expect_object(
                self._transport.request("GET", f"{self._transport.api}/myself"), "myself"
            )
            name = me.get("timeZone")
            if not isinstance(name, str) or not name:
                raise JiraMalformedResponse("/myself has no timeZone for the Jira user")
            try:
                self._user_zone = ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise JiraMalformedResponse(f"/myself names an unknown time zone {name!r}") from exc
            self._user_zone_at = fetched_at
        return self._user_zone

    def jql_datetime(self, moment: datetime) -> str:
        """A quoted JQL date-time (``"2026/09/01 10:00"``) for ``moment`` in the Jira user's zone.

        Jira reads JQL dates in the zone of the user running the query, so the
        instant is converted to that zone; JQL has minute precision, so seconds
        are dropped (the caller's overlap window covers them).
        """
        if moment.tzinfo is None:
            raise ValueError("jql_datetime needs an aware datetime")
        local = moment.astimezone(self.user_timezone())
        return local.strftime('"%Y/%m/%d %H:%M"')

    def iter_issue_batches(
        self, jql: str, *, fields: Iterable[str], batch_size: int = 1000
    ) -> Iterator[list[JsonObject]]:
        """Raw issues matching ``jql`` in batches of at most ``batch_size``, histories complete.

        Each issue is ``{"id", "key", "fields", "changelog"}``, the ``changelog``
        ``{"startAt": 0, "maxResults": n, "total": n, "histories": [...]}`` with every
        history, oldest first (the keys ScopeGuard does not read left out). Read one
        request at a time, as the caller asks: the sync itself uses :meth:`iter_issues`.
        """
        groups = self._reader.read(
            jql,
            self._fields(fields, batch_size),
            batch_size,
            convert=self._raw_completed,
        )
        # Cloud's groups follow its bulkfetch batches; Data Center's are search pages.
        return groups if self.deployment == "cloud" else rebatch(groups, batch_size)

    @property
    def comment_requests_made(self) -> int:
        """Of :attr:`requests_made`, the comment pages read beyond the search pages' inline
        comments (first attempts; the benchmark compares them with their lower bound)."""
        return self._comment_requests

    def _count_comment_requests(self, made: int) -> None:
        with self._comment_lock:
            self._comment_requests += made

    def _raw_completed(self, group: list[WireIssue]) -> list[JsonObject]:
        self._count_comment_requests(complete_comments(self._transport, group))
        return [issue.to_raw() for issue in group]

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
        """Issues matching ``jql``, parsed, with complete histories, in groups of at most
        ``batch_size`` (each group as its pages completed it).

        Reading runs ahead of the caller in ``concurrency`` worker threads (a worker
        even when 1: the next page is in flight while the caller stores this one),
        with at most two groups waiting (besides one per worker, ready to hand
        over) and never more than
        ``concurrency`` requests in flight (one worker keeps its next request in
        flight while it parses the page before). With ``full`` (a read of the
        whole JQL) and ``concurrency`` > 1, the read is split so that the workers
        have independent requests to make (Cloud: created-date ranges; Data Center:
        ``startAt`` pages). Issues come in ``jql``'s order within each part; an issue
        Jira lists twice (its position moved while the pages were read) may come
        twice. Ids of statuses that are not in ``statuses`` (an issue's, or one a
        status change names) are added to ``unknown_statuses``. ``prepare`` turns each
        parsed issue into what is handed over, in the reading threads (work the caller
        would otherwise do on its own thread, such as packing it for storage). Close
        the generator when stopping early: that stops the reading threads.
        """
        wanted = self._fields(fields, batch_size)
        workers = max(1, concurrency)
        self._transport.limit_in_flight(workers)
        strings: dict[str, str] = {}
        known = dict(statuses)

        def parsed(group: list[WireIssue]) -> list[T]:
            # In the reading thread: the decoded page is freed as soon as it is read.
            self._count_comment_requests(complete_comments(self._transport, group))
            ready = [
                prepare(
                    parse_fetched(
                        issue.id,
                        issue.key,
                        issue.fields,
                        issue.histories,
                        statuses=known,
                        story_points_field=story_points_field,
                        strings=strings,
                        unknown_statuses=unknown_statuses,
                    )
                )
                for issue in group
            ]
            # Emptied in place: the readers' suspended frames still name this list,
            # and the decoded histories must not outlive their parsing.
            group.clear()
            return ready

        streams = self._reader.streams(
            jql,
            wanted,
            batch_size,
            split=workers if full else 1,
            jql_datetime=self.jql_datetime,
            # One worker keeps its next request in flight while it parses; several
            # keep each other's requests in flight, and a lookahead each would only
            # hold more pages in memory.
            ahead=workers == 1,
            convert=parsed,
        )
        return run_streams(streams, workers=workers, buffer=2)

    @staticmethod
    def _fields(fields: Iterable[str], batch_size: int) -> list[str]:
        if not 1 <= batch_size <= BULKFETCH_MAX_ISSUES:
            raise ValueError(f"batch_size must be between 1 and {BULKFETCH_MAX_ISSUES}")
        return list(dict.fromkeys(f for f in fields if f))

    def group_members(self, group: str) -> list[str] | None:
        """Account ids of the members of the Jira group ``group``; ``None``: no such group."""
        members = directory.group_members(self._transport, group)
        return None if members is None else [member.account for member in members]

    def accounts_by_email(self, email: str) -> list[str]:
        """Account ids whose email Jira shows as ``email``."""
        return directory.accounts_by_email(self._transport, email)

    def iter_issue_ids(self, jql: str) -> Iterator[list[tuple[str, str]]]:
        """(id, key) of every issue matching ``jql``, one list per search page.

        The cheapest listing Jira offers: only ``key`` is requested (ids always
        come), so Cloud returns up to 5,000 issues per page.
        """
        return self._reader.issue_ids(jql)
