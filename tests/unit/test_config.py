"""Configuration: env substitution, validation with key paths and lines, bare dates."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from scopeguard.config import ConfigError, load_settings, parse_settings
from scopeguard.domain.contract import ScopeUnit

VALID = """\
database_url: sqlite:///scopeguard.db
jira:
  url: https://agency.atlassian.net
  deployment: auto
  email: pm@agency.example
  api_token: ${JIRA_API_TOKEN}
agency:
  timezone: Europe/Moscow
  working_hours: {days: [mon, tue, wed, thu, fri], start: "09:00", end: "19:00"}
workflow:
  review_statuses: ["Client Review"]
clients:
  - key: ACME
    name: ACME Corp
    jql: project = ACME
    contract:
      start: 2026-09-01
      end: 2026-12-31
      baseline: 2026-09-01
      scope: {issues: 21, story_points: 120, hours: 400}
      revisions_per_issue: 2
      revisions_total: 40
      reopen_limit: 5
      creep_alert_percent: 10
      change_request_label: change-request
      hourly_rate: 90
      currency: EUR
    alerts:
      - {type: webhook, url: "https://example.com/hook", secret: "${HOOK_SECRET}"}
"""

ENV = {"JIRA_API_TOKEN": "secret-token", "HOOK_SECRET": "hook-secret"}


def test_the_documented_example_is_valid_and_secrets_come_from_the_environment() -> None:
    settings = parse_settings(VALID, env=ENV)
    assert settings.jira.api_token == "secret-token"
    client = settings.client("ACME")
    assert client.alerts[0].secret == "hook-secret"
    assert client.project_keys == ("ACME",)


def test_a_missing_secret_names_the_variable_and_its_file_variant() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(VALID, env={"HOOK_SECRET": "x"})
    assert caught.value.problems == [
        "jira.api_token (line 6): environment variable JIRA_API_TOKEN is not set "
        "(nor JIRA_API_TOKEN_FILE)"
    ]


def test_an_empty_file_variable_leaves_the_variable_in_charge() -> None:
    # Compose files and charts often template `VAR_FILE=` empty when no file is mounted.
    settings = parse_settings(VALID, env={**ENV, "JIRA_API_TOKEN_FILE": ""})
    assert settings.jira.api_token == "secret-token"


def test_a_bare_date_is_midnight_in_the_agency_zone() -> None:
    settings = parse_settings(VALID, env=ENV)
    contract = settings.client("ACME").contract.to_contract(settings.agency.zone)
    # 2026-09-01 00:00 in Moscow (+03:00) is still 31 August in UTC.
    assert contract.baseline.astimezone(UTC) == datetime(2026, 8, 31, 21, 0, tzinfo=UTC)
    assert contract.end is not None and contract.end.date().isoformat() == "2026-12-31"
    assert contract.headline_unit is ScopeUnit.ISSUES
    assert contract.scope[ScopeUnit.HOURS] == 400


def test_every_problem_is_listed_with_its_key_path_and_line() -> None:
    broken = (
        VALID.replace("revisions_per_issue: 2", "revisions_per_issue: two")
        .replace("currency: EUR", "currency: euro")
        .replace("timezone: Europe/Moscow", "timezone: Mars/Olympus")
        .replace('url: "https://example.com/hook", ', "")
    )
    with pytest.raises(ConfigError) as caught:
        parse_settings(broken, env={"HOOK_SECRET": "x"})
    problems = "\n".join(caught.value.problems)

    def line(fragment: str) -> int:
        return next(n for n, text in enumerate(broken.splitlines(), 1) if fragment in text)

    assert f"jira.api_token (line {line('api_token')}): environment variable JIRA_API_TOKEN" in (
        problems
    )
    assert f"clients[0].contract.revisions_per_issue (line {line('revisions_per')})" in problems
    assert f"clients[0].contract.currency (line {line('currency')})" in problems
    assert f"agency.timezone (line {line('Mars')}): unknown time zone 'Mars/Olympus'" in problems
    assert f"clients[0].alerts[0] (line {line('type: webhook')}): a webhook channel" in problems


def test_unknown_keys_are_errors_not_silently_ignored() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(VALID.replace("reopen_limit: 5", "reopen_limt: 5"), env=ENV)
    assert any("clients[0].contract.reopen_limt" in p for p in caught.value.problems)


def test_credentials_are_required_for_one_deployment_or_the_other() -> None:
    text = VALID.replace("  email: pm@agency.example\n  api_token: ${JIRA_API_TOKEN}\n", "")
    with pytest.raises(ConfigError) as caught:
        parse_settings(text, env=ENV)
    assert any("jira.pat" in p for p in caught.value.problems)
    assert parse_settings(text.replace("deployment: auto", "pat: ${PAT}"), env={**ENV, "PAT": "p"})


def test_contract_needs_a_scope_unit_and_an_end_after_its_start() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(VALID.replace("{issues: 21, story_points: 120, hours: 400}", "{}"), env=ENV)
    assert any("clients[0].contract.scope" in p for p in caught.value.problems)
    with pytest.raises(ConfigError) as caught:
        parse_settings(VALID.replace("end: 2026-12-31", "end: 2026-08-01"), env=ENV)
    assert any("end is before" in p for p in caught.value.problems)


def test_duplicate_client_keys_are_rejected() -> None:
    doubled = VALID + VALID[VALID.index("  - key: ACME") :]
    with pytest.raises(ConfigError, match="used twice"):
        parse_settings(doubled, env=ENV)


def test_yaml_syntax_errors_name_the_line() -> None:
    with pytest.raises(ConfigError, match=r"line \d+"):
        parse_settings("jira:\n  url: [unclosed\n", env={})


def test_file_location_and_instance_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "conf" / "scopeguard.yaml"
    config.parent.mkdir()
    config.write_text(VALID.replace("database_url: sqlite:///scopeguard.db\n", ""))
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SCOPEGUARD_CONFIG", str(config))
    settings = load_settings()
    assert settings.instance_path == config.parent / "instance"
    assert settings.resolved_database_url.endswith("conf/instance/scopeguard.db")
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "missing.yaml")
