"""``${VAR}`` read from the file named by ``VAR_FILE`` (Docker and Kubernetes secrets)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scopeguard.config import ConfigError, load_settings, parse_settings

CONFIG = """\
jira:
  url: https://agency.atlassian.net
  email: pm@agency.example
  api_token: ${JIRA_API_TOKEN}
web:
  api_token: ${API_TOKEN:-fallback-read-only-token}
  secret_key: ${SECRET_KEY}
"""


def _secret(folder: Path, name: str, content: bytes) -> str:
    path = folder / name
    path.write_bytes(content)
    return str(path)


def test_the_file_wins_over_the_variable_and_over_the_default(tmp_path: Path) -> None:
    env = {
        "JIRA_API_TOKEN": "from-the-environment",
        "JIRA_API_TOKEN_FILE": _secret(tmp_path, "jira", b"from-the-file\n"),
        "API_TOKEN_FILE": _secret(tmp_path, "api", b"api-token-from-the-file"),
        "SECRET_KEY": "k" * 32,
    }
    settings = parse_settings(CONFIG, env=env)
    assert settings.jira.api_token == "from-the-file"
    assert settings.web.api_token == "api-token-from-the-file"
    assert settings.web.secret_key == "k" * 32


@pytest.mark.parametrize(
    ("content", "value"),
    [
        (b"token\n", "token"),
        (b"token\r\n", "token"),
        (b"  token \n", "  token "),  # spaces may be part of a password
        (b"to${OTHER}ken", "to${OTHER}ken"),  # a secret is not substituted again
    ],
)
def test_one_trailing_newline_is_removed_and_nothing_else(
    tmp_path: Path, content: bytes, value: str
) -> None:
    env = {"JIRA_API_TOKEN_FILE": _secret(tmp_path, "jira", content), "SECRET_KEY": "k" * 32}
    assert parse_settings(CONFIG, env=env).jira.api_token == value


def test_a_second_newline_is_part_of_the_value_and_refused(tmp_path: Path) -> None:
    # Only one newline is the file's own ending; another one is a stray character a
    # token must not carry into an HTTP header.
    env = {"JIRA_API_TOKEN_FILE": _secret(tmp_path, "jira", b"token\n\n"), "SECRET_KEY": "k" * 32}
    with pytest.raises(ConfigError, match=r"jira\.api_token .*control character"):
        parse_settings(CONFIG, env=env)


def test_unreadable_files_are_errors_naming_key_path_line_and_variable(tmp_path: Path) -> None:
    (tmp_path / "a-directory").mkdir()
    env = {
        "JIRA_API_TOKEN_FILE": str(tmp_path / "missing"),
        "API_TOKEN_FILE": str(tmp_path / "a-directory"),
        "SECRET_KEY_FILE": _secret(tmp_path, "latin1", b"caf\xe9-caf\xe9-caf\xe9-caf\xe9"),
    }
    with pytest.raises(ConfigError) as caught:
        parse_settings(CONFIG, env=env, source="scopeguard.yaml")
    # (The emptied values then fail their own checks too; those problems follow.)
    assert caught.value.problems[:3] == [
        f"jira.api_token (line 4): cannot read JIRA_API_TOKEN_FILE={tmp_path / 'missing'}: "
        "No such file or directory",
        f"web.api_token (line 6): cannot read API_TOKEN_FILE={tmp_path / 'a-directory'}: "
        "Is a directory",
        f"web.secret_key (line 7): cannot read SECRET_KEY_FILE={tmp_path / 'latin1'}: "
        "not UTF-8 text",
    ]
    assert str(caught.value).startswith("invalid configuration in scopeguard.yaml:")


def test_load_settings_reads_secret_files_from_the_process_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "scopeguard.yaml"
    config.write_text(CONFIG)
    monkeypatch.delenv("JIRA_API_TOKEN", raising=False)
    monkeypatch.setenv("JIRA_API_TOKEN_FILE", _secret(tmp_path, "jira", b"mounted-secret\n"))
    monkeypatch.setenv("SECRET_KEY_FILE", _secret(tmp_path, "key", b"k" * 32 + b"\n"))
    settings = load_settings(config)
    assert settings.jira.api_token == "mounted-secret"
    assert settings.web.secret_key == "k" * 32
