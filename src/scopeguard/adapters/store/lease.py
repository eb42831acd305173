"""The scheduler lease: which worker runs the periodic jobs now.

A row in ``scheduler_leases`` names the holder and when its lease expires. A
heartbeat renews it with one atomic ``UPDATE … WHERE holder = me OR
expires_at < now`` (the same statement on SQLite and PostgreSQL). When the
holder dies its lease runs out and a standby's next heartbeat takes it over.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, update

from scopeguard.adapters.store.db import Database
from scopeguard.adapters.store.models import SchedulerLeaseRow
from scopeguard.adapters.store.sql import insert_ignore, rowcount
from scopeguard.domain.clock import Clock, utcnow

log = logging.getLogger(__name__)

LEASE_NAME = "scheduler"
_NEVER = datetime(2000, 1, 1, tzinfo=UTC)
"""The expiry of a lease nobody holds: long past."""


class Lease:
    """This process's claim to run the jobs, renewed by a heartbeat."""

    def __init__(
        self,
        database: Database,
        holder: str,
        *,
        seconds: float,
        name: str = LEASE_NAME,
        clock: Clock = utcnow,
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
