"""The internal monthly report: the client's report plus its client-risk pages, for the agency.

Sent by the monthly run to ``contract.report.internal_recipients`` (once per
client and month: a job-run claim; a failed send is tried again by the hourly
follow-up), never archived beside the client's report
and never sent to ``contract.report.recipients``: risk wording must not reach
the client.
"""

from __future__ import annotations

import logging
from datetime import datetime

from scopeguard.adapters.delivery.email import send_email
from scopeguard.adapters.store.job_runs import forget_failed_run, run_once
from scopeguard.config import ClientSettings
from scopeguard.domain.month import Month
from scopeguard.presentation.i18n import gettext_for
from scopeguard.presentation.report_formatting import Formatter
from scopeguard.usecases.ports import Application
from scopeguard.usecases.reporting import generate_report

log = logging.getLogger(__name__)

JOB = "internal_report"


def send_internal_report(
    services: Application, client: ClientSettings, month: Month, now: datetime, *, holder: str
) -> bool:
    """Email the internal report of ``month`` to the client's internal recipients, once.

    ``True`` if it was sent now; ``False`` when nobody is configured or it was sent before.
    """
    settings = services.settings
    recipients = client.contract.report.internal_recipients
    if settings.smtp is None or not recipients:
        return False

    def send() -> None:
        report = generate_report(services, client, month, now=now, internal=True)
        _ = gettext_for(report.language)
        fmt = Formatter(report.language, settings.agency.zone, client.contract.currency)
        values = {"client": client.name, "month": fmt.month_in_text(month)}
        subject = _("%(client)s: internal report with client risk for %(month)s") % values
        text = _("Internal: not for the client.") + "\n"
        assert settings.smtp is not None
        send_email(
            settings.smtp,
            list(recipients),
            subject,
            text,
            attachments=[(f"{client.key}-{month}-internal.pdf", report.pdf, "application/pdf")],
        )

    period = f"{client.key}:{month}"
    # Sent at most once, and tried again (by the monthly run's hourly follow-up) while it
    # fails: a mail server down at 08:00 on the 1st must not lose the agency's copy.
    if forget_failed_run(services.database, JOB, period):
        log.info("internal report %s %s: trying again after a failure", client.key, month)
    sent = run_once(services.database, JOB, period, send, holder=holder, clock=services.clock)
    if sent:
        log.info("internal report %s %s sent to %d recipients", client.key, month, len(recipients))
    return sent
