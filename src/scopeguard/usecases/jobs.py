"""The periodic jobs' bodies and their periods: what a worker does on each tick.

Interval jobs are aligned to a fixed grid (:func:`interval_period`), so their
periods are the same in every process and a frozen worker that lost its lease
cannot repeat one; the monthly reports are due from 08:00 on the 1st.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime, timedelta

from scopeguard.adapters.store.job_runs import find_job_run, run_once
from scopeguard.usecases.ports import Application
from scopeguard.usecases.sync import SyncError

log = logging.getLogger(__name__)

GRID_ORIGIN = datetime(2000, 1, 1, tzinfo=UTC)
"""Interval jobs fire at ``GRID_ORIGIN + k × interval`` in every process."""


JOB_RUNS_KEPT = timedelta(days=7)
"""``job_runs`` rows of interval jobs are pruned after this; monthly ones are kept."""


INTERVAL_JOBS = ("sync", "dispatch")


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
    try:
        # Every client at once, each against the others; alerts client_risk_high.
        services.risk.refresh()
    except Exception:
        log.exception("assessing client risk failed; a reader assesses again when stale")


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
