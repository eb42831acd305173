"""Access to the application's services from request handlers."""

from __future__ import annotations

from flask import abort, current_app, g

from scopeguard.bootstrap import Services
from scopeguard.config import ClientSettings


def services() -> Services:
    """The :class:`Services` the app was created with."""
    found: Services = current_app.extensions["scopeguard"]
    return found


def client_or_404(key: str) -> ClientSettings:
    """The configured client ``key``; an unknown key ends the request with 404."""
    try:
        client = services().settings.client(key)
    except KeyError:
        abort(404, description=f"unknown client {key!r}")
    who = g.get("principal")
    if who is not None and not who.can_see(client.key):
        # A pm asking for another team's client learns no more than about a typo.
        abort(404, description=f"unknown client {key!r}")
    return client
