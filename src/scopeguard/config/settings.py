"""The configuration's models: one strict pydantic model per section of ``scopeguard.yaml``.

Unknown keys are errors, and each section turns into the domain's own types
where the domain needs them (:meth:`ContractSettings.to_contract`).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from scopeguard.config.risk import Person, Pms, RiskSettings
from scopeguard.domain.contract import Contract, ScopeUnit, WorkflowRules
from scopeguard.domain.risk.people import ClientPeople, Directory, Sides
from scopeguard.domain.risk.policy import RiskPolicy


class _Strict(BaseModel):
    # Unknown keys are mistakes (a typo such as `revison_limit` would otherwise be
    # silently ignored and the limit never enforced). `.inf` and `.nan` are valid YAML
    # floats that no limit, rate or timeout can mean; they would reach the API's JSON.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _secret(value: str) -> str:
    # `${VAR}` with VAR set to "" gives an empty string: an empty token or secret
    # would turn the check it guards into one that anybody passes.
    if not value.strip():
        raise ValueError("is empty (an environment variable set to an empty string?)")
    if _CONTROL.search(value):
        raise ValueError("contains a control character (a stray newline?)")
    return value


def _line(value: str) -> str:
    # Names end up in email subjects, HTTP headers and file names, where a newline
    # splits a header in two (and an SMTP server refuses the mail for good).
    if _CONTROL.search(value):
        raise ValueError("must be one line of text without control characters")
    return value


Secret = Annotated[str, AfterValidator(_secret)]
"""A token, password or key: never empty, one line."""
Line = Annotated[str, Field(max_length=500), AfterValidator(_line)]
"""Text that becomes a header, a subject or part of a file name: one line."""
Amount = Annotated[float, Field(ge=0, le=1e9)]
"""Money and hours: finite, not negative, below a billion."""
Size = Annotated[float, Field(ge=0.01, le=1e9)]
"""A contracted quantity: at least 0.01 (a percentage is divided by it)."""
Seconds = Annotated[float, Field(gt=0, le=31_536_000)]
"""A duration: positive, at most a year."""


class Deployment(StrEnum):
    AUTO = "auto"
    CLOUD = "cloud"
    DATACENTER = "datacenter"


class JiraSettings(_Strict):
    url: AnyHttpUrl
    deployment: Deployment = Deployment.AUTO
    email: Line | None = None
    api_token: Secret | None = None
    pat: Secret | None = None
    story_points_field: Line | None = None
    """A custom field id (``customfield_10016``); found from ``/field`` when unset."""
    timeout_seconds: Seconds = 30.0
    max_attempts: int = Field(default=6, ge=1, le=20)
    """Attempts per request on 429/503/network errors before giving up."""
    max_backoff_seconds: Seconds = 60.0
    verify_tls: bool = True
    webhook_secret: Secret | None = None
    """Secret of the Jira admin webhook (``X-Hub-Signature``); unset: ``/hooks/jira`` is off."""
    webhook_debounce_seconds: float = Field(default=30.0, ge=0, le=86_400)
    """A burst of webhook events within this time becomes one sync of the client."""
    metadata_ttl_minutes: float = Field(default=60.0, gt=0)
    """How long the statuses, the story points field and the user's time zone are
    reused before they are read again (sooner on a webhook or an unknown status)."""
    scoped_token: bool = False
    """``api_token`` is a scoped API token (a service account's, or a person's with
    scopes): every request goes through the API gateway,
    ``<gateway_url>/ex/jira/<cloud_id>``; browse links stay on ``url``."""
    cloud_id: Line | None = None
    """The site's cloud id; unset: read once from ``<url>/_edge/tenant_info``."""
    gateway_url: AnyHttpUrl = AnyHttpUrl("https://api.atlassian.com")

    @model_validator(mode="after")
    def _credentials(self) -> JiraSettings:
        if self.pat is None and (self.email is None or self.api_token is None):
            raise ValueError("set jira.email and jira.api_token (Cloud) or jira.pat (Data Center)")
        return self

    @model_validator(mode="after")
    def _scoped(self) -> JiraSettings:
        if self.scoped_token and (self.email is None or self.api_token is None):
            raise ValueError(
                "a scoped token (jira.scoped_token) needs jira.email and jira.api_token"
            )
        if self.scoped_token and self.deployment == Deployment.DATACENTER:
            raise ValueError("scoped API tokens are for Jira Cloud, not Data Center")
        return self

    @property
    def gateway_base(self) -> str:
        """The gateway's address without the cloud id (``https://api.atlassian.com``)."""
        return str(self.gateway_url).rstrip("/")

    @property
    def base_url(self) -> str:
        return str(self.url).rstrip("/")

    def browse_url(self, issue_key: str) -> str:
        """The issue's page in Jira."""
        return f"{self.base_url}/browse/{quote(issue_key, safe='')}"


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class WorkingHours(_Strict):
    days: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri")
    start: time = time(9, 0)
    end: time = time(19, 0)

    @model_validator(mode="after")
    def _order(self) -> WorkingHours:
        if self.end <= self.start:
            raise ValueError("working_hours.end must be after working_hours.start")
        return self


