"""Probes for ``scopeguard doctor``: one small request per permission ScopeGuard uses.

Each probe makes the cheapest request that exercises one permission (or scope)
the sync relies on, and returns what it found or raises the adapter's error
(:mod:`scopeguard.adapters.jira.errors`), whose message says what to fix.
"""

from __future__ import annotations

import time
from typing import Any

from scopeguard.adapters.jira.decoding import expect_object
from scopeguard.adapters.jira.errors import JiraMalformedResponse
from scopeguard.adapters.jira.transport import JiraTransport


class Probes:
    """The doctor's requests against one site."""

    def __init__(self, transport: JiraTransport) -> None:
        self._t = transport

    def server(self) -> str:
        """``serverInfo``: which Jira answers (no credentials needed)."""
        info = expect_object(
            self._t.request("GET", "/rest/api/2/serverInfo", anonymous=True), "serverInfo"
        )
        return f"{info.get('deploymentType', 'Jira')} {info.get('version', '')}".strip()

    def myself(self) -> str:
        """``/myself``: the credentials work; who ScopeGuard reads as."""
        me = expect_object(self._t.request("GET", f"{self._t.api}/myself"), "myself")
        who = me.get("displayName") or me.get("emailAddress") or me.get("accountId") or "?"
        return f"{who} ({me.get('timeZone', 'no time zone')})"

    def statuses(self) -> int:
        """``/status``: how many statuses the site has."""
        found = self._t.request("GET", f"{self._t.api}/status")
        if not isinstance(found, list):
            raise JiraMalformedResponse("the status list is not a JSON array")
        return len(found)

    def fields(self) -> int:
        """``/field``: how many fields the site has."""
        found = self._t.request("GET", f"{self._t.api}/field")
        if not isinstance(found, list):
            raise JiraMalformedResponse("the field list is not a JSON array")
        return len(found)

    def first_issue(self, jql: str) -> str | None:
        """The id of one issue of ``jql`` (a search of one), ``None`` when it has none."""
        if self._t.deployment == "cloud":
            page = expect_object(
                self._t.request(
                    "GET",
                    "/rest/api/3/search/jql",
                    params={"jql": jql, "maxResults": 1, "fields": "key"},
                ),
                "search",
            )
        else:
            page = expect_object(
                self._t.request(
                    "GET",
                    "/rest/api/2/search",
                    params={"jql": jql, "maxResults": 1, "fields": "key"},
                ),
                "search",
            )
        issues = page.get("issues") or []
        if not issues:
            return None
        return str(expect_object(issues[0], "an issue").get("id"))

    def count(self, jql: str) -> int:
        """How many issues ``jql`` matches (Cloud: approximate-count; DC: the search total)."""
        if self._t.deployment == "cloud":
            answer = expect_object(
                self._t.request("POST", "/rest/api/3/search/approximate-count", body={"jql": jql}),
                "approximate-count",
            )
            value: Any = answer.get("count")
        else:
            answer = expect_object(
                self._t.request(
                    "GET",
                    "/rest/api/2/search",
                    params={"jql": jql, "maxResults": 0, "fields": "key"},
                ),
                "search",
            )
            value = answer.get("total")
        if not isinstance(value, int):
            raise JiraMalformedResponse(f"no issue count in the answer ({value!r})")
        return value

    def changelog(self, issue_id: str) -> int:
        """Complete changelogs: Cloud's bulkfetch, Data Center's ``expand=changelog``."""
        if self._t.deployment == "cloud":
            page = expect_object(
                self._t.request(
                    "POST",
                    "/rest/api/3/changelog/bulkfetch",
                    body={"issueIdsOrKeys": [issue_id], "maxResults": 1},
                ),
                "bulkfetch",
            )
            return len(page.get("issueChangeLogs") or [])
        issue = expect_object(
            self._t.request(
                "GET",
                f"/rest/api/2/issue/{issue_id}",
                params={"expand": "changelog", "fields": "created"},
            ),
            "issue",
        )
        changelog = expect_object(issue.get("changelog") or {}, "changelog")
        return int(changelog.get("total") or 0)

    def worklogs(self, issue_id: str | None) -> str:
        """The worklog feed (one page from a minute ago) and, with an issue, its worklogs."""
        since = int((time.time() - 60) * 1000)
        expect_object(
            self._t.request("GET", f"{self._t.api}/worklog/updated", params={"since": since}),
            "worklog/updated",
        )
        if issue_id is None:
            return "the worklog feed answers"
        page = expect_object(
            self._t.request(
                "GET", f"{self._t.api}/issue/{issue_id}/worklog", params={"maxResults": 1}
            ),
            "issue worklog",
        )
        return f"the worklog feed answers; the issue tried has {page.get('total', 0)} worklogs"

    def comments(self, issue_id: str) -> int:
        """An issue's comments, as the sync reads them (the ``comment`` field)."""
        issue = expect_object(
            self._t.request("GET", f"{self._t.api}/issue/{issue_id}", params={"fields": "comment"}),
            "issue",
        )
        fields = expect_object(issue.get("fields") or {}, "fields")
        comment = fields.get("comment")
        if not isinstance(comment, dict):
            raise JiraMalformedResponse(
                "the issue came without its comment field: the account may not see comments"
            )
        return int(comment.get("total") or 0)

    def group(self, name: str) -> int:
        """Members of one group the configuration names."""
        page = expect_object(
            self._t.request(
                "GET",
                f"{self._t.api}/group/member",
                params={"groupname": name, "maxResults": 1},
            ),
            "group/member",
        )
        return int(page.get("total") or 0)
