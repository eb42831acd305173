"""Monthly PDF reports of the sample agency, read back as a person (or a client) would.

Reports are rendered for the toxic and the healthy client in English and in
Russian, then read back with poppler's ``pdftotext`` and with pypdf. Every
figure is compared with what the JSON API serves: last month's figures with
the API's daily series on the month's last day and its evidence trails; a
report of the month in progress with the API's summary. The fonts embedded in
the PDF are checked to cover every character on the pages (no missing-glyph
boxes). Page 1 of each language is kept as a PNG in the test artefacts.
"""

from __future__ import annotations

import io
import re
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fontTools.ttLib import TTFont
from pypdf import PdfReader
from pypdf.generic import DictionaryObject
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

from scopeguard.adapters.pdf.renderer import FONT_FILES, font_faces, font_folder
from scopeguard.config import parse_settings
from scopeguard.domain.month import Month
from scopeguard.entrypoints.cli import cli
from scopeguard.entrypoints.web import create_app
from scopeguard.presentation.i18n import gettext_for
from scopeguard.presentation.report_formatting import Formatter
from scopeguard.usecases.reporting import GeneratedReport, generate_report
from tests.support import clock
from tests.support.agency import Agency
from tests.support.people import add_people, sign_in
from tests.support.services import pinned_services

CASES = [("TOX", "en"), ("TOX", "ru"), ("HLT", "en"), ("HLT", "ru")]


@dataclass
class Rendered:
    """One report: the generated object, its file and its text as pdftotext reads it."""

    report: GeneratedReport
    path: Path
    text: str


