"""The Jira adapter: a client for Cloud and Data Center, and the parser into domain issues."""

from scopeguard.adapters.jira.client import JiraClient
from scopeguard.adapters.jira.errors import (
    JiraAuthError,
    JiraError,
    JiraMalformedResponse,
    JiraRequestError,
    JiraUnavailable,
)
from scopeguard.adapters.jira.parse import ISSUE_FIELDS, parse_description, parse_issue

__all__ = [
    "ISSUE_FIELDS",
    "JiraAuthError",
    "JiraClient",
    "JiraError",
    "JiraMalformedResponse",
    "JiraRequestError",
    "JiraUnavailable",
    "parse_description",
    "parse_issue",
]
