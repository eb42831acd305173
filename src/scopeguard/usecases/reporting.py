"""Producing one client's monthly report from the stored data: facts in, PDF out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from scopeguard import __version__
from scopeguard.adapters.pdf.renderer import RenderedReport, render_pdf
from scopeguard.adapters.store.repository import reporters_by_key
from scopeguard.adapters.store.snapshot_store import sync_status
from scopeguard.adapters.store.worklogs import load_worklogs
from scopeguard.config import ClientSettings, Settings
from scopeguard.domain.month import Month
from scopeguard.domain.monthly_report import ClientInfo, ReportData, ReportError, build_report_data
from scopeguard.presentation.documents import risk_document
from scopeguard.presentation.i18n import normalize_language
from scopeguard.presentation.risk_view import risk_view
from scopeguard.usecases.ports import Application


@dataclass(frozen=True, slots=True)
class GeneratedReport:
    """A rendered report and the data it shows."""

    client_key: str
    month: Month
    language: str
    data: ReportData
    rendered: RenderedReport

    @property
    def pdf(self) -> bytes:
        """The PDF file."""
        return self.rendered.pdf

    @property
    def pages(self) -> int:
        """Its page count."""
        return self.rendered.pages

    @property
    def generated_at(self) -> datetime:
        """When it was made."""
        return self.data.generated_at

    @property
    def as_of(self) -> datetime:
        """The moment its figures describe."""
        return self.data.as_of

    @property
    def complete(self) -> bool:
        """The month was over: the figures are final for it."""
        return self.data.complete


def client_info(settings: Settings, client: ClientSettings) -> ClientInfo:
    """Who the report is about, with links to Jira and to the client's panel."""
    return ClientInfo(
        key=client.key,
        name=client.name,
        agency=settings.agency.name,
        notes=client.contract.report.notes,
        jira_url=settings.jira.base_url,
        panel_url=f"{settings.web.public_url.rstrip('/')}/clients/{client.key}",
    )


def load_report_data(
    services: Application, client: ClientSettings, month: Month, *, now: datetime
) -> ReportData:
    """The figures of ``month`` from the stored issues (no Jira request is made).

    Raises :class:`ReportError` when the client was never synced, and
    :class:`~scopeguard.domain.monthly_report.MonthOutsideDataError` for a month outside the data.
    """
    settings = services.settings
    with services.database.session() as session:
        sync = sync_status(session, client.key)
        if sync.last_success is None:
            raise ReportError(
                f"no Jira data for client {client.key!r} yet: run `scopeguard sync` first"
            )
        reporters = reporters_by_key(session, client.key)
        worklogs = load_worklogs(session, client.key) if settings.sync.worklogs else None
        rates = services.analysis.rates(session, client)
    context, facts = services.analysis.current_facts(client)
    return build_report_data(
        facts,
        context.contract,
        client_info(settings, client),
        month,
        zone=settings.agency.zone,
        now=now,
        reporters=reporters,
        sync=sync,
        version=__version__,
        worklogs=worklogs,
        rates=rates,
    )


def generate_report(
    services: Application,
    client: ClientSettings,
    month: Month,
    *,
    language: str | None = None,
    now: datetime | None = None,
    internal: bool = False,
) -> GeneratedReport:
    """Render the report of ``month`` for ``client`` (in its configured language by default).

    ``internal`` adds the client-risk pages, assessed as of the report's moment: that
    variant is for the agency only (never archived for the client, never sent to
    ``contract.report.recipients``).
    """
    moment = now if now is not None else services.clock()
    lang = normalize_language(language or client.contract.report.language)
    data = load_report_data(services, client, month, now=moment)
    risk = None
    if internal:
        assessed = services.risk.assessed_as_of(data.as_of).clients[client.key]
        document = risk_document(
            assessed, services.settings.agency.zone, services.settings.jira.browse_url
        )
        risk = risk_view(document, services.settings.agency.zone, lang)
    rendered = render_pdf(data, lang, max_rows=services.settings.reports.max_table_rows, risk=risk)
    return GeneratedReport(client.key, month, lang, data, rendered)
