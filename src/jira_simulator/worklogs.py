"""Worklogs: logged time on issues, as Jira (and Tempo Timesheets, which writes to Jira) keeps it.

A dataset's worklogs live in a :class:`WorklogLedger` (:func:`ledger` gives the
dataset's own). Adding, editing or deleting a worklog stamps it with the moment
of the change, bumps the issue's ``updated`` and its ``timespent`` (the sum of its
worklogs' seconds), as Jira does; deletions are remembered for
``/worklog/deleted``.

The endpoints, with Jira's paging and limits:

* ``GET /issue/{id}/worklog``: ``startAt`` / ``maxResults`` (Cloud caps a page at
  5,000, the simulator's ``page_cap``), oldest ``started`` first;
* ``GET /worklog/updated?since=<ms>`` and ``GET /worklog/deleted?since=<ms>``: the
  ids changed *after* ``since``, oldest first, 1,000 a page, ``until`` the newest
  time on the page, ``nextPage`` (``since=until``) and ``lastPage``; worklogs
  changed during the minute before the request are left out, as Jira leaves them
  out. A page never ends inside a group of changes of the same millisecond, so
  reading on from ``until`` loses none of them;
* ``POST /worklog/list`` ``{"ids": [...]}``: at most 1,000 ids; unknown and deleted
  ids are left out.
"""

from __future__ import annotations

import json
import threading
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from jira_simulator.dataset import Author, Dataset, SimIssue, SimUser

if TYPE_CHECKING:
    from jira_simulator.payloads import Renderer

JsonDict = dict[str, Any]

CHANGED_PAGE = 1000
"""Ids per ``/worklog/updated`` and ``/worklog/deleted`` page."""
LIST_MAX_IDS = 1000
"""Ids one ``POST /worklog/list`` accepts."""
ISSUE_PAGE_CAP = 5000
"""Worklogs per ``GET /issue/{id}/worklog`` page (Jira Cloud's maximum)."""
INLINE_CAP = 20
"""Worklogs an issue's ``worklog`` field carries inline (the rest only by the resources)."""
RECENT_EXCLUDED = timedelta(minutes=1)
"""Changes this recent are not listed yet by ``/worklog/updated`` and ``/deleted``."""


@dataclass(slots=True, eq=False)
class SimWorklog:
    """One worklog. ``started`` keeps the offset it was logged with."""

    id: str
    issue: SimIssue
    author: SimUser
    started: datetime
    seconds: int
    comment: str | None
    created: datetime
    updated: datetime
    update_author: SimUser
    changed_ms: int
    """When the worklog was last written, as ``/worklog/updated`` reports it."""


def to_ms(moment: datetime) -> int:
    """An aware moment as milliseconds since the epoch."""
    return int(moment.astimezone(UTC).timestamp() * 1000)


def time_spent_text(seconds: int) -> str:
    """Jira's short form (``3h 20m``, ``1d 2h``; 8-hour days, 5-day weeks)."""
    minutes = seconds // 60
    parts = []
    for unit, size in (("w", 5 * 8 * 60), ("d", 8 * 60), ("h", 60), ("m", 1)):
        if minutes >= size:
            parts.append(f"{minutes // size}{unit}")
            minutes %= size
    return " ".join(parts) or "0m"


