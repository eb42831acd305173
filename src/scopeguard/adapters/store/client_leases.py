"""Per-client leases: several workers share the clients of one periodic job.

One row per ``(job, client)`` in ``client_leases`` says who works on that
client's job now (``holder``, until ``expires_at``) and the last period of it
that was finished (``done_period``). A worker takes a client for a period with
one conditional ``UPDATE … WHERE (holder IS NULL OR expires_at < now) AND
(done_period IS NULL OR done_period < period)``, so

* no two workers work on one client's job at once (webhook syncs take the same
  row without a period, see :meth:`ClientLeases.claim`),
* a finished period is never run again, not even by a worker whose clock lags
  (periods are fixed-width ISO strings: they compare as text),
* a claim whose worker died (stopped renewing) expires after
  ``scheduler.client_lease_seconds`` and the next worker that looks takes the
  client over, for the same period.

On PostgreSQL :meth:`ClientLeases.claim_next` picks the next free client with
``SELECT … FOR UPDATE SKIP LOCKED``: workers looking at the same moment skip
each other's candidates instead of queueing behind them. Holders renew every
claim they hold with one ``UPDATE`` per heartbeat.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, or_, select, update
from sqlalchemy.orm import Session

from scopeguard.adapters.store.db import Database
from scopeguard.adapters.store.models import ClientLeaseRow
from scopeguard.adapters.store.sql import insert_ignore, rowcount
from scopeguard.domain.clock import Clock, utcnow

log = logging.getLogger(__name__)

_NEVER = datetime(2000, 1, 1, tzinfo=UTC)
"""The expiry of a claim nobody holds: long past."""


def _free(now: datetime) -> ColumnElement[bool]:
    return or_(ClientLeaseRow.holder.is_(None), ClientLeaseRow.expires_at < now)


def _not_done(period: str) -> ColumnElement[bool]:
    return or_(ClientLeaseRow.done_period.is_(None), ClientLeaseRow.done_period < period)


class ClientLeases:
    """This worker's claims on clients' jobs, renewed by :meth:`renew`."""

    def __init__(
        self, database: Database, holder: str, *, seconds: float, clock: Clock = utcnow
    ) -> None:
        self.database = database
        self.holder = holder
        self.seconds = seconds
        self.clock = clock
        self._rows_known: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def _ensure_rows(self, session: Session, job: str, client_keys: Sequence[str]) -> None:
        """Each client's row exists (inserted free on first sight), so claims are UPDATEs."""
        missing = [key for key in client_keys if (job, key) not in self._rows_known]
        if not missing:
            return
        present = set(
            session.scalars(
                select(ClientLeaseRow.client_key).where(
                    ClientLeaseRow.job == job, ClientLeaseRow.client_key.in_(missing)
                )
            )
        )
        for key in missing:
            if key not in present:
                insert_ignore(
                    session,
                    ClientLeaseRow,
                    {"job": job, "client_key": key, "expires_at": _NEVER, "attempts": 0},
                )
        with self._lock:
            self._rows_known.update((job, key) for key in missing)

    def _claim_values(self, now: datetime, period: str) -> dict[str, Any]:
        return {
            "holder": self.holder,
            "expires_at": now + timedelta(seconds=self.seconds),
            "claimed_at": now,
            "period": period,
            # A second claim of the same period: its first holder died (or froze).
            "attempts": case(
                (ClientLeaseRow.period == period, ClientLeaseRow.attempts + 1), else_=1
            ),
        }

    def claim_next(self, job: str, period: str, client_keys: Sequence[str]) -> str | None:
        """Take the client of ``client_keys`` whose ``job`` is free, not finished for
        ``period`` and finished longest ago (never first, then by key); its key, or
        ``None`` when none is left."""
        if not client_keys:
            return None
        with self.database.session() as session:
            self._ensure_rows(session, job, client_keys)
        skipped: set[str] = set()
        while True:
            now = self.clock()
            candidates = [key for key in client_keys if key not in skipped]
            if not candidates:
                return None
            with self.database.session() as session:
                # SKIP LOCKED: another worker's candidate of this instant is not waited for
                # (SQLite has no row locks; the UPDATE below decides there).
                key = session.scalars(
                    select(ClientLeaseRow.client_key)
                    .where(
                        ClientLeaseRow.job == job,
                        ClientLeaseRow.client_key.in_(candidates),
                        _free(now),
                        _not_done(period),
                    )
                    # The longest waiting first: when ticks come faster than the
                    # workers get through the clients, none is starved.
                    .order_by(
                        ClientLeaseRow.finished_at.asc().nulls_first(), ClientLeaseRow.client_key
                    )
                    .limit(1)
                    .with_for_update(skip_locked=True)
                ).first()
                if key is None:
                    return None
                taken = rowcount(
                    session.execute(
                        update(ClientLeaseRow)
                        .where(
                            ClientLeaseRow.job == job,
                            ClientLeaseRow.client_key == key,
                            _free(now),
                            _not_done(period),
                        )
                        .values(**self._claim_values(now, period))
                        .execution_options(synchronize_session=False)
                    )
                )
            if taken == 1:
                return key
            skipped.add(key)  # lost a race (SQLite): look at the others

    def claim(self, job: str, client_key: str, period: str | None = None) -> bool:
        """Take one client's ``job``: for ``period`` (unless finished), or, without a
        period, only to work on it alone (a webhook sync). ``True`` if this worker has it."""
        now = self.clock()
        conditions = [
            ClientLeaseRow.job == job,
            ClientLeaseRow.client_key == client_key,
            _free(now),
        ]
        values: dict[str, Any]
        if period is None:
            values = {
                "holder": self.holder,
                "expires_at": now + timedelta(seconds=self.seconds),
                "claimed_at": now,
            }
        else:
            conditions.append(_not_done(period))
            values = self._claim_values(now, period)
        with self.database.session() as session:
            self._ensure_rows(session, job, [client_key])
            taken = rowcount(
                session.execute(
                    update(ClientLeaseRow)
                    .where(and_(*conditions))
                    .values(**values)
                    .execution_options(synchronize_session=False)
                )
            )
        return taken == 1

    def finish(
        self, job: str, client_key: str, period: str | None, *, error: str | None = None
    ) -> bool:
        """Free the client's ``job``; with ``period``, record it finished (failed runs too:
        a period is tried once, the next period tries again). ``False`` if this worker no
        longer held it (its claim expired and another worker took the client over)."""
        values: dict[str, Any] = {
            "holder": None,
            "expires_at": _NEVER,
            "finished_at": self.clock(),
            "error": error[:4000] if error else None,
        }
        if period is not None:
            values["done_period"] = period
        with self.database.session() as session:
            freed = rowcount(
                session.execute(
                    update(ClientLeaseRow)
                    .where(
                        ClientLeaseRow.job == job,
                        ClientLeaseRow.client_key == client_key,
                        ClientLeaseRow.holder == self.holder,
                    )
                    .values(**values)
                    .execution_options(synchronize_session=False)
                )
            )
        if freed != 1:
            log.warning(
                "job %s client %s: the claim of %s had expired and was taken over",
                job,
                client_key,
                self.holder,
            )
        return freed == 1

    def renew(self) -> int:
        """Extend every claim this worker holds by the lease; how many it holds."""
        now = self.clock()
        with self.database.session() as session:
            return rowcount(
                session.execute(
                    update(ClientLeaseRow)
                    .where(ClientLeaseRow.holder == self.holder)
                    .values(expires_at=now + timedelta(seconds=self.seconds))
                    .execution_options(synchronize_session=False)
                )
            )

    def release_all(self) -> int:
        """Free whatever this worker still holds (a clean stop), unfinished: another
        worker takes it at once instead of after the lease."""
        with self.database.session() as session:
            return rowcount(
                session.execute(
                    update(ClientLeaseRow)
                    .where(ClientLeaseRow.holder == self.holder)
                    .values(holder=None, expires_at=_NEVER)
                    .execution_options(synchronize_session=False)
                )
            )


@dataclass(frozen=True, slots=True)
class ClientLease:
    """One client's job: who works on it and what was finished."""

    job: str
    client_key: str
    holder: str | None
    expires_at: datetime
    period: str | None
    done_period: str | None
    attempts: int
    error: str | None


def client_leases(database: Database, job: str | None = None) -> list[ClientLease]:
    """Every client lease (of ``job``), by job and client."""
    statement = select(ClientLeaseRow).order_by(ClientLeaseRow.job, ClientLeaseRow.client_key)
    if job is not None:
        statement = statement.where(ClientLeaseRow.job == job)
    with database.session() as session:
        return [
            ClientLease(
                row.job,
                row.client_key,
                row.holder,
                row.expires_at,
                row.period,
                row.done_period,
                row.attempts,
                row.error,
            )
            for row in session.scalars(statement)
        ]


def finished_clients(database: Database, job: str, period: str) -> set[str]:
    """The clients whose ``job`` has finished ``period`` (or a later one)."""
    with database.session() as session:
        return set(
            session.scalars(
                select(ClientLeaseRow.client_key).where(
                    ClientLeaseRow.job == job, ClientLeaseRow.done_period >= period
                )
            )
        )
