"""Every client's risk, assessed from the store, kept per client, and alerted on crossing.

The engine (:func:`~scopeguard.domain.risk.engine.assess_portfolio`) scores each
client against the others, so the whole portfolio is assessed at once: after the
syncs (:meth:`RiskService.refresh`, called by the sync job, ``scopeguard sync``
and the demo), and when a reader finds the stored assessment stale. Each client's
result is stored as its API document (:class:`~scopeguard.presentation.documents.RiskDocument`,
with the weekly series and the early warning), with the score and level beside it
for sorting, in one row per client; the panel's trend, the early warning, the
API and the CLI read that row and never recompute per request.

An assessment is stale when its fingerprint changed: the stored data (issue and
comment counts, the newest update, the histories), the people directory, the
risk-relevant configuration, or the hour (the current week's window ends now).

After each assessment the ``client_risk_high`` rule is evaluated for every running
contract: it fires once when the score crosses ``risk.alert_score`` and again only
after the score fell below it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from scopeguard.adapters.lexicons import shipped_lexicon
from scopeguard.adapters.morphology import morphology
from scopeguard.adapters.store.db import Database
from scopeguard.adapters.store.directory import load_directory
from scopeguard.adapters.store.repository import load_issues
from scopeguard.adapters.store.risk_store import RiskRow, data_stamp, load_risks, save_risks
from scopeguard.config import ClientSettings, Settings
from scopeguard.domain.clock import Clock, utcnow
from scopeguard.domain.risk.engine import ClientRecord, PortfolioRisk, assess_portfolio
from scopeguard.domain.risk.lexicon import PhraseMatcher
from scopeguard.presentation.documents import RiskDocument, risk_document
from scopeguard.usecases.alert_engine import AlertEngine, FiredAlert
from scopeguard.usecases.collector import fewer_collections
from scopeguard.usecases.snapshots import ScopeAnalysis

log = logging.getLogger(__name__)

RISK_SCHEMA_VERSION = 1
"""Bumped when the stored document's shape changes: every row is then recomputed."""


@dataclass(frozen=True, slots=True)
class StoredRisk:
    """One client's stored assessment."""

    client_key: str
    computed_at: datetime
    score: int | None
    level: str | None
    verdict: str
    document: RiskDocument


