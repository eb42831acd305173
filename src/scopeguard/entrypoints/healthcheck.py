"""The container image's HEALTHCHECK: ``python -m scopeguard.entrypoints.healthcheck``.

One image runs every command (``serve``, ``worker``, ``db upgrade``), and Docker
runs the image's HEALTHCHECK in every container made from it. Only ``serve`` has
something to ask, so the check reads what the container runs (PID 1's command
line, ``tini -- scopeguard serve …``) and asks ``/healthz`` of a web container
only. Any other container is healthy while its process lives: the worker serves
no HTTP, and Docker already sees a process that has exited.

The image sets ``SCOPEGUARD_HEALTH_PORT=8001``: ``/healthz`` is asked there, where
gunicorn's arbiter answers it however busy the workers are; a container whose
workers are all serving slow requests is busy, not unhealthy. Without a health
port the main port is asked.

Standard library only, and no ScopeGuard import: it runs every 30 seconds.
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
_PROGRAM = "scopeguard"
_GLOBAL_OPTIONS_WITH_VALUE = frozenset({"--config"})
_ANY_ADDRESS = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}


def _option(arguments: Sequence[str], name: str) -> str | None:
    """The value of ``--name VALUE`` or ``--name=VALUE`` (the last one wins, as in click)."""
    found = None
    for index, argument in enumerate(arguments):
        if argument == name and index + 1 < len(arguments):
            found = arguments[index + 1]
        elif argument.startswith(f"{name}="):
            found = argument.partition("=")[2]
    return found


def served_address(argv: Sequence[str], env: Mapping[str, str]) -> tuple[str, int] | None:
    """Where the ``scopeguard serve`` of this command line answers ``/healthz``; ``None`` if it
    serves nothing.

    ``argv`` is a whole command line (``tini -- scopeguard serve --port 8000`` or
    ``python -m scopeguard serve``); ``--host`` and ``--health-port`` (else ``--port``)
    come from it, else from ``$SCOPEGUARD_HOST`` and ``$SCOPEGUARD_HEALTH_PORT`` (else
    ``$SCOPEGUARD_PORT``), as ``scopeguard serve`` reads them.
    """
    names = [Path(argument).name for argument in argv]
    if _PROGRAM not in names:
        return None
    rest = list(argv[names.index(_PROGRAM) + 1 :])
    while rest and rest[0].startswith("-"):  # the group's options come before the command
        option = rest.pop(0)
        if option in _GLOBAL_OPTIONS_WITH_VALUE and rest:
            rest.pop(0)
    if not rest or rest[0] != "serve" or "--help" in rest or "-h" in rest:
        return None
    host = _option(rest, "--host") or env.get("SCOPEGUARD_HOST") or DEFAULT_HOST
    port = _option(rest, "--port") or env.get("SCOPEGUARD_PORT") or str(DEFAULT_PORT)
    health = _option(rest, "--health-port") or env.get("SCOPEGUARD_HEALTH_PORT")
    if health:
        port = health
    return _ANY_ADDRESS.get(host, host), int(port)


def healthy(host: str, port: int, timeout: float) -> bool:
    """Whether ``/healthz`` answers 200 at ``host:port``."""
    netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        with urllib.request.urlopen(f"http://{netloc}/healthz", timeout=timeout) as answer:
            return bool(answer.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def main(argv: Sequence[str] | None = None) -> int:
    """0 when the container is healthy, 1 when its web server does not answer."""
    parser = argparse.ArgumentParser(prog="python -m scopeguard.entrypoints.healthcheck")
    parser.add_argument("--pid", type=int, default=1, help="whose command line to read")
    parser.add_argument("--timeout", type=float, default=4.0, help="seconds for /healthz")
    args = parser.parse_args(argv)
    try:
        command_line = Path(f"/proc/{args.pid}/cmdline").read_bytes()
    except OSError as error:
        print(f"cannot read the command line of process {args.pid}: {error}", file=sys.stderr)
        return 1
    address = served_address(
        [part.decode(errors="replace") for part in command_line.split(b"\0") if part], os.environ
    )
    if address is None:
        return 0
    if healthy(*address, timeout=args.timeout):
        return 0
    print(f"no answer from http://{address[0]}:{address[1]}/healthz", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