def pdftotext(path: Path) -> str:
    """The PDF's text laid out as on the page, non-breaking spaces as plain spaces."""
    result = subprocess.run(
        ["pdftotext", "-layout", "-enc", "UTF-8", str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return spaces(result.stdout)


def spaces(text: str) -> str:
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def last_month(agency: Agency) -> Month:
    return Month.of(clock.now(), agency.settings.agency.zone).previous()


@pytest.fixture(scope="module")
def rendered(agency: Agency, tmp_path_factory: pytest.TempPathFactory) -> dict[Any, Rendered]:
    """Last month's report of each case, plus the toxic client's month in progress."""
    folder = tmp_path_factory.mktemp("reports")
    now = clock.now()
    month = last_month(agency)
    out: dict[Any, Rendered] = {}
    jobs: list[tuple[Any, str, str, Month]] = [
        ((key, language), key, language, month) for key, language in CASES
    ]
    jobs.append((("TOX", "en", "current"), "TOX", "en", month.next()))
    for case, key, language, wanted in jobs:
        client = agency.settings.client(key)
        report = generate_report(agency.services, client, wanted, language=language, now=now)
        path = folder / f"{key}-{wanted}-{language}.pdf"
        path.write_bytes(report.pdf)
        out[case] = Rendered(report, path, pdftotext(path))
    return out


def api(agency: Agency) -> Any:
    return create_app(services=agency.services).test_client()


def section(text: str, start: str, end: str) -> str:
    """The text from heading ``start`` to heading ``end``."""
    begin = text.index(start)
    return text[begin : text.index(end, begin)]


def table_rows(block: str, labels: list[str]) -> dict[str, list[str]]:
    """Cells of the rows starting with each label (columns are 2+ spaces apart)."""
    rows: dict[str, list[str]] = {}
    for line in block.splitlines():
        stripped = line.strip()
        for label in labels:
            if stripped.startswith(label + "  ") and label not in rows:
                rows[label] = re.split(r"\s{2,}", stripped[len(label) :].strip())
    missing = set(labels) - set(rows)
    assert not missing, f"rows not found: {missing}\n{block}"
    return rows


def day_point(series: dict[str, Any], day: str) -> dict[str, Any]:
    return next(point for point in series["days"] if point["date"] == day)


# --- what the reports say ----------------------------------------------------------


@pytest.mark.parametrize(("key", "language"), CASES)
def test_figures_match_the_api_at_the_end_of_the_month(
    agency: Agency, rendered: dict[Any, Rendered], key: str, language: str
) -> None:
    page = rendered[(key, language)].text
    month = last_month(agency)
    client = api(agency)
    summary = client.get(f"/api/v1/clients/{key}/summary").get_json()
    series = client.get(f"/api/v1/clients/{key}/timeseries").get_json()
    end = day_point(series, month.last_day.isoformat())
    before = day_point(series, month.previous().last_day.isoformat())
    unit = summary["scope"]["unit"]
    fmt = Formatter(language, agency.settings.agency.zone, summary["overage"]["currency"])
    _ = gettext_for(language)

    assert summary["name"] in page
    assert fmt.month(month) in page

    # Contracted and actual scope, one row per unit, as the API's series has it.
    block = section(page, _("Contracted and actual scope"), _("Trends since the contract started"))
    rows = table_rows(block, [fmt.unit(u) for u in series["units"]])
    for name in series["units"]:
        figures = end["units"][name]
        contracted = summary["scope"]["by_unit"][name]["contracted"]
        cells = rows[fmt.unit(name)]
        assert cells[:7] == [
            spaces(fmt.amount(name, contracted)),
            spaces(fmt.amount(name, figures["baseline"])),
            spaces(fmt.amount(name, figures["approved"])),
            spaces(fmt.amount(name, figures["creep"])),
            spaces(fmt.amount(name, figures["baseline"] + figures["approved"] + figures["creep"])),
            spaces(fmt.percent(figures["creep_percent"])),
            spaces(fmt.amount(name, figures["creep"] - before["units"][name]["creep"], signed=True))
            + " ("
            + spaces(fmt.points(figures["creep_percent"] - before["units"][name]["creep_percent"]))
            + ")",
        ], name

    # Month over month: the API's state at the end of each month.
    block = section(page, _("Month over month"), _("Notes"))
    labels = {
        "creep": f"{fmt.comparison('creep')} ({fmt.unit(unit).lower()})",
        "percent": fmt.comparison("creep_percent"),
        "revisions": fmt.comparison("revisions"),
        "reopens": fmt.comparison("reopens"),
    }
    rows = table_rows(block, list(labels.values()))
    assert rows[labels["creep"]][:2] == [
        spaces(fmt.amount(unit, before["units"][unit]["creep"])),
        spaces(fmt.amount(unit, end["units"][unit]["creep"])),
    ]
    assert rows[labels["percent"]][:2] == [
        spaces(fmt.percent(before["units"][unit]["creep_percent"])),
        spaces(fmt.percent(end["units"][unit]["creep_percent"])),
    ]
    assert rows[labels["revisions"]] == [
        str(before["revisions"]),
        str(end["revisions"]),
        spaces(fmt.signed(end["revisions"] - before["revisions"])),
    ]
    assert rows[labels["reopens"]][:2] == [str(before["reopens"]), str(end["reopens"])]


@pytest.mark.parametrize(("key", "language"), CASES)
def test_over_limit_issues_are_those_of_the_api_evidence_trails(
    agency: Agency, rendered: dict[Any, Rendered], key: str, language: str
) -> None:
    page = rendered[(key, language)].text
    month_end = last_month(agency).end(agency.settings.agency.zone)
    client = api(agency)
    summary = client.get(f"/api/v1/clients/{key}/summary").get_json()
    allowance = summary["revisions"]["per_issue_limit"]
    over: list[str] = []
    within: list[str] = []
    for issue in summary["revisions"]["by_issue"]:
        trail = client.get(f"/api/v1/clients/{key}/issues/{issue}").get_json()
        rounds = [r for r in trail["revisions"] if datetime.fromisoformat(r["at"]) <= month_end]
        (over if len(rounds) > allowance else within).append(issue)
    _ = gettext_for(language)
    block = section(page, _("Issues past their allowance (to date)"), _("Month over month"))
    listed = re.findall(rf"^\s*({key}-\d+)\s", block, re.MULTILINE)
    assert sorted(listed) == sorted(over) and len(listed) == len(set(listed))
    for issue in within:
        assert issue not in listed
    if key == "TOX":
        assert len(over) >= 5  # the toxic client is well past its limits
    else:
        assert over == []
        assert _("No issue has more revision rounds than the contract includes.") in block


def test_the_month_in_progress_matches_the_api_summary(
    agency: Agency, rendered: dict[Any, Rendered]
) -> None:
    current = rendered[("TOX", "en", "current")]
    summary = api(agency).get("/api/v1/clients/TOX/summary").get_json()
    assert current.report.data.complete is False
    fmt = Formatter("en", agency.settings.agency.zone, summary["overage"]["currency"])
    unit = summary["scope"]["unit"]
    block = section(current.text, "Month over month", "Notes")
    expected = {
        f"Scope creep ({fmt.unit(unit).lower()})": fmt.amount(unit, summary["scope"]["creep"]),
        "Scope creep, percent of contract": fmt.percent(summary["scope"]["creep_percent"]),
        "Revision rounds": fmt.number(summary["revisions"]["total"]),
        "Issues past their allowance": fmt.number(len(summary["revisions"]["over_limit"])),
        "Reopens": fmt.number(summary["reopens"]["total"]),
        "Billable revision rounds": fmt.number(summary["overage"]["rounds"]),
        "Overage hours": fmt.number(summary["overage"]["hours"]),
        "Overage estimate": fmt.money(summary["overage"]["amount"]),
        "Health": fmt.health(summary["health"]),
    }
    rows = table_rows(block, list(expected))
    assert {label: cells[1] for label, cells in rows.items()} == expected
    assert "month in progress" in current.text


def test_russian_reports_are_in_russian(rendered: dict[Any, Rendered]) -> None:
    russian = rendered[("TOX", "ru")].text
    for label in (
        "ЕЖЕМЕСЯЧНЫЙ ОТЧЁТ ПО ОБЪЁМУ РАБОТ",  # the eyebrow, uppercased by the CSS
        "Ключевые показатели",
        "Объём по договору и фактический",
        "Раунды правок сверх лимита за ",
        "Сравнение с прошлым месяцем",
        "Примечания",
        "Страница 1 из",
    ):
        assert label in russian, label
    for english in ("Key figures", "Month over month", "Revision rounds beyond", "Page 1 of"):
        assert english not in russian
    assert "Key figures" in rendered[("TOX", "en")].text


def embedded_fonts(reader: PdfReader) -> list[DictionaryObject]:
    """Every font dictionary used on the pages and inside their form XObjects (the charts)."""
    seen: dict[int, DictionaryObject] = {}

    def walk(resources: Any) -> None:
        resources = resources.get_object() if resources is not None else None
        if not resources:
            return
        for ref in (resources.get("/Font") or {}).values():
            font = ref.get_object()
            seen[id(font)] = font
        for ref in (resources.get("/XObject") or {}).values():
            xobject = ref.get_object()
            if xobject.get("/Subtype") == "/Form":
                walk(xobject.get("/Resources"))

    for page in reader.pages:
        walk(page.get("/Resources"))
    return list(seen.values())


def to_unicode(font: DictionaryObject) -> dict[int, str]:
    """The font's glyph-id → text mapping (its ToUnicode CMap)."""
    cmap = font["/ToUnicode"].get_object().get_data().decode("latin-1")
    mapping: dict[int, str] = {}

    def text(hexes: str) -> str:
        return bytes.fromhex(hexes).decode("utf-16-be")

    for block in re.findall(r"beginbfchar(.*?)endbfchar", cmap, re.S):
        for glyph, value in re.findall(r"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", block):
            mapping[int(glyph, 16)] = text(value)
    for block in re.findall(r"beginbfrange(.*?)endbfrange", cmap, re.S):
        for low, high, start in re.findall(
            r"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", block
        ):
            first = ord(text(start))
            for offset, glyph in enumerate(range(int(low, 16), int(high, 16) + 1)):
                mapping[glyph] = chr(first + offset)
    return mapping


def shipped_font(base_font: str) -> TTFont:
    """The bundled TTF a PDF font was subset from (``ABCDEF+DejaVu-Sans-Bold``)."""
    # WeasyPrint names a subset after the face it was asked for: "DejaVu-Sans",
    # "DejaVu-Sans-Bold", "DejaVu-Sans-Italic" (DejaVu's own word is "Oblique").
    name = base_font.split("+", 1)[-1]
    assert name.startswith("DejaVu-Sans"), f"not one of the bundled fonts: {base_font}"
    parts = set(name.removeprefix("DejaVu-Sans").lower().split("-")) - {""}
    assert parts <= {"bold", "italic", "oblique", "bolditalic", "boldoblique"}, base_font
    bold = bool(parts & {"bold", "bolditalic", "boldoblique"})
    slanted = bool(parts & {"italic", "oblique", "bolditalic", "boldoblique"})
    file = FONT_FILES[("bold" if bold else "normal", "italic" if slanted else "normal")]
    return TTFont(font_folder() / file)


def glyph_problems(pdf: bytes) -> tuple[list[str], set[str]]:
    """Characters drawn without their glyph, and every character the fonts draw.

    Each embedded font must be one of the bundled files, embedded, and every
    glyph it draws must be the one the font's own character map gives for the
    character it stands for: a character the font lacks is drawn with
    ``.notdef`` (glyph 0) or a glyph number past the font's end, the box a
    reader sees instead of a letter.
    """
    reader = PdfReader(io.BytesIO(pdf))
    problems: list[str] = []
    drawn: set[str] = set()
    for font in embedded_fonts(reader):
        base = str(font["/BaseFont"])
        descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
        if "/FontFile2" not in descriptor:
            problems.append(f"{base} is not embedded")
        original = shipped_font(base)
        cmap = original.getBestCmap()
        glyphs = original["maxp"].numGlyphs
        for glyph, text in to_unicode(font).items():
            # A glyph may stand for several characters (the "fi" ligature) or be an
            # alternate form of one (shaping): each must be a real glyph of the font,
            # and each character one the font has.
            if glyph == 0 or glyph >= glyphs:
                problems.append(f"{base}: {text!r} drawn as glyph {glyph} (no such glyph)")
            for char in text:
                drawn.add(char)
                if ord(char) not in cmap:
                    problems.append(f"{base}: {char!r} (U+{ord(char):04X}) is not in the font")
    return problems, drawn


@pytest.mark.parametrize("language", ["en", "ru"])
def test_embedded_fonts_cover_every_character(rendered: dict[Any, Rendered], language: str) -> None:
    document = rendered[("TOX", language)]
    problems, drawn = glyph_problems(document.report.pdf)
    assert not problems
    # Everything a reader sees on the pages is drawn by the embedded fonts.
    text = "".join(page.extract_text() for page in PdfReader(document.path).pages)
    visible = {char for char in text + document.text if not char.isspace()}
    assert "\ufffd" not in visible
    assert visible <= drawn, f"characters not drawn by an embedded font: {visible - drawn}"
    if language == "ru":
        assert set("ЁЖЩЪЭЮЯжщъэюя") & visible  # Cyrillic is really there


def test_the_glyph_check_sees_missing_glyph_boxes() -> None:
    # DejaVu has no CJK: rendered with the report's fonts, 漢 becomes a box.
    fonts = FontConfiguration()
    pdf = HTML(string="<p style=\"font-family: 'DejaVu Sans'\">Отчёт 漢</p>").write_pdf(
        stylesheets=[CSS(string=font_faces(), font_config=fonts)], font_config=fonts
    )
    problems, drawn = glyph_problems(pdf)
    assert "т" in drawn
    assert any("U+6F22" in problem for problem in problems), problems
    assert all("漢" in problem for problem in problems), problems


def test_the_pdf_is_a4_with_metadata_and_the_complete_lists_attached(
    rendered: dict[Any, Rendered],
) -> None:
    document = rendered[("TOX", "ru")]
    reader = PdfReader(document.path)
    assert 2 <= len(reader.pages) <= 8
    box = reader.pages[0].mediabox
    assert (round(float(box.width) * 25.4 / 72), round(float(box.height) * 25.4 / 72)) == (
        210,
        297,
    )
    metadata = reader.metadata
    assert metadata is not None
    assert metadata.title is not None and "Toxic Retail Co" in metadata.title
    assert str(metadata.get("/Creator", "")).startswith("ScopeGuard ")
    attached = dict(reader.attachments)
    assert len(attached) == 3
    name = next(n for n in attached if n.endswith("-issues-over-allowance.csv"))
    table = attached[name][0].decode("utf-8-sig").splitlines()
    assert table[0].startswith("Задача,")
    over = document.report.data.summary.revisions.over_limit
    assert sorted(line.split(",", 1)[0] for line in table[1:]) == sorted(over)


def test_page_one_pictures_are_kept(
    rendered: dict[Any, Rendered], artifacts_dir: Path, tmp_path: Path
) -> None:
    for language in ("en", "ru"):
        document = rendered[("TOX", language)]
        stem = tmp_path / f"page-{language}"
        subprocess.run(
            [
                *("pdftoppm", "-png", "-r", "110", "-f", "1", "-l", "1", "-singlefile"),
                str(document.path),
                str(stem),
            ],
            check=True,
            timeout=60,
        )
        picture = stem.with_suffix(".png")
        assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert picture.stat().st_size > 30_000  # a page with content, not a blank one
        (artifacts_dir / f"report-TOX-page1-{language}.png").write_bytes(picture.read_bytes())


# --- the command line and the web download -----------------------------------------------


def run_cli(agency: Agency, *args: str, now: Callable[[], datetime] | None = None) -> Any:
    return CliRunner().invoke(
        cli, ["--config", str(agency.config_file), "report", *args], obj={"clock": now or clock.now}
    )


def test_cli_writes_stores_and_the_web_serves_the_report(agency: Agency, tmp_path: Path) -> None:
    month = str(last_month(agency))
    out = tmp_path / "hlt.pdf"
    result = run_cli(agency, "--client", "HLT", "--month", month, "--lang", "ru", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert f"HLT {month} (ru)" in result.output
    assert "Harbor Health Clinics" in pdftotext(out)
    assert "Ключевые показатели" in pdftotext(out)

    stored = run_cli(agency, "--client", "HLT", "--month", month, "--store")
    assert stored.exit_code == 0, stored.output
    web = api(agency)
    listing = web.get("/clients/HLT/reports.json").get_json()
    assert [item["month"] for item in listing] == [month]
    assert listing[0]["language"] == "en" and listing[0]["complete"] is True
    download = web.get(f"/clients/HLT/reports/{month}.pdf")
    assert download.status_code == 200
    assert download.mimetype == "application/pdf"
    assert download.data.startswith(b"%PDF-")
    saved = tmp_path / "downloaded.pdf"
    saved.write_bytes(download.data)
    assert "Key figures" in pdftotext(saved)
    again = web.get(
        f"/clients/HLT/reports/{month}.pdf", headers={"If-None-Match": download.headers["ETag"]}
    )
    assert again.status_code == 304
    assert web.get("/clients/HLT/reports/2001-01.pdf").status_code == 404
    assert web.get("/clients/NOPE/reports/2026-01.pdf").status_code == 404

    # Regenerating (an hour later) replaces the month's report: still one, with new bytes.
    replaced = run_cli(
        agency,
        "--client",
        "HLT",
        "--month",
        month,
        "--store",
        now=lambda: clock.now() + timedelta(hours=1),
    )
    assert replaced.exit_code == 0, replaced.output
    assert len(web.get("/clients/HLT/reports.json").get_json()) == 1
    assert web.get(f"/clients/HLT/reports/{month}.pdf").data != download.data
    files = sorted((agency.settings.instance_path / "reports" / "HLT").glob("*.pdf"))
    assert len(files) == 1


def test_cli_refuses_unknown_clients_and_months_outside_the_data(agency: Agency) -> None:
    unknown = run_cli(agency, "--client", "NOPE", "--month", "2026-01", "--out", "x.pdf")
    assert unknown.exit_code == 2
    assert "unknown client 'NOPE'" in unknown.output and "TOX" in unknown.output
    malformed = run_cli(agency, "--client", "TOX", "--month", "2026-1", "--out", "x.pdf")
    assert malformed.exit_code == 2 and "YYYY-MM" in malformed.output
    before = run_cli(agency, "--client", "TOX", "--month", "2020-01", "--out", "x.pdf")
    assert before.exit_code == 2
    assert "2020-01 is outside the data" in before.output
    future = str(last_month(agency).next().next())
    after = run_cli(agency, "--client", "TOX", "--month", future, "--out", "x.pdf")
    assert after.exit_code == 2 and "outside the data" in after.output
    nowhere = run_cli(agency, "--client", "TOX", "--month", str(last_month(agency)))
    assert nowhere.exit_code == 2 and "--out" in nowhere.output


@pytest.fixture
def guarded(agency: Agency) -> Iterator[Any]:
    """The same data behind ``web.api_token``."""
    document = agency.config_file.read_text()
    settings = parse_settings(
        document
        + "\nweb:\n  api_token: report-token-0123456\n  secret_key: report-secret-key-0123456789\n",
        env={},
    )
    services = pinned_services(settings, migrate=False)
    yield create_app(services=services).test_client()
    services.close()


def test_the_download_needs_the_panel_sign_in(agency: Agency, guarded: Any) -> None:
    month = str(last_month(agency))
    assert run_cli(agency, "--client", "TOX", "--month", month, "--store").exit_code == 0
    refused = guarded.get(
        f"/clients/TOX/reports/{month}.pdf", headers={"Accept": "application/pdf"}
    )
    assert refused.status_code == 401
    assert guarded.get("/clients/TOX/reports.json").status_code in (303, 401)
    # The service token is a viewer, and a PDF download is an export: admins only.
    viewer = guarded.get(
        f"/clients/TOX/reports/{month}.pdf",
        headers={"Authorization": "Bearer report-token-0123456"},
    )
    assert viewer.status_code == 403
    add_people(agency.services)
    assert sign_in(guarded, "vera").status_code == 303
    assert guarded.get(f"/clients/TOX/reports/{month}.pdf").status_code == 403
    admin = guarded.application.test_client()
    assert sign_in(admin, "ada").status_code == 303
    allowed = admin.get(f"/clients/TOX/reports/{month}.pdf")
    assert allowed.status_code == 200 and allowed.data.startswith(b"%PDF-")
    exports = agency.services.people.audit_log(target="TOX")
    assert [(e.actor, e.action) for e in exports][:1] == [("ada", "export.report")]
