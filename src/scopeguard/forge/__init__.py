"""The in-Jira Forge app's server side: invocation-token checks and access rules (no Flask)."""

from scopeguard.forge.access import ForgeAccess, ForgeGate, SiteNotAllowedError, normalize_site
from scopeguard.forge.token import (
    FIT_ISSUER,
    ForgeTokenError,
    ForgeTokenVerifier,
    InvocationContext,
    JwksCache,
    JwksUnavailableError,
)

__all__ = [
    "FIT_ISSUER",
    "ForgeAccess",
    "ForgeGate",
    "ForgeTokenError",
    "ForgeTokenVerifier",
    "InvocationContext",
    "JwksCache",
    "JwksUnavailableError",
    "SiteNotAllowedError",
    "normalize_site",
]
