"""The pages the sync reads, as typed structs decoded straight from Jira's bytes.

msgspec decodes a page into these structs in one pass, validating the shape on
the way and skipping every key not declared here without building it: an author's
four avatar URLs, ``self`` links, ``fieldtype``… are most of a changelog page's
bytes and none of what ScopeGuard reads. A 10,000-history bulkfetch page so costs
a few megabytes of small structs instead of ~80 MB of dicts, and about a tenth of
the CPU of ``json.loads``. Issue ``fields`` stay a plain mapping: which fields
are present depends on the site (the story points field's id, ADF descriptions).
The structs are not tracked by the garbage collector (``gc=False``): they never
form cycles, and hundreds of thousands of tracked objects per sync would only
make the collector run more often.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec

from scopeguard.adapters.jira.decoding import set_changelog
from scopeguard.adapters.jira.errors import JiraMalformedResponse

Scalar = str | int | float | bool | None
"""A change item value: text in Jira's JSON, but some apps write numbers."""


class User(msgspec.Struct, frozen=True, gc=False):
    """A history's author: Cloud's ``accountId``, Data Center's ``name``/``key``."""

    accountId: str | None = None  # noqa: N815 - Jira's spelling
    name: str | None = None
    key: str | None = None
    displayName: str | None = None  # noqa: N815


class Item(msgspec.Struct, frozen=True, gc=False):
    """One field change of a history."""

    field: str
    fieldId: str | None = None  # noqa: N815
    from_: Scalar = msgspec.field(default=None, name="from")
    fromString: Scalar = None  # noqa: N815
    to: Scalar = None
    toString: Scalar = None  # noqa: N815


class History(msgspec.Struct, frozen=True, gc=False):
    """One changelog history: who changed what when."""

    id: str | int
    created: str
    items: list[Item]
    author: User | None = None


class IssueChangeLog(msgspec.Struct, frozen=True, gc=False):
    """The histories of one issue on a bulkfetch page."""

    issueId: str  # noqa: N815
    changeHistories: list[History]  # noqa: N815


class BulkfetchPage(msgspec.Struct, frozen=True, gc=False):
    """``POST /rest/api/3/changelog/bulkfetch``'s answer."""

    issueChangeLogs: list[IssueChangeLog]  # noqa: N815
    nextPageToken: str | None = None  # noqa: N815


class Changelog(msgspec.Struct, frozen=True, gc=False):
    """A changelog inlined in a Data Center search result (``expand=changelog``)."""

    histories: list[History]
    total: int | None = None


class SearchIssue(msgspec.Struct, frozen=True, gc=False):
    """An issue of a search page: id, key, the requested fields, maybe its changelog."""

    id: str | int
    key: str
    fields: dict[str, Any] = msgspec.field(default_factory=dict)
    changelog: Changelog | None = None


class CloudSearchPage(msgspec.Struct, frozen=True, gc=False):
    """``GET /rest/api/3/search/jql``'s answer."""

    issues: list[SearchIssue]
    nextPageToken: str | None = None  # noqa: N815
    isLast: bool | None = None  # noqa: N815


class DataCenterSearchPage(msgspec.Struct, frozen=True, gc=False):
    """``GET /rest/api/2/search``'s answer (``startAt`` paging)."""

    issues: list[SearchIssue]
    total: int
    maxResults: int  # noqa: N815
    startAt: int = 0  # noqa: N815


class ChangelogPage(msgspec.Struct, frozen=True, gc=False):
    """``GET /rest/api/3/issue/{id}/changelog``: one page of an issue's histories."""

    values: list[History]
    total: int | None = None
    isLast: bool | None = None  # noqa: N815


class CloudSearchNext(msgspec.Struct, frozen=True, gc=False):
    """Just what a search page says about the next one (the rest is skipped unread)."""

    nextPageToken: str | None = None  # noqa: N815
    isLast: bool | None = None  # noqa: N815


