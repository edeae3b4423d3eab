"""How many nights a figure needs: the confidence-interval method of simulation practice.

Nights are added until the 95% confidence interval of the mean of a per-night figure (Student t,
n - 1 degrees of freedom) has a half-width within a stated share of the mean. The answer is the
smallest such n counted in night order, so it does not depend on how many nights were run at
once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from scipy import stats

from studies.units import shown

T = TypeVar("T")

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


def nights_to_precision(
    play: Callable[[int, int], list[T]],
    figure: Callable[[T], float],
    precision: float,
    max_nights: int,
    batch: int,
    min_nights: int = MIN_NIGHTS,
) -> tuple[list[T], Precision]:
    """Play nights in rounds of ``batch`` (``play(first, count)`` returns nights ``first`` ..
    ``first + count - 1`` in order) until ``figure``'s mean is known within ``precision`` or
    ``max_nights`` were played. Returns the nights up to the first n that reached it (so the
    answer does not depend on the rounds) and the precision reached."""
    if max_nights < 1 or batch < 1:
        raise ValueError("max_nights and batch must be at least 1")
    played: list[T] = []
    while len(played) < max_nights:
        played += play(len(played), min(batch, max_nights - len(played)))
        reached = precision_reached([figure(n) for n in played], precision, min_nights)
        if reached.reached:
            return played[: reached.nights], reached
    return played, reached


def format_precision(reached: Precision, metric: str, asked: float) -> str:
    """One line: the nights the precision took (or the cap) and the interval reached."""
    figure = shown(metric)
    interval = (
        f"{figure.label} {reached.mean / figure.scale:.2f} ± "
        f"{reached.half_width / figure.scale:.2f} {figure.unit} (95% confidence interval; "
        f"half-width {100 * reached.relative:.1f}% of the mean, asked {100 * asked:g}%)"
    )
    if reached.reached:
        return f"precision reached after {reached.nights} nights: {interval}"
    return f"precision NOT reached: {reached.nights} nights (--max-nights): {interval}"
