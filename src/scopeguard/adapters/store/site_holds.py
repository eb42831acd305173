"""Jira sites' shared ``Retry-After``: one row per site with the time before which nobody asks.

Jira's rate limits are per site, not per process. When one worker's request is
answered 429 (or 503) with a wait, its transport records the site's
``not_before`` here; every worker's transport reads it before each request and
waits it out too, so N workers do not turn one 429 into N × ``max_attempts``.
The row only ever moves later (a shorter wait never shortens a longer one).

The transport speaks POSIX seconds on its own (injectable) clock; the row keeps
an aware UTC time. Hosts' clocks must agree (NTP), as for the leases.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import update

from scopeguard.adapters.store.db import Database
from scopeguard.adapters.store.models import SiteHoldRow
from scopeguard.adapters.store.sql import insert_ignore
from scopeguard.domain.clock import Clock, utcnow


class SiteHolds:
    """The ``site_hold`` of :class:`scopeguard.adapters.jira.transport.JiraTransport`,
    kept in the database.

    ``database`` may be a callable, so the transport can be built before the
    database is first opened (and the schema checked).
    """

    def __init__(
        self, database: Database | Callable[[], Database], *, clock: Clock = utcnow
    ) -> None:
        self._database = database
        self._clock = clock

    @property
    def database(self) -> Database:
        return self._database if isinstance(self._database, Database) else self._database()

    def not_before(self, site: str) -> float | None:
        """The POSIX time before which no request may go to ``site`` (``None``: no row)."""
        with self.database.session() as session:
            row = session.get(SiteHoldRow, site)
            return None if row is None else row.not_before.timestamp()

    def hold(self, site: str, until: float, *, status: int, reason: str | None = None) -> None:
        """Nobody asks ``site`` before ``until`` (POSIX seconds), unless a later hold says
        longer."""
        moment = datetime.fromtimestamp(until, UTC)
        now = self._clock()
        values = {"not_before": moment, "status": status, "reason": (reason or "")[:255] or None}
        with self.database.session() as session:
            if insert_ignore(session, SiteHoldRow, {"site": site, "updated_at": now, **values}):
                return
            session.execute(
                update(SiteHoldRow)
                .where(SiteHoldRow.site == site, SiteHoldRow.not_before < moment)
                .values(updated_at=now, **values)
                .execution_options(synchronize_session=False)
            )
