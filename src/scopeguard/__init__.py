"""ScopeGuard: scope-creep and revision tracking for agency client projects in Jira."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("scopeguard")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"
