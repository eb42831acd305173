"""Rate limits (Flask-Limiter) on the endpoints a stranger can hammer: sign-in and webhooks.

Counters are kept per client address in ``web.rate_limit_storage`` (``memory://``:
per process, so with N gunicorn workers the effective limit is up to N times the
configured one; name a shared store such as ``redis://`` for exact limits).
Behind a reverse proxy, run gunicorn with ``--forwarded-allow-ips`` so the
address is the client's, not the proxy's. A refused request gets 429 with
``Retry-After``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

LIMITED = {
    "auth.signin_post": "signin_rate_limit",
    "auth.oidc_start": "signin_rate_limit",
    "hooks.jira": "webhook_rate_limit",
}
"""Endpoint → the ``web:`` key that sets its limit."""


def init_app(app: Flask) -> None:
    """One limiter per app (its own counters), wrapped around the limited endpoints.

    Call after the blueprints are registered.
    """
    web = app.extensions["scopeguard"].settings.web
    limiter = Limiter(
        get_remote_address,
        app=app,
        storage_uri=web.rate_limit_storage,
        strategy="moving-window",
        headers_enabled=True,
    )
    for endpoint, key in LIMITED.items():
        view = app.view_functions.get(endpoint)
        if view is not None:
            limited = limiter.limit(getattr(web, key))(view)
            app.view_functions[endpoint] = cast("Callable[..., Any]", limited)
