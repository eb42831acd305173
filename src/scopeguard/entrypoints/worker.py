"""Periodic work: sync, alert dispatch, webhook-requested syncs and the monthly reports.

The jobs run in a background thread of ``scopeguard serve`` (unless
``--no-scheduler``) or of ``scopeguard worker``. Any number of these may run
against one database. On SQLite (or with ``scheduler.share_clients: false``)
one of them at a time runs the jobs:

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

On PostgreSQL the workers **share the clients** instead (``share_clients``, the
default). Every worker runs every job, and each client's work is claimed per
client and period in ``client_leases``
(:mod:`scopeguard.adapters.store.client_leases`): a sync tick is every worker
taking the next client not yet synced in that tick until none is left (its
alert rules run after its sync, under the same claim); the monthly reports
and their hourly follow-up are claimed per client and month (or hour);
webhook-requested syncs take the client's sync lease too, so a client is never
synced by two workers at once. The heartbeat renews this worker's claims; the
claims of a worker that died run out ``heartbeat_seconds`` before
``scheduler.client_lease_seconds``, and a sweep every ``heartbeat_seconds`` lets
the others take those clients over for the same period: within
``client_lease_seconds`` of the death (plus the client sync a taker may be in).
Alert dispatch runs on every worker: the outbox's rows are claimed one at a
time already. SQLite keeps the single lease because it serialises writers:
workers syncing at once would only take turns on the database file's write
lock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from scopeguard.adapters.store.client_leases import ClientLeases
from scopeguard.adapters.store.job_runs import prune_job_runs, run_once
from scopeguard.adapters.store.lease import Lease
from scopeguard.adapters.store.sync_requests import (
    due_sync_requests,
    take_due_sync_requests,
    take_sync_request,
)
from scopeguard.bootstrap import Services
from scopeguard.usecases.dispatch import default_holder
from scopeguard.usecases.jobs import (
    GRID_ORIGIN,
    INTERVAL_JOBS,
    JOB_RUNS_KEPT,
    SYNC_JOB,
    assess_risk,
    follow_up_next_client,
    interval_period,
    monthly_reports_follow_up,
    monthly_reports_job,
    report_next_client,
    sync_job,
    sync_next_client,
)
from scopeguard.usecases.sync import SyncError

log = logging.getLogger(__name__)


def shares_clients(services: Services) -> bool:
    """Whether this database lets the workers share the clients (PostgreSQL with
    ``scheduler.share_clients``), rather than one worker running every job."""
    dialect = services.database.engine.dialect.name
    return services.settings.scheduler.share_clients and dialect == "postgresql"


class WorkerScheduler:
    """The jobs on an APScheduler background scheduler: under the lease, or sharing the
    clients with the other workers (see the module docstring)."""

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
        self.shared = shares_clients(services)
        # A claim runs out a heartbeat before client_lease_seconds, and the sweep looks
        # every heartbeat: a dead worker's clients are taken over within the lease.
        scheduler = settings.scheduler
        self.client_leases = ClientLeases(
            services.database,
            self.holder,
            seconds=scheduler.client_lease_seconds - scheduler.heartbeat_seconds,
            clock=clock,
        )
        # Syncs of one process never overlap (the interval job and webhook requests).
        self._sync_lock = threading.Lock()
        # Set on shutdown: a loop over the clients stops after the one it is on.
        self._stopping = threading.Event()
        self.scheduler = BackgroundScheduler(
            timezone=settings.agency.timezone,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        # APScheduler fires by the wall clock, so "run once now" is in wall-clock time
        # too; the jobs themselves read ``clock`` (which tests pin to another date).
        now = datetime.now(UTC)
        sync_seconds = settings.sync.interval_minutes * 60
        self._sync_seconds = sync_seconds
        dispatch_seconds = settings.alerts.dispatch_interval_seconds
        if self.shared:
            self._add_shared_jobs(now)
            return
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

    def _add_shared_jobs(self, now: datetime) -> None:
        settings = self.services.settings
        heartbeat = settings.scheduler.heartbeat_seconds
        self._add("heartbeat", self.heartbeat, heartbeat, start=now)
        # The tick starts on the grid; the sweep takes over a dead worker's clients and
        # whatever of the tick is left (two instances: a busy loop makes the next return).
        self._add("sync", self.share_syncs, self._sync_seconds, start=now, instances=2)
        self._add("sync_sweep", self.share_syncs, heartbeat, instances=2)
        self._add("dispatch", self.dispatch_now, settings.alerts.dispatch_interval_seconds)
        self._add("hook_syncs", self.hook_syncs, settings.scheduler.hook_poll_seconds)
        self.scheduler.add_job(
            self.monthly,
            CronTrigger(day=1, hour=8, minute=0, timezone=settings.agency.zone),
            id="monthly_reports",
            name="monthly_reports",
        )
        self._add("monthly_reports_catch_up", self.monthly, 900, start=now)

    def _add(
        self,
        job_id: str,
        func: Callable[[], None],
        seconds: float,
        start: datetime | None = None,
        instances: int = 1,
    ) -> None:
        trigger = IntervalTrigger(seconds=seconds, start_date=GRID_ORIGIN, timezone=UTC)
        options: dict[str, Any] = {"id": job_id, "name": job_id, "max_instances": instances}
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
        """Take or renew the lease; sharing the clients, renew this worker's claims."""
        try:
            if self.shared:
                self.client_leases.renew()
            else:
                self.lease.acquire()
        except Exception:
            log.exception("scheduler heartbeat failed")

    def share_syncs(self) -> None:
        """Sync clients of this tick, one at a time, until every one is done or taken.

        Webhook-requested syncs go first, between clients. Returns at once when this
        worker's loop is already running (the tick and the sweep both call it).
        """
        if not self._sync_lock.acquire(blocking=False):
            return
        synced = False
        try:
            while not self._stopping.is_set():
                self._hook_syncs_shared()
                period = interval_period(self.clock(), self._sync_seconds)
                if sync_next_client(self.services, self.client_leases, period) is None:
                    break
                synced = True
            if synced:
                # The risk compares every client with the others: assessed once the
                # tick's clients are done (another worker finishing too finds it current).
                assess_risk(self.services)
        except Exception:
            log.exception("sync failed")
        finally:
            self._sync_lock.release()

    def dispatch_now(self) -> None:
        """:meth:`dispatch`, logged instead of raised (every worker dispatches when sharing)."""
        try:
            self.dispatch()
        except Exception:
            log.exception("dispatch failed")

    def sync(self) -> None:
        """Sync every client (then the alert rules run on each new snapshot)."""
        with self._sync_lock:
            sync_job(self.services)

    def dispatch(self) -> None:
        """Deliver due alerts; prune old ``job_runs`` rows of interval jobs."""
        self.services.alerts.dispatch(self.holder)
        prune_job_runs(self.services.database, INTERVAL_JOBS, self.clock() - JOB_RUNS_KEPT)

    def hook_syncs(self) -> None:
        """Sync the clients a Jira webhook asked for, then deliver their alerts."""
        if self.shared:
            # A running sync loop takes them between its clients.
            if self._sync_lock.acquire(blocking=False):
                try:
                    self._hook_syncs_shared()
                except Exception:
                    log.exception("webhook-requested sync failed")
                finally:
                    self._sync_lock.release()
            return
        if not self.lease.acquire():
            return
        try:
            keys = take_due_sync_requests(self.services.database, self.clock())
            if not keys:
                return
            # Something changed in Jira: what it says of statuses and fields may have too.
            self.services.jira.invalidate_metadata()
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
            assess_risk(self.services)
            # Near real time is the point of a webhook: deliver its alerts now too.
            self.services.alerts.dispatch(self.holder)
        except Exception:
            log.exception("webhook-requested sync failed")

    def _hook_syncs_shared(self) -> bool:
        """Webhook-requested syncs, each under the client's sync lease: a client another
        worker is syncing keeps its request until that sync is over. Whether any ran."""
        synced = False
        for key, requested_at in due_sync_requests(self.services.database, self.clock()):
            try:
                client = self.services.settings.client(key)
            except KeyError:
                take_sync_request(self.services.database, key, requested_at)
                continue
            if not self.client_leases.claim(SYNC_JOB, key):
                continue
            try:
                if not take_sync_request(self.services.database, key, requested_at):
                    continue  # another worker took it a moment ago
                if not synced:
                    self.services.jira.invalidate_metadata()
                synced = True
                log.info("webhook sync: %s", self.services.sync.sync_client(client).line())
            except SyncError as error:
                log.warning("%s", error)
            finally:
                self.client_leases.finish(SYNC_JOB, key, None)
        if synced:
            assess_risk(self.services)
            self.services.alerts.dispatch(self.holder)
        return synced

    def monthly(self) -> None:
        """The monthly reports, once per month (per client and month when sharing)."""
        if self.shared:
            try:
                made = False
                while not self._stopping.is_set() and report_next_client(
                    self.services, self.client_leases, self.clock()
                ):
                    made = True
                while (
                    not made
                    and not self._stopping.is_set()
                    and follow_up_next_client(self.services, self.client_leases, self.clock())
                ):
                    pass
            except Exception:
                log.exception("monthly reports failed")
            return
        if not self.lease.acquire():
            return
        try:
            if not monthly_reports_job(self.services, self.holder, self.clock()):
                monthly_reports_follow_up(self.services, self.holder, self.clock())
        except Exception:
            log.exception("monthly reports failed")

    def start(self) -> None:
        """Start the jobs in a background thread."""
        mode = "sharing the clients" if self.shared else "under the scheduler lease"
        log.info("scheduler %s starting, %s", self.holder, mode)
        self.scheduler.start()

    def shutdown(self, wait: bool = True) -> None:
        """Stop the jobs; with ``wait``, after the running ones finish, then free the lease."""
        self._stopping.set()
        self.scheduler.shutdown(wait=wait)
        if wait:
            # Only when nothing of ours runs any more may a standby take over at once;
            # otherwise the lease simply runs out.
            if self.shared:
                self.client_leases.release_all()
            else:
                self.lease.release()


def build_scheduler(services: Services, *, holder: str | None = None) -> WorkerScheduler:
    """The scheduler with every job; the first sync runs right away (if this holds the lease)."""
    return WorkerScheduler(services, holder=holder)
