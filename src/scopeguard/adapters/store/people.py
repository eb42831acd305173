"""Accounts, sessions, API tokens, OIDC round trips and the audit log in the database.

Secrets are never stored: a session id or an API token is kept as its SHA-256
(both are 256 random bits, so a fast hash is enough: there is nothing to guess),
passwords as the argon2id hash the use case made. Revocation is a column set
on the row, so it takes effect on the next request in every process.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, select, update
from sqlalchemy.exc import IntegrityError

from scopeguard.adapters.store.db import Transaction
from scopeguard.adapters.store.models import (
    ApiTokenRow,
    AppSecretRow,
    AuditRow,
    OidcFlowRow,
    UserRow,
    WebSessionRow,
)
from scopeguard.domain.access import Role, parse_role

TOUCH_SECONDS = 60
"""``last_seen_at`` / ``last_used_at`` are written at most this often per row, so a
busy reader does not turn every page view into a database write."""


@dataclass(frozen=True, slots=True)
class User:
    """A stored account."""

    id: int
    username: str
    display_name: str
    role: Role
    clients: tuple[str, ...]
    password_hash: str | None
    oidc_subject: str | None
    created_at: datetime
    disabled_at: datetime | None

    @property
    def active(self) -> bool:
        """Not disabled."""
        return self.disabled_at is None


def _user(row: UserRow) -> User:
    return User(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        role=parse_role(row.role),
        clients=tuple(row.clients or ()),
        password_hash=row.password_hash,
        oidc_subject=row.oidc_subject,
        created_at=row.created_at,
        disabled_at=row.disabled_at,
    )


@dataclass(frozen=True, slots=True)
class ApiToken:
    """A personal API token as its owner sees it in a list (never the token itself)."""

    id: int
    name: str
    prefix: str
    scope: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One line of the audit log."""

    id: int
    at: datetime
    actor: str | None
    action: str
    target: str | None
    detail: str | None
    address: str | None


# -- users -------------------------------------------------------------------------------


def any_user(session: Transaction) -> bool:
    """Whether any account exists (disabled ones count: they still close open mode)."""
    return bool(session.scalar(select(exists().where(UserRow.id.is_not(None)))))


def find_user(session: Transaction, username: str) -> User | None:
    """The account ``username`` (exact match)."""
    row = session.scalar(select(UserRow).where(UserRow.username == username))
    return _user(row) if row is not None else None


def user_by_id(session: Transaction, user_id: int) -> User | None:
    """The account with ``user_id``."""
    row = session.get(UserRow, user_id)
    return _user(row) if row is not None else None


def list_users(session: Transaction) -> list[User]:
    """Every account, by username."""
    return [_user(row) for row in session.scalars(select(UserRow).order_by(UserRow.username))]


def add_user(
    session: Transaction,
    *,
    username: str,
    display_name: str,
    role: Role,
    clients: tuple[str, ...],
    password_hash: str | None,
    now: datetime,
    oidc_issuer: str | None = None,
    oidc_subject: str | None = None,
) -> User:
    """A new account (the caller checked that the username is free)."""
    row = UserRow(
        username=username,
        display_name=display_name,
        role=role,
        clients=list(clients),
        password_hash=password_hash,
        oidc_issuer=oidc_issuer,
        oidc_subject=oidc_subject,
        created_at=now,
        disabled_at=None,
    )
    session.add(row)
    session.flush()
    return _user(row)


def update_user(
    session: Transaction,
    user_id: int,
    *,
    role: Role | None = None,
    clients: tuple[str, ...] | None = None,
    password_hash: str | None = None,
    display_name: str | None = None,
    oidc_issuer: str | None = None,
    oidc_subject: str | None = None,
    disabled_at: datetime | None = None,
    enable: bool = False,
) -> None:
    """Change the given fields of one account."""
    row = session.get(UserRow, user_id)
    if row is None:
        return
    if role is not None:
        row.role = role
    if clients is not None:
        row.clients = list(clients)
    if password_hash is not None:
        row.password_hash = password_hash
    if display_name is not None:
        row.display_name = display_name
    if oidc_subject is not None:
        row.oidc_issuer, row.oidc_subject = oidc_issuer, oidc_subject
    if disabled_at is not None:
        row.disabled_at = disabled_at
    if enable:
        row.disabled_at = None