class AgencySettings(_Strict):
    name: Line = "Agency"
    timezone: str = "UTC"
    working_hours: WorkingHours = WorkingHours()
    team: tuple[Person, ...] = ()
    """The agency's people (account ids, emails, ``group:<name>``); everyone else is a client."""

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from exc
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class WorkflowSettings(_Strict):
    review_statuses: tuple[str, ...] = ()
    cancelled_resolutions: tuple[str, ...] = WorkflowRules().cancelled_resolutions

    def rules(self) -> WorkflowRules:
        return WorkflowRules(
            review_statuses=self.review_statuses,
            cancelled_resolutions=self.cancelled_resolutions,
        )


class ScopeSettings(_Strict):
    issues: Size | None = None
    story_points: Size | None = None
    hours: Size | None = None

    @model_validator(mode="after")
    def _one_unit(self) -> ScopeSettings:
        if self.issues is None and self.story_points is None and self.hours is None:
            raise ValueError("name at least one of issues, story_points, hours")
        return self

    def as_units(self) -> dict[ScopeUnit, float]:
        return {
            unit: float(value)
            for unit, value in (
                (ScopeUnit.ISSUES, self.issues),
                (ScopeUnit.STORY_POINTS, self.story_points),
                (ScopeUnit.HOURS, self.hours),
            )
            if value is not None
        }


Moment = date | datetime


class ReportSettings(_Strict):
    language: Literal["en", "ru"] = "en"
    recipients: tuple[Line, ...] = ()
    internal_recipients: tuple[Line, ...] = ()
    """The agency's people who get the internal report (with the client risk) each month;
    never the client's ``recipients``."""
    notes: str | None = Field(default=None, max_length=10_000)
    """Text for the notes block of this client's monthly reports (plain text, kept as written)."""


class ReportsSettings(_Strict):
    """Monthly PDF reports: where they are kept and how long their tables may grow."""

    folder: Path | None = None
    """Where report PDFs are kept; default ``<instance_path>/reports``; relative to
    ``instance_path``. Every web worker and the scheduler must see the same folder."""
    max_table_rows: int = Field(default=30, ge=1, le=2000)
    """Rows per table in the PDF; complete lists are attached to the PDF as CSV files."""


class ContractSettings(_Strict):
    start: Moment
    end: Moment | None = None
    baseline: Moment | None = None
    scope: ScopeSettings
    revisions_per_issue: int = Field(ge=0)
    revisions_total: int | None = Field(default=None, ge=0)
    reopen_limit: int | None = Field(default=None, ge=0)
    creep_alert_percent: float = Field(default=10.0, ge=0, le=100_000)
    change_request_label: Line | None = "change-request"
    change_request_issue_types: tuple[Line, ...] = ()
    hourly_rate: Amount = 0.0
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    hours_per_story_point: Size | None = None
    hours_per_revision: Amount = 0.0
    rates: dict[Line, Amount] = Field(default_factory=dict)
    """Hourly rates by person (a Jira account id, or a username on Data Center) or by
    ``group:<name>``, for the actual overage; everyone else costs ``hourly_rate``."""
    unbilled_hours_alert: Amount | None = None
    """Alert once the logged hours the contract does not pay for reach this."""
    report: ReportSettings = ReportSettings()

    @model_validator(mode="after")
    def _rates(self) -> ContractSettings:
        for key in self.rates:
            if key.startswith("group:") and not key[len("group:") :].strip():
                raise ValueError("a group rate needs a group name (`group:Designers`)")
        return self

    @property
    def rate_groups(self) -> tuple[str, ...]:
        """The Jira groups named in ``rates``, in order."""
        return tuple(k[len("group:") :] for k in self.rates if k.startswith("group:"))

    @model_validator(mode="after")
    def _dates(self) -> ContractSettings:
        if self.end is not None and _as_date(self.end) < _as_date(self.start):
            raise ValueError("contract.end is before contract.start")
        return self

    def to_contract(self, zone: ZoneInfo) -> Contract:
        """The domain contract, with bare dates read as 00:00 in the agency's zone."""
        start = _moment(self.start, zone)
        return Contract(
            start=start,
            end=_moment(self.end, zone, end_of_day=True) if self.end is not None else None,
            baseline=_moment(self.baseline, zone) if self.baseline is not None else start,
            scope=self.scope.as_units(),
            revisions_per_issue=self.revisions_per_issue,
            revisions_total=self.revisions_total,
            reopen_limit=self.reopen_limit,
            creep_alert_percent=self.creep_alert_percent,
            change_request_label=self.change_request_label,
            change_request_issue_types=self.change_request_issue_types,
            hourly_rate=self.hourly_rate,
            currency=self.currency,
            hours_per_story_point=self.hours_per_story_point,
            hours_per_revision=self.hours_per_revision,
        )


