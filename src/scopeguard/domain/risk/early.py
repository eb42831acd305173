"""The early warning: a young contract's first weeks next to how the other clients began.

Once a contract has run ``risk.early_weeks`` weeks (default 3), its signals over
exactly those first weeks are set beside every other client's signals over
*their* first weeks (clients whose first weeks are complete and have enough
activity). Two results:

- the early score: the usual score (:mod:`~scopeguard.domain.risk.score`), each
  signal normalised against the other clients' first weeks;
- the resemblance: each signal is put on one common scale, robust z against all
  those clients' first weeks together (median, MAD, the signal's minimum
  spread), and the distance to each other client is the weighted root mean
  square of the differences over the signals both have::

      distance(a, b) = sqrt( Σ w_s (z_a,s − z_b,s)² ÷ Σ w_s )

  The nearest client is the one the young contract resembles most; its current
  score and level say what that resemblance may mean.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from math import sqrt

from scopeguard.domain.risk.score import RiskLevel
from scopeguard.domain.risk.signals import MIN_SPREAD, SignalName, Window
from scopeguard.domain.risk.stats import MAD_TO_SIGMA, mad, median


@dataclass(frozen=True, slots=True)
class Resemblance:
    """How close another client's first weeks were, and where that client stands now."""

    client: str
    distance: float
    score: int | None
    """That client's current score."""
    level: RiskLevel | None


@dataclass(frozen=True, slots=True)
class EarlyWarning:
    """A contract's first weeks compared with the other clients' first weeks."""

    weeks: int
    window: Window
    score: int | None
    level: RiskLevel | None
    signals: Mapping[SignalName, float | None]
    """Each signal normalised (0–1) against the other clients' first weeks."""
    resembles: str | None
    """The client whose first weeks were nearest; ``None`` when none is comparable."""
    neighbours: tuple[Resemblance, ...]
    """Every comparable client, nearest first."""


def common_scale(
    values: Mapping[str, Mapping[SignalName, float | None]],
) -> dict[str, dict[SignalName, float]]:
    """Robust z of every client's every signal against all the clients together."""
    scaled: dict[str, dict[SignalName, float]] = {key: {} for key in values}
    for name in SignalName:
        present = {key: v[name] for key, v in values.items() if v.get(name) is not None}
        numbers = [value for value in present.values() if value is not None]
        if len(numbers) < 2:
            continue
        centre = median(numbers)
        spread = max(MAD_TO_SIGMA * mad(numbers), MIN_SPREAD[name])
        for key, value in present.items():
            assert value is not None
            scaled[key][name] = (value - centre) / spread
    return scaled


def distance(
    a: Mapping[SignalName, float],
    b: Mapping[SignalName, float],
    weights: Mapping[SignalName, float],
) -> float | None:
    """Weighted RMS difference over the signals both have; ``None`` when they share none."""
    total = weight_sum = 0.0
    for name, value in a.items():
        other = b.get(name)
        weight = weights.get(name, 0.0)
        if other is None or weight <= 0:
            continue
        total += weight * (value - other) ** 2
        weight_sum += weight
    if weight_sum == 0:
        return None
    return sqrt(total / weight_sum)


def neighbours(
    key: str,
    scaled: Mapping[str, Mapping[SignalName, float]],
    weights: Mapping[SignalName, float],
    current: Mapping[str, tuple[int | None, RiskLevel | None]],
) -> tuple[Resemblance, ...]:
    """The other clients by distance from ``key``'s first weeks, nearest first (ties by key)."""
    mine = scaled.get(key, {})
    found = []
    for other, theirs in scaled.items():
        if other == key:
            continue
        gap = distance(mine, theirs, weights)
        if gap is None:
            continue
        score, level = current.get(other, (None, None))
        found.append(Resemblance(other, round(gap, 4), score, level))
    return tuple(sorted(found, key=lambda r: (r.distance, r.client)))
