"""Forge remote benchmark: token verification cost and remote endpoint latency under load.

1. In-process: the cost of verifying one Forge Invocation Token (RS256
   signature, claims, cached JWKS), and of refusing a forged one.
2. Syncs the bulk scenario (default 500 issues) from the simulator, serves
   ScopeGuard with gunicorn and a ``forge:`` section whose JWKS is served
   locally, then calls ``/forge/v1/project-summary`` and ``/forge/v1/issue-trail``
   with valid tokens (and the first with forged ones), one at a time and then N
   concurrent; prints p50 / p95 / p99 and how often the workers fetched the JWKS.

    .venv/bin/python benchmarks/forge.py [--issues N] [--concurrency N] [--requests N]

Under load it uses wrk when installed (its "errors" count non-2xx answers, so
the forged-token line shows every request as an error: that is the point).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import requests
import yaml
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from scopeguard.config import ForgeSettings, load_settings
from scopeguard.forge import ForgeTokenError, ForgeTokenVerifier
from scopeguard.services import Services

sys.path.insert(0, str(Path(__file__).parent))
from metrics import WRK_SCRIPT
from sync import start_simulator

KID = "bench-key"


class Jwks:
    """A JWKS document on a loopback socket, counting fetches."""

    def __init__(self, key: rsa.RSAPrivateKey) -> None:
        jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
        jwk.update(kid=KID, use="sig", alg="RS256")
        body = json.dumps({"keys": [jwk]}).encode()
        self.hits = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()


def claims(app_id: str, site: str, extension: dict[str, Any], lifetime: int) -> dict[str, Any]:
    """FIT claims in the documented layout."""
    now = int(time.time())
    return {
        "app": {
            "id": app_id,
            "installationId": f"ari:cloud:ecosystem::installation/{uuid.uuid4()}",
            "environment": {"type": "PRODUCTION"},
            "module": {"type": "core:endpoint", "key": "scopeguard-endpoint"},
        },
        "context": {"cloudId": str(uuid.uuid4()), "siteUrl": site, "extension": extension},
        "principal": "bench-user",
        "aud": app_id,
        "iss": "forge/invocation-token",
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
    }


def percentiles(samples: list[float]) -> str:
    q = statistics.quantiles(samples, n=100)
    return f"p50 {q[49]:6.2f} ms  p95 {q[94]:6.2f} ms  p99 {q[98]:6.2f} ms"


def verify_cost(key: rsa.RSAPrivateKey, jwks: Jwks, app_id: str, rounds: int) -> None:
    settings = ForgeSettings.model_validate({"app_id": app_id, "jwks_url": jwks.url})
    verifier = ForgeTokenVerifier(settings)
    extension = {"type": "jira:projectPage", "project": {"key": "BULK"}}
    good = [
        jwt.encode(claims(app_id, "https://x", extension, 600), key, "RS256", headers={"kid": KID})
        for _ in range(rounds)
    ]
    thief = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(
        claims(app_id, "https://x", extension, 600), thief, "RS256", headers={"kid": KID}
    )
    verifier.verify(good[0])  # first call fetches the keys
    times = []
    for token in good:
        start = time.perf_counter()
        verifier.verify(token)
        times.append((time.perf_counter() - start) * 1000)
    refused = []
    for _ in range(rounds):
        start = time.perf_counter()
        with contextlib.suppress(ForgeTokenError):
            verifier.verify(forged)
        refused.append((time.perf_counter() - start) * 1000)
    print(f"token verification, in-process, {rounds} tokens, keys cached:")
    print(f"  valid   {percentiles(times)}")
    print(f"  forged  {percentiles(refused)}")
    print(f"  JWKS fetches: {jwks.hits}")


def load(url: str, tokens: list[str], concurrency: int, expect: int) -> list[float]:
    """Milliseconds of each request, ``concurrency`` at a time, one token each."""
    local = threading.local()

    def one(token: str) -> float:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        start = time.perf_counter()
        response = session.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
        elapsed = (time.perf_counter() - start) * 1000
        if response.status_code != expect:
            raise SystemExit(f"{url}: HTTP {response.status_code}, expected {expect}")
        return elapsed

    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(one, tokens))


def wrk(url: str, token: str, concurrency: int, seconds: int) -> str | None:
    """wrk's summary line for ``url`` with ``token``, or ``None`` when wrk is not installed."""
    binary = shutil.which("wrk")
    if binary is None:
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    result = subprocess.run(
        [
            binary,
            "-t2",
            f"-c{concurrency}",
            f"-d{seconds}s",
            "-s",
            script.name,
            "-H",
            f"Authorization: Bearer {token}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    os.unlink(script.name)
    return next(line for line in result.stdout.splitlines() if line.startswith("wrk:"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=500)
    parser.add_argument("--histories", type=int, default=12)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=10, help="wrk run per endpoint")
    args = parser.parse_args()

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks = Jwks(key)
    app_id = f"ari:cloud:ecosystem::app/{uuid.uuid4()}"
    verify_cost(key, jwks, app_id, 2000)

    simulator, jira_url = start_simulator(args.issues, args.histories, 0.0)
    folder = Path(tempfile.mkdtemp(prefix="scopeguard-forge-bench-"))
    config = folder / "scopeguard.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "database_url": f"sqlite:///{folder}/bench.db",
                "jira": {
                    "url": jira_url,
                    "deployment": "cloud",
                    "email": "pm@agency.example",
                    "api_token": "token",
                },
                "agency": {"timezone": "Europe/Moscow"},
                "workflow": {"review_statuses": ["Client Review"]},
                "forge": {"app_id": app_id, "jwks_url": jwks.url},
                "clients": [
                    {
                        "key": "BULK",
                        "name": "Bulk client",
                        "jql": "project = BULK",
                        "contract": {
                            "start": "2025-08-25",
                            "baseline": "2025-09-01T12:00:00+03:00",
                            "scope": {"issues": args.issues // 2},
                            "revisions_per_issue": 2,
                        },
                    }
                ],
            }
        )
    )
    gunicorn: subprocess.Popen[bytes] | None = None
    try:
        settings = load_settings(config)
        services = Services(settings)
        client = settings.client("BULK")
        services.sync.sync_client(client)
        summary = services.analysis.snapshot(client).summary
        issue = (summary["revisions"]["over_limit"] or list(summary["revisions"]["by_issue"]))[0]
        services.close()
        print(f"\nsynced {summary['sync']['issues']} issues; issue panel on {issue}")

        port = 18767
        gunicorn = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(args.workers),
                "--log-level",
                "warning",
                "scopeguard.web:create_app()",
            ],
            env={**os.environ, "SCOPEGUARD_CONFIG": str(config)},
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{base}/healthz", timeout=5).ok:
                    break
            except requests.RequestException:
                time.sleep(0.5)
        site = settings.jira.base_url
        page = {"type": "jira:projectPage", "project": {"key": "BULK"}}
        panel = {"type": "jira:issuePanel", "issue": {"key": issue}, "project": {"key": "BULK"}}

        def tokens(extension: dict[str, Any], signer: rsa.RSAPrivateKey) -> list[str]:
            return [
                jwt.encode(claims(app_id, site, extension, 600), signer, "RS256", {"kid": KID})
                for _ in range(args.requests)
            ]

        thief = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jobs = [
            ("project-summary", tokens(page, key), 200),
            ("issue-trail", tokens(panel, key), 200),
            ("project-summary, forged token", tokens(page, thief), 401),
        ]
        before = jwks.hits
        # Warm every worker (JWKS fetch, snapshot cache) before measuring.
        load(f"{base}/forge/v1/project-summary", tokens(page, key)[:40], 8, 200)
        sequential = min(200, args.requests // 2)
        print(
            f"\ngunicorn {args.workers} sync workers on {os.cpu_count()} cores; "
            f"{sequential} requests one at a time, then {args.concurrency} concurrent "
            f"(wrk for {args.seconds} s, else {args.requests - sequential} requests "
            f"on Python threads); load average {os.getloadavg()[0]:.1f}:"
        )
        for name, batch, status in jobs:
            url = f"{base}/forge/v1/{name.split(',')[0]}"
            alone = load(url, batch[:sequential], 1, status)
            print(f"  {name:<30} alone {percentiles(alone)}")
            # wrk (Debian package) keeps the client's own CPU out of the figures;
            # it reuses one token, which costs the server the same full check.
            line = wrk(url, batch[0], args.concurrency, args.seconds)
            if line is None:
                busy = load(url, batch[sequential:], args.concurrency, status)
                line = f"python threads: {percentiles(busy)}"
            print(f"  {'':<30} x{args.concurrency:<4} {line}")
        print(f"  JWKS fetches by the workers: {jwks.hits - before}")
    finally:
        if gunicorn is not None:
            gunicorn.terminate()
            gunicorn.wait(timeout=10)
        simulator.terminate()
        simulator.wait(timeout=10)
        jwks.server.shutdown()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
