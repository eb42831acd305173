"""Loading real Jira exports (``shared/jira/real/``) into a :class:`Dataset`.

Three shapes exist:

* ``puppet-server/jira.json`` – a JSON list of collector items ``{"data": issue}``
  from a Jira Server (histories without ``fieldId``);
* ``patternfly-cloud/jira_raw_fields.json`` – concatenated ``{"_source": {"data":
  issue}}`` objects (no separators), from Jira Cloud;
* ``sp-cloud-sample/`` – one ``SP-*.json`` file per issue (``expand=changelog``)
  plus ``statuses.json``, the site's status list with categories.

Histories are kept verbatim (ids, ``created`` strings with their original offsets,
items, authors) and so are the issues' fields, with one exception: the three
exports come from three different sites whose status ids collide (``10001`` is
"Done" on patternfly and "Selected for Development" on the SP site). A site has
one status list, so a colliding status is merged with an existing status of the
same name and category, or gets a fresh id; the ids inside that source's
``status`` change items and ``fields.status`` are rewritten to match, and
:attr:`LoadedSource.status_id_map` records every rewrite.

Statuses come from ``statuses.json`` where given, else from each issue's
``fields.status`` (which carries its category) and from the status names seen in
histories. A status seen only in histories gets its category from its name:
``done`` when the name contains one of :data:`DONE_WORDS` as a word, ``new`` when
it is one of :data:`NEW_NAMES`, otherwise ``indeterminate``.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
from jira_simulator.jira_types import StatusCategory, parse_jira_datetime

JsonDict = dict[str, Any]

DONE_WORDS = (
    "done",
    "closed",
    "resolved",
    "complete",
    "completed",
    "released",
    "deployed",
    "shipped",
    "cancelled",
    "canceled",
    "rejected",
    "declined",
    "won't do",
    "won't fix",
    "duplicate",
    "принято",
    "закрыто",
    "выполнено",
    "готово",
)
NEW_NAMES = frozenset({"open", "reopened", "to do", "todo", "backlog", "new", "triage"})

_DONE_PATTERN = re.compile(
    r"(?<!\w)(" + "|".join(re.escape(w) for w in DONE_WORDS) + r")(?!\w)", re.IGNORECASE
)

PUPPET = "puppet-server"
PATTERNFLY = "patternfly-cloud"
SP_CLOUD = "sp-cloud-sample"


def infer_category(name: str) -> StatusCategory:
    """The category of a status known only by name (see the module docstring)."""
    if _DONE_PATTERN.search(name):
        return StatusCategory.DONE
    if name.strip().casefold() in NEW_NAMES:
        return StatusCategory.NEW
    return StatusCategory.INDETERMINATE


@dataclass(slots=True)
class LoadedSource:
    """What one export contributed: counts to compare with the raw files."""

    source: str
    issue_keys: list[str] = field(default_factory=list)
    history_count: int = 0
    statuses: list[SimStatus] = field(default_factory=list)
    status_id_map: dict[str, str] = field(default_factory=dict)
    """Source status id -> dataset status id, for every id that had to change."""

    @property
    def issue_count(self) -> int:
        """Number of issues loaded."""
        return len(self.issue_keys)


@dataclass(slots=True)
class RealLoad:
    """The result of :func:`load_real`: one :class:`LoadedSource` per export."""

    sources: dict[str, LoadedSource]

    @property
    def issue_count(self) -> int:
        """Issues loaded over all sources."""
        return sum(s.issue_count for s in self.sources.values())

    @property
    def history_count(self) -> int:
        """Histories loaded over all sources."""
        return sum(s.history_count for s in self.sources.values())


# -- reading the raw shapes --------------------------------------------------------


def read_puppet(path: Path) -> list[JsonDict]:
    """Issues of the Puppet Server export (a list of ``{"data": issue}``)."""
    items = json.loads(path.read_text(encoding="utf-8"))
    return [item["data"] for item in items]


def iter_concatenated_json(text: str) -> Iterator[Any]:
    """The JSON values of a text holding several concatenated documents."""
    decoder = json.JSONDecoder()
    position = 0
    length = len(text)
    while True:
        while position < length and text[position].isspace():
            position += 1
        if position >= length:
            return
        value, position = decoder.raw_decode(text, position)
        yield value


def read_patternfly(path: Path) -> list[JsonDict]:
    """Issues of the patternfly export (concatenated ``{"_source": {"data": issue}}``)."""
    return [value["_source"]["data"] for value in iter_concatenated_json(path.read_text("utf-8"))]


def read_sp_cloud(folder: Path) -> tuple[list[JsonDict], list[JsonDict]]:
    """Issues (``SP-*.json``, in key-number order) and statuses of the SP sample."""

    def number(path: Path) -> int:
        return int(path.stem.rsplit("-", 1)[1])

    files = sorted(folder.glob("SP-*.json"), key=number)
    issues = [json.loads(f.read_text(encoding="utf-8")) for f in files]
    statuses = json.loads((folder / "statuses.json").read_text(encoding="utf-8"))
    return issues, statuses


# -- building dataset objects ------------------------------------------------------


class _SourceLoader:
    def __init__(self, ds: Dataset, source: str, story_points_field: str | None):
        self.ds = ds
        self.result = LoadedSource(source)
        self.story_points_field = story_points_field
        self.status_map: dict[str, SimStatus] = {}

    def user(self, raw: JsonDict | None) -> SimUser | None:
        if not isinstance(raw, dict):
            return None
        account = raw.get("accountId") or raw.get("key") or raw.get("name")
        if not account:
            return None
        return self.ds.user(
            str(account),
            str(raw.get("displayName") or account),
            raw.get("timeZone"),
            name=raw.get("name") or raw.get("key") or str(account),
            email=raw.get("emailAddress"),
        )

    def register_status(self, source_id: str, name: str, category: StatusCategory) -> None:
        if source_id in self.status_map:
            return
        ds = self.ds
        by_id = ds.status_by_id(source_id)
        status: SimStatus
        if by_id is not None and by_id.id == source_id and by_id.name.casefold() == name.casefold():
            status = by_id
        else:
            by_name = next(
                (
                    s
                    for s in ds.statuses
                    if s.name.casefold() == name.casefold() and s.category is category
                ),
                None,
            )
            if by_name is not None:
                status = by_name
            elif by_id is None and not any(
                s.name.casefold() == name.casefold() for s in ds.statuses
            ):
                status = ds.add_status(source_id, name, category)
            else:
                status = ds.add_status(_free_id(ds), name, category, allow_duplicate_name=True)
        self.status_map[source_id] = status
        if status.id != source_id:
            self.result.status_id_map[source_id] = status.id
        if status not in self.result.statuses:
            self.result.statuses.append(status)

    def statuses_from_issues(self, issues: Iterable[JsonDict]) -> None:
        issues = list(issues)
        for raw in issues:
            status = raw["fields"]["status"]
            self.register_status(
                str(status["id"]),
                str(status["name"]),
                StatusCategory.from_jira(status.get("statusCategory", {}).get("key")),
            )
        for raw in issues:
            for history in raw.get("changelog", {}).get("histories", []):
                for item in history.get("items", []):
                    if item.get("field") != "status":
                        continue
                    for id_key, name_key in (("from", "fromString"), ("to", "toString")):
                        if item.get(id_key) is not None and item.get(name_key) is not None:
                            self.register_status(
                                str(item[id_key]),
                                str(item[name_key]),
                                infer_category(str(item[name_key])),
                            )

    def project(self, raw: JsonDict) -> SimProject:
        key = str(raw["key"])
        existing = self.ds.find_project(key)
        if existing is not None and existing.key == key:
            return existing
        project_id = str(raw.get("id")) if raw.get("id") is not None else None
        if project_id is not None and any(p.id == project_id for p in self.ds.projects):
            project_id = None  # another site's project owns the id; allocate one
        return self.ds.add_project(key, str(raw.get("name") or key), id=project_id)

    def history(self, raw: JsonDict) -> SimHistory:
        remapped = self.result.status_id_map
        needs_rewrite = remapped and any(
            item.get("field") == "status"
            and (str(item.get("from")) in remapped or str(item.get("to")) in remapped)
            for item in raw.get("items", [])
        )
        body = raw
        if needs_rewrite:
            body = copy.deepcopy(raw)
            for item in body["items"]:
                if item.get("field") != "status":
                    continue
                for id_key in ("from", "to"):
                    if item.get(id_key) is not None and str(item[id_key]) in remapped:
                        item[id_key] = remapped[str(item[id_key])]
        items = tuple(
            SimItem(
                field=str(item.get("field")),
                fieldtype=str(item.get("fieldtype") or "jira"),
                field_id=str(item.get("fieldId") or item.get("field")),
                from_value=item.get("from"),
                from_string=item.get("fromString"),
                to_value=item.get("to"),
                to_string=item.get("toString"),
            )
            for item in body.get("items", [])
        )
        return SimHistory(
            id=str(body["id"]),
            created=parse_jira_datetime(str(body["created"])),
            author=self.user(body.get("author")),
            items=items,
            raw=body,
        )

    def story_points(self, fields: JsonDict) -> float | None:
        if self.story_points_field is None:
            return None
        value = fields.get(self.story_points_field)
        if isinstance(value, dict):  # GrimoireLab wraps custom fields as {"name","value","id"}
            value = value.get("value")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        return None

    def issue(self, raw: JsonDict) -> SimIssue:
        fields: JsonDict = raw["fields"]
        source_status = str(fields["status"]["id"])
        status = self.status_map[source_status]
        histories = sorted(
            (self.history(h) for h in raw.get("changelog", {}).get("histories", [])),
            key=lambda h: h.sort_key,
        )
        comments: list[SimComment] = []
        comment_page = fields.get("comment")
        if isinstance(comment_page, dict):
            for raw_comment in comment_page.get("comments", []):
                author = self.user(raw_comment.get("author"))
                if author is None or not isinstance(raw_comment.get("body"), str):
                    continue
                created = parse_jira_datetime(str(raw_comment["created"]))
                comments.append(
                    SimComment(
                        id=str(raw_comment["id"]),
                        author=author,
                        created=created,
                        body=raw_comment["body"],
                        updated=parse_jira_datetime(
                            str(raw_comment.get("updated") or raw_comment["created"])
                        ),
                    )
                )
        resolution = fields.get("resolution")
        resolution_date = fields.get("resolutiondate")
        description = fields.get("description")
        key = str(raw["key"])
        return SimIssue(
            id=str(raw["id"]),
            key=key,
            number=int(key.rsplit("-", 1)[1]),
            project=self.project(fields["project"]),
            issue_type=str(fields["issuetype"]["name"]),
            summary=str(fields.get("summary") or ""),
            created=parse_jira_datetime(str(fields["created"])),
            updated=parse_jira_datetime(str(fields["updated"])),
            status=status,
            labels=[str(label) for label in fields.get("labels") or []],
            resolution=str(resolution["name"]) if isinstance(resolution, dict) else None,
            resolution_date=parse_jira_datetime(resolution_date) if resolution_date else None,
            story_points=self.story_points(fields),
            original_estimate_seconds=fields.get("timeoriginalestimate"),
            reporter=self.user(fields.get("reporter")),
            description=description if isinstance(description, str) else None,
            comments=comments,
            histories=histories,
            raw_fields=self.raw_fields(fields, status, source_status),
        )

    def raw_fields(self, fields: JsonDict, status: SimStatus, source_status: str) -> JsonDict:
        if status.id == source_status:
            return fields
        # Only the status id changes; the rest stays verbatim.
        rewritten = dict(fields)
        rewritten["status"] = {**fields["status"], "id": status.id}
        return rewritten

    def load(self, issues: list[JsonDict]) -> LoadedSource:
        built = [self.issue(raw) for raw in issues]
        with self.ds.lock:
            for issue in built:
                self.ds.register_issue(issue)
                self.result.issue_keys.append(issue.key)
                self.result.history_count += len(issue.histories)
        return self.result


def _free_id(ds: Dataset) -> str:
    numeric = [int(s.id) for s in ds.statuses if s.id.isdigit()]
    return str(max([19999, *numeric]) + 1)


def _file(path: Path, name: str) -> Path:
    return path / name if path.is_dir() else path


def load_puppet(ds: Dataset, path: Path) -> LoadedSource:
    """Load the Puppet Server export (its folder or ``jira.json``)."""
    issues = read_puppet(_file(path, "jira.json"))
    loader = _SourceLoader(ds, PUPPET, "customfield_10002")
    loader.statuses_from_issues(issues)
    return loader.load(issues)


def load_patternfly(ds: Dataset, path: Path) -> LoadedSource:
    """Load the patternfly Cloud export (its folder or ``jira_raw_fields.json``)."""
    issues = read_patternfly(_file(path, "jira_raw_fields.json"))
    loader = _SourceLoader(ds, PATTERNFLY, "customfield_10005")
    loader.statuses_from_issues(issues)
    return loader.load(issues)


def load_sp_cloud(ds: Dataset, folder: Path) -> LoadedSource:
    """Load the SP Cloud sample (one file per issue plus ``statuses.json``)."""
    issues, statuses = read_sp_cloud(folder)
    loader = _SourceLoader(ds, SP_CLOUD, "customfield_10016")
    for status in statuses:
        loader.register_status(
            str(status["id"]),
            str(status["name"]),
            StatusCategory.from_jira(status.get("statusCategory", {}).get("key")),
        )
    loader.statuses_from_issues(issues)
    return loader.load(issues)


def load_real(ds: Dataset, root: Path) -> RealLoad:
    """Load every export under ``root`` (``shared/jira/real``) into ``ds``."""
    return RealLoad(
        {
            PUPPET: load_puppet(ds, root / PUPPET),
            PATTERNFLY: load_patternfly(ds, root / PATTERNFLY),
            SP_CLOUD: load_sp_cloud(ds, root / SP_CLOUD),
        }
    )
