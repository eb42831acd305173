"""The report as HTML (Jinja) and as PDF (WeasyPrint), charts embedded as SVG.

Fonts: DejaVu Sans (Latin and Cyrillic) from the ``matplotlib`` package, a
dependency the charts already need, so the PDF never depends on the fonts the
host happens to have. They are declared with ``@font-face`` under the family
name the charts' SVG text uses, so the charts' text is set in the same
embedded font. WeasyPrint embeds only the glyphs used (subsets).

Nothing is fetched while rendering: the URL fetcher serves the bundled fonts
and ``data:`` URIs and refuses everything else, so text that came from Jira
can never make the renderer reach out to the network or read a file.
"""

from __future__ import annotations

import base64
import csv
import importlib.util
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup
from weasyprint import CSS, HTML, Attachment
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from scopeguard.adapters import charts
from scopeguard.domain.health import Health
from scopeguard.domain.monthly_report import Comparison, ReportData
from scopeguard.presentation.report_formatting import DASH, Formatter
from scopeguard.presentation.risk_view import RiskView, trend_svg
from scopeguard.presentation.spreadsheet import safe_row, safe_rows

TEMPLATES = Path(__file__).parent / "templates"
FONT_FAMILY = "DejaVu Sans"
"""The family the report's CSS and the charts' SVG text both name."""
FONT_FILES = {
    ("normal", "normal"): "DejaVuSans.ttf",
    ("bold", "normal"): "DejaVuSans-Bold.ttf",
    ("normal", "italic"): "DejaVuSans-Oblique.ttf",
    ("bold", "italic"): "DejaVuSans-BoldOblique.ttf",
}
CHART_WIDTH_PX = 900
"""Charts are drawn this wide and scaled to the text width (vector, so no loss)."""


@dataclass(frozen=True, slots=True)
class RenderedReport:
    """A finished PDF and what went into it."""

    pdf: bytes
    pages: int
    html: str
    attachments: tuple[tuple[str, bytes], ...]
    """``(file name, CSV bytes)`` embedded in the PDF."""


@cache
def font_folder() -> Path:
    """Where the DejaVu TTF files are: inside the installed ``matplotlib`` package.

    Looked up once: every font the renderer fetches is checked against it.
    """
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("matplotlib is not installed: it provides the report's fonts")
    folder = Path(next(iter(spec.submodule_search_locations))) / "mpl-data" / "fonts" / "ttf"
    missing = [name for name in FONT_FILES.values() if not (folder / name).is_file()]
    if missing:
        raise RuntimeError(f"fonts missing in {folder}: {', '.join(missing)}")
    return folder


def font_faces() -> str:
    """``@font-face`` rules for the bundled fonts."""
    folder = font_folder()
    rules = []
    for (weight, style), name in FONT_FILES.items():
        rules.append(
            f'@font-face {{ font-family: "{FONT_FAMILY}"; font-weight: {weight}; '
            f'font-style: {style}; src: url("{(folder / name).as_uri()}"); }}'
        )
    return "\n".join(rules)


class _LocalOnlyFetcher(URLFetcher):  # type: ignore[misc]  # weasyprint is untyped
    """Serves the bundled fonts and ``data:`` URIs; refuses every other URL."""

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        allowed = {(font_folder() / name).as_uri() for name in FONT_FILES.values()}
        if url.startswith("data:") or url in allowed:
            return super().fetch(url, headers)
        raise ValueError(f"the report renderer fetches nothing from outside: {url}")


@cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,  # issue summaries are written by clients
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return environment


def _svg_uri(svg: bytes) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


def chart_images(data: ReportData, language: str) -> dict[str, str]:
    """The report's charts as SVG ``data:`` URIs: creep (headline unit) and revisions."""
    unit = data.summary.scope.unit
    creep = charts.creep_chart(
        data.figures, unit, language=language, fmt="svg", width_px=CHART_WIDTH_PX
    )
    revisions = charts.revisions_chart(
        data.summary, language=language, fmt="svg", width_px=CHART_WIDTH_PX
    )
    return {"creep": _svg_uri(creep), "revisions": _svg_uri(revisions)}


