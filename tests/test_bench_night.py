"""The night benchmark's step count (the measuring code), on hand-made environments."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import simpy

PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_night.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_night", PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def test_steps_and_the_events_pending_before_each(bench):
    env = simpy.Environment()
    count = bench.StepCount()
    count(env)
    for delay in (1, 2, 3):
        env.timeout(delay)
    env.run()
    assert count.pending == [3, 2, 1]
    assert str(count) == "3 events, 2 pending at the median step (at most 3)"


def test_a_process_counts_its_start_its_wait_and_its_end(bench):
    env = simpy.Environment()
    count = bench.StepCount()
    count(env)

    def caller():
        yield env.timeout(5)

    env.process(caller())
    env.run()
    assert len(count.pending) == 3  # Initialize, the timeout, the process ending


def test_the_plain_loop_shows_its_environment(bench):
    count = bench.StepCount()
    bench.plain_mmc(10, 2, 0.9, seed=1, watch=count)
    # Per caller: its arrival, its start, its turn, its talk, its release, its end; and the
    # source's own start and end. The last caller's end is the event that all have left,
    # which ends the run (its process's own end is left unplayed).
    assert len(count.pending) == 10 * 6 + 2


def test_idle_timers_wait_all_through_the_loop_and_never_fire(bench):
    count = bench.StepCount()
    bench.plain_mmc(10, 2, 0.9, seed=1, watch=count, idle_timers=50)
    assert len(count.pending) == 10 * 6 + 2  # not one step more
    assert min(count.pending) > 50  # the 50 were there at every step
