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
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from scopeguard.domain.contract import Contract, ScopeUnit, WorkflowRules


class _Strict(BaseModel):
    # Unknown keys are mistakes (a typo such as `revison_limit` would otherwise be
    # silently ignored and the limit never enforced).
    model_config = ConfigDict(extra="forbid", frozen=True)


class Deployment(StrEnum):
    AUTO = "auto"
    CLOUD = "cloud"
    DATACENTER = "datacenter"


class JiraSettings(_Strict):
    url: AnyHttpUrl
    deployment: Deployment = Deployment.AUTO
    email: str | None = None
    api_token: str | None = None
    pat: str | None = None
    story_points_field: str | None = None
    """A custom field id (``customfield_10016``); found from ``/field`` when unset."""
    timeout_seconds: float = Field(default=30.0, gt=0)
    max_attempts: int = Field(default=6, ge=1, le=20)
    """Attempts per request on 429/503/network errors before giving up."""
    max_backoff_seconds: float = Field(default=60.0, gt=0)
    verify_tls: bool = True
    webhook_secret: str | None = None
    """Secret of the Jira admin webhook (``X-Hub-Signature``); unset: ``/hooks/jira`` is off."""
    webhook_debounce_seconds: float = Field(default=30.0, ge=0)
    """A burst of webhook events within this time becomes one sync of the client."""
    metadata_ttl_minutes: float = Field(default=60.0, gt=0)
    """How long the statuses, the story points field and the user's time zone are
    reused before they are read again (sooner on a webhook or an unknown status)."""

    @model_validator(mode="after")
    def _credentials(self) -> JiraSettings:
        if self.pat is None and (self.email is None or self.api_token is None):
            raise ValueError("set jira.email and jira.api_token (Cloud) or jira.pat (Data Center)")
        return self

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
    name: str = "Agency"
    timezone: str = "UTC"
    working_hours: WorkingHours = WorkingHours()

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
    issues: float | None = Field(default=None, gt=0)
    story_points: float | None = Field(default=None, gt=0)
    hours: float | None = Field(default=None, gt=0)

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
    recipients: tuple[str, ...] = ()
    notes: str | None = None
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
    creep_alert_percent: float = Field(default=10.0, ge=0)
    change_request_label: str | None = "change-request"
    change_request_issue_types: tuple[str, ...] = ()
    hourly_rate: float = Field(default=0.0, ge=0)
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    hours_per_story_point: float | None = Field(default=None, gt=0)
    hours_per_revision: float = Field(default=0.0, ge=0)
    report: ReportSettings = ReportSettings()

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
    url: str | None = None
    secret: str | None = None
    """``webhook``: the HMAC-SHA256 key of ``X-ScopeGuard-Signature``."""
    to: tuple[str, ...] = ()
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
    name: str
    jql: str = Field(min_length=1)
    contract: ContractSettings
    alerts: tuple[AlertChannelSettings, ...] = ()
    jira_projects: tuple[str, ...] = ()
    """Jira project keys that map to this client (the Forge panel); from the JQL if unset."""
    scope_label: str | None = None
    """When the client's scope is a label (``jql: labels = acme``): the moment an issue
    got it is when it entered the scope."""

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
    interval_minutes: float = Field(default=15, gt=0)
    overlap_minutes: int = Field(default=10, ge=0)
    """Re-read issues updated this long before the last successful sync: Jira's
    search index lags writes slightly, and JQL dates have minute precision."""
    reconcile_hours: float = Field(default=24.0, gt=0)
    """How often a sync also lists all issue ids to find deleted or moved-out issues."""
    batch_issues: int = Field(default=1000, ge=1, le=1000)
    concurrency: int = Field(default=4, ge=1, le=16)
    """Jira requests a sync has in flight at once (fewer after a 429: the site's budget)."""


class SmtpSettings(_Strict):
    """The mail server alerts and reports are sent through."""

    host: str
    port: int | None = Field(default=None, ge=1, le=65535)
    """Default by ``security``: 587 (starttls), 465 (tls), 25 (none)."""
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: str | None = None
    sender: str
    timeout: float = Field(default=30.0, gt=0)
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
    retry_hours: float = Field(default=24.0, gt=0)
    """Keep retrying a failing delivery this long, then record it as failed."""
    backoff_seconds: float = Field(default=30.0, gt=0)
    """First retry delay; doubled per attempt, with jitter."""
    max_backoff_seconds: float = Field(default=3600.0, gt=0)
    dispatch_interval_seconds: float = Field(default=60.0, gt=0)
    claim_seconds: float = Field(default=300.0, gt=0)
    """A dispatcher that stopped mid-delivery frees its alert after this long."""
    batch: int = Field(default=200, ge=1)
    """At most this many deliveries per dispatch run."""

    @model_validator(mode="after")
    def _claim_outlasts_request(self) -> AlertsSettings:
        # A claim that ran out while its request is still waiting for an answer would
        # let a second dispatcher send the same alert.
        if self.claim_seconds <= self.timeout_seconds:
            raise ValueError("alerts.claim_seconds must be longer than alerts.timeout_seconds")
        return self


class SchedulerSettings(_Strict):
    """The periodic jobs and the database lease that lets one worker run them."""

    lease_seconds: float = Field(default=60.0, gt=0)
    """A worker that stops renewing loses the lease after this long; another takes over."""
    heartbeat_seconds: float = Field(default=15.0, gt=0)
    hook_poll_seconds: float = Field(default=5.0, gt=0)
    """How often webhook-requested syncs are looked for."""
    monthly_catch_up_hours: float = Field(default=48.0, ge=0)
    """A monthly job missed at 08:00 on the 1st still runs if the worker is back within this."""

    @model_validator(mode="after")
    def _heartbeat(self) -> SchedulerSettings:
        if self.heartbeat_seconds >= self.lease_seconds:
            raise ValueError("scheduler.heartbeat_seconds must be shorter than lease_seconds")
        return self


class WebSettings(_Strict):
    api_token: str | None = None
    public_url: str = "http://127.0.0.1:8000"
    secret_key: str | None = None
    """Signs the panel's sign-in cookie; required when ``api_token`` is set."""
    language: Literal["en", "ru"] = "en"
    """The panel's language when neither ``?lang=`` nor the browser names one we have."""

    @model_validator(mode="after")
    def _secret_key(self) -> WebSettings:
        if self.api_token and not self.secret_key:
            raise ValueError(
                "set web.secret_key (a long random string) when web.api_token is set: "
                "it signs the panel's sign-in cookie"
            )
        if self.secret_key is not None and len(self.secret_key) < 16:
            raise ValueError("web.secret_key must be at least 16 characters")
        return self


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
    jwks_cache_seconds: float = Field(default=3600.0, gt=0)
    jwks_timeout_seconds: float = Field(default=10.0, gt=0)
    sites: tuple[ForgeSiteSettings, ...] = ()
    """Sites allowed to call; empty means only the site at ``jira.url``."""


class Settings(_Strict):
    """The whole configuration of one ScopeGuard installation."""

    database_url: str | None = None
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


def _as_date(value: Moment) -> date:
    return value.date() if isinstance(value, datetime) else value


def _moment(value: Moment, zone: ZoneInfo, *, end_of_day: bool = False) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=zone)
    clock = time.max if end_of_day else time.min
    return datetime.combine(value, clock, tzinfo=zone)


# --- loading -----------------------------------------------------------------
