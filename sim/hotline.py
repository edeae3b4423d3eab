"""The results hotline: phone lines, operators, and everyone who calls them.

Usable on its own: build a :class:`Hotline` on a SimPy environment, feed it calls with
:func:`ring` (e.g. from :func:`poisson_calls`), run, and read ``hotline.calls``::

    env = simpy.Environment()
    hotline = Hotline(env, HotlineConfig(lines=100, operators=10, drop_prob=0.0))
    env.process(ring(env, hotline, poisson_calls("report", 1.0, 0.0, 600.0, 9.0, 20.0, rng)))
    env.run()

Times are minutes.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import simpy

from sim.config import HotlineConfig, PrankConfig, PublicConfig
from sim.desk import Desk

REPORT, PRANK, PUBLIC = "report", "prank", "public"
"""Kinds of callers: a chair phoning in results, a prankster, a journalist or the public."""

KINDS = (REPORT, PRANK, PUBLIC)

BUSY, BLOCKED, SCREENED, ABANDONED, DROPPED, SERVED, UNFINISHED = (
    "busy",
    "blocked",
    "screened",
    "abandoned",
    "dropped",
    "served",
    "unfinished",
)
"""How a call ends: every line taken; number blocked; turned away at the PIN screen; hung up on
hold; cut off while talking; finished with an operator; still going when the night ended."""

OUTCOMES = (BUSY, BLOCKED, SCREENED, ABANDONED, DROPPED, SERVED, UNFINISHED)


@dataclass(slots=True)
class Call:
    """One call. ``talk_min`` is the operator time it needs, ``patience_min`` how long the
    caller holds; ``drop_draw`` a uniform draw in [0, 1) made as it is placed, from the
    caller's stream: an answered call drops if it falls below ``hotline.drop_prob``, after
    that share of its talk (``drop_draw / drop_prob``). ``wait_min`` is the time spent on hold
    (None if it never reached the queue)."""

    kind: str
    caller: int
    placed_min: float
    talk_min: float
    patience_min: float
    drop_draw: float
    has_pin: bool = False
    wait_min: float | None = None
    outcome: str | None = None
    ended_min: float | None = None


class Hotline:
    """Lines and operators. A call holds a line from pick-up to hang-up, and an operator while
    talking; callers on hold are answered first come, first served."""

    def __init__(self, env: simpy.Environment, config: HotlineConfig):
        self.env = env
        self.config = config
        self.operators = Desk(env, config.operators)
        self.lines = config.lines
        """Lines in service now (the shifts change them)."""
        self.lines_busy = 0
        self.peak_lines_busy = 0
        self.calls: list[Call] = []
        self.operator_min: Counter[str] = Counter()
        self.pranks_answered: Counter[int] = Counter()
        self.blocked: set[int] = set()
        self.series: list[tuple[float, int, int]] = []
        if config.shifts:
            env.process(self.work_shifts())

    @property
    def on_hold(self) -> int:
        """Callers waiting for an operator right now."""
        return self.operators.waiting

    def call(self, call: Call) -> Generator[simpy.Event, Any, str]:
        """A caller dials, holds until an operator answers or patience runs out, then talks;
        returns the outcome."""
        env, config = self.env, self.config
        self.calls.append(call)
        if call.caller in self.blocked and call.kind == PRANK:
            return self._hang_up(call, BLOCKED, line=False)
        if self.lines_busy >= self.lines:
            return self._hang_up(call, BUSY, line=False)
        self.lines_busy += 1
        self.peak_lines_busy = max(self.peak_lines_busy, self.lines_busy)
        if config.pin_screening:
            yield env.timeout(config.pin_screen_min)
            if not call.has_pin:
                return self._hang_up(call, SCREENED)
        on_hold_since = env.now
        answered = yield from self.operators.hold(call.patience_min)
        call.wait_min = env.now - on_hold_since
        if not answered:
            return self._hang_up(call, ABANDONED)
        outcome = SERVED
        talk = call.talk_min
        if call.drop_draw < config.drop_prob:
            outcome, talk = DROPPED, talk * call.drop_draw / config.drop_prob
        yield env.timeout(talk)
        self.operators.release()
        self.operator_min[call.kind] += talk
        if call.kind == PRANK:
            self._note_prank(call.caller)
        return self._hang_up(call, outcome)

    def work_shifts(self) -> Generator[simpy.Event, Any, None]:
        """At each shift's start, operators come on or go off duty (those leaving finish the
        call in hand) and lines are added or taken away (a line in use is not cut off)."""
        for shift in self.config.shifts:
            yield self.env.timeout(max(shift.from_min - self.env.now, 0.0))
            if shift.lines is not None:
                self.lines = shift.lines
            if shift.operators is not None:
                self.operators.on_duty(shift.operators)

    def close(self) -> None:
        """The night is over: calls still on the line end as unfinished."""
        for call in self.calls:
            if call.outcome is None:
                call.outcome = UNFINISHED

    def watch(self, every_min: float, until_min: float) -> Generator[simpy.Event, Any, None]:
        """Note (minute, lines busy, callers on hold) into ``series`` at every multiple of
        ``every_min`` up to ``until_min``, so a reading at such a minute is the state then."""
        sample = math.ceil(self.env.now / every_min)
        while (minute := sample * every_min) <= until_min:
            yield self.env.timeout(max(minute - self.env.now, 0.0))
            self.series.append((minute, self.lines_busy, self.on_hold))
            sample += 1

    def _note_prank(self, caller: int) -> None:
        """Operators recognise a prank number; block it once it has wasted enough calls."""
        self.pranks_answered[caller] += 1
        block_after = self.config.block_after_prank_calls
        if block_after and self.pranks_answered[caller] >= block_after:
            self.blocked.add(caller)

    def _hang_up(self, call: Call, outcome: str, line: bool = True) -> str:
        if line:
            self.lines_busy -= 1
        call.outcome = outcome
        call.ended_min = self.env.now
        return outcome


def ring(
    env: simpy.Environment, hotline: Hotline, calls: Iterable[Call]
) -> Generator[simpy.Event, Any, None]:
    """Place each call on the hotline at its ``placed_min`` (calls come in time order)."""
    for call in calls:
        yield env.timeout(call.placed_min - env.now)
        call.placed_min = env.now  # the clock's own sum, which may differ in the last digit
        env.process(hotline.call(call))


def poisson_calls(
    kind: str,
    rate_per_min: float,
    start_min: float,
    until_min: float,
    talk_mean_min: float,
    patience_mean_min: float,
    rng: random.Random,
) -> Iterator[Call]:
    """Calls arriving as a Poisson process, with exponential talk and patience times
    (``patience_mean_min = inf``: callers never hang up)."""
    if rate_per_min <= 0:
        return
    t = start_min
    caller = 0
    hang_up_rate = 1 / patience_mean_min
    while True:
        t += rng.expovariate(rate_per_min)
        if t >= until_min:
            return
        talk = rng.expovariate(1 / talk_mean_min)
        patience = rng.expovariate(hang_up_rate) if hang_up_rate else math.inf
        yield Call(kind, caller, t, talk, patience, rng.random())
        caller += 1


def public_calls(config: PublicConfig, rng: random.Random) -> Iterator[Call]:
    """Journalists and the public asking for results, from 7 pm until ``until_min``."""
    return poisson_calls(
        PUBLIC,
        config.rate_per_min,
        0.0,
        config.until_min,
        config.call_mean_min,
        config.patience_mean_min,
        rng,
    )


def prank_calls(config: PrankConfig, rng: random.Random) -> Iterator[Call]:
    """The prank flood: from the leak, a rate of ``peak_per_min`` halving every
    ``half_life_min``, from ``callers`` distinct numbers (a Poisson process, by inversion of
    its cumulative rate)."""
    if config.leak_min is None or config.peak_per_min <= 0:
        return
    decay = math.log(2) / config.half_life_min
    expected_total = config.peak_per_min / decay
    cumulative = 0.0
    while True:
        cumulative += rng.expovariate(1.0)
        if cumulative >= expected_total:
            return
        t = config.leak_min - math.log(1 - cumulative / expected_total) / decay
        yield Call(
            PRANK,
            rng.randrange(config.callers),
            t,
            rng.expovariate(1 / config.call_mean_min),
            rng.expovariate(1 / config.patience_mean_min),
            rng.random(),
        )
