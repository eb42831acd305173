"""The web application: JSON API, health checks, the scope panel and portfolio."""

from __future__ import annotations

from flask import Flask

from scopeguard.bootstrap import Services
from scopeguard.config import Settings, load_settings
from scopeguard.entrypoints.web import (
    api,
    brief,
    forge,
    guard,
    health,
    hooks,
    jira_status,
    limits,
    panel,
    people,
    reports,
)


def create_app(settings: Settings | None = None, *, services: Services | None = None) -> Flask:
    """Build the Flask app.

    With no arguments (as gunicorn calls ``scopeguard.entrypoints.web:create_app()``) the
    configuration is read from ``$SCOPEGUARD_CONFIG`` or ``./scopeguard.yaml``. Built from
    settings, the app checks the database schema (or migrates it, with
    ``database_auto_migrate``) and raises
    :class:`~scopeguard.adapters.store.db.SchemaMismatchError` when it is not this release's.
    """
    if services is None:
        settings = settings if settings is not None else load_settings()
        services = Services(settings, migrate=settings.database_auto_migrate)
    app = Flask(__name__)
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep the documented order
    app.extensions["scopeguard"] = services
    # The schema is checked (or migrated, with database_auto_migrate) here, before the
    # first request: a process on a schema it was not written for must not start.
    services.database  # noqa: B018

    # Size limits, JSON errors under /api/, security headers: for every route.
    guard.init_app(app)
    app.register_blueprint(health.blueprint)
    app.register_blueprint(api.blueprint)
    app.register_blueprint(forge.blueprint)
    app.register_blueprint(hooks.blueprint)
    # The scope panel and portfolio (HTML, charts), with sign-in and Flask-Babel.
    panel.init_app(app)
    # Archived monthly PDF reports (behind the panel's sign-in).
    app.register_blueprint(reports.blueprint)
    # Personal tokens and the admins' audit log.
    app.register_blueprint(people.blueprint)
    app.register_blueprint(jira_status.blueprint)
    # The brief checker's page (before signing).
    app.register_blueprint(brief.blueprint)
    # Rate limits on sign-in and the webhook, around the registered views.
    limits.init_app(app)
    return app
