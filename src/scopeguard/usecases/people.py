"""People: accounts, sign-in, sessions, personal API tokens and the audit log.

- **Local accounts** keep an argon2id hash (argon2-cffi's defaults, RFC 9106's
  second recommended profile); a wrong password and an unknown user take the
  same time, so sign-in does not tell which accounts exist.
- **Sessions** live in the database: the browser holds 256 random bits, the
  table their SHA-256. A session ends at sign-out, when its user is disabled or
  their password reset, after ``web.session_idle_minutes`` unused and
  ``web.session_hours`` after sign-in, whichever comes first.
- **API tokens** are personal, read-only, shown once and kept as their SHA-256;
  their last use is recorded.
- **Open mode**: with no account, no identity provider and no ``web.api_token``
  there is nobody to sign in as, and every request is served as an admin (the
  demo, a trusted network); adding the first account ends it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from scopeguard.adapters.store.db import Database
from scopeguard.adapters.store.people import (
    ApiToken,
    AuditEntry,
    User,
    add_user,
    any_user,
    audit,
    audit_entries,
    create_session,
    create_token,
    find_user,
    installation_secret,
    list_users,
    live_session,
    revoke_session,
    revoke_token,
    revoke_user_sessions,
    revoke_user_tokens,
    save_flow,
    take_flow,
    update_user,
    use_token,
    user_by_oidc,
    user_tokens,
)
from scopeguard.config import OidcSettings, Settings
from scopeguard.domain.access import ROLES, Principal, Role
from scopeguard.domain.clock import Clock, utcnow

log = logging.getLogger(__name__)

TOKEN_PREFIX = "sgp_"
"""Personal tokens start with this, so a leaked one is easy to recognise (and to scan for)."""
MIN_PASSWORD = 12
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,254}$")
FORM_SECRET = "form-signing-key"


class PeopleError(ValueError):
    """A request about accounts that cannot be done (unknown user, weak password…)."""


def digest(secret: str) -> str:
    """The SHA-256 of a session id or token, as stored."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class NewSession:
    """A session just started: the cookie value and the form token."""

    cookie: str
    csrf_token: str
    user: User


@dataclass(frozen=True, slots=True)
class LiveSession:
    """A request's valid session."""

    principal: Principal
    csrf_token: str
    user: User


