"""Serving the simulator over real HTTP on a local port."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication


class QuietRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler without the per-request access log line.

    Benchmarks send tens of thousands of requests; the default handler would print
    every one to stderr. ``request_count`` on the simulator tells what was served.
    """

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Skip the access log."""

    def log(self, type: str, message: str, *args: Any) -> None:
        """Keep errors visible; drop informational lines."""
        if type == "error":
            super().log(type, message, *args)


def make_simulator_server(
    app: WSGIApplication, host: str = "127.0.0.1", port: int = 0
) -> BaseWSGIServer:
    """A threaded werkzeug server for ``app`` (port 0 picks a free port)."""
    return make_server(host, port, app, threaded=True, request_handler=QuietRequestHandler)


@contextmanager
def serve(app: WSGIApplication, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve ``app`` in a background thread; yields its base URL (``http://127.0.0.1:PORT``).

    On exit the server stops accepting connections and its thread is joined.
    """
    server = make_simulator_server(app, host, port)
    thread = threading.Thread(
        # A short poll interval keeps shutdown fast; tests open many servers.
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name=f"jira-simulator-{server.port}",
        daemon=True,
    )
    thread.start()
    try:
        yield f"http://{host}:{server.port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
