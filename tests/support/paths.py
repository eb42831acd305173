"""Where the repository, its test data and the tests' artifacts are."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = REPO_ROOT / "tests" / "data"
"""Test data kept in the repository, each dataset with its licence (``tests/data/README.md``)."""
JIRA_DATA = DATA_DIR / "jira"
REAL_JIRA = JIRA_DATA / "real"
"""Real Jira exports: ``puppet-server``, ``patternfly-cloud``, ``sp-cloud-sample``."""
OPENAPI_SPEC = JIRA_DATA / "openapi" / "jira-platform-v3.json"
"""Atlassian's OpenAPI description of the Jira Cloud platform REST API."""


def artifacts_path() -> Path:
    """Where tests leave screenshots and rendered pages for people to look at."""
    path = Path(os.environ.get("SCOPEGUARD_ARTIFACTS", REPO_ROOT / "artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path
