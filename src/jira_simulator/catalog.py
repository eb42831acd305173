"""Static facts about the Jira sites the simulator imitates: flavors, fields, workflow.

Everything that differs between Jira Cloud and Jira Data Center and is not data
(field ids, version strings, user shapes) is named here once, so the dataset stays
flavor-neutral and the renderer picks the right spelling per request.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from jira_simulator.jira_types import StatusCategory

JsonDict = dict[str, Any]


class Flavor(StrEnum):
    """Which Jira the simulator answers as."""

    CLOUD = "cloud"
    DATACENTER = "datacenter"


STORY_POINTS = "story_points"
"""Flavor-neutral id of the story-points field inside the dataset.

Cloud team-managed and modern company-managed projects call the field
"Story point estimate" (customfield_10016); Data Center with Jira Software calls
it "Story Points" (customfield_10002). The renderer substitutes the right one.
"""

STORY_POINTS_ALIASES = frozenset(
    {STORY_POINTS, "customfield_10016", "customfield_10002", "Story Points", "Story point estimate"}
)


@dataclass(frozen=True, slots=True)
class StoryPointsField:
    """How one flavor spells the story-points custom field."""

    id: str
    name: str
    custom_type: str
    custom_id: int


CLOUD_STORY_POINTS = StoryPointsField(
    id="customfield_10016",
    name="Story point estimate",
    custom_type="com.pyxis.greenhopper.jira:jsw-story-points",
    custom_id=10016,
)
DC_STORY_POINTS = StoryPointsField(
    id="customfield_10002",
    name="Story Points",
    custom_type="com.atlassian.jira.plugin.system.customfieldtypes:float",
    custom_id=10002,
)


def story_points_field(flavor: Flavor) -> StoryPointsField:
    """The story-points field of a flavor."""
    return CLOUD_STORY_POINTS if flavor is Flavor.CLOUD else DC_STORY_POINTS


CLOUD_VERSION = "1001.0.0-SNAPSHOT"
DC_VERSIONS = ("9.12.0", "10.3.0")

# Jira's fixed status categories: ids, keys and colours are the same on every site.
CATEGORY_JSON: dict[StatusCategory, tuple[int, str, str]] = {
    StatusCategory.NEW: (2, "To Do", "blue-gray"),
    StatusCategory.INDETERMINATE: (4, "In Progress", "yellow"),
    StatusCategory.DONE: (3, "Done", "green"),
}


@dataclass(frozen=True, slots=True)
class DefaultStatus:
    """One status of the default agency workflow."""

    id: str
    name: str
    category: StatusCategory


DEFAULT_WORKFLOW: tuple[DefaultStatus, ...] = (
    DefaultStatus("10000", "To Do", StatusCategory.NEW),
    DefaultStatus("3", "In Progress", StatusCategory.INDETERMINATE),
    DefaultStatus("10010", "Client Review", StatusCategory.INDETERMINATE),
    DefaultStatus("10001", "Done", StatusCategory.DONE),
    DefaultStatus("10011", "Принято клиентом", StatusCategory.DONE),
    DefaultStatus("6", "Closed", StatusCategory.DONE),
    DefaultStatus("10012", "Won't Do", StatusCategory.DONE),
)

RESOLUTIONS: dict[str, str] = {
    "Done": "10000",
    "Won't Do": "10001",
    "Duplicate": "10002",
    "Cannot Reproduce": "10003",
}
"""Resolution name -> id, as on a fresh Jira Cloud site."""

STATUS_RESOLUTION: dict[str, str] = {"won't do": "Won't Do"}
"""Done-category statuses (casefolded) whose transition sets a resolution other than Done."""

ISSUE_TYPES: dict[str, tuple[str, bool, int]] = {
    "Epic": ("10000", False, 1),
    "Story": ("10001", False, 0),
    "Task": ("10002", False, 0),
    "Bug": ("10003", False, 0),
    "Sub-task": ("10004", True, -1),
}
"""Issue type name -> (id, subtask, hierarchy level)."""


def issue_type_id(name: str) -> str:
    """The id of an issue type; unknown names get a stable id derived from the name."""
    known = ISSUE_TYPES.get(name)
    if known is not None:
        return known[0]
    # Deterministic across runs (unlike hash()), so responses stay reproducible.
    return str(10100 + sum(name.encode("utf-8")) % 900)


@dataclass(frozen=True, slots=True)
class FieldDef:
    """One entry of ``GET /rest/api/{2,3}/field``."""

    id: str
    name: str
    schema: JsonDict
    custom: bool = False
    navigable: bool = True
    orderable: bool = True
    searchable: bool = True
    clause_names: tuple[str, ...] = ()

    def to_json(self) -> JsonDict:
        """The field as Jira lists it."""
        body: JsonDict = {
            "id": self.id,
            "key": self.id,
            "name": self.name,
            "custom": self.custom,
            "orderable": self.orderable,
            "navigable": self.navigable,
            "searchable": self.searchable,
            "clauseNames": list(self.clause_names),
            "schema": dict(self.schema),
        }
        return body


_SYSTEM_FIELDS: tuple[FieldDef, ...] = (
    FieldDef(
        "summary", "Summary", {"type": "string", "system": "summary"}, clause_names=("summary",)
    ),
    FieldDef(
        "status",
        "Status",
        {"type": "status", "system": "status"},
        orderable=False,
        clause_names=("status",),
    ),
    FieldDef(
        "issuetype",
        "Issue Type",
        {"type": "issuetype", "system": "issuetype"},
        clause_names=("issuetype", "type"),
    ),
    FieldDef(
        "project",
        "Project",
        {"type": "project", "system": "project"},
        clause_names=("project",),
    ),
    FieldDef(
        "created",
        "Created",
        {"type": "datetime", "system": "created"},
        orderable=False,
        clause_names=("created", "createdDate"),
    ),
    FieldDef(
        "updated",
        "Updated",
        {"type": "datetime", "system": "updated"},
        orderable=False,
        clause_names=("updated", "updatedDate"),
    ),
    FieldDef(
        "labels",
        "Labels",
        {"type": "array", "items": "string", "system": "labels"},
        clause_names=("labels",),
    ),
    FieldDef(
        "resolution",
        "Resolution",
        {"type": "resolution", "system": "resolution"},
        clause_names=("resolution",),
    ),
    FieldDef(
        "resolutiondate",
        "Resolved",
        {"type": "datetime", "system": "resolutiondate"},
        orderable=False,
        clause_names=("resolutiondate", "resolved"),
    ),
    FieldDef(
        "reporter",
        "Reporter",
        {"type": "user", "system": "reporter"},
        clause_names=("reporter",),
    ),
    FieldDef(
        "description",
        "Description",
        {"type": "string", "system": "description"},
        clause_names=("description",),
    ),
    # Comments cannot be a column of the issue navigator, so ``*navigable`` skips them.
    FieldDef(
        "comment",
        "Comment",
        {"type": "comments-page", "system": "comment"},
        navigable=False,
        clause_names=("comment",),
    ),
    FieldDef(
        "timeoriginalestimate",
        "Original estimate",
        {"type": "number", "system": "timeoriginalestimate"},
        clause_names=("originalEstimate", "timeoriginalestimate"),
    ),
    FieldDef(
        "timespent",
        "Time Spent",
        {"type": "number", "system": "timespent"},
        clause_names=("timespent",),
    ),
    # Like comments, worklogs are no column of the issue navigator.
    FieldDef(
        "worklog",
        "Log Work",
        {"type": "array", "items": "worklog", "system": "worklog"},
        navigable=False,
        clause_names=("worklogComment", "worklogDate"),
    ),
)


def field_catalogue(flavor: Flavor) -> tuple[FieldDef, ...]:
    """The fields the simulated site reports, including its story-points field."""
    sp = story_points_field(flavor)
    points = FieldDef(
        sp.id,
        sp.name,
        {"type": "number", "custom": sp.custom_type, "customId": sp.custom_id},
        custom=True,
        clause_names=(f"cf[{sp.custom_id}]", sp.name),
    )
    return (*_SYSTEM_FIELDS, points)


def navigable_field_ids(flavor: Flavor) -> tuple[str, ...]:
    """Ids of the fields ``*navigable`` selects."""
    return tuple(f.id for f in field_catalogue(flavor) if f.navigable)


def all_field_ids(flavor: Flavor) -> tuple[str, ...]:
    """Ids of the fields ``*all`` selects."""
    return tuple(f.id for f in field_catalogue(flavor))
