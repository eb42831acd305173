"""One Jira site's HTTP: authentication, timeouts, retries, errors and the request count.

Every request to Jira goes through :meth:`JiraTransport.request`, which is the
one place that

* counts requests (``requests_made``, retries included),
* applies the timeout,
* retries 429/5xx (and network errors) honouring ``Retry-After`` /
  ``X-RateLimit-Reset``, otherwise with jittered exponential backoff, and
* turns every failure into a :mod:`scopeguard.adapters.jira.errors` exception.

Several reader threads share one transport during a concurrent sync. A 429 or
503 seen by one of them makes all of them wait (the *gate*): Jira's limit is the
site's, not the thread's, so the others would only collect 429s of their own.
Each 429 (or network error) also halves how many requests may be in flight at
once (the *budget*); it grows back by one after every 50 successful answers, so a
site that limits hard ends up read one request at a time.

Several *processes* share a site too (workers sharing the clients). Given a
``site_hold`` (:class:`SiteHold`, kept in the database), the transport reads the
site's "not before" time before every request and waits it out, and writes it
when Jira answers 429 or 503 with a wait: the second worker then waits instead
of collecting 429s of its own.

The session comes from the ``jira`` package (``JIRA`` builds it with the
default headers and TLS verification); credentials are put on it with
requests' own auth classes once the deployment is known: basic auth with email
+ API token on Cloud, a Personal Access Token as ``Authorization: Bearer`` on
Data Center. The ``jira`` package's retry loop is switched off
(``max_retries=0``): it sleeps with ``time.sleep`` for up to minutes, which
tests cannot control and which would hide attempts from the request count.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal, Protocol, TypeVar

import requests
import urllib3
from jira import JIRA
from jira.resilientsession import parse_errors
from requests.auth import AuthBase, HTTPBasicAuth

from scopeguard.adapters.jira.decoding import decode_body, expect_object
from scopeguard.adapters.jira.errors import (
    JiraAuthError,
    JiraError,
    JiraRequestError,
    JiraUnavailable,
)
from scopeguard.adapters.jira.retry import RETRYABLE_STATUSES, BackoffPolicy, server_delay
from scopeguard.adapters.jira.scopes import required_for
from scopeguard.adapters.jira.wire import decode_as
from scopeguard.config import Deployment, JiraSettings

LOG = logging.getLogger(__name__)
SITE_HOLD_REREAD_SECONDS = 0.5
"""How stale this process's copy of the shared Retry-After may be: a hold another
process records reaches this one within it (its own 429s hold its threads at once),
and a sync's thousands of requests do not each read the database."""

DeploymentName = Literal["cloud", "datacenter"]

T = TypeVar("T")

_RECOVER_AFTER = 50
"""Successful answers after which a budget halved by a rate limit grows by one again."""


class SiteHold(Protocol):
    """Where the processes that share a Jira site keep its "not before" time (POSIX
    seconds): :class:`scopeguard.adapters.store.site_holds.SiteHolds`."""

    def not_before(self, site: str) -> float | None:
        """No request may go to ``site`` before this (``None``: no hold recorded)."""
        ...

    def hold(self, site: str, until: float, *, status: int, reason: str | None = None) -> None:
        """Record that ``site`` asked for no request before ``until``."""
        ...


