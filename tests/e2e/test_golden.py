"""The API's JSON and the monthly PDF's text for the sample agency at one pinned moment.

The golden files were written by the code before the architecture change of
issue 9; the refactor must leave every byte of the API and every word of the
PDF as it was. Since then only the Russian report text was written again, for
one intended change: the month inside a sentence in lower case. Regenerate (only
for an intended change of output) with
``SCOPEGUARD_UPDATE_GOLDEN=1 pytest tests/e2e/test_golden.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from scopeguard.domain.month import Month
from scopeguard.entrypoints.web import create_app
from scopeguard.usecases.reporting import generate_report
from tests.support.agency import Agency, build_agency
from tests.support.paths import DATA_DIR

GOLDEN = DATA_DIR / "golden"
GOLDEN_NOW = datetime(2026, 11, 18, 12, 0, tzinfo=ZoneInfo("Europe/Moscow"))
"""The moment the golden files describe; independent of any clock the suite is pinned to."""
UPDATE = os.environ.get("SCOPEGUARD_UPDATE_GOLDEN") == "1"


@pytest.fixture(scope="module")
def pinned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agency]:
    yield from build_agency(
        tmp_path_factory.mktemp("golden"),
        now=GOLDEN_NOW,
        clock_fn=lambda: GOLDEN_NOW,
        zone="Europe/Moscow",
    )


def _compare(name: str, actual: bytes) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(actual)
        return
    expected = path.read_bytes()
    assert actual == expected, f"{name} differs from the golden file"


def _api_paths(agency: Agency) -> list[str]:
    paths = ["/api/v1/clients"]
    for key in ("TOX", "HLT", "RET"):
        paths += [f"/api/v1/clients/{key}/summary", f"/api/v1/clients/{key}/timeseries"]
    web = create_app(services=agency.services).test_client()
    summary = web.get("/api/v1/clients/TOX/summary").get_json()
    for issue in [*summary["revisions"]["over_limit"][:3], *summary["scope"]["added"][:2]]:
        paths.append(f"/api/v1/clients/TOX/issues/{issue}")
    paths.append("/api/v1/clients/TOX/issues/TOX-99999")
    paths.append("/api/v1/clients/NOPE/summary")
    return paths


def test_api_documents_are_byte_identical(pinned: Agency) -> None:
    web = create_app(services=pinned.services).test_client()
    out = bytearray()
    for path in _api_paths(pinned):
        response = web.get(path, headers={"Accept-Encoding": "identity"})
        out += f"## {path} {response.status_code}\n".encode()
        out += response.get_data() + b"\n"
    # The simulator listens on a random port: the one thing that may differ.
    jira = pinned.settings.jira.base_url.encode()
    _compare("api.txt", bytes(out).replace(jira, b"http://jira.example"))


@pytest.mark.parametrize(("key", "language"), [("TOX", "en"), ("TOX", "ru"), ("HLT", "en")])
def test_report_text_is_identical(pinned: Agency, key: str, language: str, tmp_path: Path) -> None:
    month = Month.of(GOLDEN_NOW, pinned.settings.agency.zone).previous()
    client = pinned.settings.client(key)
    report = generate_report(pinned.services, client, month, language=language, now=GOLDEN_NOW)
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(report.pdf)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True, timeout=60
    ).stdout
    _compare(f"report-{key}-{month}-{language}.txt", text)


def test_golden_files_are_json_where_they_say_so() -> None:
    # A guard against an empty or truncated golden file passing the comparison above.
    text = (GOLDEN / "api.txt").read_text()
    bodies = [line for line in text.splitlines() if line and not line.startswith("## ")]
    assert len(bodies) >= 10
    for body in bodies:
        json.loads(body)