class AlertChannelSettings(_Strict):
    type: Literal["webhook", "slack", "teams", "email"]
    url: Line | None = None
    secret: Secret | None = None
    """``webhook``: the HMAC-SHA256 key of ``X-ScopeGuard-Signature``."""
    to: tuple[Line, ...] = ()
    allow_private: bool = False
    """Allow a URL that resolves to a private, loopback or link-local address."""
    repeat_each_round: bool = False
    """Alert again on every further revision round of an issue already over its limit."""

    @model_validator(mode="after")
    def _target(self) -> AlertChannelSettings:
        if self.type in ("webhook", "slack", "teams") and not self.url:
            raise ValueError(f"a {self.type} channel needs a url")
        if self.url and not re.match(r"^https?://[^/?#\s]+", self.url, re.I):
            raise ValueError(f"a {self.type} channel url must be an http(s) URL")
        if self.type == "email" and not self.to:
            raise ValueError("an email channel needs `to` addresses")
        return self


ClientKey = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]


class ClientSettings(_Strict):
    key: ClientKey
    name: Annotated[Line, Field(min_length=1, max_length=200)]
    jql: str = Field(min_length=1)
    contract: ContractSettings
    alerts: tuple[AlertChannelSettings, ...] = ()
    jira_projects: tuple[Line, ...] = ()
    """Jira project keys that map to this client (the Forge panel); from the JQL if unset."""
    scope_label: str | None = None
    """When the client's scope is a label (``jql: labels = acme``): the moment an issue
    got it is when it entered the scope."""
    client_users: tuple[Person, ...] = ()
    """The client's people, named explicitly (the same forms as ``agency.team``)."""
    pm: Pms = ()
    """The client's PM (an account id), or ``{account, since, until}`` periods; default: the
    agency account assigned to most of the client's issues."""

    @model_validator(mode="after")
    def _pm_not_client(self) -> ClientSettings:
        clients = {p.account for p in self.client_users if p.account is not None}
        wrong = sorted({pm.account for pm in self.pm} & clients)
        if wrong:
            raise ValueError(f"the PM {', '.join(wrong)} is also listed in client_users")
        return self

    @property
    def project_keys(self) -> tuple[str, ...]:
        if self.jira_projects:
            return self.jira_projects
        found = re.findall(r"project\s*(?:=|in)\s*\(?\s*([A-Za-z0-9_, \"']+)\)?", self.jql, re.I)
        keys: list[str] = []
        for group in found:
            keys.extend(k.strip(" \"'") for k in group.split(",") if k.strip(" \"'"))
        return tuple(keys)

    def covers_project(self, project_key: str) -> bool:
        """Whether the Jira project belongs to this client (keys compared case-insensitively)."""
        wanted = project_key.upper()
        return any(key.upper() == wanted for key in self.project_keys)


