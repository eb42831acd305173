"""The health listener over real sockets: no client can hold up another's probe."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
import requests

from scopeguard.entrypoints.health_listener import (
    MAX_CONNECTIONS,
    MAX_REQUEST_BYTES,
    READ_SECONDS,
    HealthListener,
)


@pytest.fixture
def listener() -> Iterator[HealthListener]:
    health = HealthListener("127.0.0.1", 0)
    health.start()
    yield health
    health.stop()


def _url(health: HealthListener) -> str:
    return f"http://127.0.0.1:{health.port}/healthz"


def test_it_answers_and_follows_alive(listener: HealthListener) -> None:
    assert requests.get(_url(listener), timeout=5).json() == {"status": "ok"}
    listener.alive = lambda: False
    assert requests.get(_url(listener), timeout=5).status_code == 503

    def broken() -> bool:
        raise RuntimeError("the check itself failed")

    listener.alive = broken
    assert requests.get(_url(listener), timeout=5).status_code == 503


def test_silent_and_slow_clients_do_not_delay_a_probe(listener: HealthListener) -> None:
    silent = [socket.create_connection(("127.0.0.1", listener.port)) for _ in range(10)]
    slow = socket.create_connection(("127.0.0.1", listener.port))
    slow.sendall(b"GET /healthz HTTP/1.1\r\n")
    try:
        start = time.perf_counter()
        assert requests.get(_url(listener), timeout=5).status_code == 200
        assert time.perf_counter() - start < 1.0
        # The ones that never finish are closed after READ_SECONDS.
        slow.settimeout(READ_SECONDS + 3)
        assert slow.recv(100) == b""
    finally:
        for sock in [*silent, slow]:
            sock.close()


def test_a_flood_of_connections_pushes_out_the_oldest(listener: HealthListener) -> None:
    address = ("127.0.0.1", listener.port)
    flood = [socket.create_connection(address) for _ in range(3 * MAX_CONNECTIONS)]
    try:
        time.sleep(0.3)  # accepted, the oldest dropped to make room
        assert requests.get(_url(listener), timeout=5).status_code == 200
        flood[0].settimeout(2)
        assert flood[0].recv(100) == b""  # closed, not answered
    finally:
        for sock in flood:
            sock.close()


def test_an_oversized_request_head_is_refused(listener: HealthListener) -> None:
    with socket.create_connection(("127.0.0.1", listener.port), timeout=5) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nX-Big: " + b"a" * (MAX_REQUEST_BYTES + 10))
        answer = sock.recv(200)
    assert answer.startswith(b"HTTP/1.1 431 ")


def test_a_taken_port_is_an_error_when_binding() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        health = HealthListener("127.0.0.1", holder.getsockname()[1])
        with pytest.raises(OSError):
            health.bind()
