"""Periodic work: syncing every client on an interval.

The jobs run in a background thread of ``scopeguard serve`` (unless
``--no-scheduler``) or of ``scopeguard worker``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler

from scopeguard.jira.sync import SyncError
from scopeguard.services import Services

log = logging.getLogger(__name__)


def sync_job(services: Services) -> None:
    """Sync every client; failures are logged and retried at the next tick."""
    for result in services.sync.sync_all():
        if isinstance(result, SyncError):
            log.warning("%s", result)
        else:
            log.info("%s", result.line())


def build_scheduler(services: Services) -> BackgroundScheduler:
    """A scheduler with the sync job; the first sync runs right away."""
    scheduler = BackgroundScheduler(timezone=services.settings.agency.timezone)
    scheduler.add_job(
        sync_job,
        "interval",
        minutes=services.settings.sync.interval_minutes,
        args=[services],
        id="sync",
        next_run_time=datetime.now(UTC),
        max_instances=1,
        coalesce=True,
    )
    return scheduler
