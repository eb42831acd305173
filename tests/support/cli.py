"""The ``scopeguard`` command line in a real process, as a user (or a container) runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.support import clock


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``python -m scopeguard ARGS`` on the pinned clock; ``env`` adds to the environment."""
    return subprocess.run(
        [sys.executable, "-m", "scopeguard", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**clock.subprocess_env(), **(env or {})},
        check=False,
    )


def write_minimal_config(folder: Path, database_url: str, **extra: Any) -> Path:
    """A valid ``scopeguard.yaml`` for ``database_url`` with no clients (Jira never called)."""
    document = {
        "database_url": database_url,
        "instance_path": str(folder / "instance"),
        "jira": {"url": "http://127.0.0.1:9", "email": "pm@agency.example", "api_token": "t"},
        **extra,
    }
    path = folder / "scopeguard.yaml"
    path.write_text(yaml.safe_dump(document))
    return path
