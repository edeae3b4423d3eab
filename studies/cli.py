"""`caucus simulate`, `caucus compare`, `caucus sweep`: many nights of scenario files.

Light at import: the model, numpy and matplotlib are imported when a command runs.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from caucus.cli import add_command


def register(subparsers: argparse._SubParsersAction) -> None:
    simulate = add_command(
        subparsers,
        "simulate",
        "Simulate caucus night: N nights of a scenario, a run folder with plots and report.html.",
        "caucus simulate iowa-2020 --replications 50 --workers 2",
    )
    simulate.add_argument("scenario", type=Path, help="scenario TOML file or preset name")
    _run_options(simulate)
    simulate.add_argument("--out", type=Path, help="run folder (default: runs/<scenario>)")
    simulate.set_defaults(run=run_simulate)

    compare = add_command(
        subparsers,
        "compare",
        "Run several scenarios with the same seeds; overlay their curves, tabulate differences.",
        "caucus compare scenarios/iowa-2020.toml scenarios/iowa-2020-app-works.toml",
    )
    compare.add_argument(
        "scenarios", type=Path, nargs="+", help="scenario TOML files or preset names"
    )
    _run_options(compare)
    compare.add_argument("--out", type=Path, default=Path("runs/compare"), help="output folder")
    compare.set_defaults(run=run_compare)

    sweep = add_command(
        subparsers,
        "sweep",
        "Run a scenario over a grid of parameter values and plot a metric against them.",
        "caucus sweep scenarios/iowa-2020.toml --set hotline.operators=24,48,96",
    )
    sweep.add_argument("scenario", type=Path, help="scenario TOML file or preset name")
    sweep.add_argument(
        "--set",
        dest="grid",
        action="append",
        required=True,
        metavar="KEY=V1,V2,...",
        help="a scenario key and the values to try (repeat for a grid)",
    )
    sweep.add_argument(
        "--metric",
        default="published_95pct_min",
        help="per-night figure to plot (a column of replications.csv; default: %(default)s)",
    )
    _run_options(sweep)
    sweep.add_argument("--out", type=Path, default=Path("runs/sweep"), help="output folder")
    sweep.set_defaults(run=run_sweep)

    presets = add_command(
        subparsers,
        "scenarios",
        "List the scenario presets shipped with Caucus Night, with what each represents.",
        "caucus scenarios",
    )
    presets.set_defaults(run=run_scenarios)


def _run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--replications", type=_positive, help="nights (default: the scenario's)")
    parser.add_argument("--seed", type=int, help="scenario seed (default: the scenario's)")
    parser.add_argument("--workers", type=_positive, help="processes (default: one per core)")
    parser.add_argument(
        "--cluster",
        metavar="ADDRESS",
        help="run the nights on the Dask cluster whose scheduler is at ADDRESS "
        "(tcp://HOST:8786; default: $CAUCUS_DASK_SCHEDULER, else local processes)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _load(path: Path, args: argparse.Namespace):
    """The scenario (a file, or a preset by name) with the command line's seed and
    replications applied."""
    from sim.presets import find_scenario
    from sim.scenario import load_scenario

    scenario = load_scenario(find_scenario(path))
    overrides = {k: getattr(args, k) for k in ("seed", "replications") if getattr(args, k)}
    return scenario.with_overrides(overrides) if overrides else scenario


def _nights(
    scenario, args: argparse.Namespace, label: str, reduce: Callable[..., Any] | None = None
):
    """The scenario's nights, each reduced by ``reduce`` (default: all the run folder keeps),
    locally or on the Dask cluster of ``--cluster`` / $CAUCUS_DASK_SCHEDULER."""
    from studies.progress import ProgressBar
    from studies.runner import ClusterError, default_workers, replicate, run_nights

    try:
        with ProgressBar(label, quiet=args.quiet) as progress:
            return run_nights(
                scenario.night,
                scenario.seed,
                scenario.replications,
                reduce or replicate,
                args.workers or default_workers(),
                progress,
                cluster_address(args),
            )
    except ClusterError as error:
        print(f"caucus: {error}", file=sys.stderr)
        raise SystemExit(2) from None


def cluster_address(args: argparse.Namespace) -> str | None:
    """The Dask scheduler a multi-night command runs on (``--cluster``, else
    $CAUCUS_DASK_SCHEDULER), or None for local processes: pass it to ``run_nights``."""
    from studies.runner import SCHEDULER_VARIABLE

    return args.cluster or os.environ.get(SCHEDULER_VARIABLE) or None


def run_simulate(args: argparse.Namespace) -> int:
    from sim.scenario import ScenarioError
    from studies.run_folder import (
        RECORDS,
        format_record_fit,
        format_table,
        record_fit,
        summary_rows,
        write_run,
    )
    from studies.runner import grid

    try:
        scenario = _load(args.scenario, args)
    except ScenarioError as error:
        print(f"caucus simulate: {error}", file=sys.stderr)
        return 2
    reps = _nights(scenario, args, scenario.name)
    report = write_run(scenario, reps, args.out or Path("runs") / args.scenario.stem)
    title = f"{scenario.name}: {len(reps)} nights, seed {scenario.seed} (hours after 7 pm)"
    print(format_table(summary_rows(reps), title))
    releases = RECORDS.get(scenario.table.get("record", ""), ((), ()))[0]
    if releases:
        print("\n" + format_record_fit(record_fit(reps, grid(scenario.night), releases)))
    print(f"\nreport: {report}")
    return 0


def run_compare(args: argparse.Namespace) -> int:
    from sim.scenario import ScenarioError
    from studies.comparison import write_comparison

    try:
        scenarios = [_load(path, args) for path in args.scenarios]
    except ScenarioError as error:
        print(f"caucus compare: {error}", file=sys.stderr)
        return 2
    from studies.runner import aggregates

    runs = {s.name: _nights(s, args, s.name, aggregates) for s in scenarios}
    table, plot = write_comparison(scenarios, runs, args.out)
    print(table)
    print(f"\nplot: {plot}")
    return 0


def run_sweep(args: argparse.Namespace) -> int:
    from sim.scenario import ScenarioError
    from studies.comparison import write_sweep

    try:
        base = _load(args.scenario, args)
        axes = [_grid_axis(spec) for spec in args.grid]
        keys = [key for key, _ in axes]
        points = [
            dict(zip(keys, values, strict=True))
            for values in itertools.product(*(values for _, values in axes))
        ]
        variants = [base.with_overrides(point) for point in points]
    except (ScenarioError, ValueError) as error:
        print(f"caucus sweep: {error}", file=sys.stderr)
        return 2
    from studies.runner import aggregates

    labels = [", ".join(f"{k}={v}" for k, v in point.items()) for point in points]
    runs = {}
    for label, variant in zip(labels, variants, strict=True):
        runs[label] = _nights(variant, args, label, aggregates)
        if args.metric not in runs[label][0].summary:
            known = ", ".join(sorted(runs[label][0].summary))
            print(f"caucus sweep: --metric {args.metric}: not one of {known}", file=sys.stderr)
            return 2
    table, plot = write_sweep(" x ".join(keys), args.metric, runs, args.out)
    print(table)
    print(f"\nplot: {plot}")
    return 0


def run_scenarios(args: argparse.Namespace) -> int:
    """Each preset on one line, cut with an ellipsis at the terminal's width (whole when the
    output is not a terminal)."""
    import shutil

    from sim.presets import FOLDER, presets

    found = presets()
    width = max(len(p.name) for p in found) + 2
    columns = shutil.get_terminal_size((0, 0)).columns  # 0: not a terminal, no limit
    for preset in found:
        line = f"{preset.name:<{width}}{preset.summary}"
        print(line if not columns or len(line) <= columns else line[: columns - 1] + "…")
    print(f"\n{len(found)} presets in {FOLDER}; run one with: caucus simulate NAME")
    return 0


def _grid_axis(spec: str) -> tuple[str, list[Any]]:
    """``hotline.lines=30,45`` -> ("hotline.lines", [30, 45]); values are TOML literals."""
    key, sep, values = spec.partition("=")
    if not sep or not key or not values:
        raise ValueError(f"--set {spec}: expected KEY=V1,V2,...")
    parsed = []
    for text in values.split(","):
        try:
            parsed.append(tomllib.loads(f"v = {text}")["v"])
        except tomllib.TOMLDecodeError:
            parsed.append(text)  # bare words such as never or continuous
    return key.strip(), parsed
