"""Who is who on the Jira site: the members of a group, the account behind an email.

``agency.team`` and ``clients[].client_users`` may name people by Jira group or by
email; Jira writes account ids on every action. Group members come from
``GET /rest/api/{3,2}/group/member`` (paged, ``isLast``), accounts by email from
``GET /rest/api/3/user/search?query=`` (Cloud) or ``/rest/api/2/user/search?username=``
(Data Center). Cloud shows an email only where the user allows it, so an email
entry may find nobody there: name that person by account id or group instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scopeguard.adapters.jira.errors import JiraMalformedResponse, JiraRequestError
from scopeguard.adapters.jira.parse import user_account
from scopeguard.adapters.jira.transport import JiraTransport

GROUP_PAGE = 50
"""``maxResults`` of a group member page (Jira's own cap)."""


@dataclass(frozen=True, slots=True)
class JiraUser:
    """An account as the directory answers give it."""

    account: str
    email: str | None


def _user(value: Any, what: str) -> JiraUser | None:
    if not isinstance(value, Mapping):
        raise JiraMalformedResponse(f"{what}: a user is not a JSON object")
    account = user_account(value)
    if account is None:
        return None
    email = value.get("emailAddress")
    return JiraUser(account, email if isinstance(email, str) and email else None)


def group_members(transport: JiraTransport, group: str) -> list[JiraUser] | None:
    """The members of ``group``; ``None`` when the site has no such group."""
    path = f"{transport.api}/group/member"
    members: list[JiraUser] = []
    start = 0
    while True:
        try:
            page = transport.request(
                "GET",
                path,
                params={"groupname": group, "startAt": start, "maxResults": GROUP_PAGE},
            )
        except JiraRequestError as exc:
            if exc.status == 404:
                return None
            raise
        values = page.get("values") if isinstance(page, Mapping) else None
        if not isinstance(values, list):
            raise JiraMalformedResponse(f"GET {path}: the group page has no list of values")
        for value in values:
            user = _user(value, f"GET {path}")
            if user is not None:
                members.append(user)
        start += len(values)
        if not values or page.get("isLast") is True:
            return members
        total = page.get("total")
        if isinstance(total, int) and start >= total:
            return members


def accounts_by_email(transport: JiraTransport, email: str) -> list[str]:
    """The accounts whose email is ``email`` (any case); empty when Jira shows none."""
    parameter = "query" if transport.deployment == "cloud" else "username"
    path = f"{transport.api}/user/search"
    found = transport.request("GET", path, params={parameter: email, "maxResults": 50})
    if not isinstance(found, list):
        raise JiraMalformedResponse(f"GET {path}: the answer is not a list of users")
    wanted = email.casefold()
    accounts: list[str] = []
    for value in found:
        user = _user(value, f"GET {path}")
        if user is not None and user.email is not None and user.email.casefold() == wanted:
            accounts.append(user.account)
    return accounts
