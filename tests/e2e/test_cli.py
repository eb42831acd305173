"""The command line, as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from scopeguard.entrypoints.cli import cli
from scopeguard.entrypoints.web import create_app
from tests.support import clock
from tests.support.agency import Agency
from tests.support.cli import run_cli as run


def test_check_config_exits_0_when_valid_and_2_listing_problems(
    tmp_path: Path, agency: Agency
) -> None:
    ok = run("--config", str(agency.config_file), "check-config")
    assert ok.returncode == 0, ok.stderr
    assert "configuration is valid: 4 client(s)" in ok.stdout

    broken = tmp_path / "broken.yaml"
    broken.write_text(
        agency.config_file.read_text()
        .replace("revisions_per_issue: 2", "revisions_per_issue: -1", 1)
        .replace("currency: EUR", "currency: euros", 1)
    )
    bad = run("--config", str(broken), "check-config")
    assert bad.returncode == 2
    assert "clients[0].contract.revisions_per_issue (line" in bad.stderr
    assert "contract.currency (line" in bad.stderr
    missing = run("check-config", env={"SCOPEGUARD_CONFIG": str(tmp_path / "nope.yaml")})
    assert missing.returncode == 2 and "cannot read" in missing.stderr


def test_sync_prints_one_line_per_client(agency: Agency) -> None:
    result = CliRunner().invoke(
        cli, ["--config", str(agency.config_file), "sync"], obj={"clock": clock.now}
    )
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == ["TOX", "HLT", "RET", "LAG"]
    assert all("Jira requests" in line and "(incremental)" in line for line in lines)


def test_sync_of_an_unknown_client_is_a_usage_error(agency: Agency) -> None:
    result = CliRunner().invoke(
        cli,
        ["--config", str(agency.config_file), "sync", "--client", "X"],
        obj={"clock": clock.now},
    )
    assert result.exit_code == 2
    assert "unknown client 'X'" in result.output


def test_status_json_is_the_api_summary(agency: Agency) -> None:
    result = CliRunner().invoke(
        cli,
        ["--config", str(agency.config_file), "status", "--client", "TOX", "--json"],
        obj={"clock": clock.now},
    )
    assert result.exit_code == 0, result.output
    api = create_app(services=agency.services).test_client().get("/api/v1/clients/TOX/summary")
    assert json.loads(result.output) == api.get_json()
    table = CliRunner().invoke(
        cli, ["--config", str(agency.config_file), "status"], obj={"clock": clock.now}
    )
    assert table.exit_code == 0
    rows = [line.split()[0] for line in table.output.splitlines()[2:]]
    assert rows == ["TOX", "HLT", "RET", "LAG"]


def test_sync_failure_is_reported_with_a_non_zero_exit(tmp_path: Path, agency: Agency) -> None:
    dead = tmp_path / "dead.yaml"
    text = agency.config_file.read_text()
    url = agency.settings.jira.base_url
    # Nothing listens on port 9; one attempt, so the test does not wait out backoffs.
    dead.write_text(
        text.replace(url, "http://127.0.0.1:9").replace(
            "  deployment: cloud\n", "  deployment: cloud\n  max_attempts: 1\n"
        )
    )
    result = run("--config", str(dead), "sync", "--client", "HLT")
    assert result.returncode == 1
    assert "HLT: FAILED" in result.stderr
