"""Who is asking, and what each role may see.

- ``viewer``: every client's panel and API, without the internal sections;
- ``pm``: the same, limited to the clients named on their account;
- ``admin``: everything, with the internal sections (client risk, per-person
  effort and responsiveness, the internal PDF), exports and the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["viewer", "pm", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "pm", "admin")
"""From the least to the most trusted."""

Via = Literal["session", "token", "service", "open"]
"""How the request proved who it is: a browser session, a personal API token,
the deprecated shared ``web.api_token``, or nothing (open mode: no one configured)."""


def parse_role(text: str) -> Role:
    """``text`` as a role; ``ValueError`` for anything else."""
    for role in ROLES:
        if text == role:
            return role
    raise ValueError(f"unknown role {text!r} (one of {', '.join(ROLES)})")


def rank(role: Role) -> int:
    """A role's place in :data:`ROLES` (higher is more trusted)."""
    return ROLES.index(role)


@dataclass(frozen=True, slots=True)
class Principal:
    """The person or script behind a request."""

    username: str
    role: Role
    via: Via
    clients: frozenset[str] = frozenset()
    """A ``pm``'s clients; ignored for the other roles."""
    user_id: int | None = None
    read_only: bool = False
    """API tokens and the service token may only read."""

    @property
    def is_admin(self) -> bool:
        """Admins see the internal sections, exports and the audit log."""
        return self.role == "admin"

    def can_see(self, client_key: str) -> bool:
        """Whether this principal may see ``client_key``'s figures."""
        return self.role != "pm" or client_key in self.clients

    def visible(self, client_keys: list[str]) -> list[str]:
        """The keys of ``client_keys`` this principal may see, in their order."""
        return [key for key in client_keys if self.can_see(key)]


OPEN = Principal(username="(open mode)", role="admin", via="open")
"""Everyone, when no user, identity provider or token is configured (the demo)."""
