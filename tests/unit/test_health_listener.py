"""The health port's answers, from the request head alone."""

from __future__ import annotations

import json

import pytest

from scopeguard.entrypoints.health_listener import respond


def _parts(answer: bytes) -> tuple[str, dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status, *lines = head.decode().split("\r\n")
    return status, dict(line.split(": ", 1) for line in lines), body


def test_healthz_is_ok_while_alive_and_unavailable_without_workers() -> None:
    status, headers, body = _parts(respond(b"GET /healthz HTTP/1.1\r\nHost: x", alive=True))
    assert status == "HTTP/1.1 200 OK"
    assert json.loads(body) == {"status": "ok"}
    assert headers["Content-Length"] == str(len(body))
    assert headers["Content-Type"] == "application/json"
    assert headers["Cache-Control"] == "no-store"
    assert headers["Connection"] == "close"
    status, _, body = _parts(respond(b"GET /healthz?probe=1 HTTP/1.0", alive=False))
    assert status == "HTTP/1.1 503 Service Unavailable"
    assert json.loads(body)["status"] == "unavailable"


def test_head_has_the_headers_and_no_body() -> None:
    status, headers, body = _parts(respond(b"HEAD /healthz HTTP/1.1", alive=True))
    assert status == "HTTP/1.1 200 OK" and body == b""
    assert int(headers["Content-Length"]) > 0  # of the GET's body, as HTTP says


@pytest.mark.parametrize(
    ("request_head", "status"),
    [
        (b"GET / HTTP/1.1", "404 Not Found"),
        (b"GET /healthz/../readyz HTTP/1.1", "404 Not Found"),
        (b"GET /api/v1/clients HTTP/1.1", "404 Not Found"),
        (b"POST /healthz HTTP/1.1", "405 Method Not Allowed"),
        (b"DELETE /healthz HTTP/1.1", "405 Method Not Allowed"),
        (b"GET /healthz", "400 Bad Request"),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", "400 Bad Request"),  # a TLS hello
        (b"", "400 Bad Request"),
    ],
)
def test_anything_else_is_refused(request_head: bytes, status: str) -> None:
    answer, headers, body = _parts(respond(request_head, alive=True))
    assert answer == f"HTTP/1.1 {status}"
    assert set(json.loads(body)) == {"error", "message"}
    if status.startswith("405"):
        assert headers["Allow"] == "GET, HEAD"
