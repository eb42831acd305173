"""``scopeguard brief check`` as a PM runs it: on a file, on standard input, on a synced issue."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import docx
from click.testing import CliRunner
from sqlalchemy import select

from scopeguard.adapters.store.models import IssueRow
from scopeguard.bootstrap import Services
from scopeguard.config import load_settings
from scopeguard.entrypoints.cli import cli
from tests.support import clock
from tests.support.agency import Agency

VAGUE_RU = "Сделайте душевно, убедительно, чтобы глаза горели. Как обсуждали. Срочно!\n"
CLEAR_EN = (
    "Order export for the finance team: a CSV of every order of the previous week, "
    "delivered to the finance inbox at 08:00 every Monday, one order a line, with its "
    "number, date, customer, net total and VAT.\n"
    "Acceptance criteria:\n"
    "1. The file opens in Excel with Cyrillic names intact.\n"
    "2. Net totals and VAT match the ledger to the cent.\n"
)


def brief(
    *args: str, cwd: Path, stdin: str | bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    """``python -m scopeguard brief check ARGS`` in a real process, with no configuration."""
    env = {k: v for k, v in clock.subprocess_env().items() if k != "SCOPEGUARD_CONFIG"}
    data = stdin.encode() if isinstance(stdin, str) else stdin
    return subprocess.run(
        [sys.executable, "-m", "scopeguard", "brief", "check", *args],
        capture_output=True,
        input=data,
        timeout=120,
        env=env,
        cwd=cwd,
        check=False,
    )


def test_a_vague_russian_brief_scores_lower_than_a_clear_english_one(tmp_path: Path) -> None:
    (tmp_path / "vague.txt").write_text(VAGUE_RU, encoding="utf-8")
    (tmp_path / "clear.md").write_text(CLEAR_EN, encoding="utf-8")
    vague = brief("vague.txt", "--json", cwd=tmp_path)
    clear = brief("clear.md", "--json", cwd=tmp_path)
    assert vague.returncode == 0 and clear.returncode == 0, vague.stderr + clear.stderr
    low, high = json.loads(vague.stdout), json.loads(clear.stdout)
    assert list(low)[:5] == ["language", "score", "phrases", "acceptance_criteria", "questions"]
    assert low["language"] == "ru" and high["language"] == "en"
    assert low["score"] < high["score"]
    assert [p["text"] for p in low["phrases"] if p["kind"] == "vague"] == [
        "душевно",
        "убедительно",
        "глаза горели",
    ]
    first = low["phrases"][0]
    assert VAGUE_RU[first["start"] : first["end"]] == "душевно"
    assert not low["acceptance_criteria"] and high["acceptance_criteria"]
    assert any("критерии приёмки" in q for q in low["questions"])
    assert high["questions"] == []


def test_standard_input_and_a_word_file_are_read_like_any_file(tmp_path: Path) -> None:
    piped = brief("-", cwd=tmp_path, stdin=VAGUE_RU)
    assert piped.returncode == 0, piped.stderr
    text = piped.stdout.decode()
    assert text.startswith("standard input: clarity 0/100 (ru")
    assert "[vague] 'глаза горели'" in text
    assert "questions to send back:" in text

    document = docx.Document()
    document.add_paragraph("Make the homepage pop, something that wows.")
    buffer = io.BytesIO()
    document.save(buffer)
    from_word = brief("--json", "-", cwd=tmp_path, stdin=buffer.getvalue())
    assert from_word.returncode == 0, from_word.stderr
    assert [p["text"] for p in json.loads(from_word.stdout)["phrases"]] == [
        "Make the homepage pop",
        "something that wows",
    ]


def test_unreadable_input_exits_2(tmp_path: Path) -> None:
    (tmp_path / "old.txt").write_bytes("Срочно".encode("cp1251"))
    assert brief("old.txt", cwd=tmp_path).returncode == 2
    missing = brief("nope.pdf", cwd=tmp_path)
    assert missing.returncode == 2 and b"cannot read nope.pdf" in missing.stderr
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.7 garbage")
    assert brief("broken.pdf", cwd=tmp_path).returncode == 2
    neither = brief(cwd=tmp_path)
    assert neither.returncode == 2 and b"one of the two" in neither.stderr


def test_the_configuration_adds_its_own_phrases(tmp_path: Path, agency: Agency) -> None:
    config = tmp_path / "scopeguard.yaml"
    config.write_text(
        agency.config_file.read_text() + "risk:\n  lexicon:\n    vague: [make it sing]\n"
    )
    (tmp_path / "brief.txt").write_text("Make it sing.")
    result = brief("--json", "brief.txt", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert [p["text"] for p in json.loads(result.stdout)["phrases"]] == ["Make it sing"]


def test_a_synced_issue_is_checked_from_its_stored_description(agency: Agency) -> None:
    services = Services(load_settings(agency.config_file), migrate=False)
    try:
        with services.database.session() as session:
            key = session.scalar(
                select(IssueRow.key).where(
                    IssueRow.summary == "Urgent: holiday banner on every page"
                )
            )
    finally:
        services.close()
    assert key is not None
    result = CliRunner().invoke(
        cli,
        ["--config", str(agency.config_file), "brief", "check", "--issue", key.lower(), "--json"],
        obj={"clock": clock.now},
    )
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    # The description the simulator wrote: "Need this live ASAP, it's just a banner."
    assert [(p["kind"], p["text"]) for p in found["phrases"]] == [
        ("urgent", "Urgent"),
        ("urgent", "ASAP"),
    ]
    unknown = CliRunner().invoke(
        cli, ["--config", str(agency.config_file), "brief", "check", "--issue", "NOPE-1"]
    )
    assert unknown.exit_code == 2
