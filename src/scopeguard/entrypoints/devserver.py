"""Serving the web app with the periodic jobs beside it (``scopeguard serve``, ``make demo``)."""

from __future__ import annotations

import contextlib

from werkzeug.serving import run_simple

from scopeguard.bootstrap import Services
from scopeguard.entrypoints.health_listener import bound_listener
from scopeguard.entrypoints.web import create_app
from scopeguard.entrypoints.worker import build_scheduler


def serve_forever(
    services: Services,
    host: str,
    port: int,
    *,
    scheduler: bool = True,
    health_port: int | None = None,
) -> None:
    """Serve until interrupted, with the scheduler in a background thread unless disabled.

    This is werkzeug's threaded server, right for a single user; production runs
    gunicorn for the web and ``scopeguard worker`` for the jobs. ``health_port``
    answers ``/healthz`` there too, as under gunicorn (the image sets one).
    """
    health = bound_listener(host, health_port) if health_port is not None else None
    if health is not None:
        health.start()
    app = create_app(services=services)
    jobs = build_scheduler(services) if scheduler else None
    if jobs is not None:
        jobs.start()
    try:
        with contextlib.suppress(KeyboardInterrupt):
            run_simple(host, port, app, threaded=True, use_reloader=False)
    finally:
        if jobs is not None:
            jobs.shutdown(wait=False)
        if health is not None:
            health.stop()
