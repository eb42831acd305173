"""Logged time for the scenario clients, laid out like an agency's timesheets.

After a scenario's timeline has run, :func:`log_work` walks every issue's status
history and logs work in each stretch the issue spent *In Progress*: the first
build and every revision round after the client sent it back. A stretch gets one
to three worklogs on working days inside it, 30 minutes to 4 hours each (whole
quarter hours), by the developer who picked the work up; rounds after a bounce
take about as long as the first build did, which is what makes the demanding
client's extra rounds cost real time. Like real timesheets, about one worklog in
ten is written a few days after the work (``started`` earlier than ``created``),
and a contractor in New York logs some of the demanding client's hours in his
own zone.

Deterministic for a seed: the same story gives the same hours, so a test can sum
them independently of ScopeGuard.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from jira_simulator.dataset import Author, Dataset, SimIssue, SimUser
from jira_simulator.jira_types import StatusCategory
from jira_simulator.worklogs import ledger

CONTRACTOR: Author = ("712020:agency-contractor-sam", "Sam Rivera (contractor)")
CONTRACTOR_ZONE = ZoneInfo("America/New_York")
_NOTES = (
    "Implementation",
    "Layout and styles",
    "Changes from the client's review",
    "Reworked after feedback",
    "QA and fixes",
    "Call with the client, then changes",
    "Asset preparation",
    None,
)


@dataclass(frozen=True, slots=True)
class _Entry:
    key: str
    started: datetime
    seconds: int
    author: Author | SimUser
    comment: str | None
    written: datetime


def _stretches(
    ds: Dataset, issue: SimIssue, until: datetime
) -> list[tuple[datetime, datetime, SimUser | None]]:
    """(start, end, who started it) of each stretch the issue was in an in-progress status
    (category indeterminate, not a review status)."""
    spans: list[tuple[datetime, datetime, SimUser | None]] = []
    opened: tuple[datetime, SimUser | None] | None = None
    for history in issue.histories:
        for item in history.items:
            if item.field_id != "status":
                continue
            status = ds.status_by_id(item.to_value or "") or ds.find_status(item.to_string or "")
            working = (
                status is not None
                and status.category is StatusCategory.INDETERMINATE
                and "review" not in status.name.casefold()
            )
            if working and opened is None:
                opened = (history.created, history.author)
            elif not working and opened is not None:
                spans.append((opened[0], history.created, opened[1]))
                opened = None
    if opened is not None and opened[0] < until:
        spans.append((opened[0], until, opened[1]))
    return spans


def _working_moment(
    rng: random.Random, start: datetime, end: datetime, zone: ZoneInfo
) -> datetime | None:
    """A moment between 09:30 and 16:30 on a working day inside ``[start, end)``."""
    for _ in range(12):
        offset = rng.uniform(0, max((end - start).total_seconds(), 1.0))
        day = (start + timedelta(seconds=offset)).astimezone(zone).date()
        if day.weekday() >= 5:
            continue
        clock = time(9 + rng.randrange(7), 30 if rng.random() < 0.5 else 0)
        moment = datetime.combine(day, clock, tzinfo=zone)
        if start <= moment < end:
            return moment
    return None


def log_work(
    ds: Dataset,
    project_keys: Iterable[str],
    now: datetime,
    zone: ZoneInfo,
    devs: Sequence[Author],
    *,
    seed: int = 71,
    contractor_projects: Iterable[str] = (),
) -> int:
    """Log work on every issue of ``project_keys`` (see the module docs); returns how many
    worklogs were written. Worklogs are written in the order of their ``created``
    moments, so the ledger's change times follow the story."""
    rng = random.Random(seed)
    with_contractor = set(contractor_projects)
    limit = now - timedelta(minutes=5)
    entries: list[_Entry] = []
    for project in project_keys:
        for issue in ds.issues_in_project(project):
            for number, (start, end, who) in enumerate(_stretches(ds, issue, limit)):
                author: Author | SimUser = (
                    who
                    if who is not None and who.account_id.startswith("712020:agency-")
                    else devs[(issue.number + number) % len(devs)]
                )
                if project in with_contractor and (issue.number + number) % 4 == 0:
                    author = CONTRACTOR
                local = CONTRACTOR_ZONE if author == CONTRACTOR else zone
                for _ in range(1 + rng.randrange(3)):
                    started = _working_moment(rng, start, end, local)
                    if started is None:
                        continue
                    seconds = 900 * (2 + rng.randrange(15))  # 30 min to 4 h
                    done = started + timedelta(seconds=seconds)
                    late = rng.random() < 0.1
                    written = done + timedelta(days=2 + rng.randrange(4)) if late else done
                    if written >= limit:
                        written = max(done, started + timedelta(minutes=1))
                        if written >= limit:
                            continue
                    entries.append(
                        _Entry(issue.key, started, seconds, author, rng.choice(_NOTES), written)
                    )
    entries.sort(key=lambda e: (e.written, e.key))
    book = ledger(ds)
    for entry in entries:
        book.add(
            entry.key,
            entry.started,
            entry.seconds,
            author=entry.author,
            comment=entry.comment,
            at=entry.written,
        )
    return len(entries)
