"""``/healthz`` on a port of its own, answered by the gunicorn arbiter, never by a request worker.

gunicorn's sync workers serve one request at a time. When every worker is busy
(50 readers of a large client, or slow clients trickling their requests in),
a ``/healthz`` on the main port waits in the kernel's accept queue behind them:
the issue saw 40 s, and a liveness probe that waits that long restarts a pod
that was only busy. So ``scopeguard serve --health-port N`` answers the probe
in the arbiter, gunicorn's master process, which serves no request and is idle
between its once-a-second checks of the workers.

What a 200 here means: the arbiter runs and has at least one worker. That is
what liveness should ask. The arbiter already kills a worker that stops
reporting for ``--timeout`` seconds and starts another, and stops itself when
workers cannot boot; a pod is restarted for what the arbiter cannot mend. Whether
the app can serve is readiness's question (``/readyz`` on the main port).

The listener is one thread and a ``selectors`` loop of non-blocking sockets, so
no connection can hold up another: at most :data:`MAX_CONNECTIONS` are open
(a new one pushes out the oldest), each has :data:`READ_SECONDS` to send a
request of at most :data:`MAX_REQUEST_BYTES`, and is closed after one answer.
It answers ``GET``/``HEAD /healthz`` and nothing else, with a fixed body, no
cookies and no authentication; it reads no data.

The arbiter forks its workers while this thread runs. A child of ``fork()``
inherits only the forking thread, but also any lock another thread held at
that moment, so the loop takes no lock at all: no logging, no printing, no
imports, only socket calls and bytes built in advance. The children close the
inherited sockets at once (:meth:`HealthListener.close_inherited`, from
gunicorn's ``post_fork``), so only the arbiter ever accepts on the port.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_CONNECTIONS = 32
READ_SECONDS = 2.0
MAX_REQUEST_BYTES = 4096
PATH = b"/healthz"


def _answer(status: str, body: bytes, *extra: str) -> tuple[bytes, bytes]:
    """The full response to a GET and to a HEAD (no body), encoded once."""
    head = [
        f"HTTP/1.1 {status}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        "Cache-Control: no-store",
        "X-Content-Type-Options: nosniff",
        "Connection: close",
        *extra,
    ]
    encoded = ("\r\n".join(head) + "\r\n\r\n").encode()
    return encoded + body, encoded


OK = _answer("200 OK", b'{"status":"ok"}')
NO_WORKER = _answer("503 Service Unavailable", b'{"status":"unavailable","workers":0}')
NOT_FOUND = _answer(
    "404 Not Found", b'{"error":"not_found","message":"this port answers /healthz only"}'
)
NOT_ALLOWED = _answer(
    "405 Method Not Allowed",
    b'{"error":"method_not_allowed","message":"GET or HEAD"}',
    "Allow: GET, HEAD",
)
BAD_REQUEST = _answer("400 Bad Request", b'{"error":"bad_request","message":"not HTTP"}')
TOO_LARGE = _answer(
    "431 Request Header Fields Too Large",
    b'{"error":"request_header_fields_too_large","message":"at most 4096 bytes"}',
)


def respond(request: bytes, alive: bool) -> bytes:
    """The answer to one request's head (request line and headers, without the body)."""
    line = request.split(b"\n", 1)[0].rstrip(b"\r")
    parts = line.split(b" ")
    if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
        return BAD_REQUEST[0]
    method, target, _ = parts
    path = target.split(b"?", 1)[0]
    if path != PATH:
        answer = NOT_FOUND
    elif method not in (b"GET", b"HEAD"):
        answer = NOT_ALLOWED
    else:
        answer = OK if alive else NO_WORKER
    return answer[1] if method == b"HEAD" else answer[0]


class HealthPortError(RuntimeError):
    """The health port cannot be listened on (taken, or not allowed)."""


def bound_listener(host: str, port: int) -> HealthListener:
    """A :class:`HealthListener` bound to ``host:port`` and not yet answering.

    Raises :class:`HealthPortError` with one line to show when the port is taken.
    """
    listener = HealthListener(host, port)
    try:
        listener.bind()
    except OSError as error:
        raise HealthPortError(
            f"cannot listen on the health port {host}:{port}: {error.strerror or error}"
        ) from error
    return listener


@dataclass
class _Connection:
    sock: socket.socket
    opened: float
    received: bytearray = field(default_factory=bytearray)