class BulkfetchNext(msgspec.Struct, frozen=True, gc=False):
    """Just what a bulkfetch page says about the next one."""

    nextPageToken: str | None = None  # noqa: N815


class DataCenterSearchNext(msgspec.Struct, frozen=True, gc=False):
    """Just what a Data Center search page says about the next one."""

    issues: list[msgspec.Raw]
    total: int
    maxResults: int  # noqa: N815


class DataCenterIssue(msgspec.Struct, frozen=True, gc=False):
    """``GET /rest/api/2/issue/{id}?expand=changelog``: the complete history."""

    key: str
    changelog: Changelog


@dataclass(slots=True)
class WireIssue:
    """An issue as read: its search fields and its complete histories, not yet parsed."""

    id: str
    key: str
    fields: dict[str, Any]
    histories: list[History]

    def to_raw(self) -> dict[str, Any]:
        """The issue as Jira's JSON (what :func:`~scopeguard.adapters.jira.parse.parse_issue`
        reads), with every history under ``changelog``, oldest first."""
        raw: dict[str, Any] = {"id": self.id, "key": self.key, "fields": self.fields}
        set_changelog(raw, [msgspec.to_builtins(h) for h in self.histories])
        return raw


T = TypeVar("T")

_decoders: dict[type[Any], msgspec.json.Decoder[Any]] = {}


def decode_as(data: bytes, kind: type[T], what: str) -> T:
    """``data`` decoded as ``kind``; a body of another shape is a malformed response."""
    decoder = _decoders.get(kind)
    if decoder is None:
        decoder = _decoders[kind] = msgspec.json.Decoder(kind)
    try:
        value: T = decoder.decode(data)
    except msgspec.ValidationError as exc:
        raise JiraMalformedResponse(f"{what}: unexpected page from Jira ({exc})") from None
    except msgspec.DecodeError as exc:
        raise JiraMalformedResponse(f"{what}: the body is not JSON ({exc})") from None
    return value


_TOKEN_KEY = b'"nextPageToken"'
_TRAILING_TOKEN = re.compile(
    rb'"nextPageToken"\s*:\s*("(?:[^"\\]|\\.)*"|null)\s*\}\s*\Z', re.DOTALL
)


def bulkfetch_next_token(data: bytes, what: str) -> str | None:
    """A bulkfetch answer's ``nextPageToken``, found without decoding the page where the
    bytes allow it.

    The reader needs only the token to ask for the next page, and decoding an 8 MB
    page for it took ~5 ms with the GIL held: the one request slot of a one-worker
    sync stood idle that long after every page. Jira writes the token last, so a
    backwards search finds it at once. A match of ``"nextPageToken"`` followed by
    ``:`` is a key (a string *value* is followed by ``,``, ``]`` or ``}``, and quotes
    inside a string are escaped), and a member followed only by the closing brace of
    the document belongs to the top-level object. No ``"nextPageToken"`` anywhere:
    the last page. Any other layout is decoded the ordinary way. The caller checks
    the token against the page's full decode later (a key written with escapes
    would be missed here).
    """
    at = data.rfind(_TOKEN_KEY)
    if at < 0:
        return None
    match = _TRAILING_TOKEN.match(data, at)
    if match is not None:
        try:
            token: object = msgspec.json.decode(match.group(1))
        except msgspec.DecodeError:
            token = ...  # text the pattern admits and JSON does not: the decode says why
        if token is None or isinstance(token, str):
            return token
    return decode_as(data, BulkfetchNext, what).nextPageToken


def history_id(history: History) -> str:
    """The history's id as text (Jira sends a string; some proxies an integer)."""
    value = history.id
    if isinstance(value, int):
        return str(value)
    if not value:
        raise JiraMalformedResponse("a history has an empty id")
    return value


def search_issue_id(issue: SearchIssue) -> str:
    """A search result's issue id as text."""
    value = issue.id
    if isinstance(value, int):
        return str(value)
    if not value:
        raise JiraMalformedResponse(f"issue {issue.key} has an empty id")
    return value
