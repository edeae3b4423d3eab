"""`caucus plan`: the interval, the two searches on cases whose answer is known, and a queue
whose answer Erlang C gives."""

import csv
import itertools
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caucus.cli import main
from sim.presets import find_scenario
from sim.queueing import erlang_c
from sim.scenario import load_scenario
from studies.bands import share_interval
from studies.levers import Lever, parse_costs, parse_values
from studies.plan import FAILS, MEETS, Plan, PlanResult, Tried, plan_scenario, search
from studies.targets import parse_target

AT_LEAST_50 = parse_target("errors published at least 50")


def same_every_night(values, first, count):
    """Every night's figure is the first lever's value."""
    return [float(values[0])] * count


def test_clopper_pearson_interval():
    low, high = share_interval(5, 10)
    assert (round(low, 4), round(high, 4)) == (0.1871, 0.8129)  # textbook 95% interval
    assert share_interval(0, 10) == (0.0, pytest.approx(1 - 0.025 ** (1 / 10)))
    assert share_interval(10, 10) == (pytest.approx(0.025 ** (1 / 10)), 1.0)
    assert share_interval(35, 35)[0] < 0.9 < share_interval(36, 36)[0]
    with pytest.raises(ValueError):
        share_interval(3, 2)
    with pytest.raises(ValueError):
        share_interval(0, 0)


@settings(max_examples=40, deadline=None)
@given(threshold=st.integers(0, 40), size=st.integers(1, 40))
def test_bisection_finds_the_least_value_that_meets(threshold, size):
    target = parse_target(f"errors published at least {threshold}")
    plan = Plan((Lever("x", tuple(range(size))),), target, max_nights=40)
    result = search(plan, same_every_night)
    if threshold < size:
        assert result.answer.values == (threshold,)
        assert result.answer.sure and result.answer.nights >= 36
        if threshold > 0:  # the value just below was settled as failing
            below = next(t for t in result.tried if t.values == (threshold - 1,))
            assert below.verdict == FAILS and below.sure
    else:
        assert result.answer is None
        assert any("no plan in the ranges meets" in w for w in result.warnings())


def test_plans_far_from_the_answer_play_few_nights():
    plan = Plan((Lever("x", tuple(range(10, 201, 5))),), AT_LEAST_50)
    result = search(plan, same_every_night)
    assert result.answer.values == (50,)
    assert result.nights <= plan.plans * plan.max_nights / 4
    assert "nights played: " in result.text() and "39 x 40 = 1560" in result.text()
    assert not result.warnings()


def test_several_levers_cheapest_first():
    """Met when a + 2b >= 10; b costs 1.5 a unit: the cheapest plan is a=0, b=5 (cost 7.5)."""

    def figure(values, first, count):
        a, b = values
        return [float(a + 2 * b)] * count

    target = parse_target("errors published at least 10")
    plan = Plan((Lever("a", tuple(range(11))), Lever("b", tuple(range(11)), 1.5)), target)
    result = search(plan, figure)
    assert result.answer.values == (0, 5) and result.answer.cost == 7.5
    meeting = [(a, b) for a, b in itertools.product(range(11), repeat=2) if a + 2 * b >= 10]
    assert min(a + 1.5 * b for a, b in meeting) == result.answer.cost
    assert all(t.cost <= result.answer.cost for t in result.tried)
    cheaper = [t for t in result.tried if t is not result.answer]
    assert len(cheaper) == 24 and all(t.nights == 2 for t in cheaper)  # clear misses: 2 nights


def test_too_few_nights_says_so():
    """Night i meets at value v when v >= 50 + 40 u_i: near the answer the share is near 90%."""
    draws = [random.Random(i).random() for i in range(100)]

    def figure(values, first, count):
        return [values[0] - 40 * draws[i] for i in range(first, first + count)]

    plan = Plan((Lever("x", tuple(range(0, 101))),), AT_LEAST_50, max_nights=10, screen_nights=4)
    result = search(plan, figure)
    assert result.answer is not None and not result.answer.sure
    assert any("rests on 10 nights, too few" in w for w in result.warnings())


def test_a_lever_that_hurts_is_reported():
    plan = Plan((Lever("x", tuple(range(10))),), AT_LEAST_50)
    meets = Tried((3,), (3,), 3, [50.0] * 36, [True] * 36, MEETS, True, share_interval(36, 36))
    fails = Tried((5,), (5,), 5, [0.0] * 2, [False] * 2, FAILS, True, share_interval(0, 2))
    assert any(
        "does not always help" in w for w in PlanResult(plan, [meets, fails], meets).warnings()
    )
    fine = Tried((2,), (2,), 2, [0.0] * 2, [False] * 2, FAILS, True, share_interval(0, 2))
    assert not PlanResult(plan, [meets, fine], meets).warnings()


