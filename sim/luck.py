"""The night's random streams: one for each chair, one for the prank flood, one for the public.

Each source of chance draws from a stream of its own (common random numbers), so that two
scenarios played on one seed differ only where their differences make them differ: a chair
whose night goes the same way under both draws the same paperwork time, the same patience on
hold, the same redials and the same checks at HQ under both, whatever the pranksters or the
other chairs did. A paired comparison of two plans on the same seeds (``caucus compare``,
sweeps, plans, sensitivity) then measures the plans, not the luck of the draw. The precincts
themselves (attendance, alignments, mistakes) are drawn before the night from its seed.
"""

from __future__ import annotations

import math
import random


def chairs_luck(seed: int, chairs: int) -> list[random.Random]:
    """A stream for each chair of a night, in the order of the precincts' index."""
    seeds = random.Random(f"{seed}/chairs")
    return [random.Random(seeds.getrandbits(64)) for _ in range(chairs)]


def stream(seed: int, name: str) -> random.Random:
    """The night's stream for the callers called ``name`` (pranks, public)."""
    return random.Random(f"{seed}/{name}")


def lognormal(luck: random.Random, median: float, sigma: float) -> float:
    """A lognormal draw given its median and log-sd."""
    return luck.lognormvariate(math.log(median), sigma)
