"""Jira issue keys: reading ``ACME-12`` and sorting keys as people do.

The one place that knows the shape of an issue key; everything else asks here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_DIGITS = re.compile(r"(\d+)")
_KEY = re.compile(r"^(?P<project>[A-Za-z][A-Za-z0-9_]*)-(?P<number>[0-9]+)$")


def project_of(key: str | None) -> str | None:
    """The project key of an issue key (``ACME-12`` → ``ACME``); ``None`` if it is not one."""
    if not key:
        return None
    match = _KEY.match(key.strip())
    return match["project"] if match else None


def natural_key(key: str) -> tuple[str | int, ...]:
    """Sort key that orders issue keys as people do: ACME-2 before ACME-10."""
    prefix, dash, number = key.rpartition("-")
    if dash and number.isdecimal() and not _DIGITS.search(prefix):
        # The usual PROJ-123: the general form below, computed directly.
        return (prefix.casefold() + "-", int(number), "")
    # re.split with a capturing group alternates text and digits, always starting
    # with text, so tuples compare str with str and int with int position by position.
    parts = _DIGITS.split(key)
    return tuple(int(part) if index % 2 else part.casefold() for index, part in enumerate(parts))


def sorted_keys(keys: Iterable[str]) -> tuple[str, ...]:
    """Issue keys in :func:`natural_key` order."""
    return tuple(sorted(keys, key=natural_key))
