"""The hotline on its own against queueing theory, and its counter-measures.

With Poisson arrivals and exponential talk and patience times the hotline is an M/M/n (+M)
queue: its probability of waiting, mean wait and abandonment must match Erlang C and Erlang A
within a 99% confidence interval from batch means of the run.
"""

import itertools
import math
import random
import statistics

import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.config import HotlineConfig, HotlineShift
from sim.hotline import (
    ABANDONED,
    BLOCKED,
    BUSY,
    DROPPED,
    OUTCOMES,
    PRANK,
    REPORT,
    SCREENED,
    SERVED,
    Call,
    Hotline,
    poisson_calls,
    ring,
)
from sim.queueing import erlang_a, erlang_c

T_99_19 = 2.861
"""Student t quantile 0.995 with 19 degrees of freedom (20 batches)."""


def run_hotline(config: HotlineConfig, calls) -> Hotline:
    env = simpy.Environment()
    hotline = Hotline(env, config)
    env.process(ring(env, hotline, calls))
    env.run()
    return hotline


def batch_means(hotline: Hotline, warm_up_min: float, until_min: float, batches: int = 20):
    """Per-batch P(wait), mean wait and abandonment, batches by the minute a call was placed."""
    width = (until_min - warm_up_min) / batches
    grouped = [[] for _ in range(batches)]
    for call in hotline.calls:
        if warm_up_min <= call.placed_min < until_min:
            grouped[int((call.placed_min - warm_up_min) // width)].append(call)
    return {
        "p_wait": [sum(c.wait_min > 0 for c in b) / len(b) for b in grouped],
        "mean_wait_min": [statistics.fmean(c.wait_min for c in b) for b in grouped],
        "p_abandon": [sum(c.outcome == ABANDONED for c in b) / len(b) for b in grouped],
    }


def assert_within_ci(samples: list[float], expected: float, what: str, max_rel_width: float):
    mean = statistics.fmean(samples)
    half = T_99_19 * statistics.stdev(samples) / math.sqrt(len(samples))
    assert abs(mean - expected) <= half, (
        f"{what}: simulated {mean:.4f} ± {half:.4f}, theory {expected:.4f}"
    )
    assert half <= max_rel_width * expected, f"{what}: interval ±{half:.4f} too wide to tell"


def compare(n: int, load: float, patience_mean_min: float, minutes: float, seed: int):
    """Run n operators at ``load`` Erlangs (talk mean 9 min) and return batch means."""
    talk = 9.0
    lam = load / talk
    config = HotlineConfig(lines=10**6, operators=n, drop_prob=0.0)
    calls = poisson_calls(REPORT, lam, 0.0, minutes, talk, patience_mean_min, random.Random(seed))
    hotline = run_hotline(config, calls)
    assert all(c.outcome in (SERVED, ABANDONED) for c in hotline.calls)
    return lam, 1 / talk, batch_means(hotline, warm_up_min=minutes / 21, until_min=minutes)


ERLANG_C_CASES = [
    pytest.param(5, 3.5, 60_000, 0.25, id="5 operators, 70% busy"),
    pytest.param(20, 17.0, 100_000, 0.35, id="20 operators, 85% busy"),
    pytest.param(
        10, 9.5, 400_000, 0.4, id="10 operators, 95% busy (near saturation)", marks=pytest.mark.slow
    ),
]


@pytest.mark.parametrize(("n", "load", "minutes", "wait_width"), ERLANG_C_CASES)
def test_patient_callers_match_erlang_c(n, load, minutes, wait_width):
    """Waits near saturation vary widely between batches: that case gets a wider interval."""
    lam, mu, batches = compare(n, load, math.inf, minutes, seed=n)
    theory = erlang_c(n, lam, mu)
    assert_within_ci(batches["p_wait"], theory.p_wait, "P(wait)", 0.15)
    assert_within_ci(batches["mean_wait_min"], theory.mean_wait_min, "mean wait", wait_width)
    assert max(batches["p_abandon"]) == 0


ERLANG_A_CASES = [
    pytest.param(5, 4.5, 20.0, 60_000, id="5 operators, 90% load, patience 20"),
    pytest.param(20, 22.0, 10.0, 30_000, id="20 operators, 110% load (overloaded), patience 10"),
    pytest.param(10, 10.0, 30.0, 60_000, id="10 operators, 100% load (saturation), patience 30"),
]


@pytest.mark.parametrize(("n", "load", "patience", "minutes"), ERLANG_A_CASES)
def test_impatient_callers_match_erlang_a(n, load, patience, minutes):
    lam, mu, batches = compare(n, load, patience, minutes, seed=100 + n)
    theory = erlang_a(n, lam, mu, 1 / patience)
    assert_within_ci(batches["p_wait"], theory.p_wait, "P(wait)", 0.1)
    assert_within_ci(batches["mean_wait_min"], theory.mean_wait_min, "mean wait", 0.2)
    assert_within_ci(batches["p_abandon"], theory.p_abandon, "abandonment", 0.25)


def test_busy_signals_match_the_finite_line_erlang_a_model():
    """With few lines, callers beyond them hear a busy signal: M/M/n/lines+M."""
    n, lines, talk, patience, minutes = 8, 12, 9.0, 15.0, 60_000
    lam = 9.0 / talk
    calls = poisson_calls(REPORT, lam, 0.0, minutes, talk, patience, random.Random(7))
    hotline = run_hotline(HotlineConfig(lines=lines, operators=n, drop_prob=0.0), calls)
    theory = erlang_a(n, lam, 1 / talk, 1 / patience, lines=lines)
    width = minutes / 20
    busy = [[] for _ in range(20)]
    for call in hotline.calls:
        busy[int(call.placed_min // width)].append(call.outcome == BUSY)
    assert_within_ci(
        [statistics.fmean(b) for b in busy[1:]] + [statistics.fmean(busy[0])],
        theory.p_busy,
        "P(busy)",
        0.15,
    )
    assert hotline.peak_lines_busy == lines


def flood(config: HotlineConfig, callers: int, calls: int, seed: int = 3) -> Hotline:
    """A stream of pranks from a few numbers, with chairs calling in between."""
    rng = random.Random(seed)

    def stream():
        for i in range(calls):
            kind = REPORT if i % 5 == 0 else PRANK
            caller = i if kind == REPORT else rng.randrange(callers)
            yield Call(kind, caller, i * 0.5, 2.0, 30.0, rng.random(), has_pin=kind == REPORT)

    return run_hotline(config, stream())


def test_blocking_repeat_callers_stops_a_few_numbers_flooding_the_line():
    open_line = flood(HotlineConfig(operators=2, drop_prob=0.0), callers=20, calls=2000)
    blocking = flood(
        HotlineConfig(operators=2, drop_prob=0.0, block_after_prank_calls=2), callers=20, calls=2000
    )
    assert not any(c.outcome == BLOCKED for c in open_line.calls)
    assert blocking.blocked and len(blocking.blocked) <= 20
    assert all(c.kind == PRANK for c in blocking.calls if c.outcome == BLOCKED)
    assert blocking.operator_min[PRANK] < open_line.operator_min[PRANK] / 10


def test_pin_screening_keeps_pranks_from_operators_but_lets_chairs_through():
    screened = flood(HotlineConfig(operators=2, drop_prob=0.0, pin_screening=True), 500, 1000)
    assert screened.operator_min[PRANK] == 0
    assert {c.outcome for c in screened.calls if c.kind == PRANK} == {SCREENED}
    reports = [c for c in screened.calls if c.kind == REPORT]
    assert all(c.outcome == SERVED for c in reports)


def test_every_call_ends_once_and_lines_are_all_free_at_the_end():
    calls = poisson_calls(REPORT, 2.0, 0.0, 2000.0, 9.0, 5.0, random.Random(5))
    hotline = run_hotline(HotlineConfig(lines=25, operators=15, drop_prob=0.1), calls)
    assert all(c.outcome in OUTCOMES and c.ended_min >= c.placed_min for c in hotline.calls)
    outcomes = {c.outcome for c in hotline.calls}
    assert {BUSY, ABANDONED, SERVED, "dropped"} <= outcomes
    assert hotline.lines_busy == 0 and hotline.on_hold == 0
    assert hotline.peak_lines_busy == 25


@settings(max_examples=40, deadline=None)
@given(
    lines=st.integers(1, 12),
    operators=st.integers(1, 12),
    rate=st.floats(0.05, 3.0),
    patience=st.floats(0.1, 60.0),
    drop_prob=st.floats(0.0, 0.5),
    pin_screening=st.booleans(),
    block_after=st.integers(0, 3),
    seed=st.integers(0, 10**6),
)
def test_any_hotline_conserves_calls_and_lines(
    lines, operators, rate, patience, drop_prob, pin_screening, block_after, seed
):
    lines = max(lines, operators)
    rng = random.Random(seed)
    pranks = poisson_calls(PRANK, rate, 0.0, 200.0, 2.0, patience, rng)
    chairs = poisson_calls(REPORT, rate / 2, 0.0, 200.0, 9.0, patience, rng)
    calls = sorted([*pranks, *chairs], key=lambda c: c.placed_min)
    for call in calls:
        call.has_pin = call.kind == REPORT
        call.caller %= 5
    config = HotlineConfig(
        lines=lines,
        operators=operators,
        drop_prob=drop_prob,
        pin_screening=pin_screening,
        block_after_prank_calls=block_after,
    )
    hotline = run_hotline(config, calls)
    assert len(hotline.calls) == len(calls)
    assert all(c.outcome in OUTCOMES and c.ended_min >= c.placed_min for c in hotline.calls)
    assert hotline.peak_lines_busy <= lines
    assert hotline.lines_busy == 0 and hotline.on_hold == 0
    for call in hotline.calls:
        if call.outcome in (BUSY, BLOCKED):
            assert call.wait_min is None and call.ended_min == call.placed_min
        if call.outcome == ABANDONED:
            assert call.wait_min == pytest.approx(call.patience_min)
        if call.outcome == SCREENED:
            assert pin_screening and not call.has_pin
    talked = sum(hotline.operator_min.values())
    assert talked <= operators * (max(c.ended_min for c in hotline.calls) + 1e-9)


def in_force(start: int, shifts, field: str, minute: float) -> int:
    """The number of operators or lines the shifts give at ``minute``."""
    value = start
    for shift in shifts:
        if shift.from_min <= minute and getattr(shift, field) is not None:
            value = getattr(shift, field)
    return value


@settings(max_examples=60, deadline=None)
@given(
    operators=st.integers(0, 6),
    lines=st.integers(1, 10),
    changes=st.lists(
        st.tuples(
            st.floats(0.0, 240.0),
            st.one_of(st.none(), st.integers(0, 6)),
            st.none() | st.integers(1, 10),
        ),
        max_size=5,
        unique_by=lambda change: change[0],
    ),
    rate=st.floats(0.1, 2.0),
    patience=st.floats(0.5, 60.0),
    drop_prob=st.floats(0.0, 0.3),
    seed=st.integers(0, 10**6),
)
def test_a_capacity_change_loses_no_call_and_counts_none_twice(
    operators, lines, changes, rate, patience, drop_prob, seed
):
    """Operators and lines change at shift times: every call still ends exactly once; nobody
    is answered beyond the operators on duty, nor gets a line beyond the lines in service;
    callers are answered first come, first served across the changes; and the operator minutes
    are exactly the talk of the calls answered."""
    shifts = tuple(HotlineShift(at, ops, ls) for at, ops, ls in sorted(changes))
    config = HotlineConfig(lines=lines, operators=operators, drop_prob=drop_prob, shifts=shifts)
    rng = random.Random(seed)
    calls = list(poisson_calls(REPORT, rate, 0.0, 300.0, 4.0, patience, rng))
    hotline = run_hotline(config, calls)
    assert len(hotline.calls) == len(calls) == len({id(c) for c in hotline.calls})
    assert all(c.outcome in OUTCOMES and c.ended_min >= c.placed_min for c in hotline.calls)
    assert hotline.lines_busy == 0 and hotline.on_hold == 0
    talking = [c for c in hotline.calls if c.outcome in (SERVED, DROPPED)]
    answered = {id(c): c.placed_min + c.wait_min for c in talking}  # to within float rounding
    eps = 1e-9
    for call in talking:
        at = answered[id(call)]
        on_the_phone = sum(answered[id(o)] <= at + eps and at + eps < o.ended_min for o in talking)
        on_the_phone += call.ended_min <= at + eps  # answered and over within the instant
        assert on_the_phone <= in_force(operators, shifts, "operators", at + eps)
    with_line = [c for c in hotline.calls if c.outcome not in (BUSY, BLOCKED)]
    for call in with_line:
        taken = sum(o.placed_min <= call.placed_min < o.ended_min for o in with_line)
        taken += call.ended_min == call.placed_min
        assert taken <= in_force(lines, shifts, "lines", call.placed_min)
    answers = [answered[id(c)] for c in sorted(talking, key=lambda c: c.placed_min)]
    assert all(b >= a - eps for a, b in itertools.pairwise(answers))  # first come, first served
    assert sum(hotline.operator_min.values()) == pytest.approx(
        sum(c.ended_min - answered[id(c)] for c in talking)
    )


def one_answered_call(drop_draw: float, drop_prob: float) -> Call:
    call = Call(REPORT, 0, 0.0, 10.0, 30.0, drop_draw, has_pin=True)
    run_hotline(HotlineConfig(lines=1, operators=1, drop_prob=drop_prob), [call])
    return call


def test_a_call_drops_when_its_draw_falls_below_the_drop_share_after_that_share_of_its_talk():
    dropped = one_answered_call(drop_draw=0.01, drop_prob=0.05)
    assert dropped.outcome == "dropped" and dropped.ended_min == pytest.approx(2.0)  # 0.2 of 10
    at_the_share = one_answered_call(drop_draw=0.05, drop_prob=0.05)
    assert at_the_share.outcome == SERVED and at_the_share.ended_min == 10.0
    assert one_answered_call(drop_draw=0.0, drop_prob=0.0).outcome == SERVED  # never drops
