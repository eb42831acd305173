"""The demo's alert inbox: a local webhook receiver and the page that lists what it got.

``make demo`` points an alert channel at it, so the alerts the first sync raises
(revision limits, scope creep, client_risk_high) are delivered somewhere you can
look at, and the panel's delivery log shows them delivered. In memory only; it
listens on loopback.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from html import escape
from typing import TYPE_CHECKING, Any

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

MAX_BODY = 1_000_000
KEPT = 500


class Inbox:
    """Webhook bodies received, newest first, and a page listing them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.received: list[tuple[datetime, dict[str, Any]]] = []

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        if request.method == "POST" and request.path == "/hook":
            response = self._take(request)
        elif request.method == "GET" and request.path == "/":
            response = Response(self.page(), mimetype="text/html")
        else:
            response = Response("not found", status=404, mimetype="text/plain")
        return response(environ, start_response)

    def _take(self, request: Request) -> Response:
        if (request.content_length or 0) > MAX_BODY:
            return Response("too large", status=413)
        try:
            body = json.loads(request.get_data(as_text=True))
        except ValueError:
            return Response("not JSON", status=400)
        if not isinstance(body, dict):
            return Response("not a JSON object", status=400)
        with self._lock:
            self.received.insert(0, (datetime.now(UTC), body))
            del self.received[KEPT:]
        return Response(status=204)

    def page(self) -> str:
        """Every alert received, newest first (all text escaped)."""
        with self._lock:
            items = list(self.received)
        rows = "".join(
            "<tr>"
            f"<td>{escape(at.isoformat(timespec='seconds'))}</td>"
            f"<td>{escape(str(body.get('event', '')))}</td>"
            f"<td>{escape(str(body.get('client', '')))}</td>"
            f"<td>{escape(str(body.get('issue') or ''))}</td>"
            f"<td>{escape(str(body.get('text', '')))}</td>"
            "</tr>"
            for at, body in items
        )
        return (
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            "<title>Demo alert inbox</title>"
            "<style>body{font-family:sans-serif;margin:2rem}td,th{padding:.3rem .6rem;"
            "border-bottom:1px solid #ddd;text-align:left;vertical-align:top}</style></head>"
            f"<body><h1>Demo alert inbox</h1><p>{len(items)} alerts received by the demo's "
            "webhook channel, newest first.</p><table><thead><tr><th>received</th>"
            "<th>event</th><th>client</th><th>issue</th><th>text</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></body></html>"
        )


class _Quiet(WSGIRequestHandler):
    """No line per request: the demo's own output is what the terminal shows."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return


@contextmanager
def serving(host: str = "127.0.0.1") -> Iterator[tuple[Inbox, str]]:
    """The inbox on a free loopback port until the block ends; yields it and its URL."""
    inbox = Inbox()
    server = make_server(host, 0, inbox, threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=server.serve_forever, name="demo-inbox", daemon=True)
    thread.start()
    try:
        yield inbox, f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
