"""The configuration the Helm chart ships is one ScopeGuard accepts."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from scopeguard.config import parse_settings

CHART = Path(__file__).resolve().parents[2] / "charts" / "scopeguard"


def test_chart_default_config_is_valid_once_its_secrets_are_set() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    config = dict(values["config"])
    config["instance_path"] = "/var/lib/scopeguard"  # what the chart's ConfigMap adds
    text = yaml.safe_dump(config)
    names = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)\}", text))
    assert {"JIRA_API_TOKEN", "SCOPEGUARD_API_TOKEN", "SCOPEGUARD_SECRET_KEY"} <= names
    documented = (CHART / "values.yaml").read_text()
    # The `kubectl create secret` example in values.yaml names every variable.
    assert all(f"--from-literal={name}=" in documented for name in names)
    settings = parse_settings(text, env=dict.fromkeys(names, "x" * 32))
    assert settings.web.api_token and settings.web.secret_key
