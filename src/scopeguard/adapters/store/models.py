"""SQLAlchemy tables: what ScopeGuard keeps of Jira and of its own work.

Timestamps are stored in UTC and come back as aware UTC datetimes
(:class:`UTCDateTime`), on SQLite as on PostgreSQL, so no code ever compares a
naive local time with an aware one.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as UTC; rejects naive values instead of guessing their zone."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        utc = value.astimezone(UTC)
        # SQLite has no time zone type: store the UTC wall clock.
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON}  # noqa: RUF012


class IssueRow(Base):
    """One Jira issue in one client's scope: its fields, and its complete change history."""

    __tablename__ = "issues"
    __table_args__ = (
        UniqueConstraint("client_key", "jira_id", name="uq_issues_client_jira_id"),
        Index("ix_issues_client_key_key", "client_key", "key"),
    )

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_key: Mapped[str] = mapped_column(String(64))
    jira_id: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(64))
    project_key: Mapped[str] = mapped_column(String(64))
    issue_type: Mapped[str] = mapped_column(String(128))
    summary: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    status_id: Mapped[str] = mapped_column(String(32))
    status_name: Mapped[str] = mapped_column(String(255))
    status_category: Mapped[str] = mapped_column(String(16))
    resolution: Mapped[str | None] = mapped_column(String(255))
    labels: Mapped[list[str]] = mapped_column(JSON, default=list)
    story_points: Mapped[float | None] = mapped_column(Float)
    original_estimate_seconds: Mapped[int | None] = mapped_column(BigInteger)
    reporter_account: Mapped[str | None] = mapped_column(String(255))
    reporter_name: Mapped[str | None] = mapped_column(String(255))
    priority: Mapped[str | None] = mapped_column(String(255))
    due_date: Mapped[date | None] = mapped_column(Date)
    assignee_account: Mapped[str | None] = mapped_column(String(255))
    creator_account: Mapped[str | None] = mapped_column(String(255))
    created: Mapped[datetime]
    updated: Mapped[datetime]
    histories_total: Mapped[int] = mapped_column(Integer, default=0)
    removed_at: Mapped[datetime | None]
    """Set when the issue was found deleted or moved out of the client's JQL."""
    synced_at: Mapped[datetime]
    changelog: Mapped[bytes | None] = mapped_column(LargeBinary)
    """Every change item of the issue, oldest first, packed by
    :mod:`scopeguard.adapters.store.changelog` (``None``: no history)."""
    time_spent_seconds: Mapped[int | None] = mapped_column(BigInteger)
    """Jira's ``timespent`` as last read: checks that the stored worklogs are complete
    (migration 0012)."""

    comments: Mapped[list[CommentRow]] = relationship(
        back_populates="issue", cascade="all, delete-orphan", order_by="CommentRow.pk"
    )


