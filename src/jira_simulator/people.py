"""Comment pages, group members and user search: the answers behind who said what.

Jira's search pages carry only the first comments of an issue in its ``comment``
field (:data:`~jira_simulator.payloads.INLINE_COMMENT_CAP`); the rest are read
from ``GET /rest/api/{2,3}/issue/{id}/comment``. Who belongs to the agency comes
from ``GET /rest/api/{2,3}/group/member`` and, for people named by email, from
``GET /rest/api/{2,3}/user/search``. The request handlers in
:mod:`jira_simulator.app` call these; they only build the JSON.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from urllib.parse import quote

from jira_simulator.dataset import Author, Dataset, JsonDict, SimIssue, SimUser
from jira_simulator.payloads import COMMENT_PAGE_CAP, Renderer

GROUP_PAGE_CAP = 50
"""The largest ``maxResults`` of ``/group/member`` (Jira's own cap)."""
USER_SEARCH_CAP = 50


def comment_page(r: Renderer, issue: SimIssue, start_at: int, max_results: int) -> JsonDict:
    """``GET /issue/{id}/comment?startAt&maxResults``: a page of comments, oldest first."""
    page = r.comment_page(issue, start_at, min(max_results, COMMENT_PAGE_CAP))
    # The endpoint names its values "comments" like the field, and says whether more follow.
    page["isLast"] = start_at + len(page["comments"]) >= page["total"]
    return page


def group_members(
    r: Renderer, ds: Dataset, name: str, start_at: int, max_results: int
) -> JsonDict | None:
    """``GET /group/member?groupname=``: a page of the group's members; ``None``: no such group."""
    found = next((members for group, members in ds.groups.items() if group == name), None)
    if found is None:
        return None
    limit = min(max_results, GROUP_PAGE_CAP)
    page = found[start_at : start_at + limit]
    query = f"groupname={quote(name)}&startAt={start_at}&maxResults={limit}"
    return {
        "self": f"{r.api}/group/member?{query}",
        "maxResults": limit,
        "startAt": start_at,
        "total": len(found),
        "isLast": start_at + len(page) >= len(found),
        "values": [r.user(user) for user in page],
    }


def add_group(ds: Dataset, name: str, members: Iterable[Author | SimUser]) -> None:
    """Create (or replace) the Jira group ``name`` with ``members``."""
    with ds.lock:
        ds.groups[name] = []
    for member in members:
        ds.add_group_member(name, member)


def user_search(r: Renderer, ds: Dataset, query: str) -> list[JsonDict]:
    """``GET /user/search?query=`` (Cloud) or ``?username=`` (Data Center).

    Cloud shows the email only where the user allows it; the simulator's users all do.
    """
    found = []
    for user in ds.users_matching(query)[:USER_SEARCH_CAP]:
        body = dict(r.user(user))
        if user.email:
            body["emailAddress"] = user.email
        found.append(body)
    return found


def add_bulk_comments(ds: Dataset, project: str, *, every: int, comments: int) -> int:
    """Give every ``every``-th issue of ``project`` ``comments`` comments (benchmarks):
    more than a search page carries inline, so a sync must page them. Returns how many
    issues got them."""
    if every <= 0 or comments <= 0:
        return 0
    chatty = ds.issues_in_project(project)[::every]
    for issue in chatty:
        for number in range(comments):
            at = issue.created + timedelta(minutes=10 * (number + 1))
            author = ("557058:bulk-client", "Bulk Client") if number % 2 else None
            ds.add_comment(issue.key, f"Comment {number} on {issue.key}", at, author)
    return len(chatty)
