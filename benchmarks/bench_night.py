"""Speed of one Iowa-2020-sized night, next to a plain SimPy M/M/c loop measured in the same run.

    .venv/bin/python benchmarks/bench_night.py [--nights 5]

Prints the time of a default night (1,765 precincts, a prank flood of several thousand calls),
simulated calls per second, and the cost per call against the plain loop's cost per caller with
the same number of callers, night and loop taking turns seed by seed. Times are CPU seconds of
this process (``time.process_time``), so that other jobs on the shared cores count less.
Targets: a night under 0.5 s on one core (issue 3); all-inclusive cost per call at most 1.3x the
plain loop's cost per caller, with and without busy signals, and a cheaper call-less night
(issue 12). It ends with the anatomy of one night without busy signals against the loop, in a
pass of its own, not timed: SimPy events, events pending at each step, and the objects the
cyclic collector then walks; then, timed, the plain loop with as many idle events pending as
the night's median step, against itself without them: what the night's larger event queue
alone costs each step.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace

import simpy

from sim import NightConfig, run_night
from sim.night import Night, cyclic_gc_paused


def plain_mmc(
    callers: int,
    operators: int,
    load: float,
    seed: int,
    watch: Callable[[simpy.Environment], None] = lambda env: None,
    idle_timers: int = 0,
) -> float:
    """CPU seconds of the textbook SimPy M/M/c loop: callers arrive, queue, talk, leave
    (``watch`` is shown its environment before it runs). ``idle_timers`` timeouts wait
    beyond the loop's end all through it, as the night's callers on hold and chairs waiting
    keep theirs: every step then pays for a larger event queue; they never fire."""
    rng = random.Random(seed)
    talk_mean = 18.0
    gap_mean = talk_mean / (load * operators)
    env = simpy.Environment()
    watch(env)
    desk = simpy.Resource(env, operators)
    for order in range(idle_timers):
        env.timeout(1e12 + order)
    all_left = simpy.Event(env)
    left = 0

    def caller(talk: float):
        nonlocal left
        with desk.request() as request:
            yield request
            yield env.timeout(talk)
        left += 1
        if left == callers:
            all_left.succeed()

    def source():
        for _ in range(callers):
            yield env.timeout(rng.expovariate(1 / gap_mean))
            env.process(caller(rng.expovariate(1 / talk_mean)))

    env.process(source())
    gc.collect()
    start = time.process_time()
    env.run(until=all_left if callers else None)
    return time.process_time() - start


def timed_night(config: NightConfig, seed: int) -> tuple[Night, float, float]:
    """A night, the CPU seconds to build it (precincts drawn, each caucusing by the rules) and
    its CPU seconds in all (what ``run_night`` does). A night pauses Python's cyclic garbage
    collector while it runs; the pass the collector then makes over the night's objects is
    counted in."""
    gc.collect()
    start = time.process_time()
    with cyclic_gc_paused():
        night = Night(config, seed)
        built = time.process_time()
        night.run()
    gc.collect(0)
    return night, built - start, time.process_time() - start


def night_seconds(config: NightConfig, nights: int) -> tuple[float, float]:
    """Median CPU seconds of building ``nights`` nights, and of the nights in all."""
    timed = [timed_night(config, seed)[1:] for seed in range(1, nights + 1)]
    return statistics.median(t[0] for t in timed), statistics.median(t[1] for t in timed)


def bench(name: str, config: NightConfig, nights: int, callless_s: float) -> None:
    """Time ``nights`` nights of ``config`` and the plain loop with as many callers; print.

    ``callless_s`` is the CPU time of the same night without a single hotline call; what
    the calls add to it, per call, is the marginal cost printed last."""
    times, calls, plain_times = [], [], []
    outcomes: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    for seed in range(1, nights + 1):
        night, _, seconds = timed_night(config, seed)
        times.append(seconds)
        calls.append(len(night.calls))
        outcomes.update(c.outcome for c in night.calls)
        kinds.update(c.kind for c in night.calls)
        del night  # gone before the plain loop runs, so its collections do not walk it
        plain_times.append(plain_mmc(calls[-1], config.hotline.operators, 0.9, seed))

    seconds, n_calls, plain = (statistics.median(x) for x in (times, calls, plain_times))
    per_call_us = seconds / n_calls * 1e6
    plain_us = plain / n_calls * 1e6
    ratio = per_call_us / plain_us
    share = {k: round(v / sum(kinds.values()), 3) for k, v in kinds.most_common()}
    answered = (outcomes["served"] + outcomes["dropped"]) / sum(outcomes.values())
    busy = outcomes["busy"] / sum(outcomes.values())
    print(f"== {name} ({nights} nights, seeds 1..{nights}, medians)")
    print(
        f"one night: {seconds:.3f} s CPU (min {min(times):.3f}, max {max(times):.3f}) "
        f"for {config.precincts.regular + config.precincts.satellites} precincts and "
        f"{n_calls:,.0f} calls -> {n_calls / seconds:,.0f} simulated calls/s"
    )
    print(f"  call mix {share}; answered by an operator {answered:.1%}, busy signal {busy:.1%}")
    print(
        f"plain SimPy M/M/{config.hotline.operators} loop, {n_calls:,.0f} callers at 90% load: "
        f"{plain:.3f} s -> {n_calls / plain:,.0f} callers/s"
    )
    print(
        f"cost per call: model {per_call_us:.1f} us (everything in the night included) vs "
        f"plain loop {plain_us:.1f} us per caller -> ratio {ratio:.2f}x"
    )
    marginal_us = (seconds - callless_s) / n_calls * 1e6
    print(
        f"  marginal cost per call (night minus the same night without calls, "
        f"{callless_s:.3f} s): {marginal_us:.1f} us -> {marginal_us / plain_us:.2f}x plain"
    )
    print(
        f"  the call-less night alone is {callless_s / plain:.2f}x the plain loop's time for "
        f"as many callers; with it, the calls would have to cost "
        f"{max(1.3 - callless_s / plain, 0):.2f}x plain to meet 1.3x"
    )
    print(
        f"targets: night < 0.5 s {'MET' if seconds < 0.5 else 'NOT MET'}; "
        f"cost per call <= 1.3x plain {'MET' if ratio <= 1.3 else 'NOT MET'}"
    )


class StepCount:
    """Steps an environment takes and the events pending before each (not timed: counting
    slows every step)."""

    def __init__(self) -> None:
        self.pending: list[int] = []

    def __call__(self, env: simpy.Environment) -> None:
        step = env.step

        def counted() -> None:
            if env._queue:  # SimPy keeps no public count; an empty queue ends the run unstepped
                self.pending.append(len(env._queue))
            step()

        env.step = counted  # type: ignore[method-assign]

    def __str__(self) -> str:
        return (
            f"{len(self.pending):,} events, {statistics.median(self.pending):,.0f} pending at the "
            f"median step (at most {max(self.pending):,})"
        )


def anatomy(config: NightConfig, seed: int, nights: int) -> None:
    """What a step of the night carries against a step of the plain loop: events, pending
    events, and the objects the cyclic collector walks after the night; then what a queue of
    as many pending events costs the plain loop, timed over ``nights`` seeds."""
    night_steps, loop_steps = StepCount(), StepCount()
    gc.collect()
    with cyclic_gc_paused():
        night = Night(config, seed)
        night_steps(night.env)
        night.run()
        tracked = len(gc.get_objects(generation=0))
        start = time.process_time()
        gc.collect(0)
        collected_s = time.process_time() - start
    plain_mmc(len(night.calls), config.hotline.operators, 0.9, seed, loop_steps)
    print(f"anatomy at seed {seed}: the night {night_steps}; the plain loop {loop_steps}")
    print(
        f"  the night leaves {tracked:,} objects for the cyclic collector, which walks them in "
        f"{collected_s * 1e3:.1f} ms"
    )
    pending, callers = round(statistics.median(night_steps.pending)), len(night.calls)
    del night  # gone before the loops run, so their collections do not walk it
    bare, padded = [], []
    for repeat in range(1, nights + 1):  # taking turns, so that a slow spell hits both
        bare.append(plain_mmc(callers, config.hotline.operators, 0.9, repeat))
        padded.append(
            plain_mmc(callers, config.hotline.operators, 0.9, repeat, idle_timers=pending)
        )
    print(
        f"  the plain loop with {pending:,} idle timers pending all through it (as many as the "
        f"night's median step has): {statistics.median(padded) / statistics.median(bare):.2f}x "
        f"its time without them (medians of {nights})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nights", type=int, default=5, help="nights to time (default 5)")
    args = parser.parse_args()
    config = NightConfig()
    run_night(config, seed=0)  # warm up imports and caches
    callless = replace(
        config,
        chairs=replace(config.chairs, channels=("app", "photo", "mail")),
        prank=replace(config.prank, leak_min=None),
        public=replace(config.public, rate_per_min=0.0),
    )
    built_s, callless_s = night_seconds(callless, args.nights)
    print(
        f"call-less night (no hotline: app, photo, mail; no pranks, no public): "
        f"{callless_s:.3f} s CPU, median of {args.nights}: {built_s:.3f} s to draw the "
        f"precincts and caucus them, {callless_s - built_s:.3f} s to play the night"
    )
    bench("Iowa 2020 defaults", config, args.nights, callless_s)
    # Most default calls are cheap busy signals; with lines for everyone, every call queues.
    queued = replace(config, hotline=replace(config.hotline, lines=100_000))
    bench("same night, no busy signals (every call queues)", queued, args.nights, callless_s)
    anatomy(queued, seed=1, nights=args.nights)


if __name__ == "__main__":
    main()