class CommentRow(Base):
    """A comment: who wrote it when, its text, its last edit and whether the client sees it."""

    __tablename__ = "comments"
    __table_args__ = (UniqueConstraint("issue_pk", "jira_id", name="uq_comments_issue_comment"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    # No index of its own: the unique constraint's index starts with issue_pk.
    issue_pk: Mapped[int] = mapped_column(ForeignKey("issues.pk", ondelete="CASCADE"))
    jira_id: Mapped[str] = mapped_column(String(32))
    created: Mapped[datetime]
    author_account: Mapped[str | None] = mapped_column(String(255))
    author_name: Mapped[str | None] = mapped_column(String(255))
    body: Mapped[str | None] = mapped_column(Text)
    """Plain text: Cloud's Atlassian document as text, Data Center's wiki markup as is."""
    updated: Mapped[datetime | None]
    update_author_account: Mapped[str | None] = mapped_column(String(255))
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    """Not visible to the client (a service-desk internal note, a role restriction)."""

    issue: Mapped[IssueRow] = relationship(back_populates="comments")


class StatusRow(Base):
    """The Jira site's statuses with their categories (done-ness is the category)."""

    __tablename__ = "statuses"

    jira_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    category: Mapped[str] = mapped_column(String(16))


class SyncStateRow(Base):
    """Per-client sync cursor. It moves only after the data it covers is committed."""

    __tablename__ = "sync_state"

    client_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    cursor: Mapped[datetime | None]
    """Start time of the last successful sync: the next one reads issues updated since."""
    last_success: Mapped[datetime | None]
    last_attempt: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_reconcile: Mapped[datetime | None]
    story_points_field: Mapped[str | None] = mapped_column(String(64))


class SyncRunRow(Base):
    """One sync of one client, kept for the dashboard and for diagnosing failures."""

    __tablename__ = "sync_runs"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_key: Mapped[str] = mapped_column(String(64), index=True)
    started: Mapped[datetime]
    finished: Mapped[datetime | None]
    full: Mapped[bool]
    ok: Mapped[bool] = mapped_column(default=False)
    issues: Mapped[int] = mapped_column(Integer, default=0)
    histories: Mapped[int] = mapped_column(Integer, default=0)
    removed: Mapped[int] = mapped_column(Integer, default=0)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)


class IssueFactsRow(Base):
    """Cached per-issue metric facts; recomputed when the issue or the fingerprint changes."""

    __tablename__ = "issue_facts"

    issue_pk: Mapped[int] = mapped_column(
        ForeignKey("issues.pk", ondelete="CASCADE"), primary_key=True
    )
    client_key: Mapped[str] = mapped_column(String(64), index=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    packed: Mapped[bytes] = mapped_column(LargeBinary)
    """MessagePack (:mod:`scopeguard.adapters.store.facts_codec`)."""
    stamp: Mapped[int] = mapped_column(BigInteger)
    """Random per write: a process holding decoded facts knows which rows changed."""


class ClientSnapshotRow(Base):
    """The client's summary and daily series as last computed (after a sync)."""

    __tablename__ = "client_snapshots"

    client_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    """Facts fingerprint (config and statuses) plus the contract: what the figures rest on."""
    config_fingerprint: Mapped[str] = mapped_column(String(64))
    """The configuration part alone, which a reader can check without reading statuses."""
    version: Mapped[int] = mapped_column(Integer, default=1)
    """Bumped on every write, so readers can keep a decoded copy until it changes."""
    computed_at: Mapped[datetime]
    series_until: Mapped[str] = mapped_column(String(10))
    """The last agency day the series covers (ISO date)."""
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    series: Mapped[dict[str, Any]] = mapped_column(JSON)


class AlertStateRow(Base):
    """Where one alert rule stands for one client and subject (an issue key, or ``*``).

    Alerts fire on a change of this state (crossing a limit), never on the value
    alone, so re-running a sync sends nothing new.
    """

    __tablename__ = "alert_states"

    client_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    rule: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject: Mapped[str] = mapped_column(String(128), primary_key=True)
    active: Mapped[bool]
    """The value is past the limit (and an alert was sent for this crossing)."""
    value: Mapped[float] = mapped_column(Float)
    limit: Mapped[float | None] = mapped_column(Float)
    notified_value: Mapped[float | None] = mapped_column(Float)
    """The value the last alert was sent for (further revision rounds compare to it)."""
    fired_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class AlertOutboxRow(Base):
    """One alert to deliver through one channel; written with the state change that caused it."""

    __tablename__ = "alert_outbox"
    __table_args__ = (
        Index("ix_alert_outbox_due", "status", "next_attempt_at"),
        Index("ix_alert_outbox_client_created", "client_key", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    alert_id: Mapped[str] = mapped_column(String(36))
    """Shared by the rows of one alert (one per channel); sent as ``X-ScopeGuard-Delivery``."""
    client_key: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(128))
    issue: Mapped[str | None] = mapped_column(String(64))
    channel_index: Mapped[int] = mapped_column(Integer)
    channel_type: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    """``pending``, ``sending`` (claimed by a dispatcher), ``delivered`` or ``failed``."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    give_up_at: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claim_expires_at: Mapped[datetime | None]
    last_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]


class SchedulerLeaseRow(Base):
    """Who runs the periodic jobs: one holder at a time, until ``expires_at``."""

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(128))
    expires_at: Mapped[datetime]
    acquired_at: Mapped[datetime | None]
    renewed_at: Mapped[datetime | None]


class JobRunRow(Base):
    """A job's run for one period; the primary key makes a second run of a period impossible."""

    __tablename__ = "job_runs"

    job: Mapped[str] = mapped_column(String(64), primary_key=True)
    period: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))
    """``running``, ``done`` or ``failed``."""
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    error: Mapped[str | None] = mapped_column(Text)


class ClientLeaseRow(Base):
    """Who works on one client's job now, and the last period of it that was finished.

    Several workers on PostgreSQL share the clients: a worker takes a client's
    job for a period with one conditional ``UPDATE`` (free or expired, and that
    period not finished yet) and renews its claims by heartbeat; a claim left by
    a worker that died expires after ``scheduler.client_lease_seconds``.
    """

    __tablename__ = "client_leases"

    job: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(128))
    expires_at: Mapped[datetime]
    period: Mapped[str | None] = mapped_column(String(32))
    """The period the holder works on (or last worked on)."""
    done_period: Mapped[str | None] = mapped_column(String(32))
    """The last period finished (done or failed): no worker runs it again."""
    claimed_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    """Claims of :attr:`period` so far: more than one means a worker died holding it."""
    error: Mapped[str | None] = mapped_column(Text)


