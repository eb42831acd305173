"""Verification of Forge Invocation Tokens (FIT).

Every call that the in-Jira Forge app makes to ScopeGuard (``invokeRemote``)
carries ``Authorization: Bearer <FIT>``: a JWT signed by Atlassian with RS256.
It is the only proof that the call came through Forge, for our app, from a
given Jira site, project and issue, so it is checked on every call:

- the header names RS256 and a key id; anything else (``none``, HS256 signed
  with the public key, ES256 ...) is refused before any key is looked at;
- the signature verifies against Atlassian's JWKS, fetched over HTTPS, cached
  for ``forge.jwks_cache_seconds`` and fetched again once when a token names a
  key id the cache does not know (key rotation), at most every few seconds so
  tokens with made-up key ids cannot turn ScopeGuard into a JWKS hammer;
- ``iss`` is ``forge/invocation-token``, ``aud`` and ``app.id`` are the
  configured app id, and ``exp`` / ``nbf`` / ``iat`` hold within
  ``forge.leeway_seconds``.

The claim layout follows Atlassian's "Forge Remote essentials" contract.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt
import requests

from scopeguard.config import ForgeSettings

log = logging.getLogger(__name__)

FIT_ISSUER = "forge/invocation-token"
ALGORITHM = "RS256"
MIN_REFETCH_SECONDS = 5.0
"""An unknown key id triggers a JWKS fetch at most this often."""


class ForgeTokenError(Exception):
    """The request does not carry a valid Forge Invocation Token for this app (HTTP 401)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class JwksUnavailableError(Exception):
    """Atlassian's signing keys cannot be fetched, so no token can be checked (HTTP 503)."""


@dataclass(frozen=True, slots=True)
class InvocationContext:
    """What a verified token says about the call: which installation, site, project, issue."""

    app_id: str
    installation_id: str
    cloud_id: str | None
    site_url: str | None
    environment_type: str | None
    extension_type: str | None
    project_key: str | None
    issue_key: str | None
    principal: str | None
    claims: Mapping[str, Any] = field(repr=False)

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> InvocationContext:
        """Read the documented claim layout; a missing ``app`` block is an invalid token."""
        app = claims.get("app")
        if not isinstance(app, Mapping):
            raise ForgeTokenError("token has no app claim")
        installation = _text(app.get("installationId"))
        if installation is None:
            raise ForgeTokenError("token has no app.installationId")
        context = _mapping(claims.get("context"))
        extension = _mapping(context.get("extension"))
        environment = _mapping(app.get("environment"))
        return cls(
            app_id=_text(app.get("id")) or "",
            installation_id=installation,
            cloud_id=_text(context.get("cloudId")),
            site_url=_text(context.get("siteUrl")),
            environment_type=_text(environment.get("type")),
            extension_type=_text(extension.get("type")),
            project_key=_text(_mapping(extension.get("project")).get("key")),
            issue_key=_text(_mapping(extension.get("issue")).get("key")),
            principal=_text(claims.get("principal")),
            claims=claims,
        )


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