def user_by_oidc(session: Transaction, issuer: str, subject: str) -> User | None:
    """The account bound to an identity provider's ``(iss, sub)``."""
    row = session.scalar(
        select(UserRow).where(UserRow.oidc_issuer == issuer, UserRow.oidc_subject == subject)
    )
    return _user(row) if row is not None else None


# -- sessions ----------------------------------------------------------------------------


def create_session(
    session: Transaction,
    *,
    id_hash: str,
    user_id: int,
    csrf_token: str,
    now: datetime,
    expires_at: datetime,
) -> None:
    """A new browser session."""
    session.add(
        WebSessionRow(
            id_hash=id_hash,
            user_id=user_id,
            csrf_token=csrf_token,
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
            revoked_at=None,
        )
    )


def live_session(
    session: Transaction, id_hash: str, *, now: datetime, idle: timedelta
) -> tuple[User, str] | None:
    """The session's user and form token, if it is neither revoked, expired nor idle.

    A live session's ``last_seen_at`` moves to ``now`` (at most once a minute).
    """
    found = session.execute(
        select(WebSessionRow, UserRow)
        .join(UserRow, UserRow.id == WebSessionRow.user_id)
        .where(WebSessionRow.id_hash == id_hash)
    ).first()
    if found is None:
        return None
    row, user_row = found
    if (
        row.revoked_at is not None
        or user_row.disabled_at is not None
        or now >= row.expires_at
        or now - row.last_seen_at >= idle
    ):
        return None
    if (now - row.last_seen_at).total_seconds() >= TOUCH_SECONDS:
        row.last_seen_at = now
    return _user(user_row), row.csrf_token


