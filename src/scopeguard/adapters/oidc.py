"""OpenID Connect sign-in (authorization code flow with PKCE) against any standard issuer.

Google Workspace, Microsoft Entra ID, Keycloak, Okta, Authentik… all publish
``<issuer>/.well-known/openid-configuration``; that document names the
authorization, token and key endpoints. Authlib builds the authorization URL
and exchanges the code (``client_secret_basic``, PKCE ``S256``); the ID token's
signature is checked against the issuer's JWKS and its claims with joserfc
(``iss``, ``aud``, ``exp``, ``iat``, ``nonce``, ``azp``) on the application's clock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from scopeguard.config import OidcSettings

ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA")
"""Asymmetric signatures only: ``none`` and HS256 (keyed with the client secret) are refused."""
METADATA_SECONDS = 3600.0


class OidcError(Exception):
    """The identity provider's answer cannot be trusted or used; the reason is for the log."""


@dataclass(frozen=True, slots=True)
class Identity:
    """What a verified ID token says about the person."""

    issuer: str
    subject: str
    claims: dict[str, Any]


class OidcClient:
    """One configured identity provider."""

    def __init__(self, settings: OidcSettings, *, now: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.issuer = str(settings.issuer).rstrip("/")
        self.now = now
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None

    def _get(self, url: str) -> dict[str, Any]:
        try:
            response = requests.get(url, timeout=self.settings.timeout_seconds)
            response.raise_for_status()
            document = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise OidcError(f"cannot read {url}: {exc}") from exc
        if not isinstance(document, dict):
            raise OidcError(f"{url} did not answer a JSON object")
        return document

    def metadata(self) -> dict[str, Any]:
        """The issuer's discovery document (cached for an hour)."""
        with self._lock:
            if self._metadata is None or time.monotonic() - self._metadata_at > METADATA_SECONDS:
                document = self._get(f"{self.issuer}/.well-known/openid-configuration")
                if str(document.get("issuer", "")).rstrip("/") != self.issuer:
                    raise OidcError("the discovery document names another issuer")
                for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                    if not isinstance(document.get(name), str):
                        raise OidcError(f"the discovery document has no {name}")
                self._metadata, self._metadata_at = document, time.monotonic()
                self._keys = None
            return self._metadata

    def _key_set(self, refresh: bool = False) -> KeySet:
        if self._keys is None or refresh:
            self._keys = KeySet.import_key_set(self._get(self.metadata()["jwks_uri"]))  # type: ignore[arg-type]
        return self._keys

    def _session(self, redirect_uri: str) -> OAuth2Session:
        return OAuth2Session(
            client_id=self.settings.client_id,
            client_secret=self.settings.client_secret,
            scope=" ".join(self.settings.scopes),
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
        )

    def authorization_url(
        self, *, redirect_uri: str, state: str, nonce: str, code_verifier: str
    ) -> str:
        """Where to send the browser to sign in."""
        url, _state = self._session(redirect_uri).create_authorization_url(
            self.metadata()["authorization_endpoint"],
            state=state,
            nonce=nonce,
            code_verifier=code_verifier,
        )
        return str(url)

    def finish(self, *, redirect_uri: str, code: str, code_verifier: str, nonce: str) -> Identity:
        """Exchange the code and verify the ID token; :class:`OidcError` when anything is off."""
        try:
            token = self._session(redirect_uri).fetch_token(
                self.metadata()["token_endpoint"],
                code=code,
                code_verifier=code_verifier,
                timeout=self.settings.timeout_seconds,
            )
        except Exception as exc:  # Authlib raises its OAuthError, requests its own
            raise OidcError(f"the code exchange failed: {exc}") from exc
        id_token = token.get("id_token") if isinstance(token, dict) else None
        if not isinstance(id_token, str):
            raise OidcError("the token answer has no id_token")
        return self.verify(id_token, nonce=nonce)

    def verify(self, id_token: str, *, nonce: str) -> Identity:
        """The verified claims of an ID token issued for this client with this nonce."""
        try:
            try:
                decoded = jwt.decode(id_token, self._key_set(), algorithms=list(ALGORITHMS))
            except JoseError:
                # The provider may have rotated its keys since we fetched them.
                decoded = jwt.decode(
                    id_token, self._key_set(refresh=True), algorithms=list(ALGORITHMS)
                )
            claims = decoded.claims
            registry = jwt.JWTClaimsRegistry(
                now=lambda: int(self.now()),
                leeway=int(self.settings.leeway_seconds),
                iss={"essential": True, "values": [self.issuer, self.issuer + "/"]},
                aud={"essential": True, "value": self.settings.client_id},
                sub={"essential": True},
                exp={"essential": True},
                iat={"essential": True},
                nonce={"essential": True, "value": nonce},
            )
            registry.validate(claims)
        except (JoseError, ValueError) as exc:
            raise OidcError(f"the ID token was refused: {exc}") from exc
        audiences = claims.get("aud")
        # OIDC Core 3.1.3.7: with several audiences, azp must be this client.
        several = isinstance(audiences, list) and len(audiences) > 1
        if several and claims.get("azp") != self.settings.client_id:
            raise OidcError("the ID token is for several audiences and not authorised for us")
        return Identity(str(claims["iss"]).rstrip("/"), str(claims["sub"]), dict(claims))
