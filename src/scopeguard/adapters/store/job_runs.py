"""Once per period: the ``job_runs`` table that makes each job's run of a period unique.

Every run first inserts its ``(job, period)`` row (the primary key); a second
insert of the same period fails quietly and that run is skipped. The claim is
committed before the work starts: a run that crashes is not repeated (at most
once; the row says ``running`` or ``failed``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from scopeguard.adapters.store.db import Database
from scopeguard.adapters.store.models import JobRunRow
from scopeguard.adapters.store.sql import insert_ignore, rowcount

log = logging.getLogger(__name__)


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


def forget_failed_run(database: Database, job: str, period: str) -> bool:
    """Forget the run of ``(job, period)`` if it failed, so it may be claimed again;
    ``True`` if it did. One statement: of two workers, one forgets and one claims."""
    with database.session() as session:
        statement = delete(JobRunRow).where(
            JobRunRow.job == job, JobRunRow.period == period, JobRunRow.status == "failed"
        )
        return rowcount(session.execute(statement)) == 1


def find_job_run(database: Database, job: str, period: str) -> JobRun | None:
    """The recorded run of ``job`` for ``period``, if any."""
    with database.session() as session:
        row = session.get(JobRunRow, (job, period))
        if row is None:
            return None
        return JobRun(row.job, row.period, row.holder, row.status, row.started_at, row.error)


def prune_job_runs(database: Database, jobs: Sequence[str], before: datetime) -> None:
    """Forget the runs of ``jobs`` that started before ``before``."""
    with database.session() as session:
        session.execute(
            delete(JobRunRow).where(JobRunRow.job.in_(jobs), JobRunRow.started_at < before)
        )


@dataclass(frozen=True, slots=True)
class JobRun:
    """One recorded run of a periodic job."""

    job: str
    period: str
    holder: str
    status: str
    """``running``, ``done`` or ``failed``."""
    started_at: datetime
    error: str | None
