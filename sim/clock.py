"""The night's clock: minutes after 7 pm, and how a time read at a moment counts."""

from __future__ import annotations

CLOCK_TOLERANCE_MIN = 1e-6
"""A time within this many minutes of t counts as at t: the simulation clock adds up minutes
and may land a last digit away from the time a scenario wrote (a release at "+45.6h"). Every
reading of a share "by" a time uses it, in sim/ and in studies/."""