class JwksCache:
    """Atlassian's public signing keys by key id, fetched on demand and cached with a TTL."""

    def __init__(
        self,
        url: str,
        *,
        ttl_seconds: float,
        timeout_seconds: float,
        min_refetch_seconds: float = MIN_REFETCH_SECONDS,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.ttl_seconds = ttl_seconds
        self.timeout_seconds = timeout_seconds
        self.min_refetch_seconds = min_refetch_seconds
        self.session = session if session is not None else requests.Session()
        self.clock = clock
        self.fetches = 0
        """How many times the key set was requested (observability and tests)."""
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._kid_refetch_at: float | None = None
        self._failed_at: float | None = None
        # One fetch at a time: concurrent requests after expiry wait for it
        # instead of all asking Atlassian at once.
        self._lock = threading.Lock()

    def key(self, kid: str) -> jwt.PyJWK:
        """The RSA signing key with this id; raises :class:`ForgeTokenError` if there is none."""
        with self._lock:
            now = self.clock()
            if self._fetched_at is None or now - self._fetched_at >= self.ttl_seconds:
                self._refresh(now)
            found = self._keys.get(kid)
            if found is not None:
                return found
            # Atlassian may have rotated keys since the last fetch: look once more,
            # but not more often than min_refetch_seconds.
            if (
                self._kid_refetch_at is None
                or now - self._kid_refetch_at >= self.min_refetch_seconds
            ):
                self._kid_refetch_at = now
                self._refresh(now)
                found = self._keys.get(kid)
                if found is not None:
                    return found
        raise ForgeTokenError(f"unknown signing key {kid!r}")

    def _refresh(self, now: float) -> None:
        if self._failed_at is not None and now - self._failed_at < self.min_refetch_seconds:
            # Atlassian just failed us: don't queue every request behind another
            # slow attempt; answer from the cache, or fail fast.
            if self._keys:
                return
            raise JwksUnavailableError(f"Forge signing keys from {self.url} failed just now")
        self.fetches += 1
        try:
            response = self.session.get(
                self.url, timeout=self.timeout_seconds, headers={"Accept": "application/json"}
            )
            response.raise_for_status()
            keys = _parse_jwks(response.json())
        except (requests.RequestException, ValueError) as exc:
            self._failed_at = now
            if self._keys:
                # Keep verifying with the keys we have; Atlassian rotates slowly.
                log.warning(
                    "Forge JWKS refresh from %s failed (%s); keeping cached keys", self.url, exc
                )
                return
            raise JwksUnavailableError(
                f"cannot fetch Forge signing keys from {self.url}: {exc}"
            ) from exc
        self._keys = keys
        self._fetched_at = now
        self._failed_at = None


def _parse_jwks(document: Any) -> dict[str, jwt.PyJWK]:
    """Usable RS256 signature keys of a JWKS document, by key id."""
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWKS document (no keys list)")
    keys: dict[str, jwt.PyJWK] = {}
    for entry in document["keys"]:
        if not isinstance(entry, Mapping):
            continue
        kid = entry.get("kid")
        if not isinstance(kid, str) or not kid or entry.get("kty") != "RSA":
            continue
        if entry.get("use", "sig") != "sig" or entry.get("alg", ALGORITHM) != ALGORITHM:
            continue
        try:
            keys[kid] = jwt.PyJWK(dict(entry), algorithm=ALGORITHM)
        except jwt.PyJWTError as exc:
            log.warning("ignoring unusable Forge JWKS key %r: %s", kid, exc)
    if not keys:
        raise ValueError("JWKS document has no RS256 signing keys")
    return keys


class ForgeTokenVerifier:
    """Checks Forge Invocation Tokens against the configured app id and Atlassian's keys."""

    def __init__(self, settings: ForgeSettings, jwks: JwksCache | None = None) -> None:
        self.settings = settings
        self.jwks = (
            jwks
            if jwks is not None
            else JwksCache(
                str(settings.jwks_url),
                ttl_seconds=settings.jwks_cache_seconds,
                timeout_seconds=settings.jwks_timeout_seconds,
            )
        )

    def verify(self, token: str) -> InvocationContext:
        """The token's context, or :class:`ForgeTokenError` saying why it is refused."""
        if not token:
            raise ForgeTokenError("no token")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise ForgeTokenError(f"malformed token: {exc}") from exc
        # Decide the algorithm from configuration, never from the token: this is
        # what stops `alg: none` and HS256-with-the-public-key forgeries.
        if header.get("alg") != ALGORITHM:
            raise ForgeTokenError(f"algorithm {header.get('alg')!r} is not accepted")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise ForgeTokenError("token names no signing key (kid)")
        key = self.jwks.key(kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[ALGORITHM],
                audience=self.settings.app_id,
                issuer=FIT_ISSUER,
                leeway=self.settings.leeway_seconds,
                options={"require": ["exp", "iat", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise ForgeTokenError(str(exc) or type(exc).__name__) from exc
        context = InvocationContext.from_claims(claims)
        if context.app_id != self.settings.app_id:
            raise ForgeTokenError("app.id does not match the configured app")
        return context
