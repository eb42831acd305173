"""Who may see what through the Forge app: site allow-list and Jira project → client mapping.

A verified token proves the call came from *some* installation of our app. The
app can be installed on any Jira Cloud site, so the site must also be one this
ScopeGuard serves (``forge.sites``, by default the site at ``jira.url``), and
only the clients whose Jira projects include the token's project are shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from scopeguard.adapters.forge_token import ForgeTokenError, ForgeTokenVerifier, InvocationContext
from scopeguard.config import ClientSettings, ForgeSiteSettings, Settings


class SiteNotAllowedError(Exception):
    """A genuine token from a Jira site this ScopeGuard does not serve (HTTP 403)."""


def normalize_site(url: str) -> str:
    """``https://Agency.atlassian.net/`` → ``https://agency.atlassian.net`` (for comparison)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    default_port = {"https": 443, "http": 80}.get(scheme)
    port = f":{parts.port}" if parts.port is not None and parts.port != default_port else ""
    path = parts.path.rstrip("/")
    return f"{scheme}://{host}{port}{path}"


def allowed_sites(settings: Settings) -> tuple[ForgeSiteSettings, ...]:
    """The configured sites, or the Jira site ScopeGuard itself reads when none are listed."""
    forge = settings.forge
    if forge is not None and forge.sites:
        return forge.sites
    return (ForgeSiteSettings(url=settings.jira.url),)


def site_matches(site: ForgeSiteSettings, context: InvocationContext) -> bool:
    """Every identifier the site names equals the token's; one missing from the token fails."""
    if site.url is not None and (
        context.site_url is None
        or normalize_site(context.site_url) != normalize_site(str(site.url))
    ):
        return False
    if site.cloud_id is not None and context.cloud_id != site.cloud_id:
        return False
    return site.installation_id is None or context.installation_id == site.installation_id


@dataclass(frozen=True, slots=True)
class ForgeAccess:
    """A verified call: its token context and the clients it may see."""

    context: InvocationContext
    site: ForgeSiteSettings
    clients: tuple[ClientSettings, ...]
    """Every client this site may see (not yet narrowed to the token's project)."""

    def may_see(self, client_key: str) -> bool:
        """Whether this site may see the client at all."""
        return any(client.key == client_key for client in self.clients)

    def clients_for_project(self, project_key: str) -> list[ClientSettings]:
        """The visible clients whose Jira projects include ``project_key`` (case-insensitive)."""
        return [client for client in self.clients if client.covers_project(project_key)]


class ForgeGate:
    """Turns an ``Authorization`` header into a :class:`ForgeAccess`, or refuses it."""

    def __init__(self, settings: Settings, verifier: ForgeTokenVerifier) -> None:
        self.settings = settings
        self.verifier = verifier

    @classmethod
    def for_settings(cls, settings: Settings) -> ForgeGate | None:
        """A gate for the configured Forge app, or ``None`` when ``forge:`` is not configured."""
        if settings.forge is None:
            return None
        return cls(settings, ForgeTokenVerifier(settings.forge))

    def authenticate(self, authorization: str | None) -> ForgeAccess:
        """Verify ``Bearer <FIT>`` and the site; raises ForgeTokenError or SiteNotAllowedError."""
        scheme, _, token = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ForgeTokenError("missing bearer token")
        context = self.verifier.verify(token.strip())
        for site in allowed_sites(self.settings):
            if site_matches(site, context):
                visible = tuple(
                    client
                    for client in self.settings.clients
                    if not site.clients or client.key in site.clients
                )
                return ForgeAccess(context, site, visible)
        raise SiteNotAllowedError(
            f"Jira site {context.site_url or context.cloud_id or context.installation_id!r} "
            "is not one this ScopeGuard serves (forge.sites)"
        )
