"""A small OpenID Connect provider on a loopback port, for sign-in tests.

It speaks the real protocol ScopeGuard's Authlib client speaks: discovery,
``/authorize`` (the authorization code flow with PKCE S256), ``/token``
(``client_secret_basic``, one use per code) and ``/jwks``; ID tokens are RS256
JWTs signed with joserfc. The test says who signs in next (:attr:`Provider.user`)
and may bend one claim of the next ID token (:attr:`Provider.bend`) to play a
broken or hostile provider.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from flask import Flask, abort, jsonify, redirect, request
from joserfc import jwt
from joserfc.jwk import RSAKey

from jira_simulator import serve

CLIENT_ID = "scopeguard-test"
CLIENT_SECRET = "oidc-client-secret-0123"


@dataclass
class Provider:
    """The running provider and what the next sign-in will look like."""

    url: str
    now: Callable[[], float]
    user: dict[str, Any] = field(default_factory=dict)
    """Claims of the person who signs in next (``sub``, ``email``, ``groups``…)."""
    bend: dict[str, Any] = field(default_factory=dict)
    """Claims to override in the next ID token (``aud``, ``exp``, ``nonce``…)."""
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "k1"}))


def _app(provider: Provider) -> Flask:
    app = Flask("oidc-provider")

    @app.get("/.well-known/openid-configuration")
    def discovery() -> Any:
        return jsonify(
            issuer=provider.url,
            authorization_endpoint=f"{provider.url}/authorize",
            token_endpoint=f"{provider.url}/token",
            jwks_uri=f"{provider.url}/jwks",
            response_types_supported=["code"],
            subject_types_supported=["public"],
            id_token_signing_alg_values_supported=["RS256"],
            code_challenge_methods_supported=["S256"],
        )

    @app.get("/jwks")
    def jwks() -> Any:
        return jsonify(keys=[provider.key.as_dict(private=False)])

    @app.get("/authorize")
    def authorize() -> Any:
        args = request.args
        if args.get("client_id") != CLIENT_ID or args.get("response_type") != "code":
            abort(400)
        if args.get("code_challenge_method") != "S256" or not args.get("code_challenge"):
            abort(400)  # PKCE is required
        code = secrets.token_urlsafe(16)
        provider.codes[code] = {
            "challenge": args["code_challenge"],
            "nonce": args.get("nonce"),
            "redirect_uri": args["redirect_uri"],
            "user": dict(provider.user),
        }
        query = urlencode({"code": code, "state": args.get("state", "")})
        return redirect(f"{args['redirect_uri']}?{query}", code=302)

    @app.post("/token")
    def token() -> Any:
        auth = request.authorization
        if auth is None or (auth.username, auth.password) != (CLIENT_ID, CLIENT_SECRET):
            return jsonify(error="invalid_client"), 401
        grant = provider.codes.pop(request.form.get("code", ""), None)  # one use per code
        if grant is None or request.form.get("redirect_uri") != grant["redirect_uri"]:
            return jsonify(error="invalid_grant"), 400
        verifier = request.form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        if challenge.rstrip(b"=").decode() != grant["challenge"]:
            return jsonify(error="invalid_grant", error_description="PKCE"), 400
        now = int(provider.now())
        claims = {
            "iss": provider.url,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": grant["nonce"],
            **grant["user"],
            **provider.bend,
        }
        id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, provider.key)
        return jsonify(
            access_token="at-" + secrets.token_urlsafe(8),
            token_type="Bearer",
            expires_in=300,
            id_token=id_token,
        )

    return app


@contextmanager
def oidc_provider(now: Callable[[], float]) -> Iterator[Provider]:
    """Serve a provider whose tokens are dated by ``now`` until the block ends."""
    provider = Provider(url="", now=now)
    with serve(_app(provider)) as url:
        provider.url = url
        yield provider
