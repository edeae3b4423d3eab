"""Requests/s one Locust process drives with our users, against a bare FastHttpUser.

Both hit the reference service's trivial endpoint (GET /livez) from one Locust process, in
turn, in the same run: a bare ``FastHttpUser`` (benchmarks/livez_bare.py) and our ``Watcher``
with every caucus-night hook (benchmarks/livez_caucus.py with loadtests/locustfile.py). Prints
requests/s and the Locust process's CPU time per request for each (the difference between a
run three times as long and a short one, so that start-up is left out), and the ratio of ours
to the bare user's (target: at most 1.5x per request).

    .venv/bin/python benchmarks/bench_loadtest.py [--users 20] [--seconds 4] [--rounds 2]

All traffic stays on 127.0.0.1; the service is stopped at the end.
"""

from __future__ import annotations

import argparse
import csv
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from loadtests.service import reference_service

BENCHMARKS = Path(__file__).resolve().parent
LOADTESTS = BENCHMARKS.parent / "loadtests"
TARGET_RATIO = 1.5


def locust_run(
    host: str, files: str, user: str, extra: list[str], args: argparse.Namespace, out: Path
) -> tuple[float, float]:
    """(requests/s, CPU ms per request) of one Locust process, the CPU per request taken as
    the difference between a long run and a short one (so that start-up is left out)."""
    measured = []
    for seconds in (args.seconds, 3 * args.seconds):
        command = [
            sys.executable, "-m", "locust", "-f", files, "--headless", "--host", host,
            "-u", str(args.users), "-r", str(args.users), "-t", f"{seconds}s",
            "--csv", str(out / user), "--only-summary", "--exit-code-on-error", "0",
            *extra, user,
        ]  # fmt: skip
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        with (out / f"{user}.log").open("ab") as log:
            subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, timeout=seconds + 60)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        with (out / f"{user}_stats.csv").open(newline="") as file:
            total = next(r for r in csv.DictReader(file) if r["Name"] == "Aggregated")
        requests, failures = int(total["Request Count"]), int(total["Failure Count"])
        if not requests or failures:
            raise SystemExit(f"{user}: {requests} requests, {failures} failures (see {out})")
        measured.append((requests, cpu_s, float(total["Requests/s"])))
    (short_n, short_cpu, _), (long_n, long_cpu, rps) = measured
    return rps, 1000 * (long_cpu - short_cpu) / (long_n - short_n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20, help="users in each Locust run")
    parser.add_argument("--seconds", type=int, default=4, help="the short run (the long: 3x)")
    parser.add_argument("--rounds", type=int, default=2, help="bare and ours, in turn")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-loadtest-") as tmp:
        out = Path(tmp)
        with reference_service(out / "service", 20, 2020, []) as service:
            ours = [
                "--pin-sheet", str(service.pin_sheet), "--run-folder", str(out / "run"),
                "--adapter", "livez_caucus:LivezApi", "--poll-s", "0", "--operators", "0",
            ]  # fmt: skip
            runs = {
                "bare FastHttpUser": (str(BENCHMARKS / "livez_bare.py"), "BareLivez", []),
                "our Watcher": (
                    f"{LOADTESTS / 'locustfile.py'},{BENCHMARKS / 'livez_caucus.py'}",
                    "LivezWatcher",
                    ours,
                ),
            }
            figures: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
            for _ in range(args.rounds):
                for name, (files, user, extra) in runs.items():
                    figures[name].append(locust_run(service.url, files, user, extra, args, out))
    print(
        f"GET /livez of `caucus serve` (1 worker), {args.users} users in one Locust process,"
        f" runs of {args.seconds} s and {3 * args.seconds} s, {args.rounds} rounds;"
        " Locust process CPU per request (long run minus short run)"
    )
    cost = {}
    for name, measured in figures.items():
        rps = statistics.median(r for r, _ in measured)
        cost[name] = statistics.median(c for _, c in measured)
        each = ", ".join(f"{r:.0f}/s {c:.3f} ms" for r, c in measured)
        print(f"  {name:<18} {rps:7.0f} requests/s  {cost[name]:.3f} ms CPU/request  ({each})")
    ratio = cost["our Watcher"] / cost["bare FastHttpUser"]
    verdict = "within" if ratio <= TARGET_RATIO else "over"
    print(f"  ours / bare: {ratio:.2f}x CPU per request ({verdict} the {TARGET_RATIO}x target)")


if __name__ == "__main__":
    main()
