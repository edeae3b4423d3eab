"""The night being replayed: which precinct reports when, the compressed clock, the hotline.

Times are night minutes after 7 pm; wall seconds = night minutes x 60 / compress. Every process
builds the same plan from the options; a worker then keeps the precincts of its own slice.
"""

from __future__ import annotations

import csv
import random
import time
from collections import deque
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from loadtests.receipts import ReceiptLog

if TYPE_CHECKING:
    from sim.arrivals import ArrivalCurve

STAGE_SPAN_MIN = 60.0
"""Night minutes from a precinct's attendance report to its final result."""
REALIGNMENT_MIN = 20.0
"""Night minutes from first alignment to the final result (realignment takes at least 15)."""
HOTLINE_SHARE = 0.2
"""Default share of precincts whose chairs phone their results in."""
TAIL_S = 15.0
"""Wall seconds a caucus-night run goes on after the night: last retries and phoned results."""
NIGHT_STARTS_H = 19
"""Minute 0 of the night is 7 pm."""


def clock(minute: float) -> str:
    """Time of night of a night minute, as on a wall clock: 0 is ``7:00 pm``, 330 ``12:30 am``."""
    hours, minutes = divmod(round(NIGHT_STARTS_H * 60 + minute) % (24 * 60), 60)
    return f"{(hours - 1) % 12 + 1}:{minutes:02d} {'am' if hours < 12 else 'pm'}"


@dataclass(frozen=True, slots=True)
class PrecinctSlot:
    """One precinct's night: its chair's PIN and when each stage is ready (night minutes)."""

    index: int
    precinct_id: str
    pin: str
    close_min: float
    by_phone: bool

    @property
    def open_min(self) -> float:
        return max(0.0, self.close_min - STAGE_SPAN_MIN)

    @property
    def first_min(self) -> float:
        return max(self.open_min, self.close_min - REALIGNMENT_MIN)


@dataclass(frozen=True, slots=True)
class Flood:
    """The prank flood: starts at the leak, then halves every ``half_life_min``."""

    leak_min: float | None
    half_life_min: float

    def intensity(self, minute: float) -> float:
        """0 before the leak, 1 at it, decaying after; 1 throughout when no leak is known."""
        if self.leak_min is None:
            return 1.0
        if minute < self.leak_min:
            return 0.0
        return 0.5 ** ((minute - self.leak_min) / self.half_life_min)

    @property
    def window(self) -> tuple[float, float] | None:
        """Night minutes of the flood at its height: from the leak until it has halved."""
        if self.leak_min is None:
            return None
        return (self.leak_min, self.leak_min + self.half_life_min)


@dataclass(frozen=True, slots=True)
class NightPlan:
    """Every precinct's slot (in the order chairs arrive) and the prank flood."""

    slots: tuple[PrecinctSlot, ...]
    flood: Flood
    night_min: float


def close_minutes(scenario: str, precincts: int, night_min: float, seed: int) -> list[float]:
    """Result times for ``precincts`` precincts, spread like the scenario's arrival curve.

    The curve is resampled at evenly spaced quantiles; without a scenario results arrive
    evenly over the night. Precincts whose results come after the night are left out (inf).
    """
    if not scenario:
        return [night_min * (i + 0.5) / precincts for i in range(precincts)]
    curve = _curve(scenario, seed)
    received = curve.received_min
    positions = (int((i + 0.5) * curve.precincts / precincts) for i in range(precincts))
    return [received[p] if p < len(received) else float("inf") for p in positions]


@lru_cache(maxsize=4)
def _curve(scenario: str, seed: int) -> ArrivalCurve:
    from sim.arrivals import arrival_curve

    return arrival_curve(scenario, seed)