class People:
    """Accounts, sessions, tokens and the audit log of one installation."""

    def __init__(self, settings: Settings, database: Database, *, clock: Clock = utcnow) -> None:
        self.settings = settings
        self.database = database
        self.clock = clock
        self.hasher = PasswordHasher()
        # A hash to verify against when the user is unknown: the same work either way.
        self._dummy = self.hasher.hash(secrets.token_urlsafe(16))
        self._closed = False

    # -- modes ------------------------------------------------------------------------

    def open_mode(self) -> bool:
        """No account, no identity provider, no service token: nobody can sign in."""
        web = self.settings.web
        if self._closed or web.oidc is not None or web.api_token:
            return False
        with self.database.session() as session:
            # Accounts are disabled, never deleted: once one exists, open mode is over
            # for good, and this process need not ask again.
            self._closed = any_user(session)
        return not self._closed

    def form_key(self) -> bytes:
        """The key that signs pre-sign-in form tokens: ``web.secret_key`` or a stored one."""
        if self.settings.web.secret_key:
            return self.settings.web.secret_key.encode()
        with self.database.session() as session:
            return installation_secret(session, FORM_SECRET, secrets.token_hex(32)).encode()

    # -- accounts (the CLI) -------------------------------------------------------------

    def _check_clients(self, role: Role, clients: tuple[str, ...]) -> tuple[str, ...]:
        known = {client.key for client in self.settings.clients}
        unknown = [key for key in clients if key not in known]
        if unknown:
            raise PeopleError(f"unknown client(s): {', '.join(unknown)}")
        if role == "pm" and not clients:
            raise PeopleError("a pm needs --clients (the client keys they work on)")
        return clients if role == "pm" else ()

    def _password_hash(self, password: str) -> str:
        if len(password) < MIN_PASSWORD:
            raise PeopleError(f"a password needs at least {MIN_PASSWORD} characters")
        return self.hasher.hash(password)

    def add(
        self,
        username: str,
        role: Role,
        *,
        password: str | None,
        clients: tuple[str, ...] = (),
        display_name: str | None = None,
        actor: str = "cli",
    ) -> User:
        """A new account; without a password it can sign in only through OIDC."""
        if not USERNAME.match(username):
            raise PeopleError("a username is letters, digits and . _ @ + - (at most 255)")
        clients = self._check_clients(role, clients)
        hashed = self._password_hash(password) if password is not None else None
        now = self.clock()
        with self.database.session() as session:
            if find_user(session, username) is not None:
                raise PeopleError(f"user {username!r} already exists")
            user = add_user(
                session,
                username=username,
                display_name=display_name or username,
                role=role,
                clients=clients,
                password_hash=hashed,
                now=now,
            )
            audit(session, at=now, actor=actor, action="user.add", target=username, detail=role)
        return user

    def _existing(self, username: str) -> User:
        with self.database.session() as session:
            user = find_user(session, username)
        if user is None:
            raise PeopleError(f"no user {username!r}")
        return user

    def reset(self, username: str, password: str, *, actor: str = "cli") -> None:
        """A new password (and enabled again); every session of the user ends."""
        user = self._existing(username)
        hashed = self._password_hash(password)
        now = self.clock()
        with self.database.session() as session:
            update_user(session, user.id, password_hash=hashed, enable=True)
            revoke_user_sessions(session, user.id, now)
            audit(session, at=now, actor=actor, action="user.reset", target=username)

    def set_role(
        self, username: str, role: Role, clients: tuple[str, ...] = (), *, actor: str = "cli"
    ) -> None:
        """Change a user's role (and a pm's clients); their sessions end."""
        user = self._existing(username)
        clients = self._check_clients(role, clients)
        now = self.clock()
        with self.database.session() as session:
            update_user(session, user.id, role=role, clients=clients)
            revoke_user_sessions(session, user.id, now)
            audit(session, at=now, actor=actor, action="user.role", target=username, detail=role)

    def disable(self, username: str, *, actor: str = "cli") -> None:
        """Disable an account: its sessions and tokens stop working at once."""
        user = self._existing(username)
        now = self.clock()
        with self.database.session() as session:
            update_user(session, user.id, disabled_at=now)
            revoke_user_sessions(session, user.id, now)
            revoke_user_tokens(session, user.id, now)
            audit(session, at=now, actor=actor, action="user.disable", target=username)

    def users(self) -> list[User]:
        """Every account."""
        with self.database.session() as session:
            return list_users(session)

    # -- sign-in and sessions -----------------------------------------------------------

    def check_password(self, username: str, password: str, address: str | None) -> User | None:
        """The active user whose password this is; every attempt is audited."""
        with self.database.session() as session:
            user = find_user(session, username)
        hashed = user.password_hash if user is not None and user.active else None
        try:
            self.hasher.verify(hashed or self._dummy, password)
            ok = hashed is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            ok = False
        with self.database.session() as session:
            audit(
                session,
                at=self.clock(),
                actor=username[:255],
                action="signin.password" if ok else "signin.refused",
                address=address,
            )
        return user if ok else None

    def start_session(self, user: User, *, how: str, address: str | None) -> NewSession:
        """A new session for ``user`` (after a password or an OIDC sign-in)."""
        cookie = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = self.clock()
        hours = self.settings.web.session_hours
        with self.database.session() as session:
            create_session(
                session,
                id_hash=digest(cookie),
                user_id=user.id,
                csrf_token=csrf,
                now=now,
                expires_at=now + timedelta(hours=hours),
            )
            audit(
                session,
                at=now,
                actor=user.username,
                action="session.start",
                detail=how,
                address=address,
            )
        return NewSession(cookie, csrf, user)

    def session(self, cookie: str) -> LiveSession | None:
        """The live session behind a cookie value."""
        idle = timedelta(minutes=self.settings.web.session_idle_minutes)
        with self.database.session() as session:
            found = live_session(session, digest(cookie), now=self.clock(), idle=idle)
        if found is None:
            return None
        user, csrf = found
        return LiveSession(principal_of(user, via="session"), csrf, user)

    def end_session(self, cookie: str, *, actor: str | None, address: str | None) -> None:
        """Sign-out: the session is revoked in the database, for every process at once."""
        now = self.clock()
        with self.database.session() as session:
            revoke_session(session, digest(cookie), now)
            audit(session, at=now, actor=actor, action="session.end", address=address)

    # -- OIDC accounts ------------------------------------------------------------------

    def oidc_user(
        self, *, issuer: str, subject: str, username: str, display_name: str, role: Role
    ) -> User:
        """The account of an identity-provider user, created or updated from the token.

        The identity provider decides the role (through ``web.oidc.roles``) at every
        sign-in; a pm's clients are set with ``scopeguard users role``. A disabled
        account stays disabled.
        """
        now = self.clock()
        with self.database.session() as session:
            user = user_by_oidc(session, issuer, subject)
            if user is None:
                by_name = find_user(session, username)
                if by_name is not None and by_name.oidc_subject is None:
                    # An account an admin created for this person ahead of time.
                    update_user(session, by_name.id, oidc_issuer=issuer, oidc_subject=subject)
                    user = by_name
                elif by_name is not None:
                    raise PeopleError(f"user {username!r} belongs to another identity")
            if user is None:
                user = add_user(
                    session,
                    username=username,
                    display_name=display_name,
                    role=role,
                    clients=(),
                    password_hash=None,
                    now=now,
                    oidc_issuer=issuer,
                    oidc_subject=subject,
                )
                audit(session, at=now, actor=username, action="user.add", detail=f"oidc {role}")
            elif user.role != role:
                update_user(session, user.id, role=role)
                audit(session, at=now, actor=username, action="user.role", detail=f"oidc {role}")
            refreshed = find_user(session, user.username)
        assert refreshed is not None
        return refreshed

    def save_flow(self, state_hash: str, *, nonce: str, code_verifier: str, next_path: str) -> None:
        """Remember an OIDC round trip until the browser comes back."""
        with self.database.session() as session:
            save_flow(
                session,
                state_hash=state_hash,
                nonce=nonce,
                code_verifier=code_verifier,
                next_path=next_path,
                now=self.clock(),
            )

    def take_flow(self, state_hash: str, *, max_age: timedelta) -> tuple[str, str, str] | None:
        """The round trip's ``(nonce, code_verifier, next_path)``, usable once."""
        with self.database.session() as session:
            return take_flow(session, state_hash, not_before=self.clock() - max_age)

    # -- API tokens ---------------------------------------------------------------------

    def new_token(self, user: User, name: str, *, address: str | None) -> tuple[str, ApiToken]:
        """A new read-only token for ``user``: the token itself (shown once) and its record."""
        raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = self.clock()
        with self.database.session() as session:
            token = create_token(
                session,
                user_id=user.id,
                name=name.strip()[:100] or "token",
                token_hash=digest(raw),
                prefix=raw[:12],
                scope="read",
                now=now,
            )
            audit(
                session,
                at=now,
                actor=user.username,
                action="token.create",
                target=token.prefix,
                address=address,
            )
        return raw, token

    def tokens(self, user: User) -> list[ApiToken]:
        """A user's tokens."""
        with self.database.session() as session:
            return user_tokens(session, user.id)

    def revoke(self, user: User, token_id: int, *, address: str | None) -> bool:
        """Revoke one of ``user``'s tokens."""
        now = self.clock()
        with self.database.session() as session:
            done = revoke_token(session, token_id, user.id, now)
            if done:
                audit(
                    session,
                    at=now,
                    actor=user.username,
                    action="token.revoke",
                    target=str(token_id),
                    address=address,
                )
        return done

    def token_principal(self, raw: str, *, address: str | None, path: str) -> Principal | None:
        """Who a bearer token belongs to: a personal token, or the deprecated service token."""
        service = self.settings.web.api_token
        if service and hmac.compare_digest(raw.encode(), service.encode()):
            self.record(
                "token.service", actor="web.api_token", target=path, address=address, once=True
            )
            return Principal(username="web.api_token", role="viewer", via="service", read_only=True)
        if not raw.startswith(TOKEN_PREFIX):
            return None
        now = self.clock()
        with self.database.session() as session:
            found = use_token(session, digest(raw), now)
            if found is None:
                return None
            user, token, recorded = found
            if recorded:  # once a minute per token, not once per call
                audit(
                    session,
                    at=now,
                    actor=user.username,
                    action="token.use",
                    target=token.prefix,
                    detail=path[:200],
                    address=address,
                )
        return principal_of(user, via="token")

    # -- the audit log ------------------------------------------------------------------

    _recorded_once: set[str] = set()  # noqa: RUF012 - per process, on purpose

    def record(
        self,
        action: str,
        *,
        actor: str | None,
        target: str | None = None,
        detail: str | None = None,
        address: str | None = None,
        once: bool = False,
    ) -> None:
        """Write an audit line (``once``: the first time per process only)."""
        if once:
            if action in self._recorded_once:
                return
            self._recorded_once.add(action)
        with self.database.session() as session:
            audit(
                session,
                at=self.clock(),
                action=action,
                actor=actor,
                target=target,
                detail=detail,
                address=address,
            )

    def audit_log(
        self, *, limit: int = 100, before_id: int | None = None, target: str | None = None
    ) -> list[AuditEntry]:
        """The newest audit lines, a page at a time."""
        with self.database.session() as session:
            return audit_entries(session, limit=limit, before_id=before_id, target=target)