def attachment_names(data: ReportData) -> tuple[str, str, str]:
    """File names of the CSV files: scope added, rounds beyond the allowance, issues over it."""
    stem = f"{data.client.key}-{data.month}"
    return (
        f"{stem}-scope-added.csv",
        f"{stem}-revision-rounds-beyond-allowance.csv",
        f"{stem}-issues-over-allowance.csv",
    )


def csv_files(data: ReportData, fmt: Formatter) -> list[tuple[str, bytes]]:
    """The complete tables as CSV (the PDF shows at most ``max_table_rows`` of each)."""
    _ = fmt.gettext

    def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        # Client-written text (summaries, names) must not become a formula.
        writer.writerow(safe_row(header))
        writer.writerows(safe_rows(rows))
        # A byte order mark so spreadsheet programs read Cyrillic as UTF-8.
        return ("\ufeff" + buffer.getvalue()).encode("utf-8")

    def iso(moment: datetime) -> str:
        return moment.astimezone(data.zone).isoformat(timespec="seconds")

    added = table(
        [
            _("Issue"),
            _("Summary"),
            _("Type"),
            _("Added to scope"),
            _("Created"),
            _("Reported by"),
            _("Classification"),
            _("Story points"),
            _("Hours"),
        ],
        [
            [
                item.key,
                item.summary,
                item.issue_type,
                iso(item.entered_at),
                iso(item.created),
                item.reporter or "",
                _("Approved change") if item.approved else _("Scope creep"),
                "" if item.story_points is None else item.story_points,
                "" if item.hours is None else item.hours,
            ]
            for item in data.added
        ],
    )
    evidence = table(
        [
            _("Issue"),
            _("Summary"),
            _("Round"),
            _("When"),
            _("By"),
            _("From status"),
            _("To status"),
            _("Reopen"),
        ],
        [
            [
                row.key,
                row.summary,
                row.round.number,
                iso(row.round.at),
                row.round.author or "",
                row.round.from_status,
                row.round.to_status,
                _("yes") if row.round.is_reopen else _("no"),
            ]
            for row in data.evidence
        ],
    )
    over = table(
        [
            _("Issue"),
            _("Summary"),
            _("Revision rounds"),
            _("Beyond the allowance"),
            _("This month"),
            _("Reopens"),
        ],
        [
            [item.key, item.summary, item.revisions, item.beyond, item.in_month, item.reopens]
            for item in data.over_limit
        ],
    )
    return list(zip(attachment_names(data), (added, evidence, over), strict=True))


