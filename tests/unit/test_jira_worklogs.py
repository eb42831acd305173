"""Worklogs as the Jira adapter reads them (the transport stubbed: no HTTP)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, cast

from scopeguard.adapters.jira.transport import JiraTransport
from scopeguard.adapters.jira.worklogs import WorklogReader


class _Transport:
    """Answers ``POST /worklog/list`` with the worklogs it was given."""

    api = "/rest/api/3"

    def __init__(self, worklogs: list[dict[str, Any]]) -> None:
        self._worklogs = worklogs

    def request_bytes(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> bytes:
        assert (method, path) == ("POST", "/rest/api/3/worklog/list")
        return json.dumps(self._worklogs).encode()


def _worklog(wid: int, author: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "id": str(wid),
        "issueId": "10001",
        "started": "2026-09-04T10:00:00.000+0300",
        "timeSpentSeconds": 3600,
        "author": author,
    }


def test_an_empty_account_or_name_is_no_account_or_name_as_in_issue_histories() -> None:
    transport = _Transport(
        [
            _worklog(1, {"accountId": "", "key": "", "displayName": ""}),
            _worklog(2, {"accountId": "", "name": "ivan", "displayName": "Ivan Petrov"}),
            _worklog(3, {"accountId": "acc-1", "displayName": "Maria"}),
            _worklog(4, None),
        ]
    )
    reader = WorklogReader(cast(JiraTransport, transport))
    found = [(w.author_account, w.author_name) for w in reader.worklogs([1, 2, 3, 4])]
    assert found == [(None, None), ("ivan", "Ivan Petrov"), ("acc-1", "Maria"), (None, None)]