def principal_of(user: User, *, via: str) -> Principal:
    """The principal of a signed-in user or their token."""
    return Principal(
        username=user.username,
        role=user.role,
        via="token" if via == "token" else "session",
        clients=frozenset(user.clients),
        user_id=user.id,
        read_only=via == "token",
    )


def role_from_claims(settings: OidcSettings, claims: dict[str, object]) -> tuple[str, str, Role]:
    """``(username, display name, role)`` of a verified ID token, by ``web.oidc``.

    The role claim may be a string or a list of strings (groups); the most trusted
    role any of its values maps to wins, else ``default_role``; with neither the
    person is refused (:class:`PeopleError`).
    """
    username = claims.get(settings.username_claim)
    if not isinstance(username, str) or not USERNAME.match(username):
        raise PeopleError(f"the ID token has no usable {settings.username_claim!r} claim")
    if settings.allowed_domains:
        domain = username.rpartition("@")[2].lower()
        allowed = {d.lower() for d in settings.allowed_domains}
        if claims.get("email_verified") is not True or domain not in allowed:
            raise PeopleError(f"{username!r} is not a verified address of an allowed domain")
    raw = claims.get(settings.role_claim)
    values = (
        {raw}
        if isinstance(raw, str)
        else {v for v in raw if isinstance(v, str)}
        if isinstance(raw, list)
        else set()
    )
    mapping = settings.roles
    found: list[Role] = [role for role in ROLES if values & set(getattr(mapping, role))]
    role: Role | None = settings.default_role
    if found:
        role = found[-1]  # ROLES runs from the least to the most trusted
    if role is None:
        raise PeopleError(f"{username!r} has no ScopeGuard role ({settings.role_claim} claim)")
    name = claims.get("name")
    display = name if isinstance(name, str) and name.strip() else username
    return username, display[:255], role
