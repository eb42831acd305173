"""Fewer garbage collections while a sync or a refresh allocates millions of objects.

A full sync, or a refresh that decodes 20,000 issues' facts, allocates
millions of short-lived, acyclic objects; at CPython's default thresholds the
collector runs every 700 of them, and its full collections walk everything
the process holds. That was a quarter of a sync's CPU and half of a fresh
process's first summary. Reference counting frees what these allocate; the
collector still runs, just far less often.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_LOCK = threading.Lock()
_users = 0
_before: tuple[int, int, int] = gc.get_threshold()


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Raise the collector's thresholds for the block (process-wide, counted across threads)."""
    global _users, _before  # noqa: PLW0603 - one process-wide setting, counted
    with _LOCK:
        if _users == 0:
            _before = gc.get_threshold()
            gc.set_threshold(50_000, 20, 100)
        _users += 1
    try:
        yield
    finally:
        with _LOCK:
            _users -= 1
            if _users == 0:
                gc.set_threshold(*_before)