class WorklogLedger:
    """Every worklog of a dataset, with the deletions, in the order they were written."""

    def __init__(self, dataset: Dataset) -> None:
        self._dataset = weakref.ref(dataset)
        self.lock = threading.RLock()
        self.by_id: dict[str, SimWorklog] = {}
        self.by_issue: dict[str, list[SimWorklog]] = {}
        self.deleted: dict[str, int] = {}
        """Worklog id → when it was deleted (ms)."""
        self._next_id = 100000
        self._last_ms = 0

    @property
    def dataset(self) -> Dataset:
        found = self._dataset()
        if found is None:
            raise RuntimeError("the dataset of this ledger is gone")
        return found

    def _stamp(self, at: datetime) -> int:
        # Change times grow, as Jira's do: a change written "before" the last one
        # (a backdated scenario event) is stamped a millisecond after it.
        ms = max(to_ms(at), self._last_ms + 1) if self._last_ms else to_ms(at)
        self._last_ms = max(self._last_ms, ms)
        return ms

    def _touch(self, issue: SimIssue, at: datetime) -> None:
        issue.updated = max(issue.updated, at)
        issue.touched.update(("timespent", "worklog"))
        self.dataset.version += 1

    def add(
        self,
        key: str,
        started: datetime,
        seconds: int,
        *,
        author: Author | SimUser | None = None,
        comment: str | None = None,
        at: datetime | None = None,
    ) -> SimWorklog:
        """Log ``seconds`` of work that began at ``started`` (aware), written at ``at``
        (default: ``started``; later for a backdated worklog)."""
        if started.tzinfo is None or (at is not None and at.tzinfo is None):
            raise ValueError("worklog moments must be timezone-aware")
        if seconds < 60:
            raise ValueError("Jira logs at least one minute")
        written = at or started
        ds = self.dataset
        with ds.lock, self.lock:
            issue = ds.issue(key)
            user = _user(ds, author)
            worklog = SimWorklog(
                id=str(self._next_id),
                issue=issue,
                author=user,
                started=started,
                seconds=seconds,
                comment=comment,
                created=written,
                updated=written,
                update_author=user,
                changed_ms=self._stamp(written),
            )
            self._next_id += 1
            self.by_id[worklog.id] = worklog
            self.by_issue.setdefault(issue.id, []).append(worklog)
            self.by_issue[issue.id].sort(key=lambda w: (w.started, int(w.id)))
            self._touch(issue, written)
            return worklog

    def edit(
        self,
        worklog_id: str,
        at: datetime,
        *,
        seconds: int | None = None,
        started: datetime | None = None,
        comment: str | None = None,
        author: Author | SimUser | None = None,
    ) -> SimWorklog:
        """Change a worklog at ``at``; ``author`` is who edited it."""
        ds = self.dataset
        with ds.lock, self.lock:
            worklog = self.by_id[worklog_id]
            if seconds is not None:
                worklog.seconds = seconds
            if started is not None:
                worklog.started = started
            if comment is not None:
                worklog.comment = comment
            worklog.updated = at
            worklog.update_author = _user(ds, author) if author is not None else worklog.author
            worklog.changed_ms = self._stamp(at)
            self.by_issue[worklog.issue.id].sort(key=lambda w: (w.started, int(w.id)))
            self._touch(worklog.issue, at)
            return worklog

    def delete(self, worklog_id: str, at: datetime) -> None:
        """Delete a worklog at ``at``: gone from every answer, listed by ``/worklog/deleted``."""
        ds = self.dataset
        with ds.lock, self.lock:
            worklog = self.by_id.pop(worklog_id)
            self.by_issue[worklog.issue.id].remove(worklog)
            self.deleted[worklog_id] = self._stamp(at)
            self._touch(worklog.issue, at)

    def of_issue(self, issue: SimIssue) -> list[SimWorklog]:
        """The issue's worklogs, oldest ``started`` first."""
        return list(self.by_issue.get(issue.id, ()))

    def time_spent(self, issue: SimIssue) -> int | None:
        """The issue's ``timespent`` field: its worklogs' seconds, ``None`` without any."""
        logs = self.by_issue.get(issue.id)
        return sum(w.seconds for w in logs) if logs else None

    def live(self) -> list[SimWorklog]:
        """Every worklog of a live issue."""
        return [w for w in self.by_id.values() if not w.issue.deleted]


_LEDGERS: weakref.WeakKeyDictionary[Dataset, WorklogLedger] = weakref.WeakKeyDictionary()
_LEDGERS_LOCK = threading.Lock()


def ledger(dataset: Dataset) -> WorklogLedger:
    """The worklogs of ``dataset`` (created empty on first use)."""
    with _LEDGERS_LOCK:
        found = _LEDGERS.get(dataset)
        if found is None:
            found = _LEDGERS[dataset] = WorklogLedger(dataset)
        return found


def _user(ds: Dataset, author: Author | SimUser | None) -> SimUser:
    if author is None:
        return ds.me
    if isinstance(author, SimUser):
        return author
    account, display = author
    return ds.user(account, display)


# -- rendering -----------------------------------------------------------------------


def render_worklog(r: Renderer, worklog: SimWorklog) -> JsonDict:
    """A worklog as Jira sends it (Cloud v3: the comment as an Atlassian document)."""
    body: JsonDict = {
        "self": f"{r.api}/issue/{worklog.issue.id}/worklog/{worklog.id}",
        "author": r.user(worklog.author),
        "updateAuthor": r.user(worklog.update_author),
        "created": r.timestamp(worklog.created),
        "updated": r.timestamp(worklog.updated),
        # As it was logged: the offset of the person's own zone, not the site's.
        "started": _keep_offset(worklog.started),
        "timeSpent": time_spent_text(worklog.seconds),
        "timeSpentSeconds": worklog.seconds,
        "id": worklog.id,
        "issueId": worklog.issue.id,
    }
    if worklog.comment is not None:
        body["comment"] = r.rich_text(worklog.comment)
    return body


