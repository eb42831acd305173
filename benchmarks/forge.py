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
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from _common import (
    BULK,
    Percentiles,
    bulk_config,
    gunicorn,
    simulator,
    thread_load,
    write_config,
    wrk_percentiles,
)
from scopeguard.adapters.forge_token import ForgeTokenError, ForgeTokenVerifier
from scopeguard.bootstrap import Services
from scopeguard.config import ForgeSettings, load_settings

# Atlassian's side (signing key, JWKS server, token claims): the tests' stand-in (dev deps).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.forge import Fit, JwksServer, new_app_id, public_jwk, rsa_key, serve_jwks, sign

KID = "bench-key"
PORT = 18767


def percentiles(samples: list[float]) -> str:
    """p50 / p95 / p99 of ``samples``, in aligned columns."""
    q = Percentiles.of(samples)
    return f"p50 {q.p50:6.2f} ms  p95 {q.p95:6.2f} ms  p99 {q.p99:6.2f} ms"


def verify_cost(jwks: JwksServer, app_id: str, rounds: int) -> None:
    """Time verifying ``rounds`` valid tokens and refusing as many forged ones, in-process."""
    settings = ForgeSettings.model_validate({"app_id": app_id, "jwks_url": jwks.url})
    verifier = ForgeTokenVerifier(settings)
    fit = Fit(app_id=app_id, site_url="https://x")
    extension = Fit.project_page(BULK)
    good = [
        sign(fit.claims(extension=extension, lifetime=600), rsa_key("atlassian"), KID)
        for _ in range(rounds)
    ]
    forged = sign(fit.claims(extension=extension, lifetime=600), rsa_key("thief"), KID)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=500)
    parser.add_argument("--histories", type=int, default=12)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=10, help="wrk run per endpoint")
    args = parser.parse_args()

    app_id = new_app_id()
    with serve_jwks(public_jwk(rsa_key("atlassian"), KID)) as jwks:
        verify_cost(jwks, app_id, 2000)
        with (
            simulator(args.issues, args.histories) as jira_url,
            tempfile.TemporaryDirectory(prefix="scopeguard-forge-bench-") as tmp,
        ):
            folder = Path(tmp)
            contract = {
                "start": "2025-08-25",
                "baseline": "2025-09-01T12:00:00+03:00",
                "scope": {"issues": args.issues // 2},
                "revisions_per_issue": 2,
            }
            document = bulk_config(
                jira_url,
                folder,
                contract,
                workflow={"review_statuses": ["Client Review"]},
                forge={"app_id": app_id, "jwks_url": jwks.url},
            )
            config = write_config(folder, document)
            settings = load_settings(config)
            services = Services(settings)
            client = settings.client(BULK)
            services.sync.sync_client(client)
            figures = services.analysis.snapshot(client).figures
            revisions = figures.summary.revisions
            issue = (revisions.over_limit or list(revisions.by_issue))[0]
            services.close()
            print(f"\nsynced {figures.sync.issues} issues; issue panel on {issue}")
            # The sites default to the Jira ScopeGuard reads: the simulator's address.
            fit = Fit(app_id=app_id, site_url=settings.jira.base_url)
            with gunicorn(config, args.workers, PORT) as base:
                measure_under_load(base, fit, issue, jwks, args)


def measure_under_load(
    base: str, fit: Fit, issue: str, jwks: JwksServer, args: argparse.Namespace
) -> None:
    """Both remote endpoints with valid tokens, and one with forged ones: alone, then busy."""
    page = Fit.project_page(BULK)
    panel = Fit.issue_panel(issue, BULK)

    def tokens(extension: dict[str, Any], signer: rsa.RSAPrivateKey, count: int) -> list[str]:
        return [
            sign(fit.claims(extension=extension, lifetime=600), signer, KID) for _ in range(count)
        ]

    key, thief = rsa_key("atlassian"), rsa_key("thief")
    jobs = [
        ("project-summary", tokens(page, key, args.requests), 200),
        ("issue-trail", tokens(panel, key, args.requests), 200),
        ("project-summary, forged token", tokens(page, thief, args.requests), 401),
    ]
    before = jwks.hits
    # Warm every worker (JWKS fetch, snapshot cache) before measuring.
    thread_load(f"{base}/forge/v1/project-summary", 40, 8, tokens=tokens(page, key, 40))
    sequential = min(200, args.requests // 2)
    print(
        f"\ngunicorn {args.workers} sync workers on {os.cpu_count()} cores; "
        f"{sequential} requests one at a time, then {args.concurrency} concurrent "
        f"(wrk for {args.seconds} s, else {args.requests - sequential} requests "
        f"on Python threads); load average {os.getloadavg()[0]:.1f}:"
    )
    for name, batch, status in jobs:
        url = f"{base}/forge/v1/{name.split(',')[0]}"
        alone = thread_load(url, sequential, 1, tokens=batch[:sequential], expect=status)
        print(f"  {name:<30} alone {percentiles(alone)}")
        # wrk reuses one token, which costs the server the same full check.
        figures = wrk_percentiles(url, args.concurrency, args.seconds, token=batch[0])
        if figures is not None:
            line = f"wrk: {figures.summary()}"
        else:
            rest = batch[sequential:]
            busy = thread_load(url, len(rest), args.concurrency, tokens=rest, expect=status)
            line = f"python threads: {percentiles(busy)}"
        print(f"  {'':<30} x{args.concurrency:<4} {line}")
    print(f"  JWKS fetches by the workers: {jwks.hits - before}")


if __name__ == "__main__":
    main()
