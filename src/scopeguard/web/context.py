"""Access to the application's services from request handlers."""

from __future__ import annotations

from flask import current_app

from scopeguard.services import Services


def services() -> Services:
    """The :class:`Services` the app was created with."""
    found: Services = current_app.extensions["scopeguard"]
    return found
