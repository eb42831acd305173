"""Turning dataset objects into the JSON Jira Cloud (v2/v3) or Data Center (v2) sends.

One :class:`Renderer` per (flavor, API version, base URL). It caches the JSON of
immutable pieces (users, statuses, interned change items) because a bulk changelog
page repeats the same few authors and items thousands of times. Cached dicts are
shared between responses and must never be mutated after creation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from functools import lru_cache
from typing import Any
from urllib.parse import quote

import msgspec

from jira_simulator import worklogs
from jira_simulator.catalog import (
    CATEGORY_JSON,
    ISSUE_TYPES,
    RESOLUTIONS,
    STORY_POINTS,
    Flavor,
    all_field_ids,
    issue_type_id,
    navigable_field_ids,
    story_points_field,
)
from jira_simulator.dataset import (
    Dataset,
    SimComment,
    SimHistory,
    SimIssue,
    SimItem,
    SimProject,
    SimStatus,
    SimUser,
)
from jira_simulator.jira_types import StatusCategory, format_jira_datetime


@lru_cache(maxsize=1 << 17)
def _timestamp_text(moment: datetime, zone: tzinfo) -> str:
    # Equal moments are the same instant, so they share one text. Formatting was
    # half of rendering a search page's fields, and every re-read of the same
    # issues (each sync of a benchmark) formatted the same dates again.
    return format_jira_datetime(moment.astimezone(zone))


JsonDict = dict[str, Any]

CLOUD_INLINE_CHANGELOG_CAP = 40
"""Jira Cloud returns at most this many (newest) histories with ``expand=changelog``."""

_NOT_NAVIGABLE_RAW = frozenset({"comment", "worklog", "attachment", "timetracking"})
"""Raw fields of real exports that ``*navigable`` leaves out."""


@dataclass(slots=True)
class FieldSelection:
    """The ``fields`` parameter: ``*all``/``*navigable``, explicit ids, ``-excluded`` ids."""

    all: bool = False
    navigable: bool = False
    include: list[str] = field(default_factory=list)
    exclude: set[str] = field(default_factory=set)

    @classmethod
    def parse(cls, values: Iterable[str], default: str) -> FieldSelection:
        """Parse repeated and/or comma-separated ``fields`` values (``default`` when none)."""
        tokens = [t.strip() for value in values for t in value.split(",") if t.strip()]
        if not tokens:
            tokens = [default]
        selection = cls()
        for token in tokens:
            if token == "*all":
                selection.all = True
            elif token == "*navigable":
                selection.navigable = True
            elif token.startswith("-"):
                selection.exclude.add(token[1:])
            elif token not in selection.include:
                selection.include.append(token)
        return selection

    @property
    def ids_only(self) -> bool:
        """Only ``id``/``key`` requested: Cloud then allows 5000 issues per page."""
        return not self.all and not self.navigable and set(self.include) <= {"id", "key"}

    @property
    def wants_key(self) -> bool:
        """Whether the issue objects carry more than their id."""
        return not (self.ids_only and "key" not in self.include)

    def field_ids(self, flavor: Flavor) -> list[str]:
        """Ids of the dataset-managed fields to render, in catalogue order."""
        if self.all:
            base = list(all_field_ids(flavor))
        elif self.navigable:
            base = list(navigable_field_ids(flavor))
        else:
            base = []
        for name in self.include:
            if name not in ("id", "key") and name not in base:
                base.append(name)
        return [name for name in base if name not in self.exclude]

    def raw_keys(self, raw: JsonDict) -> list[str]:
        """Keys of a real issue's verbatim fields to render."""
        if self.all:
            keys = list(raw)
        elif self.navigable:
            keys = [k for k in raw if k not in _NOT_NAVIGABLE_RAW]
        else:
            keys = []
        for name in self.include:
            if name in raw and name not in keys:
                keys.append(name)
        return [k for k in keys if k not in self.exclude]


def encode(value: Any) -> str:
    """Compact JSON text, non-ASCII kept as is (the simulator answers in UTF-8)."""
    return encode_bytes(value).decode()


def encode_bytes(value: Any) -> bytes:
    """:func:`encode` as the UTF-8 bytes sent.

    msgspec, not the standard library: a Data Center search page (50 issues with
    their inline histories, ~1.2 MB) took the standard encoder ~9 ms, over half of
    the simulator's time per answer, and benchmarks time ScopeGuard against the
    simulated latency, not against the simulator's own speed.
    """
    return _ENCODER.encode(value)


