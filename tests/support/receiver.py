"""A real HTTP receiver on loopback for the alert tests, and the README's signature check.

:class:`Receiver` records every request and answers from a script of statuses;
it can hold one request (the "gate") so a test can kill the sender
mid-delivery, and then tells whether the sender was still there to get the
answer (``accepted``) or had gone (``aborted``), as a real receiver would see it.
"""

from __future__ import annotations

import json
import re
import select
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.support.paths import REPO_ROOT


@dataclass
class Received:
    """One request as the receiver saw it."""

    path: str
    headers: dict[str, str]
    body: bytes
    status: int | None = None
    accepted: bool = False
    """Answered 2xx to a sender that was still connected."""
    aborted: bool = False
    """The sender had gone before the answer (killed mid-request)."""

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A threaded HTTP server on 127.0.0.1 that records what it receives."""

    responses: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    """Answers to give, in order; when empty, 200."""
    gate_at: int | None = None
    """Hold the request with this index until :attr:`gate` is set."""
    requests: list[Received] = field(default_factory=list)
    gate: threading.Event = field(default_factory=threading.Event)
    gate_reached: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    tls: bool = False

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self.port}"

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    def accepted(self) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.accepted]

    def start(self, tls: ssl.SSLContext | None = None) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                item = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                with receiver._lock:
                    index = len(receiver.requests)
                    receiver.requests.append(item)
                    status, headers = receiver.responses.pop(0) if receiver.responses else (200, {})
                if index == receiver.gate_at:
                    receiver.gate_reached.set()
                    receiver.gate.wait(30)
                    if _peer_gone(self.connection):
                        item.aborted = True
                        self.close_connection = True
                        return
                answer = b"ok"
                # Recorded before the answer goes out: a sender that has read it may
                # look at the record at once, before this thread runs another line.
                item.status = status
                item.accepted = 200 <= status < 300
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:
                    item.accepted = False  # the sender had gone after all
                    raise

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.tls = tls is not None
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        self.gate.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def _peer_gone(connection: socket.socket) -> bool:
    """The sender closed its end (a killed process's socket is closed by the kernel)."""
    readable, _, _ = select.select([connection], [], [], 0.5)
    if not readable:
        return False
    try:
        return connection.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


def closed_port_url() -> str:
    """A loopback URL where nothing listens (connections are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/down"


def receiver_running() -> Iterator[Receiver]:
    """A started receiver, stopped afterwards (``yield from`` it in a fixture)."""
    server = Receiver()
    server.start()
    yield server
    server.stop()


def readme_verifier() -> Callable[[str, bytes, str | None], bool]:
    """The signature check exactly as the README shows receivers."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- receiver-verify -->\s*```python\n(.*?)```", text, re.S)
    assert match, "README.md lost its receiver-verify snippet"
    namespace: dict[str, Any] = {}
    exec(compile(match.group(1), "README.md", "exec"), namespace)
    verify: Callable[[str, bytes, str | None], bool] = namespace["verify_scopeguard_signature"]
    return verify


@dataclass(frozen=True)
class TlsFiles:
    """A throwaway CA and a server certificate for ``localhost`` / ``127.0.0.1`` it signed."""

    ca: Path
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


def make_tls_files(folder: Path) -> TlsFiles:
    """Create the CA and the server certificate in ``folder`` (with the openssl tool)."""

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=ScopeGuard test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key",
        "-out", "server.csr", "-subj", "/CN=localhost",
    )  # fmt: skip
    (folder / "ext.cnf").write_text(
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
        "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
        "authorityKeyIdentifier=keyid\n"
    )
    openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf",
    )  # fmt: skip
    return TlsFiles(folder / "ca.pem", folder / "server.pem", folder / "server.key")
