"""How many nights a figure needs: the confidence-interval method of simulation practice.

Nights are added until the 95% confidence interval of the mean of a per-night figure (Student t,
n - 1 degrees of freedom) has a half-width within a stated share of the mean. The answer is the
smallest such n counted in night order, so it does not depend on how many nights were run at
once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
MIN_NIGHTS = 5
"""Fewest nights whose interval is trusted: the sample variance of fewer is too erratic."""


@dataclass(frozen=True, slots=True)
class Precision:
    """The mean of a figure over ``nights`` and its confidence interval's half-width, in the
    figure's own unit; ``reached``: the half-width is within the share of the mean asked for."""

    nights: int
    mean: float
    half_width: float
    reached: bool

    @property
    def relative(self) -> float:
        """Half-width as a share of the mean (inf when the mean is 0)."""
        return self.half_width / abs(self.mean) if self.mean else math.inf


def half_width(values: Sequence[float], confidence: float = CONFIDENCE) -> float:
    """Half-width of the Student-t confidence interval of the mean of ``values``."""
    n = len(values)
    if n < 2:
        return math.inf
    sd = float(np.std(values, ddof=1))
    return float(stats.t.ppf((1 + confidence) / 2, n - 1)) * sd / math.sqrt(n)


def precision_reached(
    values: Sequence[float],
    precision: float,
    min_nights: int = MIN_NIGHTS,
    confidence: float = CONFIDENCE,
) -> Precision:
    """The first n (from ``min_nights``) at which the first n values' interval is within
    ``precision`` x |mean|; when none is, all the values with ``reached`` false. A figure that
    did not happen in a night (NaN) has no mean: it never reaches precision."""
    if not values:
        raise ValueError("no nights to judge")
    for n in range(min(min_nights, len(values)), len(values) + 1):
        first = values[:n]
        if any(math.isnan(v) for v in first):
            break
        mean, width = float(np.mean(first)), half_width(first, confidence)
        if n >= min_nights and width <= precision * abs(mean):
            return Precision(n, mean, width, True)
    mean = float(np.mean(values))
    return Precision(len(values), mean, half_width(values, confidence), False)
