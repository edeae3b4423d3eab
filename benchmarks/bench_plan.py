"""Nights `caucus plan` plays against a full grid of the same plans.

Scenario phone-first, one lever (hotline.operators from 10 to 200 every 5), target "95%
published by 6h" in 9 nights out of 10. The baseline is the full grid a planner would otherwise
run: every plan at 40 nights. Target (issue 11): plan reaches its answer with at most 1/4 of the
grid's nights. With --grid the grid is run too, in the same run, and its answer (the fewest
operators whose 40 nights meet the target at least 90% of the time) and time are printed beside
plan's.

    .venv/bin/python benchmarks/bench_plan.py [--grid] [--workers 2]
"""

import argparse
import time
from pathlib import Path

from sim.scenario import load_scenario
from studies.levers import Lever
from studies.plan import Plan, plan_scenario
from studies.runner import run_nights
from studies.targets import parse_target

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "phone-first.toml"
OPERATORS = tuple(range(10, 201, 5))
TARGET = "95% published by 6h"
GRID_NIGHTS = 40


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", action="store_true", help="also run the full grid")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    scenario = load_scenario(SCENARIO)
    target = parse_target(TARGET)
    plan = Plan((Lever("hotline.operators", OPERATORS),), target, 0.9, max_nights=GRID_NIGHTS)
    grid_nights = len(OPERATORS) * GRID_NIGHTS
    print(
        f"{SCENARIO.name}: '{TARGET}' in 90% of nights, operators {OPERATORS[0]}..{OPERATORS[-1]}"
    )

    start = time.perf_counter()
    result = plan_scenario(scenario, plan, args.workers)
    plan_seconds = time.perf_counter() - start
    answer = result.answer.values[0] if result.answer else None
    print(
        f"plan: {answer} operators, {result.nights} nights over {len(result.tried)} plans, "
        f"{plan_seconds:.0f} s"
    )
    print(f"full grid: {len(OPERATORS)} plans x {GRID_NIGHTS} nights = {grid_nights} nights")
    print(f"plan / grid nights: {result.nights / grid_nights:.3f} (target: at most 0.25)")
    for note in result.warnings():
        print(f"warning: {note}")
    if not args.grid:
        return
    start = time.perf_counter()
    shares = {}
    for operators in OPERATORS:
        variant = scenario.with_overrides({"hotline.operators": operators})
        figures = run_nights(variant.night, scenario.seed, GRID_NIGHTS, target, args.workers)
        shares[operators] = sum(map(target.met, figures)) / GRID_NIGHTS
    grid_seconds = time.perf_counter() - start
    grid_answer = next((ops for ops, share in shares.items() if share >= 0.9), None)
    print(
        f"grid: {grid_answer} operators, {grid_nights} nights, {grid_seconds:.0f} s "
        f"(plan took {plan_seconds / grid_seconds:.3f} of the grid's time)"
    )
    print(
        "grid shares near the answer: "
        + ", ".join(f"{ops}: {100 * share:.0f}%" for ops, share in shares.items() if 0 < share < 1)
    )


if __name__ == "__main__":
    main()
