"""Serving the web app in production: gunicorn, and never the periodic jobs (``scopeguard serve``).

gunicorn is run through its application API rather than its command line so that
``scopeguard serve`` first reads the configuration and checks the database schema
in one process, and refuses with ScopeGuard's own message and exit code, before
any worker forks. Each worker then builds its app from the same settings.

With a health port, this process (gunicorn's arbiter) also answers ``/healthz``
there itself, whatever the workers are doing
(:mod:`scopeguard.entrypoints.health_listener`).
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.errors import AppImportError

from scopeguard.adapters.store.db import DatabaseError
from scopeguard.config import Settings
from scopeguard.entrypoints.health_listener import HealthListener, bound_listener


class _Application(BaseApplication):  # type: ignore[misc]  # gunicorn ships no type hints
    def __init__(
        self, settings: Settings, options: dict[str, Any], health: HealthListener | None = None
    ) -> None:
        self._settings = settings
        self._options = options
        self._health = health
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
        if self._health is not None:
            self.cfg.set("when_ready", self._health_ready)
            self.cfg.set("post_fork", self._health_forked)

    def _health_ready(self, arbiter: Any) -> None:
        """gunicorn's when_ready: the arbiter answers the health port from now on."""
        assert self._health is not None
        # len() of the arbiter's worker table: one read, no lock (see health_listener).
        self._health.alive = lambda: len(arbiter.WORKERS) > 0
        self._health.start()

    def _health_forked(self, _arbiter: Any, _worker: Any) -> None:
        """gunicorn's post_fork, in each new worker: only the arbiter answers the port."""
        assert self._health is not None
        self._health.close_inherited()

    def load(self) -> Flask:
        from scopeguard.entrypoints.web import create_app  # noqa: PLC0415 - in the worker

        try:
            return create_app(self._settings)
        except DatabaseError as error:
            # gunicorn prints an AppImportError's message alone and stops, instead of a
            # traceback per worker and endless restarts.
            raise AppImportError(str(error)) from error


def run_gunicorn(
    settings: Settings,
    *,
    host: str,
    port: int,
    workers: int,
    timeout: int,
    health_port: int | None = None,
) -> None:
    """Serve ScopeGuard with gunicorn until it is stopped; exits the process with its status.

    With ``health_port``, ``/healthz`` is also answered on ``host:health_port`` by this
    process; the port is bound here, before gunicorn starts, so a taken port is one
    :class:`~scopeguard.entrypoints.health_listener.HealthPortError` instead of a traceback.
    """
    health = bound_listener(host, health_port) if health_port is not None else None
    options = {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers,
        "timeout": timeout,
        "accesslog": "-",
        "errorlog": "-",
        "proc_name": "scopeguard-web",
    }
    _Application(settings, options, health).run()