class RiskService:
    """Assesses, stores and serves every client's risk."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        analysis: ScopeAnalysis,
        alerts: AlertEngine,
        *,
        clock: Clock = utcnow,
    ) -> None:
        self.settings = settings
        self.database = database
        self.analysis = analysis
        self.alerts = alerts
        self.clock = clock
        self._matcher: PhraseMatcher | None = None
        self._lock = threading.Lock()
        self._as_of: tuple[tuple[datetime, str], PortfolioRisk] | None = None

    @property
    def matcher(self) -> PhraseMatcher:
        """The lexicons with the configured additions, in any word form (built once)."""
        if self._matcher is None:
            lexicon = shipped_lexicon().extended(self.settings.risk.lexicon.additions())
            self._matcher = PhraseMatcher(lexicon, morphology())
        return self._matcher

    # -- assessing ------------------------------------------------------------------

    def fingerprint(self, now: datetime) -> str:
        """What an assessment at ``now`` rests on (see the module docstring)."""
        keys = [client.key for client in self.settings.clients]
        with self.database.session() as session:
            stamp = data_stamp(session, keys)
        hour = now.astimezone(self.settings.agency.zone).strftime("%Y-%m-%dT%H")
        basis = json.dumps(
            [
                RISK_SCHEMA_VERSION,
                hour,
                stamp,
                self.settings.risk.model_dump(mode="json"),
                self.settings.agency.model_dump(mode="json"),
                self.settings.workflow.model_dump(mode="json"),
                [
                    c.model_dump(mode="json", exclude={"alerts", "name", "report"})
                    for c in self.settings.clients
                ],
            ],
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(basis.encode()).hexdigest()

    def assess(self, now: datetime) -> PortfolioRisk:
        """Every configured client's risk as of ``now``, from the store (nothing stored)."""
        with self.database.session() as session:
            directory = load_directory(session)
        records: list[ClientRecord] = []
        for client in self.settings.clients:
            context, facts = self.analysis.current_facts(client)
            by_key = {item.key: item for item in facts}
            with self.database.session() as session:
                issues = [i for i in load_issues(session, client.key) if i.removed_at is None]
            ordered = [by_key.get(issue.key) for issue in issues]
            records.append(
                ClientRecord(
                    client.key,
                    context,
                    issues,
                    self.settings.client_people(client, directory),
                    None if any(item is None for item in ordered) else [f for f in ordered if f],
                )
            )
        # Like a sync, the engine allocates hundreds of thousands of small, short-lived
        # objects: the collector's default thresholds made it a third of the CPU.
        with fewer_collections():
            return assess_portfolio(records, self.settings.risk_policy(), self.matcher, now)

    def assessed_as_of(self, moment: datetime) -> PortfolioRisk:
        """:meth:`assess` at ``moment``, kept while nothing it rests on changes: the
        monthly run's internal reports, one per client, share one assessment."""
        key = (moment, self.fingerprint(moment))
        with self._lock:
            if self._as_of is None or self._as_of[0] != key:
                self._as_of = (key, self.assess(moment))
            return self._as_of[1]

    def refresh(self, *, force: bool = False) -> dict[str, StoredRisk]:
        """Assess every client now unless the stored assessment is current; store it and
        evaluate ``client_risk_high``. Returns the stored assessments by client."""
        with self._lock:
            now = self.clock()
            fingerprint = self.fingerprint(now)
            if not force:
                with self.database.session() as session:
                    stored = {row.client_key: row for row in load_risks(session)}
                wanted = {client.key for client in self.settings.clients}
                if wanted <= set(stored) and all(
                    stored[key].fingerprint == fingerprint for key in wanted
                ):
                    return self._load()
            portfolio = self.assess(now)
            zone, browse = self.settings.agency.zone, self.settings.jira.browse_url
            rows = []
            for client in self.settings.clients:
                risk = portfolio.clients[client.key]
                rows.append(
                    RiskRow(
                        client_key=client.key,
                        fingerprint=fingerprint,
                        computed_at=now,
                        score=risk.score,
                        level=None if risk.level is None else risk.level.value,
                        verdict=risk.verdict.value,
                        document=dict(risk_document(risk, zone, browse)),
                    )
                )
            with self.database.session() as session:
                save_risks(session, rows)
            for client in self.settings.clients:
                self._alert(client, portfolio.clients[client.key].score)
            return self._load()

    def _alert(self, client: ClientSettings, score: int | None) -> list[FiredAlert]:
        try:
            return self.alerts.evaluate_risk(client, score, self.settings.risk.alert_score)
        except Exception:
            # The assessment is stored; alert states are compared, not counted, so the
            # next assessment sends what this one could not.
            log.exception("evaluating client_risk_high for %s failed", client.key)
            return []

    # -- reading --------------------------------------------------------------------

    def _load(self) -> dict[str, StoredRisk]:
        keys = {client.key for client in self.settings.clients}
        with self.database.session() as session:
            rows = load_risks(session)
        return {
            row.client_key: StoredRisk(
                row.client_key,
                row.computed_at,
                row.score,
                row.level,
                row.verdict,
                cast(RiskDocument, row.document),
            )
            for row in rows
            if row.client_key in keys
        }

    def current(self) -> dict[str, StoredRisk]:
        """Every client's stored assessment, assessed first only when a client has none.

        The syncs keep the assessments current (:func:`~scopeguard.usecases.jobs.assess_risk`
        after every round of syncs, on every worker), so a page or an API call never
        pays for assessing the whole portfolio because an hour has turned.
        """
        stored = self._load()
        if {client.key for client in self.settings.clients} <= set(stored):
            return stored
        return self.refresh()

    def stored(self) -> dict[str, StoredRisk]:
        """What is stored, however old (``{}`` before the first assessment)."""
        return self._load()

    def scores(self) -> Mapping[str, int | None]:
        """Each client's current score (``None``: not enough data)."""
        return {key: risk.score for key, risk in self.current().items()}


def ranking(risks: Mapping[str, StoredRisk]) -> Sequence[str]:
    """Client keys riskiest first; those without a score last, by key."""
    scored = sorted(
        (r for r in risks.values() if r.score is not None),
        key=lambda r: (-(r.score or 0), r.client_key),
    )
    rest = sorted(k for k, r in risks.items() if r.score is None)
    return [*(r.client_key for r in scored), *rest]