@lru_cache(maxsize=4)
def plan_night(
    pin_sheet: str, scenario: str, night_hours: float, hotline_share: float, seed: int
) -> NightPlan:
    """The night's plan from a PIN sheet and (optionally) a scenario's arrival curve."""
    with Path(pin_sheet).open(newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    night_min = night_hours * 60
    rng = random.Random(seed)
    times = close_minutes(scenario, len(rows), night_min, seed)
    rng.shuffle(times)
    slots = [
        PrecinctSlot(
            index=i,
            precinct_id=row["precinct_id"],
            pin=row["pin"],
            close_min=close,
            by_phone=rng.random() < hotline_share,
        )
        for i, (row, close) in enumerate(zip(rows, times, strict=True))
        if close <= night_min
    ]
    slots.sort(key=lambda s: (s.open_min, s.index))
    flood = Flood(None, 1.0)
    if scenario:
        curve = _curve(scenario, seed)
        flood = Flood(curve.prank_leak_min, curve.prank_half_life_min)
    return NightPlan(tuple(slots), flood, night_min)


class Night:
    """One process's share of the night: its chairs to send, its hotline calls, its clock."""

    def __init__(
        self, plan: NightPlan, compress: float, share: int, shares: int, receipts: ReceiptLog
    ) -> None:
        self.plan = plan
        self.compress = compress
        self.receipts = receipts
        self.share, self.shares = share, shares
        self.started = time.monotonic()
        self.over = False
        """Set when the test stops (a new test in the web UI plans a night of its own)."""
        mine = [s for s in plan.slots if s.index % shares == share]
        self._chairs = deque(s for s in mine if not s.by_phone)
        self._phoned = deque(sorted((s for s in mine if s.by_phone), key=lambda s: s.close_min))
        self._handed_over: deque[PrecinctSlot] = deque()
        window = plan.flood.window
        self._flood_s = (self.wall_s(window[0]), self.wall_s(window[1])) if window else (0.0, 0.0)

    def minute(self) -> float:
        """Night minutes since the test started."""
        return (time.monotonic() - self.started) * self.compress / 60

    def wall_s(self, minutes: float) -> float:
        """Wall seconds that ``minutes`` of night take."""
        return minutes * 60 / self.compress

    def in_flood(self) -> bool:
        """Whether the night is inside the flood window now."""
        return self._flood_s[0] <= time.monotonic() - self.started < self._flood_s[1]

    def seconds_until(self, minute: float) -> float:
        return max(0.0, self.wall_s(minute - self.minute()))

    def next_chair(self) -> PrecinctSlot | None:
        """The next precinct whose chair reports through the app (None: all have come)."""
        return self._chairs.popleft() if self._chairs else None

    def hand_over(self, slot: PrecinctSlot) -> None:
        """A chair who could not get through calls the hotline instead."""
        self._handed_over.append(slot)

    def next_call(self) -> PrecinctSlot | None:
        """The next call an operator can take now: a handed-over chair, or a phoned result."""
        if self._handed_over:
            return self._handed_over.popleft()
        if self._phoned and self._phoned[0].close_min <= self.minute():
            return self._phoned.popleft()
        return None


def night_cast(
    plan: NightPlan,
    run_s: float,
    compress: float,
    watchers: int,
    pranksters: int,
    operators: int,
    reviewers: int = 0,
) -> dict[str, int] | None:
    """Users wanted per class ``run_s`` wall seconds into caucus night (None: the night is over).

    Chairs arrive as their precincts open, watchers grow with the night to ``watchers``, prank
    bots come when the hotline number leaks, operators and HQ reviewers are on duty from the
    start.
    """
    minute = run_s * compress / 60
    if minute > plan.night_min + TAIL_S * compress / 60:
        return None
    opened = sum(not s.by_phone and s.open_min <= minute for s in plan.slots)
    return {
        "HotlineOperator": operators,
        "PrecinctChair": opened,
        "Watcher": max(min(watchers, 1), round(watchers * min(1.0, minute / plan.night_min))),
        "PrankBot": pranksters if plan.flood.intensity(minute) > 0 else 0,
        "Reviewer": reviewers,
    }


def coverage(plan: NightPlan, played_min: float, closed: set[str]) -> dict:
    """Precincts whose results were due by ``played_min``, and which of them never got in."""
    due = [s for s in plan.slots if s.close_min <= played_min]
    missing = sorted(s.precinct_id for s in due if s.precinct_id not in closed)
    return {
        "first_due_min": min((s.close_min for s in plan.slots), default=None),
        "due": len(due),
        "due_by_phone": sum(s.by_phone for s in due),
        "closed": len(due) - len(missing),
        "not_closed": missing,
    }
