"""Normalising each signal against the agency's other clients, and the 0–100 score.

For one signal in one window, with ``peers`` the values of the *other* clients
that have enough data in the same window (at least ``risk.min_peers`` of them)::

    spread = max(1.4826 × MAD(peers), MIN_SPREAD[signal])
    z      = (value − median(peers)) ÷ spread
    normalised = clip((z + 1.5) ÷ 4.5, 0, 1)

so a client like the others' median sits at ⅓, one 3 spreads worse at 1, and
1.5 spreads better at 0. Median and MAD, not mean and standard deviation: one
extreme client must not become everybody's yardstick. A half's score is::

    score = round(100 × Σ weight × normalised ÷ Σ weight)   over the half's signals that have one

``None`` (no score) when no signal of the half could be normalised.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from scopeguard.domain.risk.people import Side
from scopeguard.domain.risk.signals import MIN_SPREAD, Measurement, SignalName
from scopeguard.domain.risk.stats import MAD_TO_SIGMA, median

Z_LOW = -1.5
Z_HIGH = 3.0


class RiskLevel(StrEnum):
    """How a score reads: under ``risk.elevated_score``, under ``risk.alert_score``, from it."""

    LOW = "low"
    ELEVATED = "elevated"
    HIGH = "high"


@dataclass(frozen=True, slots=True)
class Normalised:
    """A signal's value placed among the other clients' values."""

    z: float | None
    """Robust z: spreads above the others' median; ``None`` without enough peers."""
    normalised: float | None
    """``z`` mapped onto 0–1 (the module's docstring)."""
    peer_median: float | None
    peers: int


UNPLACED = Normalised(None, None, None, 0)


def normalise(
    name: SignalName, value: float | None, peers: Sequence[float], min_peers: int
) -> Normalised:
    """Place ``value`` among ``peers`` (see the module's docstring)."""
    if not peers:
        return UNPLACED
    centre = median(peers)
    if value is None or len(peers) < min_peers:
        return Normalised(None, None, centre, len(peers))
    # The MAD about ``centre``, already known: ``mad`` would find the same median again.
    deviation = median([abs(peer - centre) for peer in peers])
    spread = max(MAD_TO_SIGMA * deviation, MIN_SPREAD[name])
    z = (value - centre) / spread
    mapped = min(1.0, max(0.0, (z - Z_LOW) / (Z_HIGH - Z_LOW)))
    return Normalised(z, mapped, centre, len(peers))


def combine(
    normalised: Mapping[SignalName, float | None], weights: Mapping[SignalName, float]
) -> int | None:
    """The weighted score 0–100 of the signals that have a normalised value."""
    total = weight_sum = 0.0
    for name, value in normalised.items():
        weight = weights.get(name, 0.0)
        if value is None or weight <= 0:
            continue
        total += weight * value
        weight_sum += weight
    if weight_sum == 0:
        return None
    return round(100 * total / weight_sum)


def level_of(score: int | None, elevated: float, high: float) -> RiskLevel | None:
    """The level a score reads as; ``None`` without a score."""
    if score is None:
        return None
    if score >= high:
        return RiskLevel.HIGH
    if score >= elevated:
        return RiskLevel.ELEVATED
    return RiskLevel.LOW


@dataclass(frozen=True, slots=True)
class SignalResult:
    """One signal of one client: the measurement, where it stands among the others, its weight."""

    name: SignalName
    side: Side
    measurement: Measurement
    placed: Normalised
    weight: float

    @property
    def value(self) -> float | None:
        """The measured value (higher is worse)."""
        return self.measurement.value

    @property
    def normalised(self) -> float | None:
        """0–1 against the other clients; ``None`` when it could not be placed."""
        return self.placed.normalised