class HealthListener:
    """Answers ``/healthz`` on its own socket from a daemon thread, while ``alive()`` says so.

    :meth:`bind` in the process that will run the loop (it raises ``OSError``
    when the port is taken, before gunicorn starts), :meth:`start` once
    gunicorn is ready, :meth:`close_inherited` in every forked worker.
    """

    def __init__(self, host: str, port: int, alive: Callable[[], bool] = lambda: True) -> None:
        self.host = host
        self.port = port
        self.alive = alive
        self._sock: socket.socket | None = None
        self._selector: selectors.BaseSelector | None = None
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def bind(self) -> None:
        """Listen on ``host:port`` (port 0: any free port, then read :attr:`port`)."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            sock.listen(MAX_CONNECTIONS)
        except OSError:
            sock.close()
            raise
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        self._sock = sock

    def start(self) -> None:
        """Start answering in a daemon thread (binding first if :meth:`bind` was not called)."""
        if self._sock is None:
            self.bind()
        assert self._sock is not None
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._sock, selectors.EVENT_READ)
        self._thread = threading.Thread(
            target=self._serve, name=f"scopeguard-health-{self.port}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop the loop and close the socket (the thread ends within a poll)."""
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._close_all()

    def close_inherited(self) -> None:
        """In a forked child: close the listening socket and the selector it inherited.

        The thread was not inherited (``fork`` copies only the calling thread), so
        nothing else uses them here; the arbiter's copies stay open.
        """
        self._close_all()

    def _close_all(self) -> None:
        if self._selector is not None:
            for key in list(self._selector.get_map().values()):
                with contextlib.suppress(OSError):
                    key.fileobj.close()  # type: ignore[union-attr]
            self._selector.close()
            self._selector = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    # -- the loop: no locks, no logging (see the module's notes on fork) ------------------

    def _serve(self) -> None:
        selector, listener = self._selector, self._sock
        assert selector is not None and listener is not None
        open_: dict[int, _Connection] = {}
        while not self._stopped.is_set():
            try:
                events = selector.select(timeout=0.25)
            except (OSError, ValueError):  # closed under us (stop, or the process is ending)
                return
            now = time.monotonic()
            for key, _ in events:
                if key.fileobj is listener:
                    self._accept(selector, listener, open_, now)
                else:
                    self._read(selector, open_, key.fd)
            for fd, connection in list(open_.items()):
                if now - connection.opened > READ_SECONDS:
                    self._drop(selector, open_, fd)

    def _accept(
        self,
        selector: selectors.BaseSelector,
        listener: socket.socket,
        open_: dict[int, _Connection],
        now: float,
    ) -> None:
        while True:
            try:
                sock, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # e.g. out of file descriptors: try again on the next event
                return
            sock.setblocking(False)
            if len(open_) >= MAX_CONNECTIONS:
                oldest = min(open_, key=lambda fd: open_[fd].opened)
                self._drop(selector, open_, oldest)
            open_[sock.fileno()] = _Connection(sock, now)
            selector.register(sock, selectors.EVENT_READ)

    def _read(
        self, selector: selectors.BaseSelector, open_: dict[int, _Connection], fd: int
    ) -> None:
        connection = open_.get(fd)
        if connection is None:
            return
        try:
            chunk = connection.sock.recv(1024)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._drop(selector, open_, fd)
            return
        connection.received += chunk
        received = bytes(connection.received)
        end = received.find(b"\r\n\r\n")
        if end < 0:
            end = received.find(b"\n\n")
        if end >= 0 and end <= MAX_REQUEST_BYTES:
            answer = respond(received[:end], self._alive())
        elif len(received) > MAX_REQUEST_BYTES:
            answer = TOO_LARGE[0]
        else:
            return  # more to come, until READ_SECONDS
        with contextlib.suppress(OSError):
            # A few hundred bytes into an empty send buffer: one call sends them all.
            connection.sock.send(answer)
        self._drop(selector, open_, fd)

    def _alive(self) -> bool:
        try:
            return self.alive()
        except Exception:  # a probe answers, whatever its check raised
            return False

    @staticmethod
    def _drop(selector: selectors.BaseSelector, open_: dict[int, _Connection], fd: int) -> None:
        connection = open_.pop(fd, None)
        if connection is None:
            return
        with contextlib.suppress(KeyError, ValueError, OSError):
            selector.unregister(connection.sock)
        with contextlib.suppress(OSError):
            connection.sock.close()
