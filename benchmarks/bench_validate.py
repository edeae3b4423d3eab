"""How long `caucus validate` takes on a whole release of 1,765 reporting units.

Prints the time to read and check a release, next to the time just to parse the same CSV with
the standard library (the baseline, measured in the same run). Needs ../shared/data/iowa2020, or
a results CSV given as the first argument.

    .venv/bin/python benchmarks/bench_validate.py [RESULTS.csv]
"""

import csv
import statistics
import sys
import time
from pathlib import Path

from caucus.checks import check_release
from caucus.results_csv import read_results_csv

DEFAULT = Path(__file__).resolve().parents[2] / "shared/data/iowa2020/results_feb06_100pct.csv"
REPEATS = 7


def best_of(job) -> tuple[float, float]:
    """(best, median) seconds over REPEATS runs."""
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        job()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    if not path.exists():
        sys.exit(f"{path} not found: pass a results CSV")

    def parse_only() -> None:
        with path.open(newline="") as handle:
            list(csv.DictReader(handle))

    def read_only() -> None:
        read_results_csv(path)

    def validate() -> None:
        read = read_results_csv(path)
        check_release(read.results)

    units = len(read_results_csv(path).results)
    baseline, _ = best_of(parse_only)
    reading, _ = best_of(read_only)
    best, median = best_of(validate)
    print(f"file: {path} ({units:,} reporting units), best of {REPEATS}")
    print(f"csv.DictReader only (baseline): {baseline * 1000:7.1f} ms")
    print(f"read into results:              {reading * 1000:7.1f} ms  ({reading / baseline:.1f}x)")
    print(f"read + every check:             {best * 1000:7.1f} ms  ({best / baseline:.1f}x)")
    print(f"median read + every check:      {median * 1000:7.1f} ms")
    print(f"units checked per second:       {units / best:,.0f}")


if __name__ == "__main__":
    main()
