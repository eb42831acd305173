"""Fast synthetic data for benchmarks: tens of thousands of issues, hundreds of thousands
of histories, generated in a few seconds.

The generic mutators (:meth:`Dataset.transition`…) validate and index every call;
here the histories are laid out directly. Events are interleaved round-robin over
the issues so history ids grow with time across the whole project, every change
item is interned (a handful of distinct objects shared by 600,000 histories) and
timestamps are whole milliseconds, so they survive Jira's text format unchanged.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from jira_simulator.catalog import STORY_POINTS
from jira_simulator.dataset import Dataset, SimHistory, SimIssue, SimItem, SimUser
from jira_simulator.jira_types import StatusCategory

_CREATE_STEP = timedelta(seconds=60)
_EVENT_STEP_MS = 30_000
_POINTS = (1.0, 2.0, 3.0, 5.0, 8.0, 13.0)
_LABELS = ("frontend", "backend", "design", "copy", "seo")

# The status walk every bulk issue follows: start work, then loop through review
# rounds, acceptance and a reopen, so histories exercise revisions and reopens.
_FIRST = ("To Do", "In Progress")
_LOOP = (
    ("In Progress", "Client Review"),
    ("Client Review", "In Progress"),
    ("In Progress", "Client Review"),
    ("Client Review", "Done"),
    ("Done", "In Progress"),
)


def _points_text(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def generate_bulk(
    ds: Dataset,
    *,
    project: str = "BULK",
    issues: int = 20000,
    histories_per_issue: int = 30,
    start: datetime | None = None,
    seed: int = 1,
) -> list[SimIssue]:
    """Add ``issues`` issues with ``histories_per_issue`` histories each to ``ds``.

    Deterministic for a given ``seed``. The project and any missing default
    statuses are created. ``start`` (aware) defaults to 2025-09-01 09:00 in the
    dataset's zone; issues are created a minute apart from it, then histories
    follow every 30 seconds (plus jitter) across all issues.
    """
    if issues < 0 or histories_per_issue < 0:
        raise ValueError("issues and histories_per_issue must not be negative")
    rng = random.Random(seed)
    with ds.lock:
        ds.add_default_workflow()
        proj = ds.find_project(project) or ds.add_project(project, f"{project} bulk load")
        begin = start or datetime(2025, 9, 1, 9, 0, tzinfo=ds.zone)
        if begin.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        begin = begin.replace(microsecond=(begin.microsecond // 1000) * 1000)
        users: list[SimUser] = [
            ds.user(f"712020:bulk-dev-{n}", f"Bulk Developer {n}") for n in range(1, 5)
        ]
        clients: list[SimUser] = [
            ds.user(f"712020:bulk-client-{n}", f"Bulk Client {n}") for n in range(1, 3)
        ]

        def status_item(pair: tuple[str, str]) -> tuple[SimItem, ...]:
            old, new = ds.status(pair[0]), ds.status(pair[1])
            main = ds.item("status", "jira", "status", old.id, old.name, new.id, new.name)
            if new.category is StatusCategory.DONE and old.category is not StatusCategory.DONE:
                return (
                    ds.item("resolution", "jira", "resolution", None, None, "10000", "Done"),
                    main,
                )
            if old.category is StatusCategory.DONE and new.category is not StatusCategory.DONE:
                return (
                    main,
                    ds.item("resolution", "jira", "resolution", "10000", "Done", None, None),
                )
            return (main,)

        first_items = status_item(_FIRST)
        loop_items = [status_item(pair) for pair in _LOOP]
        points_items: dict[tuple[float, float], tuple[SimItem, ...]] = {}
        label_items: dict[tuple[str, str], tuple[SimItem, ...]] = {}

        created_issues: list[SimIssue] = []
        number = ds._next_number[proj.key]
        to_do = ds.status("To Do")
        for index in range(issues):
            created = begin + _CREATE_STEP * index
            points = _POINTS[rng.randrange(len(_POINTS))]
            issue = SimIssue(
                id=ds._allocate_issue_id(),
                key=f"{proj.key}-{number + index}",
                number=number + index,
                project=proj,
                issue_type="Story" if index % 5 else "Task",
                summary=f"Bulk deliverable {index + 1}",
                created=created,
                updated=created,
                status=to_do,
                labels=[],
                story_points=points,
                reporter=clients[index % len(clients)],
                description=f"Synthetic issue {index + 1} for load tests.",
            )
            created_issues.append(issue)

        # Per-issue walk state: position in the loop (-1 = not started), labels,
        # current status name and when it was last resolved.
        position = [-1] * issues
        label_text = [""] * issues
        current_status = [to_do.name] * issues
        resolved_at: list[datetime | None] = [None] * issues
        first_event = begin + _CREATE_STEP * max(issues, 1)
        next_id = ds._next_history_id
        for round_no in range(histories_per_issue):
            for index, issue in enumerate(created_issues):
                offset_ms = (round_no * issues + index) * _EVENT_STEP_MS + rng.randrange(
                    _EVENT_STEP_MS
                )
                at = first_event + timedelta(milliseconds=offset_ms)
                roll = rng.random()
                items: tuple[SimItem, ...]
                if position[index] >= 0 and roll < 0.08:
                    old_points = issue.story_points or 0.0
                    new_points = _POINTS[rng.randrange(len(_POINTS))]
                    if new_points == old_points:
                        new_points = old_points + 1.0
                    pair = (old_points, new_points)
                    cached = points_items.get(pair)
                    if cached is None:
                        cached = (
                            ds.item(
                                STORY_POINTS,
                                "custom",
                                STORY_POINTS,
                                None,
                                _points_text(old_points),
                                None,
                                _points_text(new_points),
                            ),
                        )
                        points_items[pair] = cached
                    items = cached
                    issue.story_points = new_points
                    author = clients[index % len(clients)]
                elif position[index] >= 0 and roll < 0.14:
                    old_text = label_text[index]
                    label = _LABELS[rng.randrange(len(_LABELS))]
                    current = set(old_text.split())
                    # Toggle one label: add it, or remove it when already there.
                    current.symmetric_difference_update({label})
                    new_text = " ".join(sorted(current))
                    key = (old_text, new_text)
                    cached_labels = label_items.get(key)
                    if cached_labels is None:
                        cached_labels = (
                            ds.item("labels", "jira", "labels", None, old_text, None, new_text),
                        )
                        label_items[key] = cached_labels
                    items = cached_labels
                    label_text[index] = new_text
                    author = users[index % len(users)]
                elif position[index] < 0:
                    items = first_items
                    position[index] = 0
                    current_status[index] = _FIRST[1]
                    author = users[index % len(users)]
                else:
                    step = position[index]
                    items = loop_items[step]
                    position[index] = (step + 1) % len(_LOOP)
                    current_status[index] = _LOOP[step][1]
                    resolved_at[index] = at if _LOOP[step][1] == "Done" else None
                    # Clients review and accept; developers start work and resubmit.
                    author = (
                        clients[index % len(clients)]
                        if _LOOP[step][0] == "Client Review" or _LOOP[step][0] == "Done"
                        else users[index % len(users)]
                    )
                issue.histories.append(
                    SimHistory(id=str(next_id), created=at, author=author, items=items)
                )
                next_id += 1

        for index, issue in enumerate(created_issues):
            if issue.histories:
                issue.updated = issue.histories[-1].created
            issue.status = ds.status(current_status[index])
            if resolved_at[index] is not None:
                issue.resolution = "Done"
                issue.resolution_date = resolved_at[index]
            issue.labels = label_text[index].split()

        ds._next_history_id = next_id
        for issue in created_issues:
            ds.register_issue(issue)
        return created_issues
