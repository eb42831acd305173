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
from jira_simulator.worklogs import SimWorklog, ledger, to_ms

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


def bulk_worklogs(ds: Dataset, project: str, count: int, *, seed: int = 5) -> int:
    """Spread ``count`` worklogs evenly over the issues of ``project`` (benchmarks).

    Laid out straight into the ledger, as :mod:`jira_simulator.bulk` lays out
    histories: the generic :meth:`WorklogLedger.add` keeps every issue sorted and
    bumps the dataset on each call, needless for hundreds of thousands at once. Each
    worklog starts after its issue's creation, lasts 15 minutes to 4 hours, and is
    written (its change time, strictly growing) right after it ends.
    """
    rng = random.Random(seed)
    issues = ds.issues_in_project(project)
    if not issues or count <= 0:
        return 0
    users = [ds.user(f"712020:bulk-dev-{n}", f"Bulk Developer {n}") for n in range(1, 5)]
    book = ledger(ds)
    with ds.lock, book.lock:
        last = book._last_ms
        for n in range(count):
            issue = issues[n % len(issues)]
            started = issue.created + timedelta(
                hours=1 + n // len(issues), minutes=rng.randrange(60)
            )
            seconds = 900 * (1 + rng.randrange(16))
            changed = max(to_ms(started) + seconds * 1000, last + 1)
            last = changed
            user = users[n % len(users)]
            worklog = SimWorklog(
                id=str(book._next_id),
                issue=issue,
                author=user,
                started=started,
                seconds=seconds,
                comment=None if n % 3 else "Bulk work",
                created=started + timedelta(seconds=seconds),
                updated=started + timedelta(seconds=seconds),
                update_author=user,
                changed_ms=changed,
            )
            book._next_id += 1
            book.by_id[worklog.id] = worklog
            book.by_issue.setdefault(issue.id, []).append(worklog)
        book._last_ms = last
        for logs in book.by_issue.values():
            logs.sort(key=lambda w: (w.started, int(w.id)))
        for issue in issues:
            issue.touched.update(("timespent", "worklog"))
        ds.version += 1
    return count
