"""Across replications: the mean and the 90% band (5th to 95th percentile) of a figure, and
the share of nights that met a target with its confidence interval."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import cache

import numpy as np
from scipy.stats import binomtest

BAND_PERCENTILES = (5.0, 95.0)
BAND_NIGHTS = 20
"""Nights below which a 90% band is a rough range: each 5% tail holds less than one night."""


@dataclass(frozen=True, slots=True)
class Band:
    """Mean and 90% band of a figure over replications (NaN where no replication has it)."""

    mean: float
    low: float
    high: float
    missing: int = 0
    """Replications in which the figure did not happen (e.g. 100% never published)."""

    def format(self, scale: float = 1.0, digits: int = 1) -> str:
        if math.isnan(self.mean):
            return "never"
        text = f"{self.mean / scale:.{digits}f} [{self.low / scale:.{digits}f}, "
        text += f"{self.high / scale:.{digits}f}]"
        return text + (f" ({self.missing} never)" if self.missing else "")


def band(values: list[float] | np.ndarray) -> Band:
    """The band of one figure over replications, ignoring replications where it is NaN."""
    array = np.asarray(values, dtype=float)
    present = array[~np.isnan(array)]
    if not len(present):
        return Band(math.nan, math.nan, math.nan, len(array))
    low, high = np.percentile(present, BAND_PERCENTILES)
    return Band(float(present.mean()), float(low), float(high), len(array) - len(present))


def curve_band(curves: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pointwise mean, 5th and 95th percentile of equally long curves (NaN-aware)."""
    stacked = np.vstack(curves)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # columns that are NaN in every curve
        mean = np.nanmean(stacked, axis=0)
        low, high = np.nanpercentile(stacked, BAND_PERCENTILES, axis=0)
    return mean, low, high


@cache
def share_interval(met: int, nights: int, level: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson (exact) interval at ``level`` for the share of all possible nights that
    meet a target, when ``met`` of ``nights`` did."""
    if nights < 1 or not 0 <= met <= nights:
        raise ValueError(f"need 0 <= met <= nights and nights >= 1, got {met} of {nights}")
    interval = binomtest(met, nights).proportion_ci(confidence_level=level, method="exact")
    return float(interval.low), float(interval.high)


def few_nights(nights: int) -> str | None:
    """A warning when ``nights`` are too few for a 90% band, else None."""
    if nights >= BAND_NIGHTS:
        return None
    return (
        f"{nights} nights: a 90% band needs at least {BAND_NIGHTS} (each 5% tail is then at "
        "least one night); read the bands as rough ranges"
    )
