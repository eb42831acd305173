"""The WSGI application answering like Jira Cloud (REST v3/v2) or Data Center (REST v2)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from jira_simulator import people, worklogs
from jira_simulator.access import SCOPE_MISMATCH, CloudAccess, allowed
from jira_simulator.catalog import CLOUD_VERSION, DC_VERSIONS, Flavor, field_catalogue
from jira_simulator.dataset import Dataset, SimIssue
from jira_simulator.faults import FaultDecision, Faults, MalformedKind
from jira_simulator.jira_types import format_jira_datetime
from jira_simulator.jql import CompiledQuery, JqlError, compile_query, run_query
from jira_simulator.payloads import (
    COMMENT_PAGE_CAP,
    INLINE_COMMENT_CAP,
    FieldSelection,
    Renderer,
    encode_bytes,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

JsonDict = dict[str, Any]

CLOUD_SEARCH_CAP = 100
CLOUD_ID_SEARCH_CAP = 5000
CHANGELOG_PAGE_CAP = 100
BULKFETCH_MAX_ISSUES = 1000
BULKFETCH_MAX_FIELDS = 10
BULKFETCH_MAX_RESULTS = 10000
BULKFETCH_DEFAULT_RESULTS = 1000

SEARCH_GONE_MESSAGE = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at "
    "https://developer.atlassian.com/changelog/#CHANGE-2046"
)
UNBOUNDED_MESSAGE = (
    "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
)
NOT_AUTHENTICATED = "You are not authenticated. Authentication required to perform this operation."
ISSUE_NOT_FOUND = "Issue does not exist or you do not have permission to see it."


class RequestRecord(NamedTuple):
    """One request the simulator answered."""

    method: str
    path: str
    status: int


class ApiError(Exception):
    """Ends a handler with a Jira-style JSON error answer."""

    def __init__(self, status: int, *messages: str, errors: dict[str, str] | None = None):
        super().__init__(messages[0] if messages else str(status))
        self.status = status
        self.messages = list(messages)
        self.errors = errors or {}


@dataclass(slots=True)
class Reply:
    """A handler's answer before serialisation (``text``: already serialised JSON)."""

    body: Any
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    data: bytes | None = None

    def encoded(self) -> bytes:
        """The body as UTF-8 JSON."""
        return self.data if self.data is not None else encode_bytes(self.body)


def _error_body(messages: Iterable[str], errors: dict[str, str] | None = None) -> JsonDict:
    return {"errorMessages": list(messages), "errors": errors or {}}


_INVALID_TOKEN = "The provided next page token is invalid or expired."


def _encode_token(payload: JsonDict) -> str:
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str, kind: str, hash_key: str, expected_hash: str) -> JsonDict:
    """The payload of a page token of ``kind`` whose ``hash_key`` is ``expected_hash``."""
    try:
        padded = token + "=" * (-len(token) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, _INVALID_TOKEN) from exc
    if (
        not isinstance(payload, dict)
        or payload.get("k") != kind
        or payload.get(hash_key) != expected_hash
    ):
        raise ApiError(400, _INVALID_TOKEN)
    return payload


def _fingerprint(*parts: Any) -> str:
    return hashlib.sha1(
        json.dumps(parts, sort_keys=True).encode(), usedforsecurity=False
    ).hexdigest()[:16]


