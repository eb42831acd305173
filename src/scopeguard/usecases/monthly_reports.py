"""The monthly run: last month's report for every client, archived and emailed.

The scheduler (:mod:`scopeguard.entrypoints.worker`) calls :func:`run_monthly_reports`
once per month under its lease and its once-per-period guard, or, when workers
share the clients, :func:`run_one` once per client and month under that client's
lease. The function is
idempotent on its own as well, per client and month: a report that already
covers the whole month is kept (not regenerated, not re-sent); one made while
the month was still running is replaced; an archived report whose email was
not sent yet is sent. So a restart on the 1st, or a second worker, repeats
nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from scopeguard.adapters.store.report_archive import find_report, store_report
from scopeguard.config import ClientSettings
from scopeguard.domain.month import Month
from scopeguard.domain.monthly_report import MonthOutsideDataError, ReportError, check_month
from scopeguard.usecases.internal_report import send_internal_report
from scopeguard.usecases.ports import Application
from scopeguard.usecases.report_mail import email_report
from scopeguard.usecases.reporting import generate_report

log = logging.getLogger(__name__)

Status = Literal["generated", "kept", "skipped", "failed"]


@dataclass(frozen=True, slots=True)
class MonthlyReportResult:
    """What the monthly run did for one client."""

    client_key: str
    month: str
    status: Status
    """``generated`` (new or replaced), ``kept`` (already archived for the whole month),
    ``skipped`` (the month is outside the contract) or ``failed``."""
    email: str
    """The email's outcome: ``sent``, ``already_sent``, ``busy``, ``not_configured``,
    ``failed`` or ``none`` (no report to send)."""
    detail: str | None = None


def report_month(services: Application, now: datetime) -> Month:
    """The month the run on ``now`` reports: the previous month in the agency's zone."""
    return Month.of(now, services.settings.agency.zone).previous()


def run_client(
    services: Application, client: ClientSettings, month: Month, now: datetime
) -> MonthlyReportResult:
    """Generate, keep and email one client's report of ``month`` unless that was done."""
    settings = services.settings
    contract = client.contract.to_contract(settings.agency.zone)
    try:
        check_month(contract, settings.agency.zone, now, month)
    except MonthOutsideDataError as reason:
        return MonthlyReportResult(client.key, str(month), "skipped", "none", str(reason))
    with services.database.session() as session:
        existing = find_report(session, client.key, month)
        already_complete = existing is not None and existing.complete
    status: Status = "kept"
    if not already_complete:
        report = generate_report(services, client, month, now=now)
        stored = store_report(
            services.database,
            settings,
            report,
            trigger="scheduled",
            recipients=client.contract.report.recipients,
            only_if_incomplete=True,
        )
        # None: another worker stored the whole month a moment ago; theirs is kept.
        status = "generated" if stored is not None else "kept"
    outcome = email_report(
        services.database, settings, client, month, now=now, sleep=services.sleep
    )
    try:
        # The agency's own copy with the client risk (report.internal_recipients), apart.
        send_internal_report(services, client, month, now, holder="monthly")
    except Exception:
        log.exception("internal report of %s for %s failed", client.key, month)
    return MonthlyReportResult(client.key, str(month), status, outcome.status, outcome.error)


def run_one(
    services: Application, client: ClientSettings, month: Month, now: datetime
) -> MonthlyReportResult:
    """:func:`run_client`, its failure caught, logged and returned as the result."""
    try:
        result = run_client(services, client, month, now)
    except ReportError as error:
        result = MonthlyReportResult(client.key, str(month), "failed", "none", str(error))
    except Exception as error:  # one client's failure must not stop the others
        log.exception("monthly report of %s for %s failed", client.key, month)
        detail = f"{type(error).__name__}: {error}"
        result = MonthlyReportResult(client.key, str(month), "failed", "none", detail)
    log.info(
        "monthly report %s %s: %s (email: %s)%s",
        result.client_key,
        result.month,
        result.status,
        result.email,
        f": {result.detail}" if result.detail else "",
    )
    return result


def run_monthly_reports(services: Application, now: datetime) -> list[MonthlyReportResult]:
    """Last month's report for every client: generate, archive, email (see the module doc).

    One client's failure is logged and reported in its result; the others still run.
    """
    month = report_month(services, now)
    return [run_one(services, client, month, now) for client in services.settings.clients]