class _Gate:
    """When every thread of one transport may send again, and how many may be in flight.

    ``resume_at`` is a time on the transport's clock. A thread that has itself
    waited for a rate limit does not wait for it a second time (tests inject a
    ``sleep`` that returns at once, so the clock alone cannot tell).
    """

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self.resume_at = 0.0
        self._waited = threading.local()
        self.limit: int | None = None
        """Requests allowed in flight; ``None`` until a rate limit sets one."""
        self.cap: int | None = None
        """The caller's limit (``sync.concurrency``), whatever the rate limits say."""
        self._in_flight = 0
        self._successes = 0

    def enter(self, clock: Callable[[], float], sleep: Callable[[float], None]) -> None:
        """Wait for the shared backoff (once) and for room in the budget."""
        with self._lock:
            resume_at = self.resume_at
        waited = getattr(self._waited, "until", 0.0)
        if resume_at > waited:
            self._waited.until = resume_at
            delay = resume_at - clock()
            if delay > 0:
                sleep(delay)
        with self._lock:
            while self._in_flight >= self._allowed():
                self._lock.wait()
            self._in_flight += 1

    def _allowed(self) -> float:
        limits = [n for n in (self.limit, self.cap) if n is not None]
        return min(limits) if limits else float("inf")

    def set_cap(self, requests: int | None) -> None:
        """The caller's own limit on requests in flight."""
        with self._lock:
            self.cap = requests
            self._lock.notify_all()

    def leave(self, *, limited: bool) -> None:
        """A request is over; ``limited``: answered 429, or not answered at all."""
        with self._lock:
            self._in_flight -= 1
            if limited:
                current = self.limit or self.cap or self._in_flight + 1
                self.limit = max(1, current // 2)
                self._successes = 0
            elif self.limit is not None:
                self._successes += 1
                if self._successes >= _RECOVER_AFTER:
                    self._successes = 0
                    self.limit += 1
                    if self.cap is not None and self.limit >= self.cap:
                        self.limit = None  # recovered: the caller's cap rules again
            self._lock.notify_all()

    def hold(self, until: float, *, waited_here: bool = True) -> None:
        """Every thread waits until ``until`` before its next request; with
        ``waited_here``, this one has (it sleeps on its own)."""
        with self._lock:
            self.resume_at = max(self.resume_at, until)
            if waited_here:
                self._waited.until = self.resume_at


class _BearerAuth(AuthBase):
    """``Authorization: Bearer <token>``: Data Center's Personal Access Tokens."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request


def _session_of(jira: JIRA) -> requests.Session:
    # The jira package has no public accessor for the session it builds, and no
    # helper for what ScopeGuard needs from it (/search/jql paging with our own
    # retries, changelog bulkfetch): this is the one place that reaches inside.
    session: requests.Session = jira._session
    return session


class JiraTransport:
    """Sends requests to one Jira site and returns their decoded JSON bodies.

    ``sleep`` and ``clock`` (POSIX seconds) are injectable so tests of rate
    limiting neither wait nor depend on the wall clock; ``session`` replaces the
    HTTP session the ``jira`` package would create (its adapters, proxies and
    certificates are used; the transport installs authentication on it).
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
        self.site_url = settings.base_url
        """The site's own address (browse links, ``/_edge/tenant_info``)."""
        self._base_url: str | None = None if settings.scoped_token else settings.base_url
        self._site_hold = site_hold
        self._site_hold_logged = 0.0
        self._site_hold_read: tuple[float, float | None] = (-SITE_HOLD_REREAD_SECONDS, None)
        """(monotonic time read, the hold then): the stored hold is read at most every
        :data:`SITE_HOLD_REREAD_SECONDS`, not once per request of every reading thread."""
        self._sleep = sleep
        self._clock = clock
        self._policy = BackoffPolicy(
            max_attempts=settings.max_attempts,
            max_backoff_seconds=settings.max_backoff_seconds,
            rng=rng or random.Random(),
        )
        self._requests_made = 0
        self._count_lock = threading.Lock()
        self._gate = _Gate()
        self._deployment: DeploymentName | None = (
            "cloud"
            if settings.scoped_token
            else None
            if settings.deployment == Deployment.AUTO
            else _name(settings.deployment)
        )
        self._has_basic = bool(settings.email and settings.api_token)
        self._auth_kind: Literal["basic", "pat"] | None = None
        # No server-info call and no retries of its own: see the module docstring.
        jira = JIRA(
            server=self.site_url,
            options={"verify": settings.verify_tls, "check_update": False},
            get_server_info=False,
            max_retries=0,
            timeout=settings.timeout_seconds,
        )
        built = _session_of(jira)
        self._owns_session = session is None
        if session is None:
            self._http = built
        else:
            session.headers.update(built.headers)
            if not isinstance(session.verify, str):  # keep a caller's CA bundle path
                session.verify = settings.verify_tls
            built.close()
            self._http = session

    @property
    def requests_made(self) -> int:
        """HTTP requests sent so far, every retry and every failed attempt included."""
        return self._requests_made

    @property
    def base_url(self) -> str:
        """Where the API is called: the site, or for a scoped token the gateway with the
        site's cloud id (read once from the site's ``/_edge/tenant_info`` unless
        ``jira.cloud_id`` is set)."""
        if self._base_url is None:
            cloud_id = self._settings.cloud_id or self._tenant_cloud_id()
            self._base_url = f"{self._settings.gateway_base}/ex/jira/{cloud_id}"
            LOG.info("Jira at %s is called through the gateway %s", self.site_url, self._base_url)
        return self._base_url

    def _tenant_cloud_id(self) -> str:
        what = "GET /_edge/tenant_info"
        with self._count_lock:
            self._requests_made += 1
        try:
            response = requests.Session.request(
                self._http,
                "GET",
                f"{self.site_url}/_edge/tenant_info",
                timeout=self._settings.timeout_seconds,
            )
        except requests.exceptions.RequestException as exc:
            raise JiraError(
                f"{what}: could not read the site's cloud id from {self.site_url} ({exc}); "
                "set jira.cloud_id"
            ) from exc
        cloud_id = None
        if response.status_code == 200:
            try:
                cloud_id = expect_object(response.json(), "tenant_info").get("cloudId")
            except ValueError:
                cloud_id = None
        if not isinstance(cloud_id, str) or not cloud_id:
            raise JiraError(
                f"{what}: {self.site_url} did not tell its cloud id (HTTP "
                f"{response.status_code}); check jira.url or set jira.cloud_id"
            )
        return cloud_id

    @property
    def deployment(self) -> DeploymentName:
        """``cloud`` or ``datacenter``: from settings, else from ``serverInfo`` (asked once)."""
        if self._deployment is None:
            # With both kinds of credentials configured we cannot know which to
            # send before knowing the deployment: serverInfo is readable anonymously.
            anonymous = not self._auth_kind and self._has_basic and bool(self._settings.pat)
            raw = self.request("GET", "/rest/api/2/serverInfo", anonymous=anonymous)
            kind = expect_object(raw, "serverInfo").get("deploymentType")
            self._deployment = "cloud" if kind == "Cloud" else "datacenter"
            LOG.info("Jira at %s is %s (deploymentType %r)", self.base_url, self._deployment, kind)
        return self._deployment

    @property
    def api(self) -> str:
        """The platform API's path prefix: ``/rest/api/3`` on Cloud, ``/rest/api/2`` on DC."""
        return "/rest/api/3" if self.deployment == "cloud" else "/rest/api/2"

    def close(self) -> None:
        """Release the HTTP connections (not those of a session passed in by the caller)."""
        if self._owns_session:
            self._http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        anonymous: bool = False,
    ) -> Any:
        """Send one logical request, retrying as needed; return the decoded JSON body."""
        response, content = self._send(method, path, params=params, body=body, anonymous=anonymous)
        return decode_body(content, response, f"{method} {path}")

    def request_as(
        self,
        kind: type[T],
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> T:
        """Like :meth:`request`, the body decoded straight into ``kind``
        (a :mod:`~scopeguard.adapters.jira.wire` struct)."""
        data = self.request_bytes(method, path, params=params, body=body)
        return decode_as(data, kind, f"{method} {path}")

    def request_bytes(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> bytes:
        """Like :meth:`request`, the body undecoded (checked not to be an HTML page)."""
        response, content = self._send(method, path, params=params, body=body, anonymous=False)
        if "html" in response.headers.get("Content-Type", "").lower():
            decode_body(content, response, f"{method} {path}")  # raises with the right hint
        return content

    def limit_in_flight(self, requests: int | None) -> None:
        """At most ``requests`` requests of this transport in flight at once (``None``:
        no limit besides the one a rate limit set)."""
        self._gate.set_cap(requests)

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None,
        body: Mapping[str, Any] | None,
        anonymous: bool,
    ) -> tuple[requests.Response, bytes]:
        """The first answer that is neither retryable nor an error, after retries, with
        its body."""
        if not anonymous:
            self._ensure_auth()
        url = self.base_url + path
        what = f"{method} {path}"
        data = json.dumps(body) if body is not None else None
        failures = 0
        while True:
            self._honour_site_hold(what)
            with self._count_lock:
                self._requests_made += 1
            self._gate.enter(self._clock, self._sleep)
            limited = False
            try:
                answer = self._attempt(method, url, params, data, what)
                limited = isinstance(answer, Exception) or answer[0].status_code == 429
            finally:
                self._gate.leave(limited=limited)
            if isinstance(answer, Exception):
                failures += 1
                problem = f"{type(answer).__name__}: {answer}"
                if failures >= self._policy.max_attempts:
                    raise JiraUnavailable(
                        f"{what}: Jira at {self.base_url} could not be reached after "
                        f"{failures} attempts ({problem})",
                        status=None,
                        attempts=failures,
                    ) from answer
                self._wait(self._policy.backoff(failures), what, problem, failures)
                continue

            response, content = answer
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
                if advised is not None and status in (429, 503):
                    self._share_hold(self._clock() + advised, status, reason)
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
                # The limit is the site's: every thread of this transport waits too.
                self._gate.hold(self._clock() + delay)
                self._wait(delay, what, problem, failures)
                continue
            if status >= 400:
                raise self._error_for(response, what)
            return response, content

    def _honour_site_hold(self, what: str) -> None:
        """Wait (every thread of this transport) for a hold another process recorded."""
        if self._site_hold is None:
            return
        read_at, until = self._site_hold_read
        if time.monotonic() - read_at >= SITE_HOLD_REREAD_SECONDS:
            try:
                until = self._site_hold.not_before(self.site_url)
            except Exception:
                # The shared hold spares Jira; it must not stop a sync that Jira would serve.
                LOG.warning(
                    "could not read the shared Retry-After of %s", self.site_url, exc_info=True
                )
                return
            self._site_hold_read = (time.monotonic(), until)
        if until is None:
            return
        delay = until - self._clock()
        if delay <= 0:
            return
        if delay > self._policy.max_backoff_seconds:
            raise JiraUnavailable(
                f"{what}: Jira at {self.site_url} asked a ScopeGuard process to wait "
                f"{delay:.0f} s more, longer than jira.max_backoff_seconds "
                f"({self._policy.max_backoff_seconds:g})",
                status=429,
                attempts=0,
            )
        if until > self._site_hold_logged:
            self._site_hold_logged = until
            LOG.warning(
                "%s: Jira at %s asked a ScopeGuard process to wait; waiting %.1f s",
                what,
                self.site_url,
                delay,
            )
        self._gate.hold(until, waited_here=False)

    def _share_hold(self, until: float, status: int, reason: str | None) -> None:
        """Tell the other processes that share the site how long Jira asked to wait."""
        if self._site_hold is None:
            return
        try:
            self._site_hold.hold(self.site_url, until, status=status, reason=reason)
        except Exception:
            LOG.warning(
                "could not record the shared Retry-After of %s", self.site_url, exc_info=True
            )

    def _attempt(
        self, method: str, url: str, params: Mapping[str, Any] | None, data: str | None, what: str
    ) -> tuple[requests.Response, bytes] | Exception:
        """One HTTP exchange and its body; the network error instead when one is worth
        retrying."""
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
                stream=True,
            )
            if response.status_code < 400 and response.raw is not None:
                # In one read, into one bytes object: `response.content` would gather
                # a megabytes-long page 10 KB at a time, each piece a trip through
                # Python (and the GIL) and all of them held twice while joined.
                content = response.raw.read(decode_content=True)
            else:
                content = response.content  # errors are small: the ordinary way
            return response, content
        except requests.exceptions.SSLError as exc:
            raise JiraError(
                f"{what}: TLS verification with {self.base_url} failed ({exc}); "
                "check jira.url, or set jira.verify_tls: false for a self-signed server"
            ) from exc
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema) as exc:
            raise JiraError(f"jira.url {self.base_url!r} is not usable: {exc}") from exc
        except (
            requests.exceptions.ConnectionError,
            requests.exceptions.Timeout,
            requests.exceptions.ChunkedEncodingError,
            # A body cut off while read from the stream (what requests would wrap).
            urllib3.exceptions.HTTPError,
        ) as exc:
            return exc

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
            self._http.auth = _BearerAuth(settings.pat)
            self._auth_kind = "pat"
        elif settings.email and settings.api_token:
            self._http.auth = HTTPBasicAuth(settings.email, settings.api_token)
            self._auth_kind = "basic"
        else:
            raise JiraAuthError(
                f"Jira at {self.base_url} is Cloud, which accepts an email address with an "
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
        if status == 401 and self._settings.scoped_token and "scope" in detail.casefold():
            required = required_for(what.split(" ", 1)[0], what.split(" ", 1)[-1])
            needed = (
                f"{required.operation} needs {required.describe()}"
                if required is not None
                else "this request needs a scope the token lacks"
            )
            return JiraAuthError(
                f"{what}: the scoped API token lacks a scope (HTTP 401{detail}): {needed}. "
                "Add the scope to the token (jira.api_token); the scopes ScopeGuard needs "
                "are in the README, Jira access",
                status=status,
                config_keys=("jira.api_token",),
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


def _name(deployment: Deployment) -> DeploymentName:
    return "cloud" if deployment == Deployment.CLOUD else "datacenter"