def _keep_offset(moment: datetime) -> str:
    millis = f"{moment.microsecond // 1000:03d}"
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + millis + moment.strftime("%z")


def inline_field(r: Renderer, issue: SimIssue) -> JsonDict:
    """The issue's ``worklog`` field: at most 20 worklogs inline, ``total`` all of them."""
    logs = ledger(r.ds).of_issue(issue)
    shown = logs[:INLINE_CAP]
    return {
        "startAt": 0,
        "maxResults": INLINE_CAP,
        "total": len(logs),
        "worklogs": [render_worklog(r, w) for w in shown],
    }


class BadRequestError(Exception):
    """A request the worklog endpoints refuse with 400 (the app turns it into Jira's body)."""


def _int(value: Any, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise BadRequestError(f"The '{name}' parameter must be an integer.") from exc


def issue_worklogs(
    r: Renderer, issue: SimIssue, start_at: Any, max_results: Any, page_cap: int
) -> JsonDict:
    """``GET /issue/{id}/worklog``: one page of the issue's worklogs."""
    start = _int(start_at, "startAt", 0)
    size = _int(max_results, "maxResults", page_cap)
    if start < 0 or size < 0:
        raise BadRequestError("startAt and maxResults must not be negative.")
    size = min(size, page_cap)
    logs = ledger(r.ds).of_issue(issue)
    page = logs[start : start + size]
    return {
        "startAt": start,
        "maxResults": size,
        "total": len(logs),
        "worklogs": [render_worklog(r, w) for w in page],
    }


def changed(
    r: Renderer,
    kind: str,
    since: Any,
    now: datetime,
    page_size: int = CHANGED_PAGE,
) -> JsonDict:
    """``GET /worklog/updated`` (``kind`` ``updated``) or ``/worklog/deleted``."""
    after = _int(since, "since", 0)
    if after < 0:
        raise BadRequestError("The 'since' parameter must not be negative.")
    book = ledger(r.ds)
    cutoff = to_ms(now - RECENT_EXCLUDED)
    with book.lock:
        if kind == "updated":
            stamps = [(w.changed_ms, int(w.id)) for w in book.live()]
        else:
            stamps = [(ms, int(wid)) for wid, ms in book.deleted.items()]
    stamps = sorted(s for s in stamps if after < s[0] <= cutoff)
    page = stamps[:page_size]
    # Never end a page inside one millisecond: `since=until` would skip the rest.
    while len(page) < len(stamps) and stamps[len(page)][0] == page[-1][0]:
        page.append(stamps[len(page)])
    last = len(page) == len(stamps)
    until = page[-1][0] if page else after
    url = f"{r.api}/worklog/{kind}"
    body: JsonDict = {
        "values": [{"worklogId": wid, "updatedTime": ms, "properties": []} for ms, wid in page],
        "since": after,
        "until": until,
        "self": f"{url}?since={after}",
        "lastPage": last,
    }
    if not last:
        body["nextPage"] = f"{url}?since={until}"
    return body


def listed(r: Renderer, raw_body: bytes) -> list[JsonDict]:
    """``POST /worklog/list``: the worklogs of up to 1,000 ids."""
    try:
        body = json.loads(raw_body or b"{}")
    except ValueError as exc:
        raise BadRequestError("Unexpected character in the request body: not JSON.") from exc
    if not isinstance(body, dict) or set(body) - {"ids"}:
        raise BadRequestError('Unrecognized field: the body has one property, "ids".')
    ids = body.get("ids")
    if not isinstance(ids, list) or not all(isinstance(i, int) and i > 0 for i in ids):
        raise BadRequestError("ids must be a list of worklog ids (integers).")
    if len(ids) > LIST_MAX_IDS:
        raise BadRequestError(f"The number of worklog ids must not exceed {LIST_MAX_IDS}.")
    book = ledger(r.ds)
    with book.lock:
        found = [book.by_id.get(str(i)) for i in dict.fromkeys(ids)]
    return [render_worklog(r, w) for w in found if w is not None and not w.issue.deleted]