def _int_param(value: Any, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise ApiError(400, f"The '{name}' parameter must be an integer.")
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ApiError(400, f"The '{name}' parameter must be an integer.") from exc


def _list_param(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ApiError(400, "Expected a list of strings.")


def _expand_set(values: Iterable[str]) -> set[str]:
    return {part.strip() for value in values for part in value.split(",") if part.strip()}


class JiraSimulator:
    """A WSGI callable behaving like Jira for every endpoint ScopeGuard uses.

    ``flavor`` is ``"cloud"`` (Basic email:api_token; ``/search`` answers 410,
    ``/search/jql`` and ``/changelog/bulkfetch`` exist) or ``"datacenter"``
    (Bearer PAT, Basic also accepted; ``/rest/api/2/search`` with ``startAt`` and a
    server-side ``maxResults`` cap). ``requests`` records every answer.
    """

    def __init__(
        self,
        dataset: Dataset,
        flavor: str | Flavor = "cloud",
        email: str = "pm@agency.example",
        api_token: str = "token",
        pat: str = "pat-token",
        *,
        username: str | None = None,
        max_results_cap: int = 50,
        inline_comment_cap: int | None = INLINE_COMMENT_CAP,
        dc_inline_changelog_cap: int = 100,
        dc_version: str = DC_VERSIONS[0],
        dc_deployment_type: str = "Server",
        dc_history_field_ids: bool = False,
        clock: Callable[[], datetime] | None = None,
        access: CloudAccess | None = None,
        worklog_page_cap: int = worklogs.ISSUE_PAGE_CAP,
        worklog_changed_page: int = worklogs.CHANGED_PAGE,
    ):
        self.dataset = dataset
        self.access = access
        """Cloud: the gateway path, scoped tokens and their scopes (``None``: classic only)."""
        self.worklog_page_cap = worklog_page_cap
        self.worklog_changed_page = worklog_changed_page
        self.flavor = Flavor(flavor)
        self.email = email
        self.api_token = api_token
        self.pat = pat
        self.username = username or dataset.me.name
        """DC username accepted with Basic auth (defaults to the dataset's ``me``)."""
        self.max_results_cap = max_results_cap
        self.inline_comment_cap = inline_comment_cap
        """Comments a search page's ``comment`` field carries (``None``: all)."""
        self.dc_inline_changelog_cap = dc_inline_changelog_cap
        self.dc_version = dc_version
        self.dc_deployment_type = dc_deployment_type
        self.dc_history_field_ids = dc_history_field_ids
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.faults = Faults()
        self.requests: list[RequestRecord] = []
        self.errors: list[str] = []
        """Tracebacks of handler crashes (answered 500); empty in a healthy run."""
        self._records_lock = threading.Lock()
        self._renderers: dict[tuple[int, str], Renderer] = {}
        self._results: OrderedDict[tuple[str, int], list[SimIssue]] = OrderedDict()
        versions = "<any('2','3'):version>" if self.flavor is Flavor.CLOUD else "<any('2'):version>"
        rules = [
            Rule(f"/rest/api/{versions}/serverInfo", endpoint="server_info", methods=["GET"]),
            Rule(f"/rest/api/{versions}/myself", endpoint="myself", methods=["GET"]),
            Rule(f"/rest/api/{versions}/status", endpoint="statuses", methods=["GET"]),
            Rule(f"/rest/api/{versions}/field", endpoint="fields", methods=["GET"]),
            Rule(f"/rest/api/{versions}/project", endpoint="projects", methods=["GET"]),
            Rule(f"/rest/api/{versions}/project/<key>", endpoint="project", methods=["GET"]),
            Rule(f"/rest/api/{versions}/issue/<key>", endpoint="issue", methods=["GET"]),
            Rule(
                f"/rest/api/{versions}/issue/<key>/changelog",
                endpoint="issue_changelog",
                methods=["GET"],
            ),
            Rule(f"/rest/api/{versions}/search", endpoint="search", methods=["GET", "POST"]),
            # Worklogs (jira_simulator.worklogs).
            Rule(f"/rest/api/{versions}/issue/<key>/worklog", endpoint="issue_worklog"),
            Rule(f"/rest/api/{versions}/worklog/updated", endpoint="worklog_updated"),
            Rule(f"/rest/api/{versions}/worklog/deleted", endpoint="worklog_deleted"),
            Rule(f"/rest/api/{versions}/worklog/list", endpoint="worklog_list", methods=["POST"]),
            # Comments beyond the inline field, group members, users by email: people.py.
            Rule(f"/rest/api/{versions}/issue/<key>/comment", endpoint="comments", methods=["GET"]),
            Rule(f"/rest/api/{versions}/group/member", endpoint="group_member", methods=["GET"]),
            Rule(f"/rest/api/{versions}/user/search", endpoint="user_search", methods=["GET"]),
        ]
        if self.flavor is Flavor.CLOUD:
            rules += [
                Rule(
                    f"/rest/api/{versions}/search/jql",
                    endpoint="search_jql",
                    methods=["GET", "POST"],
                ),
                Rule(
                    f"/rest/api/{versions}/search/approximate-count",
                    endpoint="approximate_count",
                    methods=["POST"],
                ),
                Rule(
                    f"/rest/api/{versions}/changelog/bulkfetch",
                    endpoint="bulkfetch",
                    methods=["POST"],
                ),
            ]
        self._url_map = Map(rules, strict_slashes=False)
        self._handlers: dict[str, Callable[..., Reply]] = {
            "server_info": self._server_info,
            "myself": self._myself,
            "statuses": self._statuses,
            "fields": self._fields,
            "projects": self._projects,
            "project": self._project,
            "issue": self._issue,
            "issue_changelog": self._issue_changelog,
            "search": self._search,
            "search_jql": self._search_jql,
            "approximate_count": self._approximate_count,
            "bulkfetch": self._bulkfetch,
            "issue_worklog": self._issue_worklog,
            "worklog_updated": self._worklog_changed,
            "worklog_deleted": self._worklog_changed,
            "worklog_list": self._worklog_list,
            "comments": self._comments,
            "group_member": self._group_member,
            "user_search": self._user_search,
        }

    # -- request records -----------------------------------------------------------

    def request_count(self, path_prefix: str | None = None) -> int:
        """How many requests were answered (whose path starts with ``path_prefix``)."""
        with self._records_lock:
            if path_prefix is None:
                return len(self.requests)
            return sum(1 for record in self.requests if record.path.startswith(path_prefix))

    def reset_requests(self) -> None:
        """Forget the recorded requests."""
        with self._records_lock:
            self.requests.clear()

    # -- WSGI ------------------------------------------------------------------------

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        gateway = self._gateway(environ)
        if gateway is not None:
            return gateway(environ, start_response)
        request = Request(environ)
        response = self._respond(request)
        with self._records_lock:
            self.requests.append(RequestRecord(request.method, request.path, response.status_code))
        return response(environ, start_response)

    def _gateway(self, environ: WSGIEnvironment) -> Response | None:
        """Route a gateway path (``/ex/jira/{cloudId}/…``) to the site's path, or answer
        ``/_edge/tenant_info``; ``None`` when the request goes on as it is."""
        if self.access is None or self.flavor is not Flavor.CLOUD:
            return None
        path = environ.get("PATH_INFO", "")
        if path == "/_edge/tenant_info":
            return self._json_response(Reply({"cloudId": self.access.cloud_id}))
        routed = self.access.route(path)
        if routed is None:
            return self._json_response(Reply({"code": 404, "message": "Not Found"}, 404))
        environ["PATH_INFO"], environ["jira_simulator.gateway"] = routed
        return None

    def _respond(self, request: Request) -> Response:
        """The answer to ``request``, no sooner than the simulated latency after it came.

        The latency is how long this Jira takes to answer, its own work included, as a
        real Jira's is: the simulator builds the answer while it waits, and sleeps only
        what is left. Sleeping the whole latency first, then building, made a 50 ms
        Jira answer a bulkfetch page in 67 ms, and benchmarks time ScopeGuard against
        the simulated latency, not against the simulator's own speed.
        """
        started = time.monotonic()
        response = self._answer(request)
        left = self.faults.latency_seconds - (time.monotonic() - started)
        if left > 0:
            time.sleep(left)
        return response

    def _answer(self, request: Request) -> Response:
        decision = self.faults.take()
        if decision is not None:
            return self._fault_response(decision)
        try:
            reply = self._dispatch(request)
        except ApiError as exc:
            reply = Reply(_error_body(exc.messages, exc.errors), exc.status)
        except Exception:  # the simulator must answer, and tests must see why
            self.errors.append(traceback.format_exc())
            reply = Reply(_error_body(["Internal server error in the simulator."]), 500)
        if reply.status == 200:
            malformed = self.faults.take_malformed()
            if malformed is not None:
                return self._malformed_response(reply, malformed)
        return self._json_response(reply)

    def _json_response(self, reply: Reply) -> Response:
        data = reply.encoded()
        response = Response(
            data, status=reply.status, content_type="application/json;charset=UTF-8"
        )
        for name, value in reply.headers.items():
            response.headers[name] = value
        return response

    def _malformed_response(self, reply: Reply, kind: MalformedKind) -> Response:
        if kind is MalformedKind.MISSING_KEYS:
            return self._json_response(Reply({"simulated": "malformed payload"}, 200))
        data = reply.encoded()
        truncated = data[: max(1, len(data) // 2)]
        return Response(truncated, status=200, content_type="application/json;charset=UTF-8")

    def _fault_response(self, decision: FaultDecision) -> Response:
        status = decision.status
        headers: dict[str, str] = {}
        if decision.retry_after is not None:
            headers["Retry-After"] = str(decision.retry_after)
        if status == 429:
            reset = self.clock().astimezone(UTC) + timedelta(seconds=decision.retry_after or 1)
            headers["X-RateLimit-Reset"] = reset.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            headers["X-RateLimit-Remaining"] = "0"
            headers["X-RateLimit-NearLimit"] = "true"
            headers["RateLimit-Reason"] = decision.rate_limit_reason or "jira-burst-based"
            body = _error_body(["Rate limit exceeded."])
        else:
            body = _error_body([f"Service unavailable (simulated {status})."])
        return self._json_response(Reply(body, status, headers))

    def _authenticated(self, request: Request) -> bool | None:
        """True for valid credentials, False for wrong ones, None when none were sent."""
        header = request.headers.get("Authorization")
        if not header:
            return None
        scheme, _, value = header.partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer":
            return self.flavor is Flavor.DATACENTER and value == self.pat
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(value).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        if self.flavor is Flavor.CLOUD:
            scoped = self.access is not None and self.access.token_is_scoped(password)
            return user == self.email and (password == self.api_token or scoped)
        return user in (self.email, self.username) and password in (self.api_token, self.pat)

    def _dispatch(self, request: Request) -> Reply:
        adapter = self._url_map.bind_to_environ(request.environ)
        try:
            endpoint, matched = adapter.match()
        except MethodNotAllowed as exc:
            raise ApiError(405, "Method not allowed.") from exc
        except NotFound as exc:
            raise ApiError(404, "Null or not found.") from exc
        except HTTPException as exc:  # redirects from strict slashes and the like
            raise ApiError(exc.code or 400, exc.description or "Bad request.") from exc
        authenticated = self._authenticated(request)
        if authenticated is False or (authenticated is None and endpoint != "server_info"):
            reply = Reply(_error_body([NOT_AUTHENTICATED]), 401)
            reply.headers["WWW-Authenticate"] = 'Basic realm="protected-area"'
            if authenticated is False:
                reply.headers["X-Seraph-LoginReason"] = "AUTHENTICATED_FAILED"
            return reply
        refused = self._scope_refusal(request, str(endpoint))
        if refused is not None:
            return refused
        args = dict(matched)
        version = int(args.pop("version"))
        handler = self._handlers[str(endpoint)]
        with self.dataset.lock:
            return handler(request, self._renderer(request, version), **args)

    def _scope_refusal(self, request: Request, endpoint: str) -> Reply | None:
        """The gateway's and Jira's refusals of a scoped token: outside the gateway, without
        the operation's scopes, or (``access.forbidden``) without the permission."""
        access = self.access
        if access is None or self.flavor is not Flavor.CLOUD or endpoint == "server_info":
            return None
        via_gateway = bool(request.environ.get("jira_simulator.gateway"))
        scopes = access.scopes_of(request.headers.get("Authorization"))
        if scopes is None:
            # A classic token: the site's URL only.
            if via_gateway or access.require_gateway:
                return Reply(_error_body([NOT_AUTHENTICATED]), 401)
        elif not via_gateway:
            return Reply(_error_body([NOT_AUTHENTICATED]), 401)
        elif not allowed(scopes, endpoint):
            return Reply(dict(SCOPE_MISMATCH), 401)
        if endpoint in access.forbidden:
            return Reply(
                _error_body(["You do not have the permission to see the specified resource."]), 403
            )
        return None

    def _renderer(self, request: Request, version: int) -> Renderer:
        base = self.dataset.base_url_hint or request.host_url.rstrip("/")
        key = (version, base)
        renderer = self._renderers.get(key)
        if renderer is None:
            renderer = Renderer(
                self.dataset,
                self.flavor,
                version,
                base,
                dc_history_field_ids=self.dc_history_field_ids,
            )
            renderer.inline_comment_cap = self.inline_comment_cap
            self._renderers[key] = renderer
        return renderer

    # -- shared helpers --------------------------------------------------------------

    def _json_body(self, request: Request, allowed: Iterable[str]) -> JsonDict:
        try:
            body = json.loads(request.get_data(as_text=True) or "{}")
        except ValueError as exc:
            raise ApiError(400, "Unexpected character in the request body: not JSON.") from exc
        if not isinstance(body, dict):
            raise ApiError(400, "The request body must be a JSON object.")
        allowed_set = set(allowed)
        for key in body:
            if key not in allowed_set:
                # Jira's JSON binding rejects unknown properties of its request beans.
                raise ApiError(
                    400,
                    f'Unrecognized field "{key}" , not marked as ignorable '
                    f"(known properties: {', '.join(sorted(allowed_set))})",
                )
        return body

    def _compile(self, jql: str) -> CompiledQuery:
        # Compiling is cheap next to running; it also re-checks the values (projects,
        # keys, statuses) against the data as it is now, as Jira does per request.
        try:
            return compile_query(jql, self.dataset, self.clock())
        except JqlError as exc:
            raise ApiError(400, str(exc)) from exc

    def _results_for(
        self, jql: str, compiled: CompiledQuery, version: int | None = None
    ) -> tuple[list[SimIssue], int]:
        """Matching issues for ``jql`` as of dataset ``version`` (a page snapshot).

        Snapshots are kept for the 32 most recent (query, version) pairs; an expired
        one is recomputed on the current data, like a search index moving on. Queries
        with relative dates (``-5d``) are never cached: their answer moves with time.
        """
        key = jql.strip()
        wanted = version if version is not None else self.dataset.version
        cached = self._results.get((key, wanted))
        if cached is not None:
            self._results.move_to_end((key, wanted))
            return cached, wanted
        results = run_query(compiled, self.dataset)
        current = self.dataset.version
        if not compiled.time_dependent:
            self._results[(key, current)] = results
            while len(self._results) > 32:
                self._results.popitem(last=False)
        return results, current

    def _issue_or_404(self, key: str) -> SimIssue:
        issue = self.dataset.find_issue(key)
        if issue is None or issue.deleted:
            raise ApiError(404, ISSUE_NOT_FOUND)
        return issue

    def _now_text(self) -> str:
        return format_jira_datetime(self.clock().astimezone(self.dataset.zone))

    # -- endpoints -------------------------------------------------------------------

    def _server_info(self, request: Request, r: Renderer) -> Reply:
        if self.flavor is Flavor.CLOUD:
            version, deployment, build = CLOUD_VERSION, "Cloud", 100320
        else:
            version, deployment = self.dc_version, self.dc_deployment_type
            major, minor, patch = (int(p) for p in version.split(".")[:3])
            build = major * 100000 + minor * 1000 + patch
        numbers = [int(p) for p in version.split("-")[0].split(".")[:3]]
        return Reply(
            {
                "baseUrl": r.base,
                "displayUrl": r.base,
                "version": version,
                "versionNumbers": numbers,
                "deploymentType": deployment,
                "buildNumber": build,
                "buildDate": "2026-01-15T00:00:00.000+0000",
                "serverTime": self._now_text(),
                "scmInfo": "3f6d3b5a2f1c9e4b7d8a0c1e2f3a4b5c6d7e8f90",
                "serverTitle": "Jira",
                "serverTimeZone": self.dataset.user_timezone,
            }
        )

    def _myself(self, request: Request, r: Renderer) -> Reply:
        return Reply(r.myself(self.dataset.me, self.email))

    def _statuses(self, request: Request, r: Renderer) -> Reply:
        return Reply([r.status(status) for status in self.dataset.statuses])

    def _fields(self, request: Request, r: Renderer) -> Reply:
        return Reply([f.to_json() for f in field_catalogue(self.flavor)])

    def _projects(self, request: Request, r: Renderer) -> Reply:
        return Reply([r.project(p) for p in self.dataset.projects])

    def _project(self, request: Request, r: Renderer, key: str) -> Reply:
        project = self.dataset.find_project(key)
        if project is None:
            raise ApiError(404, f"No project could be found with key '{key}'.")
        return Reply(r.project(project))

    def _issue(self, request: Request, r: Renderer, key: str) -> Reply:
        issue = self._issue_or_404(key)
        selection = FieldSelection.parse(request.args.getlist("fields"), "*all")
        expand = _expand_set(request.args.getlist("expand"))
        body = r.issue(issue, selection, changelog="changelog" in expand, dc_cap=None)
        return Reply(body)

    def _comments(self, request: Request, r: Renderer, key: str) -> Reply:
        issue = self._issue_or_404(key)
        start_at = _int_param(request.args.get("startAt"), "startAt", 0)
        max_results = _int_param(request.args.get("maxResults"), "maxResults", COMMENT_PAGE_CAP)
        if start_at < 0 or max_results < 0:
            raise ApiError(400, "startAt and maxResults must not be negative.")
        return Reply(people.comment_page(r, issue, start_at, max_results))

    def _group_member(self, request: Request, r: Renderer) -> Reply:
        name = request.args.get("groupname") or request.args.get("groupName")
        if not name:
            raise ApiError(400, "You must specify a group name or group id.")
        start_at = _int_param(request.args.get("startAt"), "startAt", 0)
        max_results = _int_param(request.args.get("maxResults"), "maxResults", 50)
        page = people.group_members(r, self.dataset, name, start_at, max_results)
        if page is None:
            raise ApiError(404, f"Group with name '{name}' does not exist.")
        return Reply(page)

    def _user_search(self, request: Request, r: Renderer) -> Reply:
        query = request.args.get("query") if self.flavor is Flavor.CLOUD else None
        query = query or request.args.get("username") or request.args.get("query")
        if not query:
            raise ApiError(400, "The query parameter 'query' is required.")
        return Reply(people.user_search(r, self.dataset, query))

    def _issue_changelog(self, request: Request, r: Renderer, key: str) -> Reply:
        issue = self._issue_or_404(key)
        start_at = _int_param(request.args.get("startAt"), "startAt", 0)
        max_results = _int_param(request.args.get("maxResults"), "maxResults", CHANGELOG_PAGE_CAP)
        if start_at < 0 or max_results < 0:
            raise ApiError(400, "startAt and maxResults must not be negative.")
        max_results = min(max_results, CHANGELOG_PAGE_CAP)
        total = len(issue.histories)
        page = issue.histories[start_at : start_at + max_results]
        is_last = start_at + len(page) >= total
        url = f"{r.api}/issue/{key}/changelog"
        body: JsonDict = {
            "self": f"{url}?startAt={start_at}&maxResults={max_results}",
            "maxResults": max_results,
            "startAt": start_at,
            "total": total,
            "isLast": is_last,
            "values": r.histories(page),
        }
        if not is_last:
            body["nextPage"] = f"{url}?startAt={start_at + len(page)}&maxResults={max_results}"
        return Reply(body)

    def _search(self, request: Request, r: Renderer) -> Reply:
        if self.flavor is Flavor.CLOUD:
            raise ApiError(410, SEARCH_GONE_MESSAGE)
        if request.method == "POST":
            body = self._json_body(
                request,
                (
                    "jql",
                    "startAt",
                    "maxResults",
                    "fields",
                    "expand",
                    "validateQuery",
                    "properties",
                    "fieldsByKeys",
                ),
            )
            jql = str(body.get("jql") or "")
            start_at = _int_param(body.get("startAt"), "startAt", 0)
            max_results = _int_param(body.get("maxResults"), "maxResults", 50)
            fields = _list_param(body.get("fields"))
            expand = _expand_set(_list_param(body.get("expand")))
        else:
            jql = request.args.get("jql", "")
            start_at = _int_param(request.args.get("startAt"), "startAt", 0)
            max_results = _int_param(request.args.get("maxResults"), "maxResults", 50)
            fields = request.args.getlist("fields")
            expand = _expand_set(request.args.getlist("expand"))
        if start_at < 0 or max_results < 0:
            raise ApiError(400, "startAt and maxResults must not be negative.")
        # The server caps the page size silently; clients must read it back.
        max_results = min(max_results, self.max_results_cap)
        results, _ = self._results_for(jql, self._compile(jql))
        selection = FieldSelection.parse(fields, "*navigable")
        page = results[start_at : start_at + max_results]
        changelog = "changelog" in expand
        return Reply(
            {
                "expand": "schema,names",
                "startAt": start_at,
                "maxResults": max_results,
                "total": len(results),
                "issues": [
                    r.issue(
                        issue,
                        selection,
                        changelog=changelog,
                        dc_cap=self.dc_inline_changelog_cap,
                    )
                    for issue in page
                ],
            }
        )

    def _search_jql(self, request: Request, r: Renderer) -> Reply:
        if request.method == "POST":
            body = self._json_body(
                request,
                (
                    "jql",
                    "nextPageToken",
                    "maxResults",
                    "fields",
                    "expand",
                    "properties",
                    "fieldsByKeys",
                    "reconcileIssues",
                ),
            )
            jql = str(body.get("jql") or "")
            token = body.get("nextPageToken")
            max_results = _int_param(body.get("maxResults"), "maxResults", 50)
            fields = _list_param(body.get("fields"))
            expand = _expand_set(_list_param(body.get("expand")))
        else:
            jql = request.args.get("jql", "")
            token = request.args.get("nextPageToken")
            max_results = _int_param(request.args.get("maxResults"), "maxResults", 50)
            fields = request.args.getlist("fields")
            expand = _expand_set(request.args.getlist("expand"))
        if max_results < 1:
            raise ApiError(400, "The 'maxResults' parameter must be at least 1.")
        compiled = self._compile(jql)
        if not compiled.bounded:
            raise ApiError(400, UNBOUNDED_MESSAGE)
        selection = FieldSelection.parse(fields, "id")
        changelog = "changelog" in expand
        cap = CLOUD_ID_SEARCH_CAP if selection.ids_only and not changelog else CLOUD_SEARCH_CAP
        max_results = min(max_results, cap)
        query_hash = _fingerprint(jql.strip())
        offset, version = 0, None
        if token:
            payload = _decode_token(str(token), "jql", "q", query_hash)
            offset = _int_param(payload.get("o"), "nextPageToken", 0)
            version = _int_param(payload.get("v"), "nextPageToken", 0)
        results, snapshot = self._results_for(jql, compiled, version)
        page = [issue for issue in results[offset : offset + max_results] if not issue.deleted]
        end = offset + max_results
        reply: JsonDict = {
            "issues": [r.issue(issue, selection, changelog=changelog) for issue in page],
            "isLast": end >= len(results),
        }
        if end < len(results):
            reply["nextPageToken"] = _encode_token(
                {"k": "jql", "o": end, "v": snapshot, "q": query_hash}
            )
        return Reply(reply)

    def _approximate_count(self, request: Request, r: Renderer) -> Reply:
        body = self._json_body(request, ("jql",))
        jql = str(body.get("jql") or "")
        compiled = self._compile(jql)
        if not compiled.bounded:
            raise ApiError(400, UNBOUNDED_MESSAGE)
        results, _ = self._results_for(jql, compiled)
        return Reply({"count": len(results)})

    def _bulkfetch(self, request: Request, r: Renderer) -> Reply:
        body = self._json_body(
            request, ("issueIdsOrKeys", "fieldIds", "maxResults", "nextPageToken")
        )
        requested = body.get("issueIdsOrKeys")
        if not isinstance(requested, list) or not all(isinstance(v, str) for v in requested):
            raise ApiError(400, "issueIdsOrKeys must be a list of issue ids or keys.")
        if not 1 <= len(requested) <= BULKFETCH_MAX_ISSUES:
            raise ApiError(
                400, f"issueIdsOrKeys must contain between 1 and {BULKFETCH_MAX_ISSUES} items."
            )
        field_ids_raw = body.get("fieldIds")
        field_ids: set[str] | None = None
        if field_ids_raw is not None:
            field_list = _list_param(field_ids_raw)
            if len(field_list) > BULKFETCH_MAX_FIELDS:
                raise ApiError(400, f"fieldIds must contain at most {BULKFETCH_MAX_FIELDS} items.")
            field_ids = set(field_list) if field_list else None
        max_results = _int_param(body.get("maxResults"), "maxResults", BULKFETCH_DEFAULT_RESULTS)
        if not 1 <= max_results <= BULKFETCH_MAX_RESULTS:
            raise ApiError(400, f"maxResults must be between 1 and {BULKFETCH_MAX_RESULTS}.")
        # Issues the caller cannot see (unknown, deleted) are left out, not errors.
        found: dict[str, SimIssue] = {}
        for value in requested:
            issue = self.dataset.find_issue(value)
            if issue is not None and not issue.deleted:
                found[issue.id] = issue
        issues = sorted(found.values(), key=lambda i: (int(i.id) if i.id.isdigit() else 0, i.id))
        request_hash = _fingerprint(sorted(found), sorted(field_ids or ()))
        issue_index, history_index = 0, 0
        token = body.get("nextPageToken")
        if token:
            payload = _decode_token(str(token), "bulk", "r", request_hash)
            issue_index = _int_param(payload.get("i"), "nextPageToken", 0)
            history_index = _int_param(payload.get("h"), "nextPageToken", 0)
        logs: list[bytes] = []
        taken = 0
        more = False
        while issue_index < len(issues):
            issue = issues[issue_index]
            histories = issue.histories
            chunk: list[bytes] = []
            while history_index < len(histories):
                rendered = r.history_json(histories[history_index], field_ids)
                if rendered is not None:
                    if taken >= max_results:
                        more = True
                        break
                    chunk.append(rendered)
                    taken += 1
                history_index += 1
            if chunk:
                logs.append(
                    b'{"issueId":%s,"changeHistories":[%s]}'
                    % (encode_bytes(issue.id), b",".join(chunk))
                )
            if more:
                break
            issue_index += 1
            history_index = 0
        parts = [b'{"issueChangeLogs":[', b",".join(logs), b"]"]
        if more:
            token_text = _encode_token(
                {"k": "bulk", "i": issue_index, "h": history_index, "r": request_hash}
            )
            parts.append(b',"nextPageToken":"%s"' % token_text.encode())
        parts.append(b"}")
        return Reply(None, data=b"".join(parts))

    # -- worklogs and groups ---------------------------------------------------------

    def _issue_worklog(self, request: Request, r: Renderer, key: str) -> Reply:
        issue = self._issue_or_404(key)
        try:
            return Reply(
                worklogs.issue_worklogs(
                    r,
                    issue,
                    request.args.get("startAt"),
                    request.args.get("maxResults"),
                    self.worklog_page_cap,
                )
            )
        except worklogs.BadRequestError as exc:
            raise ApiError(400, str(exc)) from exc

    def _worklog_changed(self, request: Request, r: Renderer) -> Reply:
        kind = "deleted" if request.path.endswith("/deleted") else "updated"
        try:
            return Reply(
                worklogs.changed(
                    r, kind, request.args.get("since"), self.clock(), self.worklog_changed_page
                )
            )
        except worklogs.BadRequestError as exc:
            raise ApiError(400, str(exc)) from exc

    def _worklog_list(self, request: Request, r: Renderer) -> Reply:
        try:
            return Reply(worklogs.listed(r, request.get_data()))
        except worklogs.BadRequestError as exc:
            raise ApiError(400, str(exc)) from exc
