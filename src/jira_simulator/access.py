"""Jira Cloud as agencies connect to it in 2026: the API gateway, service accounts, scoped tokens.

A scoped API token (a service account's, or a person's with scopes) is sent as
Basic ``email:token`` like a classic one, but only through the gateway,
``https://api.atlassian.com/ex/jira/{cloudId}/rest/api/3/...``; at the site's own
URL it is refused. Each operation needs its OAuth scopes: either the classic one
(``read:jira-work``) or every one of its granular scopes, as Atlassian's OpenAPI
description lists them under ``x-atlassian-oauth2-scopes`` (the test
``tests/integration/test_simulator_access.py`` checks :data:`SCOPES` against it).
A token without them gets the gateway's own answer, 401
``{"code": 401, "message": "Unauthorized; scope does not match"}``.

``GET /_edge/tenant_info`` answers the site's cloud id, as every Cloud site does.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Scopes = tuple[frozenset[str], frozenset[str]]
"""(classic scopes, granular scopes) of one operation: either set suffices."""


def _scopes(classic: Iterable[str], granular: Iterable[str]) -> Scopes:
    return frozenset(classic), frozenset(granular)


_WORK = ("read:jira-work",)
_USER = ("read:jira-user",)

SCOPES: dict[str, Scopes] = {
    "server_info": _scopes((), ()),
    "myself": _scopes(
        _USER,
        ("read:application-role:jira", "read:group:jira", "read:user:jira", "read:avatar:jira"),
    ),
    "statuses": _scopes(_WORK, ("read:status:jira",)),
    "fields": _scopes(
        _WORK,
        (
            "read:field:jira",
            "read:avatar:jira",
            "read:project-category:jira",
            "read:project:jira",
            "read:field-configuration:jira",
        ),
    ),
    "projects": _scopes(
        _WORK,
        (
            "read:issue-type:jira",
            "read:project:jira",
            "read:project.property:jira",
            "read:user:jira",
            "read:application-role:jira",
            "read:avatar:jira",
            "read:group:jira",
            "read:issue-type-hierarchy:jira",
            "read:project-category:jira",
            "read:project-version:jira",
            "read:project.component:jira",
        ),
    ),
    "issue": _scopes(
        _WORK,
        (
            "read:issue-meta:jira",
            "read:issue-security-level:jira",
            "read:issue.vote:jira",
            "read:issue.changelog:jira",
            "read:avatar:jira",
            "read:issue:jira",
            "read:status:jira",
            "read:user:jira",
            "read:field-configuration:jira",
        ),
    ),
    "issue_changelog": _scopes(
        _WORK, ("read:issue-meta:jira", "read:avatar:jira", "read:issue.changelog:jira")
    ),
    "search_jql": _scopes(
        _WORK,
        (
            "read:issue-details:jira",
            "read:audit-log:jira",
            "read:avatar:jira",
            "read:field-configuration:jira",
            "read:issue-meta:jira",
        ),
    ),
    "approximate_count": _scopes(
        _WORK,
        (
            "read:issue-details:jira",
            "read:field.default-value:jira",
            "read:field.option:jira",
            "read:field:jira",
            "read:group:jira",
        ),
    ),
    "bulkfetch": _scopes(
        _WORK, ("read:issue-meta:jira", "read:avatar:jira", "read:issue.changelog:jira")
    ),
    "worklog_updated": _scopes(
        _WORK, ("read:issue-worklog:jira", "read:issue-worklog.property:jira")
    ),
    "worklog_deleted": _scopes(
        _WORK, ("read:issue-worklog:jira", "read:issue-worklog.property:jira")
    ),
    "worklog_list": _scopes(
        _WORK,
        (
            "read:comment:jira",
            "read:group:jira",
            "read:issue-worklog:jira",
            "read:issue-worklog.property:jira",
            "read:project-role:jira",
            "read:user:jira",
            "read:avatar:jira",
        ),
    ),
    "issue_worklog": _scopes(
        _WORK,
        (
            "read:group:jira",
            "read:issue-worklog:jira",
            "read:issue-worklog.property:jira",
            "read:project-role:jira",
            "read:user:jira",
            "read:avatar:jira",
        ),
    ),
    "group_member": _scopes(
        ("manage:jira-configuration",), ("read:group:jira", "read:user:jira", "read:avatar:jira")
    ),
}
"""The scopes of each simulator endpoint (Cloud REST v3's operations of the same name)."""

SCOPE_MISMATCH: dict[str, Any] = {"code": 401, "message": "Unauthorized; scope does not match"}
"""The gateway's answer to a token without the operation's scopes."""
GATEWAY_PREFIX = "/ex/jira/"


@dataclass
class CloudAccess:
    """How the simulated Cloud site is reached: its cloud id and the scoped tokens it knows.

    ``scoped_tokens`` maps an API token to its scopes; such a token works only
    through the gateway path, and only for operations its scopes cover.
    ``require_gateway`` refuses the site URL for every API call (a site reached
    only by service accounts). ``forbidden`` holds endpoint names that answer
    Jira's 403 (the account lacks the permission, whatever its scopes).
    """

    cloud_id: str = "3f1c9a52-6b0e-4d7c-9e2a-5b8d1c0f7a64"
    scoped_tokens: Mapping[str, Iterable[str]] = field(default_factory=dict)
    require_gateway: bool = False
    forbidden: set[str] = field(default_factory=set)

    def route(self, path: str) -> tuple[str, bool] | None:
        """The site path of a request path and whether it came through the gateway;
        ``None`` for a gateway path naming another cloud id."""
        if not path.startswith(GATEWAY_PREFIX):
            return path, False
        cloud_id, _, rest = path[len(GATEWAY_PREFIX) :].partition("/")
        if cloud_id != self.cloud_id:
            return None
        return "/" + rest, True

    def scopes_of(self, authorization: str | None) -> frozenset[str] | None:
        """The scopes of the Basic credentials' token, ``None`` for a classic token."""
        if not authorization or not authorization.lower().startswith("basic "):
            return None
        try:
            decoded = base64.b64decode(authorization[6:].strip()).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        token = decoded.partition(":")[2]
        scopes = self.scoped_tokens.get(token)
        return None if scopes is None else frozenset(scopes)

    def token_is_scoped(self, token: str) -> bool:
        """Whether ``token`` is one of the scoped tokens."""
        return token in self.scoped_tokens


def allowed(scopes: frozenset[str], endpoint: str) -> bool:
    """Whether a token with ``scopes`` may call ``endpoint``."""
    classic, granular = SCOPES.get(endpoint, (frozenset(), frozenset()))
    if not classic and not granular:
        return True
    return (bool(classic) and classic <= scopes) or (bool(granular) and granular <= scopes)
