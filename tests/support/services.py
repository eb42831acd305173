"""ScopeGuard's services wired for tests: the same composition root, on the pinned clock."""

from __future__ import annotations

from typing import Any

from scopeguard.bootstrap import Services
from scopeguard.config import Settings
from tests.support import clock


def pinned_services(settings: Settings, **options: Any) -> Services:
    """:class:`Services` for ``settings`` on the pinned clock (unless ``clock`` is given)."""
    options.setdefault("clock", clock.now)
    return Services(settings, **options)
