"""A planner's goal for one night, written as they would say it, and whether a night met it.

Two forms:

- a share of precincts by a time: ``"95% published by 6h"``, ``"90% received by 11pm"``
  (times as in scenario files: hours after 7 pm or a clock time);
- a per-night figure with a bound: ``"chairs' 90th-percentile hold under 30 min"``,
  ``"errors published at most 10"``, ``"busy_share below 20%"``. The figure is a key of
  :func:`sim.metrics.summarize` or its label (:data:`studies.units.LABELS`), in any word order.

A night in which a time never came (95% never published) has not met a bound on that time.
"""

from __future__ import annotations

import difflib
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from sim.clock import CLOCK_TOLERANCE_MIN
from sim.metrics import summarize
from sim.night import Night
from sim.scenario import parse_minutes
from studies.units import LABELS, shown, words

TESTS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
COMPARISONS = {
    **dict.fromkeys(("under", "below", "less than", "<"), "<"),
    **dict.fromkeys(("at most", "no more than", "<=", "≤"), "<="),
    **dict.fromkeys(("over", "above", "more than", ">"), ">"),
    **dict.fromkeys(("at least", "no less than", ">=", "≥"), ">="),
}
"""How a bound may be written, and the comparison each wording means."""

_SHARE_BY = re.compile(
    r"^(?P<percent>\d+(?:\.\d+)?)\s*%\s*(?:of precincts\s+)?(?P<kind>published|received)\s+"
    r"(?:by|within|before)\s+(?P<time>.+)$"
)
_BOUND = re.compile(
    r"^(?P<what>.+?)\s*(?P<op>"
    + "|".join(re.escape(w) for w in sorted(COMPARISONS, key=len, reverse=True))
    + r")\s*(?P<value>[^<>=≤≥]+)$"
)


class TargetError(ValueError):
    """A target that cannot be read; the message says what was expected."""


@dataclass(frozen=True, slots=True)
class Target:
    """What a night must achieve. Either ``key`` (a per-night figure of
    :func:`sim.metrics.summarize`, in its own unit: minutes, shares in 0..1, counts) compared
    with ``bound`` by ``symbol``; or, with ``by_min`` set, the share of precincts ``kind``
    (published or received) by ``by_min`` minutes after 7 pm at least ``bound`` (0..1).

    A target is also a reduce for :func:`studies.runner.run_nights`: ``target(night, index)`` is
    the night's figure, so only that number travels back from a worker.
    """

    text: str
    key: str
    symbol: str
    bound: float
    by_min: float | None = None

    def __call__(self, night: Night, index: int) -> float:
        """The night's figure (a module-level callable, so it travels to worker processes)."""
        if self.by_min is not None:
            times = [getattr(r, f"{self.key}_min") for r in night.records]
            return _share_by(times, self.by_min)
        return float(summarize(night)[self.key])

    def met(self, value: float) -> bool:
        """Whether a night with this figure met the target. A time that never came is later than
        any bound; any other missing figure (no calls at all) does not meet it. A time of night
        within :data:`~sim.clock.CLOCK_TOLERANCE_MIN` of the bound is at the bound (a
        batch released at 7.7 h is published at most 7.7 h, not under it)."""
        is_time = self.key.endswith("pct_min")
        if math.isnan(value):
            if not is_time:
                return False
            value = math.inf
        if is_time and abs(value - self.bound) <= CLOCK_TOLERANCE_MIN:
            value = self.bound
        return TESTS[self.symbol](value, self.bound)

    @property
    def figure(self) -> str:
        """What the figure is, for tables and axes."""
        if self.by_min is not None:
            return f"share {self.key} by {self.by_min / 60:g} h"
        return shown(self.key).label

    def format_value(self, value: float) -> str:
        """A night's figure as shown (``93.1 %``, ``6.2 h``, ``12 results``)."""
        if self.by_min is not None:
            return f"{100 * value:.1f} %"
        return shown(self.key).format(value)


def parse_target(text: str) -> Target:
    """A target from a planner's words; :class:`TargetError` says what was not understood."""
    clean = " ".join(text.strip().split())
    lowered = clean.lower()
    if match := _SHARE_BY.match(lowered):
        percent = float(match["percent"])
        if not 0 < percent <= 100:
            raise TargetError(f"target {text!r}: the share must be above 0% and at most 100%")
        by_min = _minutes(text, match["time"])
        return Target(clean, match["kind"], ">=", percent / 100, by_min)
    match = _BOUND.match(lowered)
    if not match:
        raise TargetError(
            f"target {text!r}: expected e.g. '95% published by 6h' or "
            "'chairs' hold, 90th percentile under 30 min'"
        )
    key = _figure(text, match["what"])
    return Target(clean, key, COMPARISONS[match["op"]], _bound(text, key, match["value"].strip()))


def _figure(text: str, what: str) -> str:
    """The summary key named by ``what``: a key, or a label in any word order."""
    what = what.strip()
    if what in LABELS:
        return what
    wanted = words(what)
    for key, label in LABELS.items():
        if words(label) == wanted:
            return key
    close = difflib.get_close_matches(what, [*LABELS.values(), *LABELS], n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise TargetError(f"target {text!r}: {what!r} is not a per-night figure{hint}")


def _bound(text: str, key: str, value: str) -> float:
    """The bound in the figure's own unit: minutes, a share in 0..1, or a count."""
    unit = shown(key).unit
    if unit in ("h", "min"):
        if re.fullmatch(r"\d+(\.\d+)?", value):
            if unit == "h":
                raise TargetError(f"target {text!r}: give the time a unit: '6h' or '1am'")
            return float(value)
        return _minutes(text, value)
    if unit == "%":
        number = _number(text, value.removesuffix("%").strip())
        share = number / 100 if value.endswith("%") else number
        if not 0 <= share <= 1:
            raise TargetError(f"target {text!r}: a share is between 0% and 100%")
        return share
    return _number(text, value.removesuffix(unit).strip() if unit else value)


def _minutes(text: str, value: str) -> float:
    try:
        return float(parse_minutes(value))
    except ValueError as error:
        raise TargetError(f"target {text!r}: {error}") from None


def _number(text: str, value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise TargetError(f"target {text!r}: {value!r} is not a number") from None


def _share_by(times: list[float | None], by_min: float) -> float:
    """Share of precincts with a time at or before ``by_min``: a release at exactly ``by_min``
    counts (within :data:`~sim.clock.CLOCK_TOLERANCE_MIN`, as :func:`studies.runner.share_by`
    reads it)."""
    if not times:
        return math.nan
    return sum(t is not None and t <= by_min + CLOCK_TOLERANCE_MIN for t in times) / len(times)
