"""``scopeguard doctor`` and the panel's Jira status page, against the demo's simulator.

It passes on the demo; each broken setting fails the check it breaks, with the
configuration key to fix on that line, and the command exits 1.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from jira_simulator.access import CloudAccess
from jira_simulator.people import add_group
from scopeguard.adapters.jira.scopes import CLASSIC_SCOPES, GRANULAR_SCOPES
from scopeguard.bootstrap import Services
from scopeguard.entrypoints.cli import cli
from scopeguard.entrypoints.web import create_app
from tests.support.agency import AgencySite, agency_site


@pytest.fixture
def site(tmp_path: Path) -> Iterator[AgencySite]:
    with agency_site(tmp_path) as served:
        yield served


def _doctor(site: AgencySite, folder: Path) -> tuple[int, list[str]]:
    config_file, _settings = site.write_config(folder)
    result = CliRunner().invoke(cli, ["--config", str(config_file), "doctor"], obj={})
    lines = [line for line in result.output.splitlines() if line.strip()]
    return result.exit_code, lines


def _line(lines: list[str], name: str) -> str:
    found = [line for line in lines if line.split(":", 1)[0].split(maxsplit=1)[-1] == name]
    assert len(found) == 1, (name, lines)
    return found[0]


def test_the_doctor_passes_on_the_demo(site: AgencySite, tmp_path: Path) -> None:
    code, lines = _doctor(site, tmp_path)
    assert code == 0, lines
    assert lines[-1].startswith("all ") and lines[-1].endswith("checks passed")
    for name in ("connectivity", "authentication", "statuses", "fields", "search"):
        assert _line(lines, name).startswith("ok  ")
    for name in ("changelogs", "worklogs", "comments"):
        assert _line(lines, name).startswith("ok  ")
    # The demo names the agency's people by their Jira group (agency.team).
    assert _line(lines, "group agency-staff").startswith("ok  ")
    for key in ("TOX", "HLT", "RET", "LAG"):
        issues = len(site.dataset.issues_in_project(key))
        assert _line(lines, f"client {key}").endswith(f": {issues} issues")


def _broken(site: AgencySite, case: str) -> tuple[str, str]:
    """Break one setting; returns the check that must fail and the key its line names."""
    document: dict[str, Any] = site.document
    if case == "url":
        document["jira"]["url"] = "http://127.0.0.1:9"
        return "connectivity", "jira.url"
    if case == "token":
        document["jira"]["api_token"] = "not-the-token"
        return "authentication", "jira.api_token"
    if case == "jql":
        document["clients"][1]["jql"] = "project = NOSUCH"
        return "client HLT", "clients[1].jql"
    if case == "empty jql":
        document["clients"][2]["jql"] = "project = RET AND labels = never-used"
        return "client RET", "clients[2].jql"
    if case == "group":
        document["agency"]["team"] = [{"group": "Designers"}]
        return "group Designers", "agency.team[0]"
    if case == "rate group":
        add_group(site.dataset, "Designers", [])
        document["clients"][0]["contract"]["rates"] = {"group:Seniors": 120}
        return "group Seniors", "clients[0].contract.rates"
    if case == "permission":
        site.simulator.access = CloudAccess(forbidden={"bulkfetch"})
        return "changelogs", "jira.api_token"
    # A scoped token without the worklog scopes, through the gateway.
    scopes = (set(GRANULAR_SCOPES) - {"read:issue-worklog:jira"}) | {"read:jira-user"}
    site.simulator.access = CloudAccess(scoped_tokens={"scoped": scopes})
    document["jira"].update(api_token="scoped", scoped_token=True, gateway_url=site.url)
    return "worklogs", "jira.api_token"


@pytest.mark.parametrize(
    "case",
    ["url", "token", "jql", "empty jql", "group", "rate group", "permission", "scope"],
)
def test_each_broken_setting_fails_its_check_naming_the_key(
    site: AgencySite, tmp_path: Path, case: str
) -> None:
    check, key = _broken(site, case)
    code, lines = _doctor(site, tmp_path)
    assert code == 1, lines
    line = _line(lines, check)
    assert line.startswith("FAIL  ")
    assert f"(fix: {key}" in line or ("fix: " in line and key in line)
    failing = [line for line in lines if line.startswith("FAIL")]
    assert failing == [line], failing
    assert lines[-1].endswith("checks failed")
    if case == "scope":
        assert "read:issue-worklog:jira" in line and "read:jira-work" in line


def test_scoped_tokens_with_every_scope_pass(site: AgencySite, tmp_path: Path) -> None:
    site.simulator.access = CloudAccess(
        # The demo's agency.team names a Jira group: its members need the classic
        # scope for group members beside the two every classic token needs.
        scoped_tokens={"scoped": {*CLASSIC_SCOPES, "manage:jira-configuration"}},
        require_gateway=True,
    )
    site.document["jira"].update(api_token="scoped", scoped_token=True, gateway_url=site.url)
    code, lines = _doctor(site, tmp_path)
    assert code == 0, "\n".join(lines)


def _status_page(settings: Any, site: AgencySite) -> tuple[int, str]:
    services = Services(settings, sleep=lambda _s: None, clock=site.now)
    try:
        page = create_app(services=services).test_client().get("/admin/jira")
        return page.status_code, page.get_data(as_text=True)
    finally:
        services.close()


def test_the_status_page_shows_the_same_checks_to_admins(site: AgencySite, tmp_path: Path) -> None:
    # Open mode (no account yet): everyone is an admin, as in the demo.
    _config, settings = site.write_config(tmp_path)
    status, text = _status_page(settings, site)
    assert status == 200
    for name in ("connectivity", "authentication", "worklogs", "client TOX"):
        assert f'data-check="{name}" data-ok="true"' in text
    site.document["clients"][1]["jql"] = "project = NOSUCH"
    _config, broken = site.write_config(tmp_path)
    status, text = _status_page(broken, site)
    assert status == 503
    assert 'data-check="client HLT" data-ok="false"' in text
    assert "clients[1].jql" in text
