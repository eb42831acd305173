"""Evaluating the alert rules after each sync, beside the metrics refresh."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from scopeguard.config import ClientSettings
from scopeguard.domain.model import Issue
from scopeguard.usecases.alerts import AlertService
from scopeguard.usecases.collector import fewer_collections
from scopeguard.usecases.snapshots import ScopeAnalysis
from scopeguard.usecases.sync import SyncReport

log = logging.getLogger(__name__)


class AlertingListener:
    """A sync listener: the analysis keeps the metrics current, then the rules run.

    Rules read the snapshot the analysis has just stored, so an alert always
    agrees with what the API and the panel show.
    """

    def __init__(self, analysis: ScopeAnalysis, alerts: AlertService) -> None:
        self.analysis = analysis
        self.alerts = alerts

    def issues_stored(self, client: ClientSettings, stored: Sequence[tuple[int, Issue]]) -> None:
        """Pass the batch on to the analysis (facts cache)."""
        self.analysis.issues_stored(client, stored)

    def sync_finished(self, client: ClientSettings, report: SyncReport) -> None:
        """Refresh the client's snapshot, then evaluate the alert rules on it."""
        self.analysis.sync_finished(client, report)
        try:
            # The figures the rules read are decoded from the snapshot's documents, an
            # object per issue while the process still holds every issue's facts; at
            # the default thresholds the collector walked them all several times over
            # (the refresh above raises the thresholds for itself).
            with fewer_collections():
                figures = self.analysis.snapshot(client).figures
                self.alerts.evaluate(client, figures.summary, figures.effort)
        except Exception:
            # The sync itself succeeded; alert states are compared, not counted, so
            # the next sync's evaluation sends whatever this one could not.
            log.exception("evaluating alert rules for %s failed", client.key)
