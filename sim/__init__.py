"""The caucus-night model (SimPy): configure a night, run it, read its records and aggregates.

from sim import NightConfig, run_night, summarize
night = run_night(NightConfig(), seed=1)
summarize(night)["published_95pct_min"]
"""

from sim.config import NightConfig
from sim.metrics import conservation_problems, hold_by_hour, summarize
from sim.night import Night, run_night

__all__ = [
    "Night",
    "NightConfig",
    "conservation_problems",
    "hold_by_hour",
    "run_night",
    "summarize",
]