class SyncSettings(_Strict):
    interval_minutes: float = Field(default=15, gt=0, le=10_080)
    overlap_minutes: int = Field(default=10, ge=0, le=10_080)
    """Re-read issues updated this long before the last successful sync: Jira's
    search index lags writes slightly, and JQL dates have minute precision."""
    reconcile_hours: float = Field(default=24.0, gt=0, le=8_760)
    """How often a sync also lists all issue ids to find deleted or moved-out issues."""
    batch_issues: int = Field(default=1000, ge=1, le=1000)
    concurrency: int = Field(default=4, ge=1, le=16)
    """Jira requests a sync has in flight at once (fewer after a 429: the site's budget)."""
    worklogs: bool = True
    """Read worklogs (logged time) beside the issues; false: the effort figures stay empty."""


class SmtpSettings(_Strict):
    """The mail server alerts and reports are sent through."""

    host: Line
    port: int | None = Field(default=None, ge=1, le=65535)
    """Default by ``security``: 587 (starttls), 465 (tls), 25 (none)."""
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: Line | None = None
    password: Secret | None = None
    sender: Line
    timeout: Seconds = 30.0
    ca_file: Path | None = None
    """Trust this CA bundle (PEM) too, for a server with a private certificate."""

    @property
    def effective_port(self) -> int:
        """``port``, or the usual one for ``security``."""
        if self.port is not None:
            return self.port
        return {"starttls": 587, "tls": 465, "none": 25}[self.security]


class AlertsSettings(_Strict):
    """Delivery of alerts: default channels and how hard to try."""

    channels: tuple[AlertChannelSettings, ...] = ()
    """Channels for clients that configure none of their own."""
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    """Connect and read timeout of one webhook, Slack or Teams request."""
    retry_hours: float = Field(default=24.0, gt=0, le=8_760)
    """Keep retrying a failing delivery this long, then record it as failed."""
    backoff_seconds: Seconds = 30.0
    """First retry delay; doubled per attempt, with jitter."""
    max_backoff_seconds: Seconds = 3600.0
    dispatch_interval_seconds: Seconds = 60.0
    claim_seconds: Seconds = 300.0
    """A dispatcher that stopped mid-delivery frees its alert after this long."""
    batch: int = Field(default=200, ge=1, le=100_000)
    """At most this many deliveries per dispatch run."""
    digest_after: int = Field(default=5, ge=1, le=100_000)
    """When one evaluation fires more per-issue alerts than this for a channel, the
    channel gets one digest instead (each issue keeps its own state)."""
    digest_size: int = Field(default=10, ge=1, le=50)
    """The worst issues a digest names; the rest are one link away."""

    @model_validator(mode="after")
    def _claim_outlasts_request(self) -> AlertsSettings:
        # A claim that ran out while its request is still waiting for an answer would
        # let a second dispatcher send the same alert.
        if self.claim_seconds <= self.timeout_seconds:
            raise ValueError("alerts.claim_seconds must be longer than alerts.timeout_seconds")
        return self


class SchedulerSettings(_Strict):
    """The periodic jobs: the lease that lets one worker run them, or the per-client
    leases with which workers share the clients (PostgreSQL)."""

    lease_seconds: Seconds = 60.0
    """A worker that stops renewing loses the lease after this long; another takes over."""
    heartbeat_seconds: Seconds = 15.0
    hook_poll_seconds: Seconds = 5.0
    """How often webhook-requested syncs are looked for."""
    monthly_catch_up_hours: float = Field(default=48.0, ge=0, le=744)
    """A monthly job missed at 08:00 on the 1st still runs if the worker is back within this."""
    share_clients: bool = True
    """On PostgreSQL, every worker takes clients' syncs and reports one client at a time;
    ``false``: one worker holds the lease and runs everything. SQLite always runs one."""
    client_lease_seconds: Seconds = 60.0
    """Within this long of a worker dying, another takes over the clients it was working
    on (``share_clients`` on PostgreSQL): its claims run out ``heartbeat_seconds``
    sooner, and the others look for such clients every ``heartbeat_seconds``."""

    @model_validator(mode="after")
    def _heartbeat(self) -> SchedulerSettings:
        if self.heartbeat_seconds >= self.lease_seconds:
            raise ValueError("scheduler.heartbeat_seconds must be shorter than lease_seconds")
        if 2 * self.heartbeat_seconds > self.client_lease_seconds:
            raise ValueError(
                "scheduler.client_lease_seconds must be at least twice heartbeat_seconds"
            )
        return self


