"""Replications per second of a scenario with 1 and 2 worker processes.

The baseline is the same scenario's nights run one after another in this process (1 worker);
the 2-worker figure is its ratio against that, measured in the same run. Target (issue 4): 200
nights of iowa-2020 in under 90 s on a 2-core machine.

    .venv/bin/python benchmarks/bench_replications.py [SCENARIO.toml] [--replications N]
"""

import argparse
import time
from pathlib import Path

from sim.scenario import load_scenario
from studies.runner import run_replications

DEFAULT = Path(__file__).resolve().parents[1] / "scenarios" / "iowa-2020.toml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--replications", type=int, default=20)
    args = parser.parse_args()
    scenario = load_scenario(args.scenario)
    print(f"scenario: {args.scenario.name}, {args.replications} nights per measurement")
    rates = {}
    for workers in (1, 2):
        start = time.perf_counter()
        run_replications(scenario.night, scenario.seed, args.replications, workers)
        seconds = time.perf_counter() - start
        rates[workers] = args.replications / seconds
        print(f"{workers} worker(s): {seconds:6.1f} s, {rates[workers]:5.2f} nights/s")
    print(f"speed-up with 2 workers: {rates[2] / rates[1]:.2f}x")
    print(f"projected 200 nights with 2 workers: {200 / rates[2]:.0f} s (target: under 90 s)")


if __name__ == "__main__":
    main()
