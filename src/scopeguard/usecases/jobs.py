"""The periodic jobs' bodies and their periods: what a worker does on each tick.

Interval jobs are aligned to a fixed grid (:func:`interval_period`), so their
periods are the same in every process and a frozen worker that lost its lease
cannot repeat one; the monthly reports are due from 08:00 on the 1st.

With one active worker (the lease) a tick syncs every client in turn
(:func:`sync_job`) and the monthly run makes every client's report
(:func:`monthly_reports_job`). When workers share the clients (PostgreSQL),
each takes one client at a time under that client's lease for the period
(:mod:`scopeguard.adapters.store.client_leases`): :func:`sync_next_client`,
:func:`report_next_client` and :func:`follow_up_next_client`.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime, timedelta

from scopeguard.adapters.store.client_leases import ClientLeases, finished_clients
from scopeguard.adapters.store.job_runs import find_job_run, run_once
from scopeguard.usecases.ports import Application
from scopeguard.usecases.sync import SyncError

log = logging.getLogger(__name__)

GRID_ORIGIN = datetime(2000, 1, 1, tzinfo=UTC)
"""Interval jobs fire at ``GRID_ORIGIN + k × interval`` in every process."""


JOB_RUNS_KEPT = timedelta(days=7)
"""``job_runs`` rows of interval jobs are pruned after this; monthly ones are kept."""


INTERVAL_JOBS = ("sync", "dispatch")

SYNC_JOB = "sync"
"""The client lease a client's syncs (scheduled or webhook-requested) and its alert
evaluation run under."""
MONTHLY_JOB = "monthly_reports"
FOLLOW_UP_JOB = "monthly_reports_follow_up"


def interval_period(now: datetime, seconds: float) -> str:
    """The grid slot ``now`` falls in, as its UTC start time (the same in every process)."""
    elapsed = (now - GRID_ORIGIN).total_seconds()
    # A millisecond of slack: a run fires at (not before) its slot start, and float
    # division must not drop it into the slot before.
    slot = math.floor((elapsed + 0.001) / seconds)
    start = GRID_ORIGIN + timedelta(seconds=slot * seconds)
    return start.replace(tzinfo=None).isoformat(timespec="milliseconds")


def sync_job(services: Application) -> None:
    """Sync every client; failures are logged and retried at the next tick."""
    for result in services.sync.sync_all():
        if isinstance(result, SyncError):
            log.warning("%s", result)
        else:
            log.info("%s", result.line())
    assess_risk(services)


def assess_risk(services: Application) -> None:
    """Assess every client's risk at once, each against the others, unless the stored
    assessment is current; alerts ``client_risk_high``. Run after every round of syncs
    (by one worker, by workers sharing the clients, after webhook syncs)."""
    try:
        services.risk.refresh()
    except Exception:
        log.exception("assessing client risk failed; the next round of syncs tries again")


def monthly_due(services: Application, now: datetime) -> str | None:
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


def _run_monthly_reports(services: Application, now: datetime) -> object:
    # Imported when a run is due, not with the scheduler: the reports load WeasyPrint.
    from scopeguard.usecases.monthly_reports import run_monthly_reports  # noqa: PLC0415

    return run_monthly_reports(services, now)


def monthly_reports_job(services: Application, holder: str, now: datetime | None = None) -> bool:
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


def monthly_reports_follow_up(
    services: Application, holder: str, now: datetime | None = None
) -> bool:
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
    main_run = find_job_run(services.database, "monthly_reports", period)
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


# --- workers sharing the clients -------------------------------------------------


def _client_keys(services: Application) -> list[str]:
    return [client.key for client in services.settings.clients]


def sync_next_client(services: Application, leases: ClientLeases, period: str) -> str | None:
    """Take the next client not yet synced in this tick ``period``, sync it (its alert
    rules run after it, under the same claim) and record the period finished.

    The client's key, or ``None`` when every client of the period is done or taken.
    A failed sync finishes the period too: the next tick tries again, as with one worker.
    """
    key = leases.claim_next(SYNC_JOB, period, _client_keys(services))
    if key is None:
        return None
    log.info("job sync client %s period %s started by %s", key, period, leases.holder)
    error: str | None = None
    try:
        result = services.sync.sync_client(services.settings.client(key))
        log.info("%s", result.line())
    except SyncError as failure:
        error = str(failure)
        log.warning("%s", failure)
    except Exception as failure:  # the claim must be finished whatever happened
        error = f"{type(failure).__name__}: {failure}"
        log.exception("sync of %s failed", key)
    if leases.finish(SYNC_JOB, key, period, error=error):
        log.info("job sync client %s period %s done by %s", key, period, leases.holder)
    return key


def report_next_client(
    services: Application, leases: ClientLeases, now: datetime | None = None
) -> str | None:
    """Take the next client whose monthly report of this month's run is not made yet,
    and make, keep and email it; the client's key, or ``None`` (none left, not due)."""
    moment = now if now is not None else services.clock()
    period = monthly_due(services, moment)
    if period is None:
        return None
    keys = _client_keys(services)
    return _report_claimed(services, leases, job=MONTHLY_JOB, period=period, keys=keys, now=moment)


def follow_up_next_client(
    services: Application, leases: ClientLeases, now: datetime | None = None
) -> str | None:
    """The hourly follow-up, per client: complete the report or email of a client whose
    monthly run finished (see :func:`monthly_reports_follow_up`); ``None`` when none is
    left this hour."""
    moment = now if now is not None else services.clock()
    period = monthly_due(services, moment)
    if period is None:
        return None
    finished = finished_clients(services.database, MONTHLY_JOB, period)
    keys = [key for key in _client_keys(services) if key in finished]
    hour = moment.astimezone(services.settings.agency.zone).strftime("%Y-%m-%dT%H")
    return _report_claimed(services, leases, job=FOLLOW_UP_JOB, period=hour, keys=keys, now=moment)


def _report_claimed(
    services: Application,
    leases: ClientLeases,
    *,
    job: str,
    period: str,
    keys: list[str],
    now: datetime,
) -> str | None:
    # Imported when a run is due, not with the scheduler: the reports load WeasyPrint.
    from scopeguard.usecases.monthly_reports import report_month, run_one  # noqa: PLC0415

    key = leases.claim_next(job, period, keys)
    if key is None:
        return None
    log.info("job %s client %s period %s started by %s", job, key, period, leases.holder)
    error: str | None = None
    try:
        result = run_one(services, services.settings.client(key), report_month(services, now), now)
        if result.status == "failed":
            error = result.detail or "failed"
    except Exception as failure:  # the claim must be finished whatever happened
        error = f"{type(failure).__name__}: {failure}"
        log.exception("%s of %s failed", job, key)
    leases.finish(job, key, period, error=error)
    return key
