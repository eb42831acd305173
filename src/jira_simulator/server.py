"""Serving the simulator over real HTTP on a local port.

Cheroot, not werkzeug's development server: werkzeug answers every request with
``Connection: close``, so each request was a new TCP connection and a new thread.
Jira keeps connections alive, and so does every client ScopeGuard uses (a
``requests`` session pools them). A fresh connection per request cost a few
milliseconds of both sides' CPU per request: at 400 search pages, about a second
of a one-worker sync that is Jira's time, not ScopeGuard's.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

WORKER_THREADS = 32
"""Requests served at once. The simulated latency sleeps in a worker thread, so this
is the concurrency a test or benchmark can reach (a 4-worker sync, a worklog reader,
several processes sharing a site), with room to spare."""
LISTEN_BACKLOG = 128
"""Connections waiting to be accepted. Cheroot's default is 5: a burst of new
connections beyond it (four workers, a worklog reader, several processes) would
wait for the kernel to retry them."""


class SimulatorServer:
    """An HTTP/1.1 server with keep-alive for one WSGI app, bound on creation."""

    def __init__(self, app: WSGIApplication, host: str = "127.0.0.1", port: int = 0) -> None:
        # Imported here: the package ships in the wheel (the image installs it), but
        # only the tests and the demo serve it, with the dev extras installed.
        from cheroot import wsgi  # noqa: PLC0415

        self._server = wsgi.Server(
            (host, port),
            app,
            numthreads=WORKER_THREADS,
            request_queue_size=LISTEN_BACKLOG,
            server_name="jira-simulator",
        )
        # Past this many open connections cheroot answers `Connection: close`
        # (its default is 10, fewer than the requests served at once).
        self._server.keep_alive_conn_limit = 4 * WORKER_THREADS
        # How often the connection loop looks at `stop()`: 0.5 s by default, paid
        # by each of the hundreds of servers the tests start and stop.
        self._server.expiration_interval = 0.05
        self._server.prepare()  # binds now, so port 0 has become a real port

    @property
    def port(self) -> int:
        """The port it listens on."""
        address = self._server.bind_addr
        assert isinstance(address, tuple)
        return int(address[1])

    def serve_forever(self) -> None:
        """Serve until :meth:`shutdown` is called (from another thread)."""
        self._server.serve()

    def shutdown(self) -> None:
        """Stop accepting, close the connections and join the worker threads."""
        self._server.stop()

    def server_close(self) -> None:
        """Release the port (stopping first if still serving)."""
        if self._server.ready:
            self._server.stop()


def make_simulator_server(
    app: WSGIApplication, host: str = "127.0.0.1", port: int = 0
) -> SimulatorServer:
    """A threaded keep-alive server for ``app`` (port 0 picks a free port)."""
    return SimulatorServer(app, host, port)


@contextmanager
def serve(app: WSGIApplication, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve ``app`` in a background thread; yields its base URL (``http://127.0.0.1:PORT``).

    On exit the server stops accepting connections and its thread is joined.
    """
    server = make_simulator_server(app, host, port)
    thread = threading.Thread(
        target=server.serve_forever,
        name=f"jira-simulator-{server.port}",
        daemon=True,
    )
    thread.start()
    try:
        yield f"http://{host}:{server.port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
