"""Emailing an archived report to the client's ``contract.report.recipients``.

At most one process sends a given report: it first *claims* the record with
one conditional ``UPDATE`` (not yet emailed, no live claim), sends, then marks
it emailed. A process that dies mid-send leaves a claim that expires after
:data:`CLAIM`, after which the report can be sent again: a crash can at worst
repeat one email, a race between workers never does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from typing import Literal

from scopeguard.adapters.delivery.email import send_email
from scopeguard.adapters.delivery.errors import DeliveryError
from scopeguard.adapters.store.db import Database
from scopeguard.adapters.store.models import ReportRow
from scopeguard.adapters.store.report_archive import (
    claim_email,
    find_report,
    finish_email,
    read_report,
)
from scopeguard.config import ClientSettings, Settings
from scopeguard.domain.month import Month
from scopeguard.presentation.i18n import gettext_for
from scopeguard.presentation.report_formatting import Formatter

log = logging.getLogger(__name__)

CLAIM = timedelta(minutes=30)
"""How long a send may take before another process may try the same report."""
ATTEMPTS = 3
"""Tries per send on retryable errors (network, timeouts, SMTP 4xx)."""
BACKOFF_SECONDS = 10.0

EmailStatus = Literal["sent", "already_sent", "busy", "not_configured", "failed"]


@dataclass(frozen=True, slots=True)
class EmailOutcome:
    """What happened to one report's email."""

    status: EmailStatus
    error: str | None = None


def compose(
    settings: Settings, client: ClientSettings, row: ReportRow
) -> tuple[str, str, str, str]:
    """Subject, plain text, HTML and the attachment's file name, in the report's language."""
    _ = gettext_for(row.language)
    fmt = Formatter(row.language, settings.agency.zone, client.contract.currency)
    month = fmt.month_in_text(Month.parse(row.month))
    values = {"client": client.name, "month": month, "agency": settings.agency.name}
    subject = _("%(client)s: scope report for %(month)s") % values
    lines = [
        _("Attached is the scope report of %(client)s for %(month)s.") % values,
        _(
            "It shows the contracted and the actual scope, revision rounds beyond the "
            "allowance with their dates and authors, reopens and the overage estimate."
        ),
        "",
        _("%(agency)s, with ScopeGuard") % values,
    ]
    text = "\n".join(lines) + "\n"
    escaped = [escape(line, quote=False) for line in lines]
    html = (
        f'<html lang="{row.language}"><body>'
        + "".join(f"<p>{line}</p>" for line in escaped if line)
        + "</body></html>"
    )
    attachment = f"{client.key}-{row.month}.pdf"
    return subject, text, html, attachment


def email_report(
    database: Database,
    settings: Settings,
    client: ClientSettings,
    month: Month | str,
    *,
    now: datetime,
    force: bool = False,
    sleep: Callable[[float], None] | None = None,
) -> EmailOutcome:
    """Send the archived report of ``month`` to the client's recipients, once.

    ``force`` sends it again even if it was sent before (never while another
    process is sending it). Retryable failures are tried :data:`ATTEMPTS` times.
    """
    recipients = client.contract.report.recipients
    if settings.smtp is None or not recipients:
        return EmailOutcome("not_configured")
    with database.session() as session:
        row = find_report(session, client.key, month)
    if row is None:
        raise LookupError(f"no archived report of {client.key} for {month}")
    if row.emailed_at is not None and not force:
        return EmailOutcome("already_sent")
    if not claim_email(database, row.pk, now, force=force, claim=CLAIM):
        return EmailOutcome("busy" if row.emailed_at is None or force else "already_sent")
    error: str | None = None
    try:
        pdf = read_report(settings, row)
        subject, text, html, filename = compose(settings, client, row)
        for attempt in range(1, ATTEMPTS + 1):
            try:
                send_email(
                    settings.smtp,
                    list(recipients),
                    subject,
                    text,
                    html=html,
                    attachments=[(filename, pdf, "application/pdf")],
                )
                error = None
                break
            except DeliveryError as failure:
                error = str(failure)
                if failure.permanent or attempt == ATTEMPTS:
                    break
                log.warning("report email %s %s: %s; retrying", client.key, month, failure)
                if sleep is not None:
                    sleep(BACKOFF_SECONDS * attempt)
    except Exception as failure:
        error = f"{type(failure).__name__}: {failure}"
        raise
    finally:
        finish_email(database, row.pk, now, error)
    if error is not None:
        log.warning("report email %s %s failed: %s", client.key, month, error)
        return EmailOutcome("failed", error)
    return EmailOutcome("sent")
