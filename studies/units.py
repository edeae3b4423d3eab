"""How a per-night figure (a key of :func:`sim.metrics.summarize`) is shown: its unit follows
its name. ``*_pct_min`` are times of night, shown in hours after 7 pm; other ``*_min`` are
durations in minutes; ``share_*`` and ``*_share`` are shares, shown in percent; the rest are
counts."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from sim.config import CHANNELS
from sim.hotline import KINDS

LABELS = {
    **{f"published_{p}pct_min": f"{p}% published" for p in (50, 90, 95, 99, 100)},
    **{f"received_{p}pct_min": f"{p}% received" for p in (50, 90, 95, 99, 100)},
    **{f"share_{c}": f"received by {c}" for c in CHANNELS},
    "never_arrived": "never arrived",
    **{f"calls_{kind}": f"{kind} calls" for kind in KINDS},
    "busy_share": "calls that got a busy signal",
    "abandon_share": "calls abandoned on hold",
    "wait_share": "calls put on hold",
    "report_abandon_share": "chairs' held calls abandoned",
    "report_hold_p50_min": "chairs' hold, median",
    "report_hold_p90_min": "chairs' hold, 90th percentile",
    "prank_operator_share": "operator time on pranks",
    "errors_injected": "errors injected",
    "errors_caught": "errors caught by HQ",
    "errors_published": "errors published",
    "flagged": "results flagged by HQ",
    "peak_lines_busy": "most lines busy",
}
"""What each per-night figure is called in tables, plots and targets."""

COUNT_NOUNS = (
    ("calls_", "calls"),
    ("errors_", "results"),
    ("flagged", "results"),
    ("never_arrived", "precincts"),
    ("peak_lines", "lines"),
)
"""The noun a count is shown with, by the start of its name."""


@dataclass(frozen=True, slots=True)
class Shown:
    """How to show one per-night figure: divide by ``scale`` and write ``unit``."""

    key: str
    label: str
    scale: float
    unit: str
    axis: str
    """Axis label: what the figure is and its unit."""

    def format(self, value: float, digits: int = 1) -> str:
        """``value`` (in the figure's own unit) as shown, e.g. ``6.0 h`` or ``12 %``."""
        if math.isnan(value):
            return "never"
        return f"{value / self.scale:.{digits}f} {self.unit}".rstrip()


def shown(key: str) -> Shown:
    """How the per-night figure ``key`` is shown (any key: the unit follows the name)."""
    label = LABELS.get(key, key)
    if key.endswith("pct_min"):
        return Shown(key, label, 60.0, "h", f"{label} (hours after 7 pm)")
    if key.endswith("_min"):
        return Shown(key, label, 1.0, "min", f"{label} (minutes)")
    if key.startswith("share_") or key.endswith("_share"):
        return Shown(key, label, 0.01, "%", f"{label} (%)")
    noun = next((noun for start, noun in COUNT_NOUNS if key.startswith(start)), "")
    return Shown(key, label, 1.0, noun, f"{label} ({noun})" if noun else label)


def words(text: str) -> frozenset[str]:
    """The words of a figure's name, for matching "chairs' 90th-percentile hold" to
    "chairs' hold, 90th percentile"."""
    return frozenset(re.findall(r"[a-z0-9]+", text.lower().replace("'s", "")))
