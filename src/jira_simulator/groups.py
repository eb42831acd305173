"""Jira groups and their members: ``GET /group/member?groupname=`` (paged ``startAt``).

Kept per dataset like the worklogs (:func:`groups_of`). Cloud and Data Center
answer the same shape: ``{"values": [user…], "startAt", "maxResults", "total",
"isLast"}``; an unknown group is a 404 with Jira's message.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from jira_simulator.dataset import Author, Dataset, SimUser

if TYPE_CHECKING:
    from jira_simulator.payloads import Renderer

MEMBER_PAGE_CAP = 50
"""Members per page (Jira's maximum for ``/group/member``)."""

_GROUPS: weakref.WeakKeyDictionary[Dataset, dict[str, list[SimUser]]] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def groups_of(dataset: Dataset) -> dict[str, list[SimUser]]:
    """The dataset's groups by name (created empty on first use)."""
    with _LOCK:
        found = _GROUPS.get(dataset)
        if found is None:
            found = _GROUPS[dataset] = {}
        return found


def add_group(dataset: Dataset, name: str, members: Iterable[Author | SimUser]) -> None:
    """Create (or replace) a group with ``members``."""
    users = [m if isinstance(m, SimUser) else dataset.user(m[0], m[1]) for m in members]
    with dataset.lock:
        groups_of(dataset)[name] = users
        dataset.version += 1


class UnknownGroupError(LookupError):
    """The group does not exist (404)."""


def member_page(r: Renderer, name: str, start_at: int, max_results: int) -> dict[str, Any]:
    """One page of a group's members."""
    members = groups_of(r.ds).get(name)
    if members is None:
        raise UnknownGroupError(name)
    size = max(1, min(max_results, MEMBER_PAGE_CAP))
    page = members[start_at : start_at + size]
    last = start_at + len(page) >= len(members)
    body: dict[str, Any] = {
        "self": f"{r.api}/group/member?groupname={name}&startAt={start_at}&maxResults={size}",
        "maxResults": size,
        "startAt": start_at,
        "total": len(members),
        "isLast": last,
        "values": [r.user(user) for user in page],
    }
    if not last:
        body["nextPage"] = (
            f"{r.api}/group/member?groupname={name}&startAt={start_at + size}&maxResults={size}"
        )
    return body
