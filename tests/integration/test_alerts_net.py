"""The SSRF guard and the HTTP transport, over real loopback sockets.

No test sends traffic anywhere but loopback: private and metadata addresses are
refused before any connection is made (a spy on the connection pool proves it).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
import urllib3

from scopeguard.adapters.delivery.errors import DeliveryError, RefusedAddressError
from scopeguard.adapters.delivery.http import (
    address_forbidden,
    checked_addresses,
    post,
    retry_after_seconds,
)
from tests.support.receiver import (
    Receiver,
    TlsFiles,
    closed_port_url,
    make_tls_files,
    receiver_running,
)

HEADERS = {"Content-Type": "application/json"}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from receiver_running()


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def no_connections(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Records any attempt to open a connection pool (there must be none)."""
    opened: list[Any] = []
    real = urllib3.HTTPConnectionPool.urlopen

    def spy(self: urllib3.HTTPConnectionPool, *args: Any, **kwargs: Any) -> Any:
        opened.append((self.host, self.port))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(urllib3.HTTPConnectionPool, "urlopen", spy)
    return opened


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://192.168.1.10:8080/x",
        "http://172.16.5.4/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://240.0.0.1/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "http://[::]/",
        "https://127.0.0.2:8443/hook",
    ],
)
def test_private_addresses_are_refused_before_connecting(
    url: str, no_connections: list[Any]
) -> None:
    started = time.monotonic()
    with pytest.raises(RefusedAddressError) as caught:
        post(url, b"{}", HEADERS, timeout=5)
    assert caught.value.permanent
    assert "allow_private" in str(caught.value)
    assert no_connections == []
    assert time.monotonic() - started < 1


def test_hostname_resolving_to_loopback_is_refused(
    receiver: Receiver, no_connections: list[Any]
) -> None:
    """`localhost` resolves to loopback: refused, and the local server hears nothing."""
    with pytest.raises(RefusedAddressError, match="loopback"):
        post(f"http://localhost:{receiver.port}/hook", b"{}", HEADERS, timeout=5)
    assert no_connections == []
    assert receiver.requests == []


def test_a_name_with_any_private_address_is_refused() -> None:
    def mixed(host: str, port: int) -> list[str]:
        return ["93.184.215.14", "10.1.2.3"]

    with pytest.raises(RefusedAddressError, match=r"10\.1\.2\.3"):
        checked_addresses("hooks.example", 443, allow_private=False, resolver=mixed)
    assert checked_addresses("hooks.example", 443, allow_private=True, resolver=mixed) == [
        "93.184.215.14",
        "10.1.2.3",
    ]


def test_public_addresses_pass_the_check() -> None:
    for address in ("93.184.215.14", "8.8.8.8", "2606:4700:4700::1111"):
        assert address_forbidden(address) is None


def test_allow_private_reaches_a_local_receiver(receiver: Receiver) -> None:
    answer = post(receiver.url + "/hook?x=1", b'{"a":1}', HEADERS, timeout=5, allow_private=True)
    assert answer.status == 200
    (request,) = receiver.requests
    assert (request.path, request.body) == ("/hook?x=1", b'{"a":1}')
    assert request.headers["host"] == f"127.0.0.1:{receiver.port}"


def test_connects_to_the_checked_address_not_a_second_lookup(receiver: Receiver) -> None:
    """DNS rebinding: the name is resolved once, and the connection goes to that address."""
    lookups: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"]

    post(
        f"http://receiver.invalid:{receiver.port}/hook",
        b"{}",
        HEADERS,
        timeout=5,
        allow_private=True,
        resolver=resolver,
    )
    # "receiver.invalid" does not exist in DNS: only the pinned address can have worked.
    assert lookups == ["receiver.invalid"]
    assert receiver.requests[0].headers["host"] == f"receiver.invalid:{receiver.port}"


def test_https_verifies_the_name_on_the_pinned_address(
    tls_files: TlsFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = Receiver()
    server.start(tls=tls_files.server_context())
    try:
        url = f"https://localhost:{server.port}/secure"
        # Untrusted CA: a TLS failure, retryable (the certificate may be fixed).
        with pytest.raises(DeliveryError) as caught:
            post(url, b"{}", HEADERS, timeout=5, allow_private=True)
        assert not caught.value.permanent
        assert server.accepted() == []
        monkeypatch.setenv("SSL_CERT_FILE", str(tls_files.ca))
        answer = post(url, b"{}", HEADERS, timeout=5, allow_private=True)
        assert answer.status == 200
        assert server.accepted()[0].headers["host"] == f"localhost:{server.port}"
        # The certificate names localhost and 127.0.0.1 but not this name: refused.
        with pytest.raises(DeliveryError, match=r"(?i)certificate|hostname"):
            post(
                f"https://other.invalid:{server.port}/secure",
                b"{}",
                HEADERS,
                timeout=5,
                allow_private=True,
                resolver=lambda host, port: ["127.0.0.1"],
            )
    finally:
        server.stop()


def test_redirects_are_not_followed(receiver: Receiver) -> None:
    target = Receiver()
    target.start()
    try:
        receiver.responses.append((302, {"Location": target.url + "/elsewhere"}))
        with pytest.raises(DeliveryError, match="redirect") as caught:
            post(receiver.url, b"{}", HEADERS, timeout=5, allow_private=True)
        assert caught.value.permanent
        assert target.requests == []
    finally:
        target.stop()


@pytest.mark.parametrize(
    ("status", "headers", "permanent", "retry_after"),
    [
        (503, {"Retry-After": "7"}, False, 7.0),
        (500, {}, False, None),
        (429, {"Retry-After": "120"}, False, 120.0),
        (408, {}, False, None),
        (404, {}, True, None),
        (400, {}, True, None),
        (410, {}, True, None),
    ],
)
def test_status_classification(
    receiver: Receiver,
    status: int,
    headers: dict[str, str],
    permanent: bool,
    retry_after: float | None,
) -> None:
    receiver.responses.append((status, headers))
    with pytest.raises(DeliveryError) as caught:
        post(receiver.url, b"{}", HEADERS, timeout=5, allow_private=True)
    assert caught.value.permanent is permanent
    assert caught.value.retry_after == retry_after
    assert f"HTTP {status}" in str(caught.value)


def test_connection_refused_is_retryable() -> None:
    with pytest.raises(DeliveryError) as caught:
        post(closed_port_url(), b"{}", HEADERS, timeout=2, allow_private=True)
    assert not caught.value.permanent


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def run() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    listener.close()


def test_a_silent_receiver_times_out(silent_server: int) -> None:
    started = time.monotonic()
    with pytest.raises(DeliveryError) as caught:
        post(f"http://127.0.0.1:{silent_server}/", b"{}", HEADERS, timeout=0.5, allow_private=True)
    assert not caught.value.permanent
    assert 0.4 < time.monotonic() - started < 3


def test_retry_after_forms() -> None:
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("30", now) == 30
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=90), usegmt=True), now) == 90
    assert retry_after_seconds(format_datetime(now - timedelta(seconds=5), usegmt=True), now) == 0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None


def test_non_http_urls_are_permanent_errors() -> None:
    for url in ("ftp://example.com/x", "file:///etc/passwd", "gopher://x"):
        with pytest.raises(DeliveryError) as caught:
            post(url, b"{}", HEADERS, timeout=1)
        assert caught.value.permanent
