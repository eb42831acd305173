"""The Jira adapter: reads issues with their complete change histories from Cloud or Data Center.

Connection and authentication come from the ``jira`` package (``JIRA`` builds the
session: basic auth with email + API token on Cloud, a Personal Access Token as
``Authorization: Bearer`` on Data Center, TLS verification, default headers).
Every request then goes through :meth:`JiraClient._request` on that session, which
is the one place that

* counts requests (``requests_made``, retries included),
* applies the timeout,
* retries 429/503 (and network errors) honouring ``Retry-After`` /
  ``X-RateLimit-Reset``, otherwise with jittered exponential backoff, and
* turns every failure into a :mod:`scopeguard.adapters.jira.errors` exception.

The ``jira`` package's own retry loop is switched off (``max_retries=0``): it
sleeps with ``time.sleep`` for up to minutes, which tests cannot control and
which would hide attempts from the request count. Its search helpers are not
used either: they look up ``/field`` behind the caller's back (one more request
the budget does not allow for) and fetch pages in a loop whose individual page
we could not retry.

How complete histories are read:

* **Cloud**: ``GET /rest/api/3/search/jql`` pages (``nextPageToken``) without any
  changelog, collected up to ``batch_size`` issues, then
  ``POST /rest/api/3/changelog/bulkfetch`` for the whole batch (10,000 histories
  per page). ``expand=changelog`` is never used on Cloud: it returns only the
  newest 20–40 histories. If bulkfetch does not exist on the site (404/405), the
  client falls back to ``GET /rest/api/3/issue/{id}/changelog`` per issue.
* **Data Center**: ``GET /rest/api/2/search`` with ``expand=changelog``; for an
  issue whose ``changelog.total`` exceeds the histories inlined in the search
  page, ``GET /rest/api/2/issue/{id}?expand=changelog`` (the documented Data
  Center way; DC's REST API has no paged ``/issue/{id}/changelog`` resource)
  returns the full history.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any, Literal, TypeGuard
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
from jira import JIRA
from jira.resilientsession import parse_errors

from scopeguard.adapters.jira.errors import (
    JiraAuthError,
    JiraError,
    JiraMalformedResponse,
    JiraRequestError,
    JiraUnavailable,
)
from scopeguard.adapters.jira.retry import RETRYABLE_STATUSES, BackoffPolicy, server_delay
from scopeguard.config import Deployment, JiraSettings
from scopeguard.domain.model import Status, StatusCategory
from scopeguard.domain.timeparse import parse_jira_datetime

LOG = logging.getLogger(__name__)

DeploymentName = Literal["cloud", "datacenter"]

CLOUD_SEARCH_PAGE = 100
"""Issues per ``/search/jql`` page when fields are requested (Cloud's documented maximum)."""
CLOUD_ID_PAGE = 5000
"""Issues per ``/search/jql`` page when only id and key are requested."""
DC_SEARCH_PAGE = 1000
"""What we ask Data Center for; the server caps it (``jira.search.views.default.max``)."""
BULKFETCH_MAX_ISSUES = 1000
BULKFETCH_MAX_HISTORIES = 10000
CHANGELOG_PAGE = 100
"""``/issue/{id}/changelog`` page size (its maximum)."""

_STORY_POINT_NAMES: dict[DeploymentName, tuple[str, ...]] = {
    # Company-managed Cloud projects created before 2020 and most Data Center
    # sites call it "Story Points"; newer Cloud sites "Story point estimate".
    "cloud": ("story point estimate", "story points"),
    "datacenter": ("story points", "story point estimate"),
}


class JiraClient:
    """Reads issues, complete histories and site metadata from one Jira site.

    ``sleep`` and ``clock`` (POSIX seconds) are injectable so tests of rate
    limiting neither wait nor depend on the wall clock; ``session`` replaces the
    HTTP session the ``jira`` package would create (its adapters, proxies and
    certificates are used; the client installs authentication on it).
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
        self._base_url = settings.base_url
        self._sleep = sleep
        self._clock = clock
        self._policy = BackoffPolicy(
            max_attempts=settings.max_attempts,
            max_backoff_seconds=settings.max_backoff_seconds,
            rng=rng or random.Random(),
        )
        self._requests_made = 0
        self._deployment: DeploymentName | None = (
            None if settings.deployment == Deployment.AUTO else _name(settings.deployment)
        )
        self._has_basic = bool(settings.email and settings.api_token)
        self._auth_kind: Literal["basic", "pat"] | None = None
        self._user_zone: ZoneInfo | None = None
        self._points_field: str | None = None
        self._points_field_known = False
        self._bulkfetch_available = True

        # The jira package builds the session: headers, TLS verification and,
        # later, the authentication. No server-info call, no retries of its own.
        self._jira = JIRA(
            server=self._base_url,
            options={"verify": settings.verify_tls, "check_update": False},
            get_server_info=False,
            max_retries=0,
            timeout=settings.timeout_seconds,
        )
        self._owns_session = session is None
        if session is not None:
            session.headers.update(self._jira._session.headers)
            if not isinstance(session.verify, str):  # keep a caller's CA bundle path
                session.verify = settings.verify_tls
            self._jira._session.close()
            # The jira package types its session as its ResilientSession subclass;
            # every method it calls on it exists on a plain requests.Session too.
            self._jira._session = session  # type: ignore[assignment]
        self._http: requests.Session = self._jira._session

    # --- public API ---------------------------------------------------------------

    @property
    def requests_made(self) -> int:
        """HTTP requests sent so far, every retry and every failed attempt included."""
        return self._requests_made

    @property
    def deployment(self) -> DeploymentName:
        """``cloud`` or ``datacenter``: from settings, else from ``serverInfo`` (asked once)."""
        if self._deployment is None:
            # With both kinds of credentials configured we cannot know which to
            # send before knowing the deployment: serverInfo is readable anonymously.
            anonymous = not self._auth_kind and self._has_basic and bool(self._settings.pat)
            raw = self._request("GET", "/rest/api/2/serverInfo", anonymous=anonymous)
            kind = _expect_object(raw, "serverInfo").get("deploymentType")
            self._deployment = "cloud" if kind == "Cloud" else "datacenter"
            LOG.info("Jira at %s is %s (deploymentType %r)", self._base_url, self._deployment, kind)
        return self._deployment

    def close(self) -> None:
        """Release the HTTP connections (not those of a session passed in by the caller)."""
        if self._owns_session:
            self._http.close()

    def __enter__(self) -> JiraClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def statuses(self) -> dict[str, Status]:
        """Every workflow status of the site, keyed by status id."""
        raw = self._request("GET", f"{self._api}/status")
        if not isinstance(raw, list):
            raise JiraMalformedResponse(f"the status list is not a JSON array but {_kind(raw)}")
        statuses: dict[str, Status] = {}
        for entry in raw:
            status = _expect_object(entry, "a status")
            status_id, name = status.get("id"), status.get("name")
            category = status.get("statusCategory")
            if (
                not isinstance(status_id, str)
                or not isinstance(name, str)
                or not isinstance(category, Mapping)
                or not isinstance(category.get("key"), str)
            ):
                raise JiraMalformedResponse(
                    f"a status lacks id, name or statusCategory.key: {_snippet(status)}"
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
            raw = self._request("GET", f"{self._api}/field")
            if not isinstance(raw, list):
                raise JiraMalformedResponse(f"the field list is not a JSON array but {_kind(raw)}")
            by_name: dict[str, list[str]] = {}
            for entry in raw:
                field = _expect_object(entry, "a field")
                field_id, name = field.get("id"), field.get("name")
                if isinstance(field_id, str) and isinstance(name, str):
                    by_name.setdefault(name.strip().casefold(), []).append(field_id)
            found: str | None = None
            for wanted in _STORY_POINT_NAMES[self.deployment]:
                candidates = by_name.get(wanted)
                if candidates:
                    found = min(candidates, key=_field_order)
                    break
            self._points_field, self._points_field_known = found, True
        return self._points_field

    def user_timezone(self) -> ZoneInfo:
        """The time zone of the Jira user ScopeGuard logs in as (``/myself``), asked once."""
        if self._user_zone is None:
            me = _expect_object(self._request("GET", f"{self._api}/myself"), "myself")
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
    ) -> Iterator[list[dict[str, Any]]]:
        """Raw issues matching ``jql`` in batches of at most ``batch_size``, histories complete.

        Each issue's ``changelog`` is ``{"startAt": 0, "maxResults": n, "total": n,
        "histories": [...]}`` with every history, oldest first.
        """
        if not 1 <= batch_size <= BULKFETCH_MAX_ISSUES:
            raise ValueError(f"batch_size must be between 1 and {BULKFETCH_MAX_ISSUES}")
        wanted = list(dict.fromkeys(f for f in fields if f))
        if self.deployment == "cloud":
            return self._cloud_batches(jql, wanted, batch_size)
        return self._dc_batches(jql, wanted, batch_size)

    def iter_issue_ids(self, jql: str) -> Iterator[list[tuple[str, str]]]:
        """(id, key) of every issue matching ``jql``, one list per search page.

        The cheapest listing Jira offers: only ``key`` is requested (ids always
        come), so Cloud returns up to 5,000 issues per page.
        """
        if self.deployment == "cloud":
            return self._cloud_ids(jql)
        return self._dc_ids(jql)

    # --- Cloud ------------------------------------------------------------------------

    def _cloud_search_pages(
        self, jql: str, fields: list[str], page_size: int
    ) -> Iterator[list[dict[str, Any]]]:
        token: str | None = None
        seen_tokens: set[str] = set()
        while True:
            params: dict[str, Any] = {
                "jql": jql,
                "maxResults": page_size,
                "fields": ",".join(fields),
            }
            if token is not None:
                params["nextPageToken"] = token
            page = _expect_object(
                self._request("GET", "/rest/api/3/search/jql", params=params), "search"
            )
            yield _issues_of(page, "search/jql")
            next_token = page.get("nextPageToken")
            if next_token is None or page.get("isLast") is True:
                return
            if not isinstance(next_token, str) or not next_token:
                raise JiraMalformedResponse(
                    f"search/jql gave a nextPageToken of {_kind(next_token)}"
                )
            if next_token in seen_tokens:
                # Following it again would loop for ever re-reading the same pages.
                raise JiraMalformedResponse("search/jql repeated a nextPageToken")
            seen_tokens.add(next_token)
            token = next_token

    def _cloud_batches(
        self, jql: str, fields: list[str], batch_size: int
    ) -> Iterator[list[dict[str, Any]]]:
        # Batching across search pages is what keeps bulkfetch calls (and the
        # request count) low: one bulkfetch serves up to 1,000 issues.
        pages = self._cloud_search_pages(jql, fields, CLOUD_SEARCH_PAGE)
        for batch in _rebatch(pages, batch_size):
            yield from self._with_cloud_changelogs(batch)

    def _with_cloud_changelogs(
        self, issues: list[dict[str, Any]]
    ) -> Iterator[list[dict[str, Any]]]:
        """The issues with their complete histories, in groups as bulkfetch pages complete them.

        Yielding per page rather than per batch keeps memory to one page of
        histories (10,000) instead of the batch's (30,000 for 1,000 issues with 30
        histories each) without costing a single extra request.
        """
        by_id = {_issue_id(issue): issue for issue in issues}
        if self._bulkfetch_available:
            try:
                for complete in self._bulkfetch(list(by_id)):
                    group = []
                    for issue_id, histories in complete.items():
                        issue = by_id.pop(issue_id)
                        _set_changelog(issue, histories)
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
            _set_changelog(issue, self._issue_changelog_pages(issue_id))
        yield list(by_id.values())

    def _bulkfetch(self, ids: list[str]) -> Iterator[dict[str, list[dict[str, Any]]]]:
        """Histories of ``ids`` per bulkfetch page: each yield holds the issues it completed.

        Jira orders the results by issue, so when a page ends every issue on it
        but the last is complete; the last may continue on the next page. Issues
        without any history come last, with an empty list.
        """
        wanted = set(ids)
        found: dict[str, dict[str, dict[str, Any]]] = {}
        done: set[str] = set()
        token: str | None = None
        seen_tokens: set[str] = set()
        while True:
            # Jira rejects unknown body keys: send exactly these three.
            body: dict[str, Any] = {
                "issueIdsOrKeys": ids,
                "maxResults": BULKFETCH_MAX_HISTORIES,
            }
            if token is not None:
                body["nextPageToken"] = token
            page = _expect_object(
                self._request("POST", "/rest/api/3/changelog/bulkfetch", body=body), "bulkfetch"
            )
            logs = page.get("issueChangeLogs")
            if not isinstance(logs, list):
                raise JiraMalformedResponse(
                    f"changelog/bulkfetch has no issueChangeLogs list ({_kind(logs)})"
                )
            last_on_page: str | None = None
            for entry in logs:
                log = _expect_object(entry, "a bulkfetch issueChangeLog")
                issue_id = log.get("issueId")
                changes = log.get("changeHistories")
                if not isinstance(issue_id, str) or not isinstance(changes, list):
                    raise JiraMalformedResponse(
                        "a bulkfetch issueChangeLog lacks issueId or changeHistories: "
                        + _snippet(log)
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
                    bucket.setdefault(_history_id(history, issue_id), history)
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
                    f"changelog/bulkfetch gave an unusable nextPageToken ({_kind(next_token)})"
                )
            seen_tokens.add(next_token)
            token = next_token

    def _issue_changelog_pages(self, issue_id: str) -> list[dict[str, Any]]:
        histories: list[dict[str, Any]] = []
        start = 0
        path = f"/rest/api/3/issue/{quote(issue_id, safe='')}/changelog"
        while True:
            page = _expect_object(
                self._request("GET", path, params={"startAt": start, "maxResults": CHANGELOG_PAGE}),
                f"changelog of issue {issue_id}",
            )
            values = page.get("values")
            if not isinstance(values, list):
                raise JiraMalformedResponse(
                    f"the changelog page of issue {issue_id} has no values list ({_kind(values)})"
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

    def _cloud_ids(self, jql: str) -> Iterator[list[tuple[str, str]]]:
        for issues in self._cloud_search_pages(jql, ["key"], CLOUD_ID_PAGE):
            if issues:
                yield [(_issue_id(issue), _issue_key(issue)) for issue in issues]

    # --- Data Center ------------------------------------------------------------------

    def _dc_search_pages(
        self, jql: str, fields: list[str], *, expand: str | None
    ) -> Iterator[list[dict[str, Any]]]:
        start = 0
        page_size = DC_SEARCH_PAGE
        while True:
            params: dict[str, Any] = {
                "jql": jql,
                "startAt": start,
                "maxResults": page_size,
                "fields": ",".join(fields),
            }
            if expand:
                params["expand"] = expand
            page = _expect_object(
                self._request("GET", "/rest/api/2/search", params=params), "search"
            )
            issues = _issues_of(page, "search")
            total, served = page.get("total"), page.get("maxResults")
            if not _is_int(total) or not _is_int(served) or served < 1:
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

    def _dc_batches(
        self, jql: str, fields: list[str], batch_size: int
    ) -> Iterator[list[dict[str, Any]]]:
        pages = self._dc_search_pages(jql, fields, expand="changelog")
        for batch in _rebatch(pages, batch_size):
            for issue in batch:
                self._complete_dc_changelog(issue)
            yield batch

    def _complete_dc_changelog(self, issue: dict[str, Any]) -> None:
        key = _issue_key(issue)
        changelog = issue.get("changelog")
        if not isinstance(changelog, Mapping) or not isinstance(changelog.get("histories"), list):
            raise JiraMalformedResponse(f"issue {key}: search result has no changelog.histories")
        histories: list[dict[str, Any]] = changelog["histories"]
        total = changelog.get("total", len(histories))
        if not _is_int(total):
            raise JiraMalformedResponse(f"issue {key}: changelog.total is {_kind(total)}")
        if total > len(histories):
            # The search inlined only part of the history; the single-issue
            # resource returns all of it.
            histories = self._dc_full_changelog(_issue_id(issue), key, total)
        _set_changelog(issue, histories)

    def _dc_full_changelog(self, issue_id: str, key: str, total: int) -> list[dict[str, Any]]:
        raw = self._request(
            "GET",
            f"/rest/api/2/issue/{quote(issue_id, safe='')}",
            # Only the changelog is needed; one cheap field keeps the answer small.
            params={"expand": "changelog", "fields": "created"},
        )
        issue = _expect_object(raw, f"issue {key}")
        changelog = issue.get("changelog")
        histories = changelog.get("histories") if isinstance(changelog, Mapping) else None
        if not isinstance(histories, list):
            raise JiraMalformedResponse(f"issue {key}: expand=changelog gave no histories list")
        if len(histories) < total:
            raise JiraMalformedResponse(
                f"issue {key}: Jira reports {total} histories but returned only {len(histories)}"
            )
        return histories

    def _dc_ids(self, jql: str) -> Iterator[list[tuple[str, str]]]:
        for issues in self._dc_search_pages(jql, ["key"], expand=None):
            if issues:
                yield [(_issue_id(issue), _issue_key(issue)) for issue in issues]

    # --- HTTP ---------------------------------------------------------------------------

    @property
    def _api(self) -> str:
        return "/rest/api/3" if self.deployment == "cloud" else "/rest/api/2"

    def _ensure_auth(self) -> None:
        """Put the credentials that fit the deployment on the session (once)."""
        if self._auth_kind is not None:
            return
        settings = self._settings
        if self._deployment is not None:
            deployment = self._deployment
        elif self._has_basic and settings.pat:
            deployment = self.deployment  # an anonymous serverInfo request
        else:
            # One kind of credential: use it, and learn the deployment with it.
            deployment = "cloud" if self._has_basic else "datacenter"
        if deployment == "datacenter" and settings.pat:
            self._jira._create_token_session(settings.pat)
            self._auth_kind = "pat"
        elif settings.email and settings.api_token:
            self._jira._create_http_basic_session(settings.email, settings.api_token)
            self._auth_kind = "basic"
        else:
            raise JiraAuthError(
                f"Jira at {self._base_url} is Cloud, which accepts an email address with an "
                "API token, not a Personal Access Token: set jira.email and jira.api_token",
                status=None,
                config_keys=("jira.email", "jira.api_token"),
            )

    def _credential_keys(self) -> tuple[str, ...]:
        if self._auth_kind == "pat":
            return ("jira.pat",)
        if self._auth_kind == "basic":
            return ("jira.email", "jira.api_token")
        return ("jira.deployment",)

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        anonymous: bool = False,
    ) -> Any:
        """Send one logical request, retrying as needed; return the decoded JSON body."""
        if not anonymous:
            self._ensure_auth()
        url = self._base_url + path
        what = f"{method} {path}"
        data = json.dumps(body) if body is not None else None
        failures = 0
        while True:
            self._requests_made += 1
            try:
                # The plain requests method of the jira package's session: the
                # session's auth, headers and adapters, without ResilientSession's
                # retry loop (we own retries) or its exception wrapping.
                response = requests.Session.request(
                    self._http,
                    method,
                    url,
                    params=params,
                    data=data,
                    headers={"Content-Type": "application/json"} if data is not None else None,
                    timeout=self._settings.timeout_seconds,
                )
            except requests.exceptions.SSLError as exc:
                raise JiraError(
                    f"{what}: TLS verification with {self._base_url} failed ({exc}); "
                    "check jira.url, or set jira.verify_tls: false for a self-signed server"
                ) from exc
            except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema) as exc:
                raise JiraError(f"jira.url {self._base_url!r} is not usable: {exc}") from exc
            except (
                requests.exceptions.ConnectionError,
                requests.exceptions.Timeout,
                requests.exceptions.ChunkedEncodingError,
            ) as exc:
                failures += 1
                problem = f"{type(exc).__name__}: {exc}"
                if failures >= self._policy.max_attempts:
                    raise JiraUnavailable(
                        f"{what}: Jira at {self._base_url} could not be reached after "
                        f"{failures} attempts ({problem})",
                        status=None,
                        attempts=failures,
                    ) from exc
                self._wait(self._policy.backoff(failures), what, problem, failures)
                continue

            status = response.status_code
            if status in RETRYABLE_STATUSES:
                failures += 1
                reason = response.headers.get("RateLimit-Reason")
                problem = f"HTTP {status}" + (f" ({reason})" if reason else "")
                if failures >= self._policy.max_attempts:
                    raise JiraUnavailable(
                        f"{what}: Jira still answered {problem} after {failures} attempts; "
                        "try again later (jira.max_attempts sets how often to retry)",
                        status=status,
                        attempts=failures,
                    )
                advised = server_delay(response.headers, self._clock())
                if advised is not None and advised > self._policy.max_backoff_seconds:
                    # Sleeping for an hour inside a sync would block every other
                    # client; retrying sooner is futile. Fail now, the next run retries.
                    raise JiraUnavailable(
                        f"{what}: Jira answered {problem} and asks to wait {advised:.0f} s, "
                        "longer than jira.max_backoff_seconds "
                        f"({self._policy.max_backoff_seconds:g})",
                        status=status,
                        attempts=failures,
                    )
                delay = advised if advised is not None else self._policy.backoff(failures)
                self._wait(delay, what, problem, failures)
                continue
            if status >= 400:
                raise self._error_for(response, what)
            return _decode(response, what)

    def _wait(self, delay: float, what: str, problem: str, failures: int) -> None:
        LOG.warning(
            "%s: %s; retrying in %.1f s (attempt %d of %d)",
            what,
            problem,
            delay,
            failures + 1,
            self._policy.max_attempts,
        )
        self._sleep(delay)

    def _error_for(self, response: requests.Response, what: str) -> JiraError:
        status = response.status_code
        messages = tuple(parse_errors(response))
        detail = f": {'; '.join(messages)}" if messages else ""
        if status in (401, 403) and self._auth_kind is None:
            return JiraAuthError(
                f"{what}: Jira refused an anonymous request (HTTP {status}){detail}; it was "
                "made to tell Cloud from Data Center because both jira.api_token and jira.pat "
                "are set: set jira.deployment to cloud or datacenter",
                status=status,
                config_keys=("jira.deployment",),
            )
        if status in (401, 403):
            keys = self._credential_keys()
            names = " and ".join(keys)
            if status == 401:
                hint = (
                    "a Personal Access Token from the Jira user's profile; it may have expired"
                    if keys == ("jira.pat",)
                    else "the account's email address with an API token, not the password"
                )
                message = (
                    f"{what}: Jira rejected the credentials (HTTP 401){detail}. "
                    f"Check {names} ({hint})"
                )
            else:
                denied = response.headers.get("X-Authentication-Denied-Reason")
                captcha = (
                    " Jira asks for a CAPTCHA after failed logins: sign in once in a browser."
                    if denied and "CAPTCHA" in denied.upper()
                    else ""
                )
                message = (
                    f"{what}: Jira refused access (HTTP 403){detail}. The user of {names} "
                    f"needs permission to browse the client projects.{captcha}"
                )
            return JiraAuthError(message, status=status, config_keys=keys)
        hint = ""
        if status == 410:
            hint = " (this endpoint was removed from Jira Cloud: check jira.deployment)"
        return JiraRequestError(
            f"{what}: Jira answered HTTP {status}{detail}{hint}",
            status=status,
            error_messages=messages,
        )


# --- helpers --------------------------------------------------------------------------


def _name(deployment: Deployment) -> DeploymentName:
    return "cloud" if deployment == Deployment.CLOUD else "datacenter"


def _rebatch(pages: Iterable[list[dict[str, Any]]], size: int) -> Iterator[list[dict[str, Any]]]:
    """The issues of ``pages`` regrouped into lists of ``size`` (the last may be shorter)."""
    pending: list[dict[str, Any]] = []
    for issues in pages:
        pending.extend(issues)
        while len(pending) >= size:
            batch, pending = pending[:size], pending[size:]
            yield batch
    if pending:
        yield pending


_DROPPED_KEYS = frozenset({"avatarUrls", "self", "iconUrl"})
"""Keys ScopeGuard never reads whose values are a large share of every history."""


class _CompactDecoder:
    """Decodes Jira JSON into fewer objects: the key to keeping a sync's memory flat.

    A bulkfetch page holds 10,000 histories, and decoded naively each costs ~8 KB
    of Python objects, mostly the author (with four avatar URLs) and the items,
    which repeat from one history to the next. Flat objects (no nested values)
    are shared between equal occurrences, and URL-only keys are dropped. The
    result is read-only by contract: nothing downstream mutates decoded JSON.
    """

    def __init__(self) -> None:
        self._shared: dict[tuple[tuple[str, Any], ...], dict[str, Any]] = {}

    def __call__(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        flat = True
        kept = []
        for key, value in pairs:
            if key in _DROPPED_KEYS:
                continue
            if isinstance(value, dict | list):
                flat = False
            kept.append((key, value))
        if not flat:
            return dict(kept)
        signature = tuple(kept)
        shared = self._shared.get(signature)
        if shared is None:
            shared = self._shared[signature] = dict(kept)
        return shared


def _decode(response: requests.Response, what: str) -> Any:
    try:
        return json.loads(response.text, object_pairs_hook=_CompactDecoder())
    except ValueError:
        content_type = response.headers.get("Content-Type", "")
        hint = (
            " (an HTML page: a login or proxy page? check jira.url)"
            if "html" in content_type.lower()
            else ""
        )
        raise JiraMalformedResponse(
            f"{what}: Jira answered HTTP {response.status_code} with a body that is not JSON"
            f"{hint}: {response.text[:200]!r}"
        ) from None


def _expect_object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise JiraMalformedResponse(f"{what} is not a JSON object but {_kind(value)}")
    return value


def _issues_of(page: dict[str, Any], what: str) -> list[dict[str, Any]]:
    issues = page.get("issues")
    if not isinstance(issues, list):
        raise JiraMalformedResponse(f"{what} page has no issues list ({_kind(issues)})")
    for issue in issues:
        if not isinstance(issue, dict):
            raise JiraMalformedResponse(f"{what} page holds an issue that is {_kind(issue)}")
        _issue_id(issue)
    return issues


def _issue_id(issue: Mapping[str, Any]) -> str:
    value = issue.get("id")
    if _is_int(value):
        return str(value)
    if not isinstance(value, str) or not value:
        raise JiraMalformedResponse(f"an issue has no id: {_snippet(issue)}")
    return value


def _issue_key(issue: Mapping[str, Any]) -> str:
    value = issue.get("key")
    if not isinstance(value, str) or not value:
        raise JiraMalformedResponse(f"issue {issue.get('id')!r} has no key")
    return value


def _history_id(history: Any, issue_id: str) -> str:
    if not isinstance(history, Mapping):
        raise JiraMalformedResponse(f"a history of issue {issue_id} is {_kind(history)}")
    value = history.get("id")
    if _is_int(value):
        return str(value)
    if not isinstance(value, str) or not value:
        raise JiraMalformedResponse(f"a history of issue {issue_id} has no id")
    return value


def _set_changelog(issue: dict[str, Any], histories: list[dict[str, Any]]) -> None:
    """Store the complete history on the issue, oldest first, with total == len(histories)."""
    label = str(issue.get("key") or issue.get("id"))

    def order(history: dict[str, Any]) -> tuple[datetime, int, str]:
        history_id = _history_id(history, label)
        created = history.get("created")
        try:
            moment = parse_jira_datetime(created) if isinstance(created, str) else None
        except ValueError:
            moment = None
        if moment is None:
            raise JiraMalformedResponse(
                f"issue {label}: history {history_id} has no valid created timestamp ({created!r})"
            )
        return (moment, int(history_id) if history_id.isdigit() else 0, history_id)

    ordered = sorted(histories, key=order)
    issue["changelog"] = {
        "startAt": 0,
        "maxResults": len(ordered),
        "total": len(ordered),
        "histories": ordered,
    }


def _field_order(field_id: str) -> tuple[int, str]:
    digits = field_id.rsplit("_", 1)[-1]
    return (int(digits) if digits.isdigit() else 1 << 62, field_id)


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return type(value).__name__


def _snippet(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 200 else text[:197] + "..."
