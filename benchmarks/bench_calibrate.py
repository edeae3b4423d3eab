"""Calibrating iowa-2020 from scratch: how long until it fits the record as well as the old
hand-set preset did, with the record's facts as stated.

The baseline, measured in the same run on the same nights (seed and count), is the distance to
the record of ``iowa-2020-hand-set.toml`` (the preset as it was set by hand, 24 operators and no
blocking) and the time one candidate takes. The calibration starts from the [calibrate] ranges,
not from the preset's values. Target (issue 10): at least 6 unknowns, a distance as good as the
hand-set preset's, within 15 minutes on a 2-core machine.

    .venv/bin/python benchmarks/bench_calibrate.py [--budget N] [--nights K] [--workers W]
"""

import argparse
import time
from pathlib import Path

from sim.scenario import load_scenario
from studies.calibrate import calibrate, distance, fit_terms, format_calibration, night_fit
from studies.public_record import RECORDS
from studies.runner import run_nights

HERE = Path(__file__).resolve().parent
PRESET = HERE.parent / "scenarios" / "iowa-2020.toml"
HAND_SET = HERE / "iowa-2020-hand-set.toml"
TARGET_S = 15 * 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=300, help="candidates")
    parser.add_argument("--nights", type=int, default=6, help="nights per candidate")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    record = RECORDS["iowa-2020"]
    scenario, hand_set = load_scenario(PRESET), load_scenario(HAND_SET)

    start = time.perf_counter()
    fits = run_nights(hand_set.night, scenario.seed, args.nights, night_fit, args.workers)
    candidate_s = time.perf_counter() - start
    baseline = distance(fit_terms(record, fits))
    print(
        f"baseline: hand-set preset, distance {baseline:.3f} on nights 0..{args.nights - 1} of "
        f"seed {scenario.seed}; one candidate ({args.nights} nights, {args.workers} workers) "
        f"{candidate_s:.1f} s"
    )
    print(f"calibrating {len(scenario.unknowns)} unknowns, budget {args.budget} candidates")

    finished: list[float] = []  # seconds since start at which each candidate was scored

    def progress(done: int, total: int) -> None:
        if done % args.nights == 0:
            finished.append(time.perf_counter() - start)

    start = time.perf_counter()
    calibration = calibrate(
        scenario, args.budget, args.nights, args.workers, progress=progress, try_given=False
    )
    seconds = time.perf_counter() - start
    reached = next(
        (
            (trial.number, finished[trial.number])
            for trial in calibration.trials
            if trial.distance <= baseline
        ),
        None,
    )
    print(format_calibration(calibration))
    print(
        f"\nbudget used: {args.budget} candidates x {args.nights} nights = "
        f"{args.budget * args.nights} nights in {seconds:.0f} s "
        f"({seconds / args.budget / candidate_s:.2f}x the baseline's time per candidate)"
    )
    print(f"best distance {calibration.best.distance:.3f} against the hand-set {baseline:.3f}")
    if reached:
        number, at = reached
        verdict = "met" if at <= TARGET_S else "NOT met"
        print(
            f"reached the hand-set distance at candidate {number + 1}, after {at:.0f} s "
            f"(target: under {TARGET_S} s): {verdict}"
        )
    else:
        print(f"never reached the hand-set distance in {seconds:.0f} s: target NOT met")


if __name__ == "__main__":
    main()
