"""Nights per second of a scenario: 1 and 2 local processes, and a 2-worker Dask LocalCluster.

The baseline is the same scenario's nights run one after another in this process (1 worker);
2 local processes and a Dask cluster of 2 single-threaded worker processes on loopback are
measured against it in the same run. Targets: 200 nights of iowa-2020 in under 90 s on a
2-core machine (issue 4); the Dask cluster at least 0.9x the nights/s of 2 local processes
(issue 12). The cluster is started before its timing starts, as a real one would be running;
2 processes and the cluster take turns over ``--rounds`` rounds (medians), so that a change in
the machine's load touches both alike.

    .venv/bin/python benchmarks/bench_replications.py [SCENARIO.toml] [--replications N]
"""

import argparse
import statistics
import time
from pathlib import Path

from distributed import LocalCluster

from sim.scenario import load_scenario
from studies.runner import run_replications

DEFAULT = Path(__file__).resolve().parents[1] / "scenarios" / "iowa-2020.toml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--replications", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3, help="turns of 2 processes and Dask")
    args = parser.parse_args()
    scenario = load_scenario(args.scenario)
    print(f"scenario: {args.scenario.name}, {args.replications} nights per measurement")

    def nights_per_s(label: str, workers: int = 1, cluster: str | None = None) -> float:
        start = time.perf_counter()
        run_replications(scenario.night, scenario.seed, args.replications, workers, None, cluster)
        seconds = time.perf_counter() - start
        print(f"{label:<28}{seconds:6.1f} s, {args.replications / seconds:5.2f} nights/s")
        return args.replications / seconds

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        one = nights_per_s("1 local process")
        twos, dasks = [], []
        for _ in range(args.rounds):
            twos.append(nights_per_s("2 local processes", workers=2))
            dasks.append(
                nights_per_s("Dask LocalCluster, 2 workers", cluster=cluster.scheduler_address)
            )
    two, dask = statistics.median(twos), statistics.median(dasks)
    print(f"medians: 2 local processes {two:.2f} nights/s, Dask {dask:.2f} nights/s")
    print(f"speed-up with 2 local processes: {two / one:.2f}x")
    print(f"Dask cluster vs 2 local processes: {dask / two:.2f}x (target: at least 0.9x)")
    print(f"projected 200 nights with 2 workers: {200 / two:.0f} s (target: under 90 s)")


if __name__ == "__main__":
    main()