def _css_string(text: str) -> str:
    """``text`` as a CSS string literal; ``<`` escaped so it cannot close the style element."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
    return '"' + escaped.replace("<", "\\3c ") + '"'


def page_css(data: ReportData, fmt: Formatter) -> Markup:
    """The page margin boxes: running title, agency, version and translated page numbers."""
    _ = fmt.gettext
    parts = re.split(r"(%\(page\)s|%\(pages\)s)", _("Page %(page)s of %(pages)s"))
    counter = " ".join(
        "counter(page)"
        if part == "%(page)s"
        else "counter(pages)"
        if part == "%(pages)s"
        else _css_string(part)
        for part in parts
        if part
    )
    footer = _("Generated %(when)s by ScopeGuard %(version)s") % {
        "when": fmt.moment(data.generated_at),
        "version": data.version,
    }
    box = "font-size: 7pt; color: #52606d;"
    return Markup(
        "@page { "
        f'@top-left {{ content: string(client) " · " string(month); {box} }} '
        f"@top-right {{ content: {_css_string(data.client.agency)}; {box} }} "
        f"@bottom-left {{ content: {_css_string(footer)}; {box} }} "
        f"@bottom-right {{ content: {counter}; {box} }} "
        "} "
        "@page :first { @top-left { content: none; } @top-right { content: none; } }"
    )


@dataclass(frozen=True, slots=True)
class ComparisonRow:
    """One month-over-month line of the report, formatted."""

    label: str
    previous: str
    current: str
    change: str
    worse: bool
    """The figure moved the wrong way (more creep, more rounds, a worse health)."""


def comparison_rows(data: ReportData, fmt: Formatter) -> list[ComparisonRow]:
    """Month-over-month lines, formatted: label, previous, current, change, and if it got worse."""
    unit = data.headline.unit
    rows: list[ComparisonRow] = []

    def cell(item: Comparison, value: Any) -> str:
        if item.metric == "creep":
            return fmt.amount(unit, value)
        if item.metric == "creep_percent":
            return fmt.percent(value)
        if item.metric == "overage_amount":
            return fmt.money(value)
        if isinstance(value, Health):
            return fmt.health(value)
        return fmt.number(value)

    for item in data.comparison:
        delta = item.delta
        if isinstance(item.current, Health):
            change = DASH if item.previous == item.current else fmt.health(item.current)
            worse = item.previous != item.current
        elif item.metric == "creep_percent":
            change, worse = fmt.points(delta), (delta or 0) > 0
        elif item.metric == "overage_amount":
            change, worse = fmt.money(delta, signed=True), (delta or 0) > 0
        elif item.metric == "creep":
            change, worse = fmt.amount(unit, delta, signed=True), (delta or 0) > 0
        else:
            change, worse = fmt.signed(delta), (delta or 0) > 0
        label = fmt.comparison(item.metric)
        if item.metric == "creep":
            label = f"{label} ({fmt.unit(unit).lower()})"
        rows.append(
            ComparisonRow(
                label=label,
                previous=cell(item, item.previous),
                current=cell(item, item.current),
                change=change,
                worse=worse,
            )
        )
    return rows


def render_html(
    data: ReportData,
    language: str,
    *,
    max_rows: int = 30,
    images: dict[str, str] | None = None,
    risk: RiskView | None = None,
) -> str:
    """The report as an HTML document (what WeasyPrint lays out); with ``risk``, the
    internal variant with the client-risk pages."""
    fmt = Formatter(language, data.zone, data.contract.currency)
    environment = _environment().overlay()
    environment.install_gettext_callables(  # type: ignore[attr-defined]
        fmt.gettext, fmt.ngettext, newstyle=True
    )
    template = environment.get_template("report.html")
    return template.render(
        data=data,
        f=fmt,
        language=language,
        max_rows=max_rows,
        images=images if images is not None else chart_images(data, language),
        attachment_names=attachment_names(data),
        comparison=comparison_rows(data, fmt),
        page_css=page_css(data, fmt),
        stylesheet=Markup((TEMPLATES / "report.css").read_text(encoding="utf-8")),
        risk=risk,
        risk_trend=None if risk is None else Markup(_trend(risk, fmt)),  # numbers, escaped labels
    )


def _trend(risk: RiskView, fmt: Formatter) -> str:
    _ = fmt.gettext
    return trend_svg(
        risk.weekly,
        title=_("Risk trend"),
        client_label=_("Client side"),
        agency_label=_("Agency side"),
        width=520,
        height=160,
    )


def render_pdf(
    data: ReportData,
    language: str,
    *,
    max_rows: int = 30,
    images: dict[str, str] | None = None,
    risk: RiskView | None = None,
) -> RenderedReport:
    """Lay the report out on A4 pages and write the PDF (fonts embedded, CSV attached);
    ``risk`` makes it the internal variant (see :func:`render_html`).

    ``images`` are the charts (:func:`chart_images`), drawn here when not given.
    """
    fmt = Formatter(language, data.zone, data.contract.currency)
    files = csv_files(data, fmt)
    html = render_html(data, language, max_rows=max_rows, images=images, risk=risk)
    font_config = FontConfiguration()
    fetcher = _LocalOnlyFetcher()
    fonts = CSS(string=font_faces(), font_config=font_config, url_fetcher=fetcher)
    document = HTML(string=html, url_fetcher=fetcher, base_url=TEMPLATES.as_uri()).render(
        font_config=font_config, stylesheets=[fonts]
    )
    attachments = [
        Attachment(file_obj=io.BytesIO(content), name=name, url_fetcher=fetcher)
        for name, content in files
    ]
    pdf = document.write_pdf(attachments=attachments)
    assert pdf is not None  # write_pdf returns the bytes when given no target
    return RenderedReport(pdf=pdf, pages=len(document.pages), html=html, attachments=tuple(files))
