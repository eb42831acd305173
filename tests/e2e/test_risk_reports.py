"""The monthly PDF's two audiences: the client's report never has risk wording, the
internal one does.

The demanding client's report of last month, in English and Russian, read back
by pdftotext: not one risk label of either language is in the client's PDF
(:data:`scopeguard.presentation.risk_view.RISK_LABEL_IDS`); the internal variant
has the client-risk pages with the labels of its language.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from scopeguard.domain.month import Month
from scopeguard.presentation.risk_view import risk_labels
from scopeguard.usecases.reporting import generate_report
from tests.support import clock
from tests.support.agency import Agency
from tests.support.cli import run_cli


def pdf_text(pdf: bytes, folder: Path, name: str) -> str:
    """The PDF's words on single lines (labels may wrap in the layout), any space plain."""
    path = folder / name
    path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return " ".join(text.replace("\u00a0", " ").replace("\u202f", " ").split())


EVERY_LABEL = sorted({*risk_labels("en"), *risk_labels("ru")})


@pytest.mark.parametrize("language", ["en", "ru"])
def test_the_client_facing_pdf_has_no_risk_wording(
    agency: Agency, language: str, tmp_path: Path
) -> None:
    client = agency.settings.client("TOX")
    month = Month.of(clock.now(), agency.settings.agency.zone).previous()
    report = generate_report(agency.services, client, month, language=language, now=clock.now())
    text = pdf_text(report.pdf, tmp_path, "client.pdf")
    assert "TOX" in text or client.name in text  # the report was read at all
    assert len(EVERY_LABEL) >= 40
    found = [label for label in EVERY_LABEL if label.casefold() in text.casefold()]
    assert found == []


@pytest.mark.parametrize("language", ["en", "ru"])
def test_the_internal_pdf_has_the_client_risk(
    agency: Agency, language: str, tmp_path: Path
) -> None:
    client = agency.settings.client("TOX")
    month = Month.of(clock.now(), agency.settings.agency.zone).previous()
    report = generate_report(
        agency.services, client, month, language=language, now=clock.now(), internal=True
    )
    text = pdf_text(report.pdf, tmp_path, "internal.pdf")
    labels = risk_labels(language)
    heading, score, agency_side, client_side = labels[0], labels[1], labels[2], labels[3]
    for label in (heading, score, agency_side, client_side):
        assert label in text, label
    assert "Internal: not for the client." in text or "не для клиента" in text


def test_the_cli_writes_the_internal_pdf_only_to_a_file(agency: Agency, tmp_path: Path) -> None:
    month = str(Month.of(clock.now(), agency.settings.agency.zone).previous())
    config = str(agency.config_file)
    out = tmp_path / "internal.pdf"
    made = run_cli(
        "--config", config, "report", "--client", "LAG", "--month", month, "--internal",
        "--out", str(out),
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert "Client risk" in pdf_text(out.read_bytes(), tmp_path, "lag.pdf")
    refused = run_cli(
        "--config", config, "report", "--client", "LAG", "--month", month, "--internal",
        "--store",
    )  # fmt: skip
    assert refused.returncode != 0 and "never goes to the client" in refused.stderr
