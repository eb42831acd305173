"""The Jira adapter's face: issues with complete histories, and site metadata, from one site.

:class:`JiraClient` is what the sync uses (it satisfies
:class:`scopeguard.usecases.sync.JiraSource`). It asks the site what it is
once, then reads with :class:`~scopeguard.adapters.jira.cloud.CloudReader` or
:class:`~scopeguard.adapters.jira.datacenter.DataCenterReader`; every request
of either goes through one :class:`~scopeguard.adapters.jira.transport.JiraTransport`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests

from scopeguard.adapters.jira.cloud import BULKFETCH_MAX_ISSUES, CloudReader
from scopeguard.adapters.jira.datacenter import DataCenterReader
from scopeguard.adapters.jira.decoding import JsonObject, expect_object, field_order, kind, snippet
from scopeguard.adapters.jira.errors import JiraMalformedResponse
from scopeguard.adapters.jira.transport import DeploymentName, JiraTransport
from scopeguard.config import JiraSettings
from scopeguard.domain.model import Status, StatusCategory

_STORY_POINT_NAMES: dict[DeploymentName, tuple[str, ...]] = {
    # Company-managed Cloud projects created before 2020 and most Data Center
    # sites call it "Story Points"; newer Cloud sites "Story point estimate".
    "cloud": ("story point estimate", "story points"),
    "datacenter": ("story points", "story point estimate"),
}


class JiraClient:
    """Reads issues, complete histories and site metadata from one Jira site.

    ``sleep``, ``clock``, ``session`` and ``rng`` are the transport's
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
    ) -> None:
        self._settings = settings
        self._transport = JiraTransport(
            settings, sleep=sleep, clock=clock, session=session, rng=rng
        )
        self._user_zone: ZoneInfo | None = None
        self._points_field: str | None = None
        self._points_field_known = False
        self._cloud: CloudReader | None = None
        self._datacenter: DataCenterReader | None = None

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

    def statuses(self) -> dict[str, Status]:
        """Every workflow status of the site, keyed by status id."""
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
        return statuses

    def story_points_field_id(self) -> str | None:
        """The story points custom field id: ``jira.story_points_field``, else found by name.

        Looks for "Story point estimate" (Cloud) or "Story Points" (Data Center),
        case-insensitively, then the other name. When several custom fields share
        the name, the oldest (lowest id) wins: it is the one Jira Software created.
        """
        if self._settings.story_points_field:
            return self._settings.story_points_field
        if not self._points_field_known:
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
        return self._points_field

    def user_timezone(self) -> ZoneInfo:
        """The time zone of the Jira user ScopeGuard logs in as (``/myself``), asked once."""
        if self._user_zone is None:
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

        Each issue's ``changelog`` is ``{"startAt": 0, "maxResults": n, "total": n,
        "histories": [...]}`` with every history, oldest first.
        """
        if not 1 <= batch_size <= BULKFETCH_MAX_ISSUES:
            raise ValueError(f"batch_size must be between 1 and {BULKFETCH_MAX_ISSUES}")
        wanted = list(dict.fromkeys(f for f in fields if f))
        return self._reader.issue_batches(jql, wanted, batch_size)

    def iter_issue_ids(self, jql: str) -> Iterator[list[tuple[str, str]]]:
        """(id, key) of every issue matching ``jql``, one list per search page.

        The cheapest listing Jira offers: only ``key`` is requested (ids always
        come), so Cloud returns up to 5,000 issues per page.
        """
        return self._reader.issue_ids(jql)
