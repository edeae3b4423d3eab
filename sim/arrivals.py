"""The caucus-night arrival curve: when results reach HQ, and when the prank flood starts.

This is what load tests replay against a reporting endpoint; it is the public way to read a
simulated night's load without depending on the model's internals. Times are minutes after 7 pm.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sim.clock import CLOCK_TOLERANCE_MIN
from sim.night import run_night
from sim.scenario import load_scenario


@dataclass(frozen=True, slots=True)
class ArrivalCurve:
    """One simulated night's arrivals, for replaying as load."""

    received_min: tuple[float, ...]
    """Sorted minutes after 7 pm at which precinct results reached HQ, one per precinct."""
    precincts: int
    """Reporting units in the night (some may never arrive)."""
    prank_leak_min: float | None
    """When the hotline number leaked (None: never)."""
    prank_peak_per_min: float
    """Prank call rate right after the leak (calls per minute)."""
    prank_half_life_min: float
    """Minutes for the prank rate to halve."""

    def share_received_by(self, minute: float) -> float:
        """Share of precincts whose results had arrived by ``minute``: a receipt at exactly
        ``minute`` counts (within :data:`~sim.clock.CLOCK_TOLERANCE_MIN`)."""
        return sum(t <= minute + CLOCK_TOLERANCE_MIN for t in self.received_min) / self.precincts


def arrival_curve(scenario: Path | str, seed: int | None = None) -> ArrivalCurve:
    """Run one night of a scenario file (its own seed unless given) and return its arrivals."""
    loaded = load_scenario(scenario)
    night = run_night(loaded.night, loaded.seed if seed is None else seed)
    prank = loaded.night.prank
    received = (r.received_min for r in night.records if r.received_min is not None)
    return ArrivalCurve(
        received_min=tuple(sorted(received)),
        precincts=len(night.records),
        prank_leak_min=prank.leak_min,
        prank_peak_per_min=prank.peak_per_min,
        prank_half_life_min=prank.half_life_min,
    )
