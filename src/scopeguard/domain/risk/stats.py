"""Small robust statistics the signals and the score share: median, MAD, quantiles, spans."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

MAD_TO_SIGMA = 1.4826
"""Scales the median absolute deviation to a standard deviation for normal data."""


def median(values: Sequence[float]) -> float:
    """The median of a non-empty sequence (sorted or not)."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def mad(values: Sequence[float]) -> float:
    """The median absolute deviation from the median of a non-empty sequence."""
    centre = median(values)
    return median([abs(value - centre) for value in values])


def quantile(values: Sequence[float], share: float) -> float:
    """The ``share`` quantile (0–1) of a non-empty sequence, linear between ranks."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = share * (len(ordered) - 1)
    lower = int(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def span(timestamps: Sequence[float], since: float, until: float) -> range:
    """Indices of the sorted ``timestamps`` that lie in ``[since, until)``."""
    return range(bisect_left(timestamps, since), bisect_left(timestamps, until))
