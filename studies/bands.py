"""Across replications: the mean and the 90% band (5th to 95th percentile) of a figure."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

BAND_PERCENTILES = (5.0, 95.0)


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
