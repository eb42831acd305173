"""Periodic work: sync, alert dispatch, webhook-requested syncs and the monthly reports.

The jobs run in a background thread of ``scopeguard serve`` (unless
``--no-scheduler``) or of ``scopeguard worker``. Any number of these may run
against one database; one of them at a time runs the jobs:

* **The lease.** A row in ``scheduler_leases`` names the holder and when its
  lease expires. A heartbeat renews it every ``scheduler.heartbeat_seconds``
  with one atomic ``UPDATE … WHERE holder = me OR expires_at < now`` (the same
  statement on SQLite and PostgreSQL), and every job renews it before doing
  anything; a scheduler that cannot renew runs nothing. When the holder dies,
  its lease runs out after ``scheduler.lease_seconds`` and the next heartbeat of
  a standby takes it over. Clocks of the hosts must agree to well within
  ``lease_seconds - heartbeat_seconds`` (NTP).
* **Once per period.** Every run of ``sync``, ``dispatch`` and
  ``monthly_reports`` first inserts its ``(job, period)`` row into ``job_runs``
  (the primary key); a second insert of the same period fails quietly and that
  run is skipped. Interval jobs are aligned to a fixed grid (periods are the
  same in every process), so even a scheduler that lost its lease mid-run (a
  frozen process) cannot repeat a period, and the monthly job never runs twice
  for a month, across restarts and failovers. The claim is committed before
  the work starts: a run that crashes is not repeated (at most once; the row
  says ``running`` or ``failed``). Other code can use :func:`claim_period` in its
  own transaction, or :func:`run_once`.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from scopeguard.adapters.store.db import Database
from scopeguard.adapters.store.models import JobRunRow, SchedulerLeaseRow, SyncRequestRow
from scopeguard.adapters.store.sql import insert_ignore, rowcount
from scopeguard.bootstrap import Services
from scopeguard.usecases.dispatch import default_holder
from scopeguard.usecases.sync import SyncError

log = logging.getLogger(__name__)

LEASE_NAME = "scheduler"
GRID_ORIGIN = datetime(2000, 1, 1, tzinfo=UTC)
"""Interval jobs fire at ``GRID_ORIGIN + k × interval`` in every process."""
_NEVER = GRID_ORIGIN
JOB_RUNS_KEPT = timedelta(days=7)
"""``job_runs`` rows of interval jobs are pruned after this; monthly ones are kept."""
INTERVAL_JOBS = ("sync", "dispatch")


def _utcnow() -> datetime:
    return datetime.now(UTC)


# --- the lease ---------------------------------------------------------------


class Lease:
    """This process's claim to run the jobs, renewed by a heartbeat."""

    def __init__(
        self,
        database: Database,
        holder: str,
        *,
        seconds: float,
        name: str = LEASE_NAME,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.database = database
        self.holder = holder
        self.seconds = seconds
        self.name = name
        self.clock = clock
        self._held = False
        self._lock = threading.Lock()

    @property
    def held(self) -> bool:
        """Whether the last acquire succeeded (the database may know better by now)."""
        return self._held

    def acquire(self) -> bool:
        """Take or renew the lease; ``True`` if this process holds it now."""
        with self._lock:
            now = self.clock()
            with self.database.session() as session:
                insert_ignore(
                    session,
                    SchedulerLeaseRow,
                    {"name": self.name, "holder": None, "expires_at": _NEVER},
                )
                taken = rowcount(
                    session.execute(
                        update(SchedulerLeaseRow)
                        .where(
                            SchedulerLeaseRow.name == self.name,
                            or_(
                                SchedulerLeaseRow.holder == self.holder,
                                SchedulerLeaseRow.holder.is_(None),
                                SchedulerLeaseRow.expires_at < now,
                            ),
                        )
                        .values(
                            holder=self.holder,
                            expires_at=now + timedelta(seconds=self.seconds),
                            renewed_at=now,
                        )
                        .execution_options(synchronize_session=False)
                    )
                )
                held = taken == 1
                if held and not self._held:
                    session.execute(
                        update(SchedulerLeaseRow)
                        .where(SchedulerLeaseRow.name == self.name)
                        .values(acquired_at=now)
                        .execution_options(synchronize_session=False)
                    )
            if held != self._held:
                if held:
                    log.info("scheduler lease acquired by %s", self.holder)
                else:
                    log.warning("scheduler lease lost by %s", self.holder)
            self._held = held
            return held

    def release(self) -> None:
        """Give the lease up (on a clean shutdown) so a standby takes over at once."""
        with self._lock, self.database.session() as session:
            session.execute(
                update(SchedulerLeaseRow)
                .where(SchedulerLeaseRow.name == self.name, SchedulerLeaseRow.holder == self.holder)
                .values(holder=None, expires_at=_NEVER)
                .execution_options(synchronize_session=False)
            )
            self._held = False


def lease_holder(database: Database, name: str = LEASE_NAME) -> tuple[str | None, datetime | None]:
    """Who holds the scheduler lease and until when (``None``: nobody yet)."""
    with database.session() as session:
        row = session.get(SchedulerLeaseRow, name)
        if row is None:
            return None, None
        return row.holder, row.expires_at


# --- once per period -----------------------------------------------------------


def claim_period(session: Session, job: str, period: str, holder: str, now: datetime) -> bool:
    """Record that ``job`` runs for ``period``; ``False`` if it already did (or does).

    Call it in the transaction that does the work to make the work and its
    record one commit, or commit it first (see :func:`run_once`).
    """
    return insert_ignore(
        session,
        JobRunRow,
        {
            "job": job,
            "period": period,
            "holder": holder,
            "status": "running",
            "started_at": now,
            "attempts": 1,
        },
    )


def finish_period(
    database: Database, job: str, period: str, now: datetime, error: str | None = None
) -> None:
    """Mark a claimed run ``done`` (or ``failed`` with its error)."""
    with database.session() as session:
        session.execute(
            update(JobRunRow)
            .where(JobRunRow.job == job, JobRunRow.period == period)
            .values(
                status="failed" if error else "done",
                finished_at=now,
                error=error[:4000] if error else None,
            )
            .execution_options(synchronize_session=False)
        )


def run_once(
    database: Database,
    job: str,
    period: str,
    work: Callable[[], object],
    *,
    holder: str,
    clock: Callable[[], datetime],
) -> bool:
    """Run ``work`` unless ``(job, period)`` was claimed before; ``True`` if it ran.

    The claim is committed before the work starts, so the work runs at most
    once per period even if this process dies halfway; an exception marks the
    run ``failed`` and propagates.
    """
    with database.session() as session:
        if not claim_period(session, job, period, holder, clock()):
            log.info("job %s period %s already ran; skipped", job, period)
            return False
    log.info("job %s period %s started by %s", job, period, holder)
    try:
        work()
    except Exception as exc:
        finish_period(database, job, period, clock(), f"{type(exc).__name__}: {exc}")
        raise
    finish_period(database, job, period, clock())
    log.info("job %s period %s done", job, period)
    return True


def interval_period(now: datetime, seconds: float) -> str:
    """The grid slot ``now`` falls in, as its UTC start time (the same in every process)."""
    elapsed = (now - GRID_ORIGIN).total_seconds()
    # A millisecond of slack: a run fires at (not before) its slot start, and float
    # division must not drop it into the slot before.
    slot = math.floor((elapsed + 0.001) / seconds)
    start = GRID_ORIGIN + timedelta(seconds=slot * seconds)
    return start.replace(tzinfo=None).isoformat(timespec="milliseconds")


# --- webhook-requested syncs -------------------------------------------------


def request_sync(
    database: Database, client_key: str, *, now: datetime, debounce_seconds: float, reason: str
) -> bool:
    """Ask for a sync of one client soon; ``False`` if one is already pending.

    Debounced: the first request of a burst sets the due time
    (``now + debounce_seconds``); further requests before that sync starts join
    it. A request made after the sync has started asks for another.
    """
    with database.session() as session:
        return insert_ignore(
            session,
            SyncRequestRow,
            {
                "client_key": client_key,
                "requested_at": now,
                "due_at": now + timedelta(seconds=debounce_seconds),
                "reason": reason[:255],
            },
        )


def take_due_sync_requests(database: Database, now: datetime) -> list[str]:
    """Remove and return the client keys whose requested sync is due."""
    taken: list[str] = []
    with database.session() as session:
        due = session.execute(
            select(SyncRequestRow.client_key, SyncRequestRow.requested_at).where(
                SyncRequestRow.due_at <= now
            )
        ).all()
    for client_key, requested_at in due:
        with database.session() as session:
            # Deleting is the claim: only one scheduler gets each request.
            gone = rowcount(
                session.execute(
                    delete(SyncRequestRow).where(
                        SyncRequestRow.client_key == client_key,
                        SyncRequestRow.requested_at == requested_at,
                    )
                )
            )
        if gone == 1:
            taken.append(client_key)
    return taken


# --- the jobs ------------------------------------------------------------------


def sync_job(services: Services) -> None:
    """Sync every client; failures are logged and retried at the next tick."""
    for result in services.sync.sync_all():
        if isinstance(result, SyncError):
            log.warning("%s", result)
        else:
            log.info("%s", result.line())


def monthly_due(services: Services, now: datetime) -> str | None:
    """The month (``YYYY-MM``, agency time) whose monthly run is due now, if any.

    Due from 08:00 on the 1st for ``scheduler.monthly_catch_up_hours``, so a
    worker that was down at 08:00 still runs it when it comes back that day.
    """
    local = now.astimezone(services.settings.agency.zone)
    starts = local.replace(day=1, hour=8, minute=0, second=0, microsecond=0)
    catch_up = timedelta(hours=services.settings.scheduler.monthly_catch_up_hours)
    if local < starts or local - starts > catch_up:
        return None
    return local.strftime("%Y-%m")


def _run_monthly_reports(services: Services, now: datetime) -> object:
    # Imported when a run is due, not with the scheduler: the reports load WeasyPrint.
    from scopeguard.usecases.monthly_reports import run_monthly_reports  # noqa: PLC0415

    return run_monthly_reports(services, now)


def monthly_reports_job(services: Services, holder: str, now: datetime | None = None) -> bool:
    """Run :func:`scopeguard.usecases.monthly_reports.run_monthly_reports` once for this month.

    ``True`` if it ran now.
    """
    moment = now if now is not None else services.clock()
    period = monthly_due(services, moment)
    if period is None:
        return False
    return run_once(
        services.database,
        "monthly_reports",
        period,
        lambda: _run_monthly_reports(services, moment),
        holder=holder,
        clock=services.clock,
    )


def monthly_reports_follow_up(services: Services, holder: str, now: datetime | None = None) -> bool:
    """Finish what this month's run could not, at most once an hour while it is due.

    The monthly run happens once; an email that failed (the mail server was
    down) or a client whose report failed would otherwise wait for someone to
    notice. Every step of :func:`run_monthly_reports` is idempotent per client
    and month (a stored report is kept, a sent email is not sent again), so
    running it again only completes the missing parts. ``True`` if it ran.
    """
    moment = now if now is not None else services.clock()
    period = monthly_due(services, moment)
    if period is None:
        return False
    with services.database.session() as session:
        main_run = session.get(JobRunRow, ("monthly_reports", period))
        if main_run is None:
            return False
        if main_run.status == "running" and moment - main_run.started_at < timedelta(hours=1):
            return False  # still running; an hour-old "running" run died with its process
    hour = moment.astimezone(services.settings.agency.zone).strftime("%Y-%m-%dT%H")
    return run_once(
        services.database,
        "monthly_reports_follow_up",
        hour,
        lambda: _run_monthly_reports(services, moment),
        holder=holder,
        clock=services.clock,
    )


class WorkerScheduler:
    """The jobs on an APScheduler background scheduler, each run only under the lease."""

    def __init__(
        self,
        services: Services,
        *,
        holder: str | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        settings = services.settings
        self.services = services
        self.holder = holder or default_holder()
        clock = clock if clock is not None else services.clock
        self.clock = clock
        self.lease = Lease(
            services.database, self.holder, seconds=settings.scheduler.lease_seconds, clock=clock
        )
        # Syncs of one process never overlap (the interval job and webhook requests).
        self._sync_lock = threading.Lock()
        self.scheduler = BackgroundScheduler(
            timezone=settings.agency.timezone,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        # APScheduler fires by the wall clock, so "run once now" is in wall-clock time
        # too; the jobs themselves read ``clock`` (which tests pin to another date).
        now = datetime.now(UTC)
        sync_seconds = settings.sync.interval_minutes * 60
        dispatch_seconds = settings.alerts.dispatch_interval_seconds
        self._add("heartbeat", self.heartbeat, settings.scheduler.heartbeat_seconds, start=now)
        self._add("sync", self._periodic("sync", sync_seconds, self.sync), sync_seconds, start=now)
        self._add(
            "dispatch",
            self._periodic("dispatch", dispatch_seconds, self.dispatch),
            dispatch_seconds,
        )
        self._add("hook_syncs", self.hook_syncs, settings.scheduler.hook_poll_seconds)
        self.scheduler.add_job(
            self.monthly,
            CronTrigger(day=1, hour=8, minute=0, timezone=settings.agency.zone),
            id="monthly_reports",
            name="monthly_reports",
        )
        # The catch-up check: a worker that was down at 08:00 on the 1st.
        self._add("monthly_reports_catch_up", self.monthly, 900, start=now)

    def _add(
        self, job_id: str, func: Callable[[], None], seconds: float, start: datetime | None = None
    ) -> None:
        trigger = IntervalTrigger(seconds=seconds, start_date=GRID_ORIGIN, timezone=UTC)
        options: dict[str, Any] = {"id": job_id, "name": job_id}
        if start is not None:
            options["next_run_time"] = start  # once at start, then on the grid
        self.scheduler.add_job(func, trigger, **options)

    def _periodic(self, job: str, seconds: float, work: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            if not self.lease.acquire():
                return
            period = interval_period(self.clock(), seconds)
            try:
                run_once(
                    self.services.database, job, period, work, holder=self.holder, clock=self.clock
                )
            except Exception:
                log.exception("job %s period %s failed", job, period)

        return run

    # The job bodies. Each is safe to call directly (tests, the CLI).

    def heartbeat(self) -> None:
        """Take or renew the lease."""
        try:
            self.lease.acquire()
        except Exception:
            log.exception("scheduler heartbeat failed")

    def sync(self) -> None:
        """Sync every client (then the alert rules run on each new snapshot)."""
        with self._sync_lock:
            sync_job(self.services)

    def dispatch(self) -> None:
        """Deliver due alerts; prune old ``job_runs`` rows of interval jobs."""
        self.services.alerts.dispatch(self.holder)
        with self.services.database.session() as session:
            session.execute(
                delete(JobRunRow).where(
                    JobRunRow.job.in_(INTERVAL_JOBS),
                    JobRunRow.started_at < self.clock() - JOB_RUNS_KEPT,
                )
            )

    def hook_syncs(self) -> None:
        """Sync the clients a Jira webhook asked for, then deliver their alerts."""
        if not self.lease.acquire():
            return
        try:
            keys = take_due_sync_requests(self.services.database, self.clock())
            if not keys:
                return
            with self._sync_lock:
                for key in keys:
                    try:
                        client = self.services.settings.client(key)
                    except KeyError:
                        continue
                    try:
                        log.info("webhook sync: %s", self.services.sync.sync_client(client).line())
                    except SyncError as error:
                        log.warning("%s", error)
            # Near real time is the point of a webhook: deliver its alerts now too.
            self.services.alerts.dispatch(self.holder)
        except Exception:
            log.exception("webhook-requested sync failed")

    def monthly(self) -> None:
        """The monthly reports, once per month."""
        if not self.lease.acquire():
            return
        try:
            if not monthly_reports_job(self.services, self.holder, self.clock()):
                monthly_reports_follow_up(self.services, self.holder, self.clock())
        except Exception:
            log.exception("monthly reports failed")

    def start(self) -> None:
        """Start the jobs in a background thread."""
        log.info("scheduler %s starting", self.holder)
        self.scheduler.start()

    def shutdown(self, wait: bool = True) -> None:
        """Stop the jobs; with ``wait``, after the running ones finish, then free the lease."""
        self.scheduler.shutdown(wait=wait)
        if wait:
            # Only when nothing of ours runs any more may a standby take over at once;
            # otherwise the lease simply runs out.
            self.lease.release()


def build_scheduler(services: Services, *, holder: str | None = None) -> WorkerScheduler:
    """The scheduler with every job; the first sync runs right away (if this holds the lease)."""
    return WorkerScheduler(services, holder=holder)
