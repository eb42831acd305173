"""Validated settings built the way a user's YAML file would give them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from scopeguard.config import Settings, parse_settings

SettingsFactory = Callable[..., Settings]


def settings_for(
    jira_url: str,
    clients: list[dict[str, Any]],
    *,
    database_url: str,
    instance: Path,
    deployment: str = "cloud",
    **extra: Any,
) -> Settings:
    """Validated settings built the way a user's YAML file would give them."""
    jira: dict[str, Any] = {"url": jira_url, "deployment": deployment}
    if deployment == "datacenter":
        jira["pat"] = "pat-token"
    else:
        jira.update(email="pm@agency.example", api_token="token")
    jira.update(extra.pop("jira", {}))
    document = {
        "database_url": database_url,
        "instance_path": str(instance),
        "jira": jira,
        "agency": {"timezone": "Europe/Moscow"},
        "clients": clients,
        **extra,
    }
    return parse_settings(yaml.safe_dump(document, allow_unicode=True), env={})