def test_levers_and_costs_from_the_command_line(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text("[hotline]\noperators = 24\n")
    scenario = load_scenario(path)
    assert parse_values("hotline.operators=10..30/10", scenario) == (
        "hotline.operators",
        [10, 20, 30],
    )
    assert parse_values("hotline.operators=3..1", scenario)[1] == [3, 2, 1]
    assert parse_values("hq.verify_median_min=2..4/0.5", scenario)[1] == [2, 2.5, 3, 3.5, 4]
    assert parse_values("hotline.pin_screening=false,true", scenario)[1] == [False, True]
    assert parse_values("prank.leak_min=never,22:00", scenario)[1] == ["never", "22:00"]
    with pytest.raises(ValueError, match="takes whole numbers"):
        parse_values("hotline.operators=1.5..3", scenario)
    assert parse_costs(["hotline.operators=1,hotline.lines=0.1"]) == {
        "hotline.operators": 1.0,
        "hotline.lines": 0.1,
    }
    with pytest.raises(ValueError, match="expected KEY=COST"):
        parse_costs(["hotline.lines"])
    assert Lever("hotline.pin_screening", (False, True), 5).cost(1) == 5
    assert Lever("prank.leak_min", ("22:00", "never"), 3).cost(1) == 3
    assert Lever("hotline.operators", (10, 20, 30), 2).cost(1) == 40
    assert Lever("hq.verify_median_min", (4.0, 3.0, 2.0), 10).cost(2) == 20  # high to low


ONE_QUEUE = """# One queue: patient callers arriving as a Poisson stream, exponential calls.
name = "one queue"
seed = 7
horizon_min = 3000
[precincts]
regular = 1
satellites = 0
counties = 1
[chairs]
channels = ["mail"]
[prank]
leak_min = "never"
[public]
rate_per_min = 1.0
until_min = 3000
call_mean_min = 2.0
patience_mean_min = 1e12
[hotline]
lines = 100000
operators = 1
drop_prob = 0.0
"""


@pytest.mark.slow
@pytest.mark.parametrize("most_held", [0.1, 0.03])
def test_plan_finds_the_operators_erlang_c_asks_for(tmp_path, most_held):
    """Callers arrive at 1 a minute and talk 2 minutes on average (2 Erlangs). The smallest
    number of operators with P(wait) <= x by Erlang C is what `plan` must find, when 9 nights in
    10 must hold at most that share of callers (each night has about 3,000 calls)."""
    lam, mu = 1.0, 0.5
    expected = min(
        n for n in range(1, 50) if lam / mu < n and erlang_c(n, lam, mu).p_wait <= most_held
    )
    path = tmp_path / "one-queue.toml"
    path.write_text(ONE_QUEUE)
    target = parse_target(f"calls put on hold at most {100 * most_held:g}%")
    plan = Plan((Lever("hotline.operators", tuple(range(1, 31))),), target)
    result = plan_scenario(load_scenario(path), plan, workers=2)
    assert result.answer.values == (expected,), result.text()
    assert result.answer.sure and result.answer.share >= 0.9
    below = next(t for t in result.tried if t.values == (expected - 1,))
    assert below.verdict == FAILS and below.sure
    assert result.nights < plan.plans * plan.max_nights / 4


SMALL = """name = "small"
seed = 11
[precincts]
regular = 40
satellites = 2
counties = 4
[hotline]
lines = 10
operators = 2
[prank]
peak_per_min = 1.0
callers = 20
"""


def test_plan_command_writes_its_run_folder(tmp_path, capsys):
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    out = tmp_path / "plan"
    args = ["plan", str(path), "--target", "90% received by 20h", "--out", str(out)]
    args += ["--vary", "hotline.operators=1..9/4", "--vary", "hotline.lines=2,40"]
    args += ["--cost", "hotline.lines=0.1", "--max-nights", "4", "--workers", "1"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "plan: 90% received by 20h in at least 90% of nights" in printed
    assert "answer: " in printed and "nights played: " in printed
    files = {p.name for p in out.iterdir()}
    assert files == {"plan.txt", "plan.csv", "nights.csv", "chance.png", "scenario.toml"} | {
        "report.html"
    }
    with (out / "plan.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert rows and all(0 < int(r["nights"]) <= 4 for r in rows)
    assert all(math.isclose(float(r["share"]), int(r["met"]) / int(r["nights"])) for r in rows)
    report = (out / "report.html").read_text()
    assert "Share of nights meeting the target" in report and "Inputs" in report


@pytest.mark.slow
def test_plan_on_the_calibrated_preset_by_name(tmp_path, capsys):
    """A what-if over one of iowa-2020's facts: its answer no longer claims that fact, and keeps
    the others and the unknowns' ranges."""
    out = tmp_path / "plan"
    args = ["plan", "iowa-2020", "--target", "chairs' 90th-percentile hold under 60 min"]
    args += ["--vary", "hotline.operators=45,400", "--max-nights", "2", "--workers", "1"]
    assert main([*args, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "answer: hotline.operators=400 (cost 400): met in 2 of 2 nights" in printed
    answer = load_scenario(out / "scenario.toml")
    assert answer.night.hotline.operators == 400
    assert "hotline.operators" not in answer.facts and "prank.leak_min" in answer.facts
    assert answer.unknowns == load_scenario(find_scenario("iowa-2020")).unknowns


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--target", "fast"], "expected e.g."),
        (
            ["--target", "95% published by 6h", "--vary", "hotline.opertors=1..3"],
            "hotline.opertors",
        ),
        (
            [
                "--target",
                "95% published by 6h",
                "--vary",
                "hotline.operators=1..3",
                "--cost",
                "hq.verifiers=2",
            ],
            "not a lever",
        ),
    ],
)
def test_plan_refuses_bad_input_with_one_line(tmp_path, capsys, extra, message):
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    if "--vary" not in extra:
        extra = [*extra, "--vary", "hotline.operators=1..3"]
    assert main(["plan", str(path), *extra, "--out", str(tmp_path / "p")]) == 2
    error = capsys.readouterr().err
    assert message in error and error.startswith("caucus plan:")
    assert not (tmp_path / "p").exists()
