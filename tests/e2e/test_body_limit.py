"""A huge chunked body does not grow a gunicorn worker: it is refused as it streams in."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from tests.support.agency import agency_site
from tests.support.gunicorn import gunicorn, rss_kib

CHUNK = b"x" * (1024 * 1024)
TOTAL_MB = 400


def _body() -> Iterator[bytes]:
    for _ in range(TOTAL_MB):
        yield CHUNK


def _post_chunked(url: str, path: str) -> int | None:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=120)
    try:
        connection.request(
            "POST",
            path,
            body=_body(),
            headers={"Content-Type": "application/json", "X-Hub-Signature": "sha256=00"},
            encode_chunked=True,
        )
        return connection.getresponse().status
    except (BrokenPipeError, ConnectionResetError):
        return None  # the server answered 413 and closed while we were still sending
    finally:
        connection.close()


def test_a_400_mb_chunked_body_keeps_the_worker_small(tmp_path: Path) -> None:
    with agency_site(tmp_path) as site:
        site.document["jira"]["webhook_secret"] = "hook-secret-0123456789"
        site.document.setdefault("web", {})["webhook_rate_limit"] = "1000 per minute"
        config_file, _ = site.write_config(tmp_path)
        with gunicorn(config_file, "--workers", "1", "--threads", "2") as server:
            (worker,) = server.worker_pids()
            before = rss_kib(worker)
            statuses = [_post_chunked(server.url, path) for path in ("/hooks/jira", "/signin")]
            grown_mb = (rss_kib(worker) - before) / 1024
    assert grown_mb < 20, f"worker RSS grew by {grown_mb:.1f} MB"
    assert all(status in (None, 400, 413) for status in statuses), statuses
