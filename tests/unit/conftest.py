"""The unit tier does no I/O: no sockets, no processes, no files outside the temporary folder.

Enforced with an audit hook (PEP 578) rather than by trust: a unit test that
opens a socket, starts a process or reads a file of the repository fails.
Reading the installed libraries and ScopeGuard's own package data (catalogs,
templates, fonts) is how the code under test runs, so those paths are allowed.
"""

from __future__ import annotations

import os
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.paths import REPO_ROOT

_ALLOWED_ROOTS = tuple(
    str(Path(path).resolve())
    for path in {
        sys.prefix,
        sys.base_prefix,
        sysconfig.get_paths()["purelib"],
        sysconfig.get_paths()["stdlib"],
        str(REPO_ROOT / "src"),
        str(REPO_ROOT / ".hypothesis"),  # Hypothesis's own example database
        tempfile.gettempdir(),
        "/usr/share/zoneinfo",
        "/dev/null",
    }
)
_BLOCKED_EVENTS = frozenset(
    {"socket.connect", "socket.bind", "socket.getaddrinfo", "subprocess.Popen", "os.system"}
)
_active = False


def _allowed(path: object) -> bool:
    if isinstance(path, int):
        return True  # an already open file descriptor
    try:
        resolved = str(Path(os.fsdecode(path)).resolve())  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return True
    if resolved.startswith(_ALLOWED_ROOTS):
        return True
    # Python source is read by introspection (tracebacks, Hypothesis's explanations):
    # code, not data.
    return resolved.startswith(str(REPO_ROOT)) and resolved.endswith((".py", ".pyc"))


def _audit(event: str, args: tuple[object, ...]) -> None:
    if not _active:
        return
    if event in _BLOCKED_EVENTS:
        raise RuntimeError(f"a unit test may not do I/O: {event} {args!r:.200}")
    if event == "open" and args and not _allowed(args[0]):
        raise RuntimeError(f"a unit test may not open {args[0]!r} (move it to tests/integration)")


sys.addaudithook(_audit)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """The guard is on while the test itself runs, off for pytest's own work around it."""
    global _active  # noqa: PLW0603 - an audit hook cannot be removed, only switched
    _active = True
    try:
        return (yield)
    finally:
        _active = False
