"""Test doubles for Atlassian's side of Forge Remote: signing keys, a JWKS server, token minting.

Atlassian signs Forge Invocation Tokens with keys we cannot have, so the tests
stand in for it at its edge only: a locally generated RSA key, a JWKS document
served over a real loopback socket, and tokens laid out like the documented
FIT claims. Everything on ScopeGuard's side runs for real.
"""

from __future__ import annotations

import base64
import fcntl
import functools
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.support.paths import REPO_ROOT

FIT_ISSUER = "forge/invocation-token"
FORGE_APP_DIR = REPO_ROOT / "plugin_manifest" / "forge"
NPM_TIMEOUT_SECONDS = 600


def node_tools() -> tuple[str, str]:
    """Paths of ``node`` and ``npm``; fails the test (not skips) when they are missing."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("Node.js 20+ and npm are needed for the Forge app (apt-get install nodejs npm)")
    return node, npm


def ensure_forge_node_modules() -> Path:
    """``npm ci`` in plugin_manifest/forge when its node_modules is missing; the app folder.

    ``.ci/run`` installs them up front; this keeps ``make test`` working on a fresh
    checkout. A lock file keeps two test runs in one tree from installing at once.
    """
    _node, npm = node_tools()
    lock_path = FORGE_APP_DIR / ".npm-ci.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (FORGE_APP_DIR / "node_modules" / "@forge" / "manifest").is_dir():
            subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund"],
                cwd=FORGE_APP_DIR,
                check=True,
                timeout=NPM_TIMEOUT_SECONDS,
                env={**os.environ, "CI": "true"},
            )
    return FORGE_APP_DIR


def build_forge_ui(outdir: Path) -> Path:
    """Build the Custom UI (scripts/build.mjs) into ``outdir``; returns ``outdir``."""
    node, _npm = node_tools()
    app = ensure_forge_node_modules()
    subprocess.run(
        [node, str(app / "scripts" / "build.mjs"), "--outdir", str(outdir)],
        cwd=app,
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
    )
    return outdir


@functools.cache
def rsa_key(name: str) -> rsa.RSAPrivateKey:
    """A 2048-bit RSA key, generated once per name per test session."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    """The public half of ``key`` as a JWK, the way Atlassian publishes its keys."""
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid=kid, use="sig", alg="RS256")
    return jwk


def public_pem(key: rsa.RSAPrivateKey) -> bytes:
    """The public key as PEM (what an HS256 key-confusion attacker would use as secret)."""
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def b64url(data: bytes) -> str:
    """Unpadded base64url, as in JWS."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_token(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    """A JWS assembled by hand (for alg none and other forgeries PyJWT will not produce)."""
    head = b64url(json.dumps(header).encode())
    body = b64url(json.dumps(claims).encode())
    return f"{head}.{body}.{b64url(signature)}"


def hs256_token(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    """An HS256 token signed with ``secret`` (e.g. the RSA public key's PEM)."""
    head = b64url(json.dumps(header).encode())
    body = b64url(json.dumps(claims).encode())
    mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(mac)}"


def new_app_id() -> str:
    """A fresh Forge app id (``ari:cloud:ecosystem::app/<uuid>``)."""
    return f"ari:cloud:ecosystem::app/{uuid.uuid4()}"


@dataclass
class Fit:
    """Builds Forge Invocation Token claims in the documented layout."""

    app_id: str
    site_url: str = "https://agency.atlassian.net"
    cloud_id: str = "d0d52620-3203-4cfa-8db5-f2587155f0dd"
    installation_id: str = "ari:cloud:ecosystem::installation/0a3a7799-53ae-4a5b-9e7e-03338980abb5"
    principal: str = "655362:312d3308-8954-42b0-aa38-771a10c88656"

    def claims(
        self,
        *,
        extension: dict[str, Any] | None = None,
        now: float | None = None,
        lifetime: float = 25,
        **overrides: Any,
    ) -> dict[str, Any]:
        """A token body; ``overrides`` replace top-level claims (``None`` removes one)."""
        issued = int(now if now is not None else time.time())
        claims: dict[str, Any] = {
            "app": {
                "id": self.app_id,
                "version": "16",
                "appVersion": "1.0.0",
                "installationId": self.installation_id,
                "apiBaseUrl": f"https://api.atlassian.com/ex/jira/{self.cloud_id}",
                "environment": {
                    "type": "DEVELOPMENT",
                    "id": "ari:cloud:ecosystem::environment/aa911f10-c54b-4b93-9e27-dd2947840b9e",
                },
                "module": {"type": "core:endpoint", "key": "scopeguard-remote"},
            },
            "context": {
                "localId": str(uuid.uuid4()),
                "cloudId": self.cloud_id,
                "moduleKey": "scopeguard-project-page",
                "siteUrl": self.site_url,
                "extension": extension if extension is not None else {},
            },
            "principal": self.principal,
            "aud": self.app_id,
            "iss": FIT_ISSUER,
            "iat": issued,
            "nbf": issued,
            "exp": int(issued + lifetime),
            "jti": uuid.uuid4().hex,
        }
        for name, value in overrides.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return claims

    @staticmethod
    def project_page(project_key: str) -> dict[str, Any]:
        """``context.extension`` of a ``jira:projectPage``."""
        return {
            "type": "jira:projectPage",
            "project": {"id": "10000", "key": project_key, "type": "software"},
        }

    @staticmethod
    def issue_panel(issue_key: str, project_key: str | None = None) -> dict[str, Any]:
        """``context.extension`` of a ``jira:issuePanel``."""
        project = project_key or issue_key.rsplit("-", 1)[0]
        return {
            "type": "jira:issuePanel",
            "issue": {"id": "10042", "key": issue_key, "type": "Task", "typeId": "10001"},
            "project": {"id": "10000", "key": project, "type": "software"},
            "isNewToIssue": False,
        }


def sign(claims: dict[str, Any], key: rsa.RSAPrivateKey, kid: str) -> str:
    """An RS256 token over ``claims`` with ``kid`` in its header."""
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


@dataclass
class JwksServer:
    """A JWKS document served over a real loopback socket; swap keys or fail on demand."""

    document: dict[str, Any]
    url: str = ""
    hits: int = 0
    fail_status: int | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def publish(self, *jwks: dict[str, Any]) -> None:
        """Serve these keys from now on (key rotation)."""
        with self._lock:
            self.document = {"keys": list(jwks)}


@contextmanager
def serve_jwks(*jwks: dict[str, Any]) -> Iterator[JwksServer]:
    """Serve ``{"keys": jwks}`` at ``http://127.0.0.1:<port>/.well-known/jwks.json``."""
    state = JwksServer({"keys": list(jwks)})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with state._lock:
                state.hits += 1
                failing = state.fail_status
                body = json.dumps(state.document).encode()
            if self.path != "/.well-known/jwks.json":
                self.send_error(404)
                return
            if failing is not None:
                self.send_error(failing)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output quiet

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
