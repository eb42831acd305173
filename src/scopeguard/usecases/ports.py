"""What the use cases that span several others need from the composition root.

:class:`scopeguard.bootstrap.Services` provides all of it; naming the needs here
keeps the arrow pointing down (use cases never import the composition root)
and says exactly what a job or a report depends on.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from scopeguard.adapters.store.db import Database
from scopeguard.config import Settings
from scopeguard.usecases.risk import RiskService
from scopeguard.usecases.snapshots import ScopeAnalysis
from scopeguard.usecases.sync import SyncService


class Application(Protocol):
    """The configured application: settings, storage, clock and the long-lived services."""

    @property
    def settings(self) -> Settings: ...

    @property
    def database(self) -> Database: ...

    @property
    def analysis(self) -> ScopeAnalysis: ...

    @property
    def sync(self) -> SyncService: ...

    @property
    def risk(self) -> RiskService: ...

    @property
    def clock(self) -> Callable[[], datetime]:
        """What time it is (the composition root's one clock)."""
        ...

    @property
    def sleep(self) -> Callable[[float], None]:
        """How waits between retries wait."""
        ...