Role = Literal["viewer", "pm", "admin"]
"""What a person may see: ``viewer`` every client's panel, ``pm`` only their clients,
``admin`` everything, with the internal sections, exports and the audit log."""


class OidcRoleMapping(_Strict):
    """Which values of the role claim give which role (the highest match wins)."""

    admin: tuple[Line, ...] = ()
    pm: tuple[Line, ...] = ()
    viewer: tuple[Line, ...] = ()


class OidcSettings(_Strict):
    """Sign-in through an OpenID Connect identity provider (authorization code + PKCE)."""

    issuer: AnyHttpUrl
    """The issuer; its ``/.well-known/openid-configuration`` is read on first use."""
    client_id: Line
    client_secret: Secret
    scopes: tuple[Line, ...] = ("openid", "email", "profile")
    role_claim: Line = "groups"
    """The ID token claim holding the person's groups or roles (a string or a list)."""
    roles: OidcRoleMapping = OidcRoleMapping()
    default_role: Role | None = None
    """The role of a person whose claim matches none of ``roles``; unset: refused."""
    username_claim: Line = "email"
    allowed_domains: tuple[Line, ...] = ()
    """When set, only e-mail addresses in these domains may sign in (``email_verified``)."""
    leeway_seconds: float = Field(default=60.0, ge=0, le=300)
    timeout_seconds: Seconds = 10.0
    display_name: Line = "single sign-on"
    """The sign-in button's words: "Sign in with <display_name>"."""


class WebSettings(_Strict):
    api_token: Secret | None = None
    """Deprecated: a read-only service token for scripts (personal tokens replace it)."""
    public_url: Line = "http://127.0.0.1:8000"
    secret_key: Secret | None = None
    """Signs the sign-in form's token and the OIDC round trip; default: a random key
    generated once and kept in the database."""
    language: Literal["en", "ru"] = "en"
    """The panel's language when neither ``?lang=`` nor the browser names one we have."""
    page_size: int = Field(default=50, ge=5, le=500)
    """Issues per page of the panel's full issue lists."""
    oidc: OidcSettings | None = None
    session_idle_minutes: float = Field(default=60.0, ge=1, le=10_080)
    """A session unused this long is over."""
    session_hours: float = Field(default=12.0, ge=0.1, le=720)
    """A session is over this long after sign-in, used or not."""
    max_request_bytes: int = Field(default=5 * 1024 * 1024, ge=1024, le=1024**3)
    """The largest request body accepted (413 beyond), counted as it streams in."""
    max_query_bytes: int = Field(default=4096, ge=256, le=65_536)
    """The longest query string accepted (414 beyond)."""
    signin_rate_limit: Line = "10 per minute"
    """Sign-in attempts per client address (Flask-Limiter notation)."""
    webhook_rate_limit: Line = "600 per minute"
    """Jira webhook calls per client address."""
    rate_limit_storage: Line = "memory://"
    """Where the rate-limit counters live (``memory://`` is per process; ``redis://…``)."""

    @model_validator(mode="after")
    def _secret_key(self) -> WebSettings:
        if self.secret_key is not None and len(self.secret_key) < 16:
            raise ValueError("web.secret_key must be at least 16 characters")
        if self.api_token is not None and len(self.api_token) < 16:
            raise ValueError("web.api_token must be at least 16 characters")
        return self

    @property
    def https(self) -> bool:
        """Whether ScopeGuard is served over HTTPS (cookies Secure, HSTS)."""
        return self.public_url.lower().startswith("https://")


FORGE_JWKS_URL = "https://forge.cdn.prod.atlassian-dev.net/.well-known/jwks.json"


class ForgeSiteSettings(_Strict):
    """A Jira Cloud site whose installation of the Forge app may call ScopeGuard.

    Every identifier given must match the Forge Invocation Token's claim.
    """

    url: AnyHttpUrl | None = None
    """The site's address, the token's ``context.siteUrl`` (https://agency.atlassian.net)."""
    cloud_id: str | None = None
    """The token's ``context.cloudId``: stable across reinstalls of the app."""
    installation_id: str | None = None
    """The token's ``app.installationId``: pins one installation (changes on reinstall)."""
    clients: tuple[str, ...] = ()
    """Client keys whose projects this site may see; default every client."""

    @model_validator(mode="after")
    def _identified(self) -> ForgeSiteSettings:
        if self.url is None and self.cloud_id is None and self.installation_id is None:
            raise ValueError("name the site by url, cloud_id or installation_id")
        return self