class SiteHoldRow(Base):
    """A Jira site that asked to be left alone until ``not_before`` (429/503 ``Retry-After``).

    Every process's Jira transport reads it before a request and writes it when
    Jira answers with a wait: the rate limit is the site's, shared by every worker.
    """

    __tablename__ = "jira_site_holds"

    site: Mapped[str] = mapped_column(String(500), primary_key=True)
    not_before: Mapped[datetime]
    status: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(String(255))
    updated_at: Mapped[datetime]


class SyncRequestRow(Base):
    """A sync asked for ahead of the schedule (a Jira webhook); one pending per client."""

    __tablename__ = "sync_requests"

    client_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    requested_at: Mapped[datetime]
    due_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(255))


class ReportRow(Base):
    """One client's monthly PDF report: the record beside the file in the report folder.

    One per client and month: regenerating a month replaces the file and updates
    this row; the unique key is what stops two workers from both keeping one.
    """

    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("client_key", "month", name="uq_reports_client_month"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_key: Mapped[str] = mapped_column(String(64))
    month: Mapped[str] = mapped_column(String(7))
    """``YYYY-MM`` in the agency's time zone."""
    language: Mapped[str] = mapped_column(String(8))
    file_name: Mapped[str] = mapped_column(String(255))
    """Path of the PDF relative to the report folder."""
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    pages: Mapped[int] = mapped_column(Integer)
    generated_at: Mapped[datetime]
    as_of: Mapped[datetime]
    """The moment the figures are as of: the month's end, or earlier for a month in progress."""
    complete: Mapped[bool]
    """The report covers the whole month (generated after it ended)."""
    trigger: Mapped[str] = mapped_column(String(16))
    """``scheduled`` or ``manual``."""
    recipients: Mapped[list[str]] = mapped_column(JSON, default=list)
    email_claimed_at: Mapped[datetime | None]
    """Set while one process sends the email; another one leaves it alone."""
    emailed_at: Mapped[datetime | None]
    email_error: Mapped[str | None] = mapped_column(Text)


# --- people: accounts, sessions, API tokens, the audit log (migration 0006) --------


class UserRow(Base):
    """A person who may sign in: a local account (argon2id hash) or an OIDC identity."""

    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("username", name="uq_users_username"),
        UniqueConstraint("oidc_issuer", "oidc_subject", name="uq_users_oidc"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    """``viewer``, ``pm`` or ``admin``."""
    clients: Mapped[list[str]] = mapped_column(JSON, default=list)
    """A ``pm``'s client keys."""
    password_hash: Mapped[str | None] = mapped_column(Text)
    oidc_issuer: Mapped[str | None] = mapped_column(String(500))
    oidc_subject: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None]


class WebSessionRow(Base):
    """A signed-in browser; the cookie holds a random id, the table only its SHA-256."""

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    """The absolute end (``web.session_hours`` after sign-in)."""
    revoked_at: Mapped[datetime | None]


class ApiTokenRow(Base):
    """A personal API token: read-only, shown once, kept as its SHA-256."""

    __tablename__ = "api_tokens"
    __table_args__ = (UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64))
    prefix: Mapped[str] = mapped_column(String(16))
    """The first characters, shown in lists so a person can tell tokens apart."""
    scope: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class AuditRow(Base):
    """One audited action: sign-ins, token use, exports, account and token changes."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_target", "target"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str | None] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(255))
    detail: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(String(64))


class OidcFlowRow(Base):
    """A sign-in sent to the identity provider and not back yet: used once, then deleted."""

    __tablename__ = "oidc_flows"

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(128))
    code_verifier: Mapped[str] = mapped_column(String(128))
    next_path: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class AppSecretRow(Base):
    """A random key generated once per installation (the form-signing key by default)."""

    __tablename__ = "app_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


# --- worklogs (migration 0012) ------------------------------------------------------


class WorklogRow(Base):
    """One worklog of the site: who logged how long for which issue, and when the work began.

    Site data, not a client's: an issue id can belong to several clients' scopes,
    and the feed that brings worklogs is site-wide. A client's worklogs are those
    whose ``issue_id`` is one of its issues' ``jira_id``.
    """

    __tablename__ = "worklogs"

    jira_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    issue_id: Mapped[str] = mapped_column(String(32), index=True)
    author_account: Mapped[str | None] = mapped_column(String(255))
    author_name: Mapped[str | None] = mapped_column(String(255))
    started: Mapped[datetime]
    seconds: Mapped[int] = mapped_column(BigInteger)
    created: Mapped[datetime | None]
    updated: Mapped[datetime | None]
    comment: Mapped[str | None] = mapped_column(Text)
    synced_at: Mapped[datetime]


class WorklogStateRow(Base):
    """The site's worklog feed cursor (``name`` ``site``): changes after ``since_ms`` are
    still to read. It moves only after what it covers is committed."""

    __tablename__ = "worklog_state"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    since_ms: Mapped[int | None] = mapped_column(BigInteger)
    last_success: Mapped[datetime | None]


class DirectoryRow(Base):
    """What the sync learnt of Jira's people: a group's members, an email's account.

    One row per (kind, name, account); a name looked up with nothing found keeps one
    row with an empty account, so that it is not asked for again until it is stale.
    """

    __tablename__ = "jira_directory"

    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    """``group`` or ``email``."""
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    """The group's name or the email, as configured (compared without case)."""
    account: Mapped[str] = mapped_column(String(255), primary_key=True)
    fetched_at: Mapped[datetime]


class ClientRiskRow(Base):
    """A client's risk as last assessed: the API document with its weekly series.

    Written after the syncs (every client at once: each is scored against the
    others), so the panel's trend, the early warning and the API read one row.
    """

    __tablename__ = "client_risk"

    client_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    """The data and configuration the assessment rests on, and its hour."""
    computed_at: Mapped[datetime]
    score: Mapped[int | None] = mapped_column(Integer)
    level: Mapped[str | None] = mapped_column(String(16))
    verdict: Mapped[str] = mapped_column(String(16))
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    """``scopeguard.presentation.documents.RiskDocument``."""
