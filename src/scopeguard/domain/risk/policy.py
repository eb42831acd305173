"""The rules the risk engine runs by: working time, windows, thresholds, weights, priorities.

The configuration's ``risk:`` section and ``agency.working_hours`` become one
:class:`RiskPolicy` (:meth:`scopeguard.config.RiskSettings.policy`); the defaults
here are the documented ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from scopeguard.domain.risk.signals import DEFAULT_WEIGHTS, SignalName
from scopeguard.domain.risk.worktime import WorkingTime

DEFAULT_PRIORITIES: tuple[tuple[str, ...], ...] = (
    ("Highest", "Blocker"),
    ("High", "Critical"),
    ("Medium", "Major"),
    ("Low", "Minor"),
    ("Lowest", "Trivial"),
)
"""Jira's two standard priority schemes side by side, highest first."""


class PriorityScale:
    """Priority names ranked, highest first; names in one rank are equal.

    ``rank`` 0 is the top priority. Names compare case-insensitively; a name the
    scale does not know has no rank, so a change to or from it is never read
    as raising the priority.
    """

    __slots__ = ("_ranks",)

    def __init__(self, ranks: Iterable[str | Sequence[str]] = DEFAULT_PRIORITIES) -> None:
        self._ranks: dict[str, int] = {}
        for rank, names in enumerate(ranks):
            for name in (names,) if isinstance(names, str) else names:
                self._ranks.setdefault(name.casefold(), rank)

    def rank(self, name: str | None) -> int | None:
        """The rank of a priority name (0 = top), ``None`` if unknown."""
        return None if name is None else self._ranks.get(name.casefold())

    def is_top(self, name: str | None) -> bool:
        """Whether ``name`` is of the highest rank."""
        return self.rank(name) == 0

    def raised(self, before: str | None, after: str | None) -> bool:
        """Whether going from ``before`` to ``after`` raises the priority."""
        old, new = self.rank(before), self.rank(after)
        return old is not None and new is not None and new < old


@dataclass(frozen=True, slots=True)
class RiskPolicy:
    """Everything besides the data that the signals and the score depend on."""

    working: WorkingTime
    """The agency's working hours and late-night span, in its zone."""
    weights: Mapping[SignalName, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    window_weeks: int = 4
    """Each weekly score looks at this many weeks ending with that week."""
    early_weeks: int = 3
    """The early warning compares a contract's first this-many weeks."""
    elevated_score: float = 50.0
    alert_score: float = 75.0
    """From this score a client's level is ``high`` (and, in phase 2, the alert fires)."""
    min_actions: int = 5
    """Fewer client actions than this in a window: not enough data for a score."""
    min_peers: int = 2
    """A signal is normalised only against at least this many other clients."""
    min_words: int = 30
    """A brief or description shorter than this (in words) is too short."""
    priorities: PriorityScale = field(default_factory=PriorityScale)

    def __post_init__(self) -> None:
        if self.window_weeks < 1 or self.early_weeks < 1:
            raise ValueError("risk windows are at least one week long")
        if not 0 <= self.elevated_score <= self.alert_score <= 100:
            raise ValueError("need 0 ≤ elevated_score ≤ alert_score ≤ 100")
        if any(weight < 0 for weight in self.weights.values()):
            raise ValueError("signal weights cannot be negative")

    def weight(self, name: SignalName) -> float:
        """The weight of a signal (its default when the policy does not name it)."""
        return self.weights.get(name, DEFAULT_WEIGHTS[name])
