"""Health against the contract's limits: the one definition the badge and the alerts share.

:func:`assess_health` checks every limit the contract sets and grades each:
ok, warning (from 80 % of the limit) or breach. The summary's health badge is
the worst grade; the alert rules (:mod:`scopeguard.domain.alert_rules`) fire
when a check becomes a breach. Because both read the same checks, the panel
and the alerts cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scopeguard.domain.contract import Contract
    from scopeguard.domain.metrics import ReopenFigures, RevisionFigures, ScopeFigures


class Health(StrEnum):
    """Overall state of a client project against its contract."""

    OK = "ok"
    WARNING = "warning"
    BREACH = "breach"


class Limit(StrEnum):
    """The limits a contract can set."""

    ISSUE_REVISIONS = "issue_revisions"
    """Revision rounds of one issue against ``revisions_per_issue``."""
    REVISIONS_TOTAL = "revisions_total"
    REOPENS = "reopens"
    CREEP_PERCENT = "creep_percent"
    """The headline unit's creep percent (as shown, one decimal) against
    ``creep_alert_percent``; reaching it is a breach."""


HEALTH_ORDER: dict[Health, int] = {Health.OK: 0, Health.WARNING: 1, Health.BREACH: 2}
"""Severity of each level, for sorting (worst last)."""


@dataclass(frozen=True, slots=True)
class HealthFinding:
    """One limit checked: the figure, the limit and the grade."""

    metric: Limit
    level: Health
    value: float
    limit: float
    issue_key: str | None = None
    """The issue of a per-issue limit, else ``None``."""


@dataclass(frozen=True, slots=True)
class HealthReport:
    """Every limit checked, and the worst grade among them."""

    level: Health
    checks: tuple[HealthFinding, ...]
    """Every limit the contract sets, per issue for issues with revision rounds."""

    @property
    def findings(self) -> tuple[HealthFinding, ...]:
        """The checks in warning or breach."""
        return tuple(check for check in self.checks if check.level is not Health.OK)


def grade(value: float, limit: float, *, breach_at_limit: bool = False) -> Health:
    """One figure against its limit.

    Breach above the limit (or at it, with ``breach_at_limit``); warning from
    80 % of the limit; ok otherwise, and always ok for a figure of zero.
    """
    if value <= 0:
        # Nothing used is never a warning, even against a limit of zero.
        return Health.OK
    if value > limit or (breach_at_limit and value >= limit):
        return Health.BREACH
    # Warning from 80 % of the limit: value >= 0.8 × limit, written without the
    # float product (0.8 × 3 = 2.4000000000000004).
    if value * 5 >= limit * 4:
        return Health.WARNING
    return Health.OK


def assess_health(
    scope: ScopeFigures,
    revisions: RevisionFigures,
    reopens: ReopenFigures,
    contract: Contract,
) -> HealthReport:
    """Every limit of ``contract`` checked against the figures.

    Breach: an issue has more revisions than its allowance, total revisions
    exceed ``revisions_total``, reopens exceed ``reopen_limit``, or the headline
    creep percent (as displayed, one decimal) reaches ``creep_alert_percent``.
    Warning: any of these figures is above zero and at 80 % or more of its limit
    (so an issue exactly at its allowance is a warning). Limits not set are not
    checked.
    """
    checks: list[HealthFinding] = [
        HealthFinding(
            Limit.ISSUE_REVISIONS,
            grade(count, contract.revisions_per_issue),
            count,
            contract.revisions_per_issue,
            key,
        )
        for key, count in revisions.by_issue.items()
    ]
    if contract.revisions_total is not None:
        limit = contract.revisions_total
        checks.append(
            HealthFinding(
                Limit.REVISIONS_TOTAL, grade(revisions.total, limit), revisions.total, limit
            )
        )
    if contract.reopen_limit is not None:
        limit = contract.reopen_limit
        checks.append(
            HealthFinding(Limit.REOPENS, grade(reopens.total, limit), reopens.total, limit)
        )
    if scope.creep_percent is not None:
        limit_percent = contract.creep_alert_percent
        level = grade(scope.creep_percent, limit_percent, breach_at_limit=True)
        checks.append(HealthFinding(Limit.CREEP_PERCENT, level, scope.creep_percent, limit_percent))
    worst = max((check.level for check in checks), key=HEALTH_ORDER.__getitem__, default=Health.OK)
    return HealthReport(worst, tuple(checks))