_ENCODER = msgspec.json.Encoder()


INLINE_COMMENT_CAP = 20
"""Comments in an issue's inline ``comment`` field; the rest are paged by
``/issue/{id}/comment`` (Jira's search pages cut the field the same way)."""
COMMENT_PAGE_CAP = 100
"""The largest ``maxResults`` of ``/issue/{id}/comment``."""
PRIORITY_IDS = {"Highest": 1, "High": 2, "Medium": 3, "Low": 4, "Lowest": 5}


def adf(text: str | None) -> JsonDict | None:
    """Plain text as an Atlassian Document Format document (v3 rich-text fields)."""
    if text is None:
        return None
    paragraphs = text.split("\n\n")
    content: list[JsonDict] = []
    for paragraph in paragraphs:
        if paragraph:
            # A single line break inside a paragraph is a hardBreak node, as Jira writes it.
            inline: list[JsonDict] = []
            for index, line in enumerate(paragraph.split("\n")):
                if index:
                    inline.append({"type": "hardBreak"})
                if line:
                    inline.append({"type": "text", "text": line})
            content.append({"type": "paragraph", "content": inline})
        else:
            content.append({"type": "paragraph", "content": []})
    return {"type": "doc", "version": 1, "content": content}


class Renderer:
    """JSON for one flavor, API version and base URL."""

    def __init__(
        self,
        ds: Dataset,
        flavor: Flavor,
        api_version: int,
        base_url: str,
        *,
        dc_history_field_ids: bool = False,
    ):
        self.ds = ds
        self.flavor = flavor
        self.api_version = api_version
        self.base = base_url.rstrip("/")
        self.api = f"{self.base}/rest/api/{api_version}"
        self.cloud = flavor is Flavor.CLOUD
        self.story_points = story_points_field(flavor)
        # Jira Server/DC histories (as in the real export) carry no fieldId.
        self.history_field_ids = self.cloud or dc_history_field_ids
        self.inline_comment_cap: int | None = INLINE_COMMENT_CAP
        """Comments an issue's ``comment`` field carries (``None``: all of them)."""
        self._users: dict[int, tuple[SimUser, JsonDict]] = {}
        self._items: dict[int, tuple[SimItem, JsonDict]] = {}
        self._user_text: dict[int, tuple[SimUser, str]] = {}
        self._item_text: dict[int, tuple[SimItem, str]] = {}
        self._history_text: dict[int, tuple[SimHistory, bytes]] = {}
        self._statuses: dict[int, tuple[SimStatus, JsonDict]] = {}
        self._projects: dict[int, tuple[SimProject, JsonDict]] = {}

    # -- small pieces ------------------------------------------------------------

    def timestamp(self, moment: datetime) -> str:
        """A moment in Jira's text form, with the offset of the dataset user's zone."""
        return _timestamp_text(moment, self.ds.zone)

    def history_timestamp(self, history: SimHistory) -> str:
        """A history's ``created`` text, formatted once (the dataset's zone never changes)."""
        text = history.created_text
        if text is None:
            text = self.timestamp(history.created)
            history.created_text = text
        return text

    def avatars(self, owner: str) -> JsonDict:
        """Avatar URLs (shape only; nothing is served there)."""
        owner_q = quote(owner, safe="")
        return {
            size: f"{self.base}/secure/useravatar?size={label}&ownerId={owner_q}"
            for size, label in (
                ("48x48", "large"),
                ("24x24", "small"),
                ("16x16", "xsmall"),
                ("32x32", "medium"),
            )
        }

    def user(self, user: SimUser) -> JsonDict:
        """A user as embedded in issues and histories."""
        cached = self._users.get(id(user))
        if cached is not None:
            return cached[1]
        body: JsonDict
        if self.cloud:
            body = {
                "self": f"{self.api}/user?accountId={quote(user.account_id, safe='')}",
                "accountId": user.account_id,
                "avatarUrls": self.avatars(user.account_id),
                "displayName": user.display_name,
                "active": True,
                "timeZone": user.time_zone,
                "accountType": "atlassian",
            }
        else:
            body = {
                "self": f"{self.api}/user?username={quote(user.name, safe='')}",
                "name": user.name,
                "key": user.name,
                "avatarUrls": self.avatars(user.name),
                "displayName": user.display_name,
                "active": True,
                "timeZone": user.time_zone,
            }
            if user.email:
                body["emailAddress"] = user.email
        self._users[id(user)] = (user, body)
        return body

    def myself(self, user: SimUser, email: str) -> JsonDict:
        """``GET /myself``."""
        body = dict(self.user(user))
        body["emailAddress"] = email
        body["locale"] = "en_US"
        body["groups"] = {"size": 1, "items": []}
        body["applicationRoles"] = {"size": 1, "items": []}
        body["expand"] = "groups,applicationRoles"
        if not self.cloud:
            body["deleted"] = False
        return body

    def status_category(self, category: StatusCategory) -> JsonDict:
        """A status category object."""
        cat_id, name, colour = CATEGORY_JSON[category]
        return {
            "self": f"{self.api}/statuscategory/{cat_id}",
            "id": cat_id,
            "key": category.value,
            "colorName": colour,
            "name": name,
        }

    def status(self, status: SimStatus) -> JsonDict:
        """A status as ``/status`` lists it and issues embed it."""
        cached = self._statuses.get(id(status))
        if cached is not None:
            return cached[1]
        body: JsonDict = {
            "self": f"{self.api}/status/{status.id}",
            "description": "",
            "iconUrl": f"{self.base}/images/icons/statuses/generic.png",
            "name": status.name,
            "untranslatedName": status.name,
            "id": status.id,
            "statusCategory": self.status_category(status.category),
        }
        self._statuses[id(status)] = (status, body)
        return body

    def project(self, project: SimProject) -> JsonDict:
        """A project as embedded in issues."""
        cached = self._projects.get(id(project))
        if cached is not None:
            return cached[1]
        body: JsonDict = {
            "self": f"{self.api}/project/{project.id}",
            "id": project.id,
            "key": project.key,
            "name": project.name,
            "projectTypeKey": "software",
            "avatarUrls": {
                size: f"{self.base}/secure/projectavatar?size={label}&pid={project.id}"
                for size, label in (("48x48", "large"), ("24x24", "small"), ("16x16", "xsmall"))
            },
        }
        if self.cloud:
            body["simplified"] = False
        self._projects[id(project)] = (project, body)
        return body

    def issue_type(self, name: str) -> JsonDict:
        """An issue type object."""
        type_id = issue_type_id(name)
        subtask, level = ISSUE_TYPES.get(name, (type_id, False, 0))[1:]
        body: JsonDict = {
            "self": f"{self.api}/issuetype/{type_id}",
            "id": type_id,
            "description": "",
            "iconUrl": f"{self.base}/images/icons/issuetypes/{name.casefold()}.svg",
            "name": name,
            "subtask": subtask,
        }
        if self.cloud:
            body["hierarchyLevel"] = level
        return body

    def resolution(self, name: str | None) -> JsonDict | None:
        """A resolution object, or ``None`` for unresolved."""
        if name is None:
            return None
        res_id = RESOLUTIONS.get(name, "10099")
        return {
            "self": f"{self.api}/resolution/{res_id}",
            "id": res_id,
            "description": "",
            "name": name,
        }

    def priority(self, name: str | None) -> JsonDict | None:
        """A priority object (``None``: the issue has none)."""
        if name is None:
            return None
        priority_id = str(PRIORITY_IDS.get(name, 3))
        return {"self": f"{self.api}/priority/{priority_id}", "id": priority_id, "name": name}

    def rich_text(self, text: str | None) -> Any:
        """Description/comment bodies: ADF on Cloud v3, wiki-markup strings elsewhere."""
        if self.cloud and self.api_version == 3:
            return adf(text)
        return text

    def comment(self, issue: SimIssue, comment: SimComment) -> JsonDict:
        """One comment: its last edit, and whether the client may see it."""
        editor = comment.update_author or comment.author
        body: JsonDict = {
            "self": f"{self.api}/issue/{issue.id}/comment/{comment.id}",
            "id": comment.id,
            "author": self.user(comment.author),
            "body": self.rich_text(comment.body),
            "updateAuthor": self.user(editor),
            "created": self.timestamp(comment.created),
            "updated": self.timestamp(comment.updated),
        }
        if comment.visibility is not None:
            body["visibility"] = {
                "type": "role",
                "value": comment.visibility,
                "identifier": comment.visibility,
            }
        if self.cloud:
            body["jsdPublic"] = not comment.internal
        return body

    def comment_page(
        self, issue: SimIssue, start_at: int = 0, max_results: int | None = None
    ) -> JsonDict:
        """A page of the issue's comments, oldest first (the ``comment`` field is the
        first :attr:`inline_comment_cap` of them); ``total`` is always the true count."""
        limit = self.inline_comment_cap if max_results is None else max_results
        shown = (
            issue.comments[start_at:]
            if limit is None
            else issue.comments[start_at : start_at + limit]
        )
        return {
            "comments": [self.comment(issue, c) for c in shown],
            "self": f"{self.api}/issue/{issue.id}/comment",
            "maxResults": len(shown) if limit is None else limit,
            "total": len(issue.comments),
            "startAt": start_at,
        }

    # -- histories ---------------------------------------------------------------

    def item(self, item: SimItem) -> JsonDict:
        """One change item, with the flavor's story-points spelling."""
        cached = self._items.get(id(item))
        if cached is not None:
            return cached[1]
        field_name, field_id = item.field, item.field_id
        if field_id == STORY_POINTS:
            field_name, field_id = self.story_points.name, self.story_points.id
        body: JsonDict = {"field": field_name, "fieldtype": item.fieldtype}
        if self.history_field_ids:
            body["fieldId"] = field_id
        body["from"] = item.from_value
        body["fromString"] = item.from_string
        body["to"] = item.to_value
        body["toString"] = item.to_string
        self._items[id(item)] = (item, body)
        return body

    def item_field_id(self, item: SimItem) -> str:
        """The field id a bulkfetch ``fieldIds`` filter matches against."""
        return self.story_points.id if item.field_id == STORY_POINTS else item.field_id

    def history(self, history: SimHistory, field_ids: set[str] | None = None) -> JsonDict | None:
        """One history; with ``field_ids``, only its matching items (``None`` if none match)."""
        if history.raw is not None:
            if field_ids is None:
                return history.raw
            raw_items = [
                raw_item
                for raw_item in history.raw.get("items", [])
                if str(raw_item.get("fieldId") or raw_item.get("field")) in field_ids
            ]
            if not raw_items:
                return None
            return {**history.raw, "items": raw_items}
        items = history.items
        if field_ids is not None:
            items = tuple(i for i in items if self.item_field_id(i) in field_ids)
            if not items:
                return None
        body: JsonDict = {"id": history.id}
        if history.author is not None:
            body["author"] = self.user(history.author)
        body["created"] = self.history_timestamp(history)
        body["items"] = [self.item(i) for i in items]
        return body

    def history_json(self, history: SimHistory, field_ids: set[str] | None = None) -> bytes | None:
        """:meth:`history` already serialised (UTF-8), built from cached fragments.

        Bulk changelog pages carry up to 10,000 histories; splicing the cached JSON
        of their (few distinct) authors and items is several times faster than
        building dicts and encoding them again for every history. Bytes, not text:
        one non-ASCII character makes a Python string of the whole page two or four
        bytes a character, and joining and encoding 8 MB of that was most of the
        simulator's time per page.
        """
        if history.raw is not None:
            body = self.history(history, field_ids)
            return None if body is None else encode_bytes(body)
        if field_ids is None:
            # Whole histories are cached as served: a bulkfetch page (10,000 of them)
            # took ~27 ms to splice, on the critical path of every one-worker sync.
            cached = self._history_text.get(id(history))
            if cached is None:
                cached = (history, self._history_json(history, history.items).encode())
                self._history_text[id(history)] = cached
            return cached[1]
        items = tuple(i for i in history.items if self.item_field_id(i) in field_ids)
        return self._history_json(history, items).encode() if items else None

    def _history_json(self, history: SimHistory, items: tuple[SimItem, ...]) -> str:
        parts = []
        for item in items:
            cached_item = self._item_text.get(id(item))
            if cached_item is None:
                cached_item = (item, encode(self.item(item)))
                self._item_text[id(item)] = cached_item
            parts.append(cached_item[1])
        author = ""
        if history.author is not None:
            cached_user = self._user_text.get(id(history.author))
            if cached_user is None:
                cached_user = (history.author, encode(self.user(history.author)))
                self._user_text[id(history.author)] = cached_user
            author = f',"author":{cached_user[1]}'
        history_id = history.id if history.id.isdigit() else None
        id_text = f'"{history_id}"' if history_id is not None else encode(history.id)
        return (
            f'{{"id":{id_text}{author},"created":"{self.history_timestamp(history)}",'
            f'"items":[{",".join(parts)}]}}'
        )

    def histories(self, histories: Sequence[SimHistory]) -> list[JsonDict]:
        """Several histories, unfiltered, in the given order."""
        rendered: list[JsonDict] = []
        for history in histories:
            body = self.history(history)
            if body is not None:
                rendered.append(body)
        return rendered

    def inline_changelog(self, issue: SimIssue, dc_cap: int | None) -> JsonDict:
        """``expand=changelog``: Cloud gives the newest 40, newest first; DC the oldest
        ``dc_cap`` (all when ``None``), oldest first. ``total`` is always the true count."""
        total = len(issue.histories)
        if self.cloud:
            shown = issue.histories[-CLOUD_INLINE_CHANGELOG_CAP:][::-1]
        else:
            shown = issue.histories if dc_cap is None else issue.histories[:dc_cap]
        # Spliced from the histories' cached JSON, as bulkfetch pages are: building and
        # encoding 1,500 history dicts was most of a Data Center search page's time.
        histories = [msgspec.Raw(text) for h in shown if (text := self.history_json(h))]
        return {"startAt": 0, "maxResults": len(shown), "total": total, "histories": histories}

    # -- issues ------------------------------------------------------------------

    def managed_field(self, issue: SimIssue, name: str) -> tuple[bool, Any]:
        """The value of a dataset-managed field; ``(False, None)`` for unknown names."""
        if name == "summary":
            return True, issue.summary
        if name == "status":
            return True, self.status(issue.status)
        if name == "issuetype":
            return True, self.issue_type(issue.issue_type)
        if name == "project":
            return True, self.project(issue.project)
        if name == "created":
            return True, self.timestamp(issue.created)
        if name == "updated":
            return True, self.timestamp(issue.updated)
        if name == "labels":
            return True, list(issue.labels)
        if name == "resolution":
            return True, self.resolution(issue.resolution)
        if name == "resolutiondate":
            return True, (self.timestamp(issue.resolution_date) if issue.resolution_date else None)
        if name == "reporter":
            return True, self.user(issue.reporter) if issue.reporter else None
        if name == "description":
            return True, self.rich_text(issue.description)
        if name == "comment":
            return True, self.comment_page(issue)
        if name == "priority":
            return True, self.priority(issue.priority)
        if name == "assignee":
            return True, self.user(issue.assignee) if issue.assignee else None
        if name == "creator":
            creator = issue.creator or issue.reporter
            return True, self.user(creator) if creator else None
        if name == "duedate":
            return True, issue.due_date.isoformat() if issue.due_date else None
        if name == "timeoriginalestimate":
            return True, issue.original_estimate_seconds
        if name in (self.story_points.id, STORY_POINTS):
            return True, issue.story_points
        if name == "timespent":
            return True, worklogs.ledger(self.ds).time_spent(issue)
        if name == "worklog":
            return True, worklogs.inline_field(self, issue)
        return False, None

    def fields(self, issue: SimIssue, selection: FieldSelection) -> JsonDict:
        """The ``fields`` object of an issue for a selection."""
        if issue.raw_fields is not None:
            return self._raw_fields(issue, selection)
        body: JsonDict = {}
        for name in selection.field_ids(self.flavor):
            known, value = self.managed_field(issue, name)
            if known:
                body[self.story_points.id if name == STORY_POINTS else name] = value
        return body

    def _raw_fields(self, issue: SimIssue, selection: FieldSelection) -> JsonDict:
        raw = issue.raw_fields or {}
        body: JsonDict = {key: raw[key] for key in selection.raw_keys(raw)}
        # Fields the dataset manages reflect later mutations and status remapping.
        for name in sorted(issue.touched | {"status"}):
            out_name = self.story_points.id if name == STORY_POINTS else name
            requested = (
                selection.all
                or (selection.navigable and out_name not in _NOT_NAVIGABLE_RAW)
                or out_name in selection.include
            )
            if requested and out_name not in selection.exclude:
                known, value = self.managed_field(issue, name)
                if known:
                    body[out_name] = value
        return body

    def issue(
        self,
        issue: SimIssue,
        selection: FieldSelection,
        *,
        changelog: bool = False,
        dc_cap: int | None = None,
    ) -> JsonDict:
        """An issue object; ``id`` only when just ids were asked for (Cloud search)."""
        if not selection.wants_key and not changelog:
            return {"id": issue.id}
        body: JsonDict = {
            "expand": "renderedFields,names,schema,operations,editmeta,changelog,"
            "versionedRepresentations",
            "id": issue.id,
            "self": f"{self.api}/issue/{issue.id}",
            "key": issue.key,
        }
        if not selection.ids_only:
            body["fields"] = self.fields(issue, selection)
        if changelog:
            body["changelog"] = self.inline_changelog(issue, dc_cap)
        return body
