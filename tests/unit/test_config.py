"""Configuration: env substitution, validation with key paths and lines, bare dates."""

from __future__ import annotations

import contextlib
import json
import math
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


def test_scheduler_sharing_keys_and_the_heartbeat_within_half_the_client_lease() -> None:
    settings = parse_settings(VALID, env=ENV)
    assert settings.scheduler.share_clients is True
    assert settings.scheduler.client_lease_seconds == 60.0
    shared = VALID + "scheduler: {share_clients: false, client_lease_seconds: 30}\n"
    assert parse_settings(shared, env=ENV).scheduler.client_lease_seconds == 30.0
    with pytest.raises(ConfigError) as caught:
        parse_settings(
            VALID + "scheduler: {heartbeat_seconds: 15, client_lease_seconds: 29}\n", env=ENV
        )
    assert any(
        "client_lease_seconds must be at least twice heartbeat_seconds" in p
        for p in caught.value.problems
    )


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


# -- values that pass a loose check and break the app later -------------------------


def problems(text: str, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_settings(text, env=ENV if env is None else env)
    return "\n".join(caught.value.problems)


@pytest.mark.parametrize(
    ("variable", "key"), [("JIRA_API_TOKEN", "jira.api_token"), ("HOOK_SECRET", "secret")]
)
def test_an_empty_secret_from_the_environment_is_an_error(variable: str, key: str) -> None:
    found = problems(VALID, {**ENV, variable: ""})
    assert key in found and "is empty" in found


@pytest.mark.parametrize("name", ["SCOPEGUARD_API_TOKEN", "SCOPEGUARD_SECRET"])
def test_an_empty_web_token_or_secret_key_is_an_error(name: str) -> None:
    text = (
        VALID + "web:\n  api_token: ${SCOPEGUARD_API_TOKEN}\n  secret_key: ${SCOPEGUARD_SECRET}\n"
    )
    env = {**ENV, "SCOPEGUARD_API_TOKEN": "t" * 20, "SCOPEGUARD_SECRET": "s" * 20, name: ""}
    found = problems(text, env)
    assert "web." in found and "is empty" in found


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("hourly_rate: 90", "hourly_rate: .inf"),
        ("hourly_rate: 90", "hourly_rate: .nan"),
        ("hourly_rate: 90", "hourly_rate: 1e300"),
        ("scope: {issues: 21,", "scope: {issues: 1e-300,"),
        ("creep_alert_percent: 10", "creep_alert_percent: .inf"),
    ],
)
def test_amounts_are_finite_and_bounded(old: str, new: str) -> None:
    found = problems(VALID.replace(old, new))
    assert "contract" in found


def test_a_key_written_twice_is_an_error_with_both_lines() -> None:
    text = VALID.replace(
        "revisions_per_issue: 2\n", "revisions_per_issue: 2\n      revisions_per_issue: 9\n"
    )
    found = problems(text)
    first = next(
        n for n, line in enumerate(text.splitlines(), 1) if "revisions_per_issue: 2" in line
    )
    assert f"'revisions_per_issue' is written twice (lines {first} and {first + 1})" in found


@pytest.mark.parametrize("name", ['"ACME\\nCorp"', '"ACME\\rBcc: x@evil.example"', '"A\\u0000"'])
def test_names_that_become_headers_are_one_line(name: str) -> None:
    found = problems(VALID.replace("name: ACME Corp", f"name: {name}"))
    assert "clients[0].name" in found and "one line" in found


def test_an_impossible_date_is_a_message() -> None:
    found = problems(VALID.replace("end: 2026-12-31", "end: 2026-02-30"))
    assert "not valid YAML" in found and "day is out of range" in found


def test_deep_nesting_is_a_message() -> None:
    found = problems("a: " + "[" * 5000)
    assert "not valid YAML" in found


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_any_text_is_settings_or_a_config_error(text: str) -> None:
    with contextlib.suppress(ConfigError):
        parse_settings(text, env=ENV)


_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(),
    st.text(max_size=30),
    st.sampled_from(["2026-02-30", "25:99", "${UNSET}", "", "\n", "auto"]),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(
        [
            "hourly_rate: 90",
            "revisions_per_issue: 2",
            "scope: {issues: 21, story_points: 120, hours: 400}",
            "currency: EUR",
            "name: ACME Corp",
            "timezone: Europe/Moscow",
            "start: 2026-09-01",
            "creep_alert_percent: 10",
        ]
    ),
    _LEAVES,
)
def test_any_value_in_any_place_is_valid_and_finite_or_a_config_error(
    line: str, value: object
) -> None:
    key = line.split(":", 1)[0]
    text = VALID.replace(line, f"{key}: {json.dumps(value)}")
    try:
        settings_ = parse_settings(text, env=ENV)
    except ConfigError:
        return
    contract = settings_.client("ACME").contract
    for number in (
        contract.hourly_rate,
        contract.hours_per_revision,
        *contract.scope.as_units().values(),
    ):
        assert math.isfinite(number)
    assert "\n" not in settings_.client("ACME").name
