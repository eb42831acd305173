"""Serving the web app in production: gunicorn, and never the periodic jobs (``scopeguard serve``).

gunicorn is run through its application API rather than its command line so that
``scopeguard serve`` first reads the configuration and checks the database schema
in one process, and refuses with ScopeGuard's own message and exit code, before
any worker forks. Each worker then builds its app from the same settings.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.errors import AppImportError

from scopeguard.adapters.store.db import DatabaseError
from scopeguard.config import Settings


class _Application(BaseApplication):  # type: ignore[misc]  # gunicorn ships no type hints
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self._settings = settings
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        # GUNICORN_CMD_ARGS, gunicorn's documented variable, tunes any other setting
        # (e.g. "--forwarded-allow-ips=*" behind a proxy); the command's own options win.
        parser = self.cfg.parser()
        from_env = parser.parse_args(self.cfg.get_cmd_args_from_env())
        for key, value in vars(from_env).items():
            if value is not None and key != "args":
                self.cfg.set(key.lower(), value)
        for key, value in self._options.items():
            self.cfg.set(key, value)
        if "control_socket_disable" in self.cfg.settings:
            # gunicorn ≥ 24 opens a control socket under $HOME: nothing of ours uses it, and
            # in the container $HOME is the data volume or a read-only filesystem.
            self.cfg.set("control_socket_disable", True)

    def load(self) -> Flask:
        from scopeguard.entrypoints.web import create_app  # noqa: PLC0415 - in the worker

        try:
            return create_app(self._settings)
        except DatabaseError as error:
            # gunicorn prints an AppImportError's message alone and stops, instead of a
            # traceback per worker and endless restarts.
            raise AppImportError(str(error)) from error


def run_gunicorn(settings: Settings, *, host: str, port: int, workers: int, timeout: int) -> None:
    """Serve ScopeGuard with gunicorn until it is stopped; exits the process with its status."""
    options = {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers,
        "timeout": timeout,
        "accesslog": "-",
        "errorlog": "-",
        "proc_name": "scopeguard-web",
    }
    _Application(settings, options).run()