def revoke_session(session: Transaction, id_hash: str, now: datetime) -> None:
    """End one session."""
    session.execute(
        update(WebSessionRow)
        .where(WebSessionRow.id_hash == id_hash, WebSessionRow.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def revoke_user_sessions(session: Transaction, user_id: int, now: datetime) -> int:
    """End every session of one user; how many were live."""
    result = session.execute(
        update(WebSessionRow)
        .where(WebSessionRow.user_id == user_id, WebSessionRow.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def forget_old_sessions(session: Transaction, before: datetime) -> None:
    """Delete sessions that ended before ``before`` (housekeeping)."""
    session.execute(delete(WebSessionRow).where(WebSessionRow.expires_at < before))


# -- API tokens --------------------------------------------------------------------------


def create_token(
    session: Transaction,
    *,
    user_id: int,
    name: str,
    token_hash: str,
    prefix: str,
    scope: str,
    now: datetime,
) -> ApiToken:
    """Keep a new token's hash."""
    row = ApiTokenRow(
        user_id=user_id,
        name=name,
        token_hash=token_hash,
        prefix=prefix,
        scope=scope,
        created_at=now,
        last_used_at=None,
        revoked_at=None,
    )
    session.add(row)
    session.flush()
    return _token(row)


def _token(row: ApiTokenRow) -> ApiToken:
    return ApiToken(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        scope=row.scope,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


def use_token(
    session: Transaction, token_hash: str, now: datetime
) -> tuple[User, ApiToken, bool] | None:
    """The live token's owner and token; the flag says whether its use was recorded now
    (``last_used_at`` moves at most once a minute)."""
    found = session.execute(
        select(ApiTokenRow, UserRow)
        .join(UserRow, UserRow.id == ApiTokenRow.user_id)
        .where(ApiTokenRow.token_hash == token_hash)
    ).first()
    if found is None:
        return None
    row, user_row = found
    if row.revoked_at is not None or user_row.disabled_at is not None:
        return None
    recorded = row.last_used_at is None or (now - row.last_used_at).total_seconds() >= TOUCH_SECONDS
    if recorded:
        row.last_used_at = now
    return _user(user_row), _token(row), recorded


def user_tokens(session: Transaction, user_id: int) -> list[ApiToken]:
    """A user's tokens, newest first."""
    rows = session.scalars(
        select(ApiTokenRow).where(ApiTokenRow.user_id == user_id).order_by(ApiTokenRow.id.desc())
    )
    return [_token(row) for row in rows]


def revoke_token(session: Transaction, token_id: int, user_id: int, now: datetime) -> bool:
    """Revoke one of the user's tokens; whether there was one to revoke."""
    result = session.execute(
        update(ApiTokenRow)
        .where(
            ApiTokenRow.id == token_id,
            ApiTokenRow.user_id == user_id,
            ApiTokenRow.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    return bool(getattr(result, "rowcount", 0))


def revoke_user_tokens(session: Transaction, user_id: int, now: datetime) -> None:
    """Revoke every token of one user."""
    session.execute(
        update(ApiTokenRow)
        .where(ApiTokenRow.user_id == user_id, ApiTokenRow.revoked_at.is_(None))
        .values(revoked_at=now)
    )


# -- OIDC round trips --------------------------------------------------------------------


def save_flow(
    session: Transaction,
    *,
    state_hash: str,
    nonce: str,
    code_verifier: str,
    next_path: str,
    now: datetime,
) -> None:
    """Remember a sign-in sent to the identity provider."""
    session.add(
        OidcFlowRow(
            state_hash=state_hash,
            nonce=nonce,
            code_verifier=code_verifier,
            next_path=next_path,
            created_at=now,
        )
    )


def take_flow(
    session: Transaction, state_hash: str, *, not_before: datetime
) -> tuple[str, str, str] | None:
    """``(nonce, code_verifier, next_path)`` of a pending sign-in, deleted as it is read:
    a second callback with the same state finds nothing."""
    row = session.get(OidcFlowRow, state_hash)
    if row is None:
        return None
    found = (row.nonce, row.code_verifier, row.next_path)
    created = row.created_at
    deleted = session.execute(delete(OidcFlowRow).where(OidcFlowRow.state_hash == state_hash))
    if not getattr(deleted, "rowcount", 0) or created < not_before:
        return None  # another request took it first, or it is too old
    return found


# -- installation secrets ----------------------------------------------------------------


def installation_secret(session: Transaction, name: str, fresh: str) -> str:
    """The secret ``name``, stored as ``fresh`` the first time it is asked for."""
    row = session.get(AppSecretRow, name)
    if row is not None:
        return row.value
    try:
        with session.begin_nested():
            session.add(AppSecretRow(name=name, value=fresh))
    except IntegrityError:  # another process stored one at the same moment: use theirs
        stored = session.get(AppSecretRow, name)
        if stored is not None:
            return stored.value
        raise
    return fresh


# -- the audit log -----------------------------------------------------------------------


def audit(
    session: Transaction,
    *,
    at: datetime,
    action: str,
    actor: str | None = None,
    target: str | None = None,
    detail: str | None = None,
    address: str | None = None,
) -> None:
    """Write one audit line."""
    session.add(
        AuditRow(
            at=at,
            actor=actor[:255] if actor else actor,
            action=action,
            target=target[:255] if target else target,
            detail=detail[:2000] if detail else detail,
            address=address[:64] if address else address,
        )
    )


def audit_entries(
    session: Transaction, *, limit: int, before_id: int | None = None, target: str | None = None
) -> list[AuditEntry]:
    """The newest audit lines (before ``before_id``: keyset paging, no OFFSET scan)."""
    query = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(AuditRow.id < before_id)
    if target is not None:
        query = query.where(AuditRow.target == target)
    return [
        AuditEntry(
            id=row.id,
            at=row.at,
            actor=row.actor,
            action=row.action,
            target=row.target,
            detail=row.detail,
            address=row.address,
        )
        for row in session.scalars(query)
    ]