class ForgeSettings(_Strict):
    """The in-Jira Forge app: whose invocation tokens to trust and from which sites."""

    app_id: str = Field(
        pattern=r"^ari:cloud:ecosystem::app/[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$"
    )
    jwks_url: AnyHttpUrl = AnyHttpUrl(FORGE_JWKS_URL)
    leeway_seconds: float = Field(default=10.0, ge=0, le=300)
    """Clock skew allowed on the token's exp / nbf / iat."""
    jwks_cache_seconds: Seconds = 3600.0
    jwks_timeout_seconds: Seconds = 10.0
    sites: tuple[ForgeSiteSettings, ...] = ()
    """Sites allowed to call; empty means only the site at ``jira.url``."""
    show_risk: bool = False
    """Show the client-risk score and its top three reasons on the project page in Jira.
    Off by default: a Forge token names an Atlassian account, not a ScopeGuard role, so
    everyone who can open the project would see what the panel shows admins only."""


class Settings(_Strict):
    """The whole configuration of one ScopeGuard installation."""

    database_url: str | None = None
    database_auto_migrate: bool = False
    """Migrate the schema when a process starts (one machine: ``docker run``, ``scopeguard
    serve --dev``). Off, a process whose schema is not this release's refuses to start
    and says to run ``scopeguard db upgrade`` (the Helm chart's migration Job runs it,
    once per release)."""
    instance_path: Path = Path("instance")
    jira: JiraSettings
    agency: AgencySettings = AgencySettings()
    workflow: WorkflowSettings = WorkflowSettings()
    sync: SyncSettings = SyncSettings()
    web: WebSettings = WebSettings()
    smtp: SmtpSettings | None = None
    alerts: AlertsSettings = AlertsSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    forge: ForgeSettings | None = None
    reports: ReportsSettings = ReportsSettings()
    risk: RiskSettings = RiskSettings()
    clients: tuple[ClientSettings, ...] = ()

    @field_validator("clients")
    @classmethod
    def _unique_keys(cls, clients: tuple[ClientSettings, ...]) -> tuple[ClientSettings, ...]:
        seen: set[str] = set()
        for client in clients:
            if client.key in seen:
                raise ValueError(f"client key {client.key!r} is used twice")
            seen.add(client.key)
        return clients

    @model_validator(mode="after")
    def _email_needs_smtp(self) -> Settings:
        if self.smtp is None:
            channels = [*self.alerts.channels, *(c for k in self.clients for c in k.alerts)]
            if any(channel.type == "email" for channel in channels):
                raise ValueError("email alert channels need the `smtp:` section")
        return self

    @model_validator(mode="after")
    def _forge_clients(self) -> Settings:
        known = {client.key for client in self.clients}
        for site in self.forge.sites if self.forge is not None else ():
            unknown = [key for key in site.clients if key not in known]
            if unknown:
                raise ValueError(f"forge.sites names unknown clients: {', '.join(unknown)}")
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.instance_path / 'scopeguard.db').resolve()}"

    def client(self, key: str) -> ClientSettings:
        for client in self.clients:
            if client.key == key:
                return client
        raise KeyError(key)

    def risk_policy(self) -> RiskPolicy:
        """The client-risk engine's policy: ``risk:`` on the agency's working hours."""
        hours = self.agency.working_hours
        return self.risk.policy(self.agency.zone, hours.days, hours.start, hours.end)

    def client_people(
        self, client: ClientSettings, directory: Directory | None = None
    ) -> ClientPeople:
        """Who is who on ``client``'s issues; ``directory``: the emails and groups the sync read."""
        zone = self.agency.zone
        sides = Sides(
            agency=[person.member(zone) for person in self.agency.team],
            client_users=[person.member(zone) for person in client.client_users],
            directory=directory or Directory(),
            ignored=[person.member(zone) for person in self.risk.ignore],
        )
        return ClientPeople(sides, tuple(pm.assignment(zone) for pm in client.pm))


def _as_date(value: Moment) -> date:
    return value.date() if isinstance(value, datetime) else value


def _moment(value: Moment, zone: ZoneInfo, *, end_of_day: bool = False) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=zone)
    clock = time.max if end_of_day else time.min
    return datetime.combine(value, clock, tzinfo=zone)


# --- loading -----------------------------------------------------------------
