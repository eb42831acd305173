"""What can go wrong when talking to Jira, as exceptions the rest of ScopeGuard can act on.

Every message is written for the person who has to fix the problem: it names the
request that failed and, where configuration is the likely cause, the config key.
"""

from __future__ import annotations


class JiraError(Exception):
    """Base class of every error raised by :mod:`scopeguard.adapters.jira`."""


class JiraAuthError(JiraError):
    """Jira rejected the credentials (401) or the account's permissions (403).

    ``config_keys`` lists the configuration keys to check, e.g. ``("jira.pat",)``.
    """

    def __init__(self, message: str, *, status: int | None, config_keys: tuple[str, ...]) -> None:
        super().__init__(message)
        self.status = status
        self.config_keys = config_keys


class JiraUnavailable(JiraError):  # noqa: N818 - public name the callers use
    """Jira stayed rate-limited, overloaded or unreachable after every allowed attempt."""

    def __init__(self, message: str, *, status: int | None, attempts: int) -> None:
        super().__init__(message)
        self.status = status
        """The last HTTP status seen, or ``None`` when the last attempt was a network error."""
        self.attempts = attempts


class JiraMalformedResponse(JiraError):  # noqa: N818 - public name the callers use
    """Jira answered with something ScopeGuard cannot trust: not JSON, missing keys, bad types.

    Raised instead of skipping the data: a silently skipped page or history would
    make the scope metrics wrong without anyone noticing.
    """


class JiraRequestError(JiraError):
    """Jira refused a request for another reason (bad JQL, unknown issue, removed endpoint).

    ``error_messages`` holds Jira's own ``errorMessages``/``errors`` texts.
    """

    def __init__(self, message: str, *, status: int, error_messages: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.error_messages = error_messages
