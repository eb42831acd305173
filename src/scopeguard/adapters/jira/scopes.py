"""The OAuth scopes each Jira Cloud request of ScopeGuard needs, for scoped API tokens.

A service account's (or a person's) scoped API token is called through the API
gateway, ``https://api.atlassian.com/ex/jira/{cloudId}``, and every operation
checks the token's scopes: the classic scope (``read:jira-work``,
``read:jira-user``) or every one of the operation's granular scopes, as
Atlassian's OpenAPI description lists them (``x-atlassian-oauth2-scopes``; the
test ``tests/integration/test_jira_scopes.py`` checks this table against it).
A refusal (401 "scope does not match") does not say which scope is missing, so
ScopeGuard names them from here.

ScopeGuard only reads: :data:`CLASSIC_SCOPES` and :data:`GRANULAR_SCOPES` are
what a token needs for everything it does (README, *Jira access*).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Required:
    """The scopes of one operation: the classic ones, or all of the granular ones."""

    operation: str
    classic: tuple[str, ...]
    granular: tuple[str, ...]

    def describe(self) -> str:
        """``read:jira-work (classic) or read:a, read:b (granular)``."""
        parts = []
        if self.classic:
            parts.append(f"{', '.join(self.classic)} (classic)")
        if self.granular:
            parts.append(f"{', '.join(self.granular)} (granular)")
        return " or ".join(parts) or "no scope"


_WORK = ("read:jira-work",)
_USER = ("read:jira-user",)

_OPERATIONS: tuple[tuple[str, str, Required], ...] = (
    (
        "GET",
        r"/myself",
        Required(
            "the Jira user's time zone (/myself)",
            _USER,
            ("read:application-role:jira", "read:group:jira", "read:user:jira", "read:avatar:jira"),
        ),
    ),
    ("GET", r"/status", Required("statuses (/status)", _WORK, ("read:status:jira",))),
    (
        "GET",
        r"/field",
        Required(
            "fields (/field)",
            _WORK,
            (
                "read:field:jira",
                "read:avatar:jira",
                "read:project-category:jira",
                "read:project:jira",
                "read:field-configuration:jira",
            ),
        ),
    ),
    (
        "GET",
        r"/search/jql",
        Required(
            "issue search (/search/jql)",
            _WORK,
            (
                "read:issue-details:jira",
                "read:audit-log:jira",
                "read:avatar:jira",
                "read:field-configuration:jira",
                "read:issue-meta:jira",
            ),
        ),
    ),
    (
        "POST",
        r"/search/approximate-count",
        Required(
            "issue counts (/search/approximate-count)",
            _WORK,
            (
                "read:issue-details:jira",
                "read:field.default-value:jira",
                "read:field.option:jira",
                "read:field:jira",
                "read:group:jira",
            ),
        ),
    ),
    (
        "POST",
        r"/changelog/bulkfetch",
        Required(
            "complete changelogs (/changelog/bulkfetch)",
            _WORK,
            ("read:issue-meta:jira", "read:avatar:jira", "read:issue.changelog:jira"),
        ),
    ),
    (
        "GET",
        r"/issue/[^/]+/changelog",
        Required(
            "an issue's changelog (/issue/{id}/changelog)",
            _WORK,
            ("read:issue-meta:jira", "read:avatar:jira", "read:issue.changelog:jira"),
        ),
    ),
    (
        "GET",
        r"/worklog/(updated|deleted)",
        Required(
            "changed worklogs (/worklog/updated, /worklog/deleted)",
            _WORK,
            ("read:issue-worklog:jira", "read:issue-worklog.property:jira"),
        ),
    ),
    (
        "POST",
        r"/worklog/list",
        Required(
            "worklogs (/worklog/list)",
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
    ),
    (
        "GET",
        r"/issue/[^/]+/worklog",
        Required(
            "an issue's worklogs (/issue/{id}/worklog)",
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
    ),
    (
        "GET",
        r"/group/member",
        Required(
            "group members (/group/member)",
            ("manage:jira-configuration",),
            ("read:group:jira", "read:user:jira", "read:avatar:jira"),
        ),
    ),
    (
        "GET",
        r"/issue/[^/]+",
        Required(
            "an issue (/issue/{id})",
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
    ),
)

_COMPILED = tuple(
    (method, re.compile(rf"^/rest/api/[23]{pattern}$"), required)
    for method, pattern, required in _OPERATIONS
)

CLASSIC_SCOPES: tuple[str, ...] = ("read:jira-work", "read:jira-user")
"""A classic scoped token needs these two (group members aside, see the README)."""
GRANULAR_SCOPES: tuple[str, ...] = tuple(
    sorted(
        {
            scope
            for _m, _p, required in _OPERATIONS
            if required.operation != "group members (/group/member)"
            for scope in required.granular
        }
        | {"read:group:jira", "read:user:jira"}
    )
)
"""Every granular scope ScopeGuard's requests need, group members included."""


def required_for(method: str, path: str) -> Required | None:
    """The scopes of a request ScopeGuard makes, ``None`` for one that needs none."""
    bare = path.split("?", 1)[0]
    for wanted, pattern, required in _COMPILED:
        if wanted == method.upper() and pattern.match(bare):
            return required
    return None
