"""`caucus simulate`, `compare`, `sweep`, `plan`, `sensitivity`, `calibrate`: many nights of
scenario files.

Light at import: the model, numpy and matplotlib are imported when a command runs.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from caucus.cli import add_command

HEADLINE = "published_95pct_min"
"""The per-night figure ``simulate --precision`` judges unless told otherwise."""


def register(subparsers: argparse._SubParsersAction) -> None:
    simulate = add_command(
        subparsers,
        "simulate",
        "Simulate caucus night: N nights of a scenario, a run folder with plots and report.html.",
        "caucus simulate iowa-2020 --replications 50 --workers 2",
    )
    simulate.add_argument("scenario", type=Path, help="scenario TOML file or preset name")
    _run_options(simulate)
    simulate.add_argument(
        "--precision",
        type=_share,
        metavar="SHARE",
        help="choose the nights: add them until the 95%% confidence interval of --metric's mean "
        "is within this share of the mean (e.g. 0.05), or --max-nights; --replications is "
        "then ignored",
    )
    simulate.add_argument(
        "--metric",
        default=HEADLINE,
        help="per-night figure --precision judges (default: %(default)s)",
    )
    simulate.add_argument(
        "--max-nights",
        type=_positive,
        default=200,
        help="most nights --precision plays (default: %(default)s)",
    )
    _out_options(simulate, "runs/<scenario>")
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
    _out_options(compare, "runs/compare")
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
        metavar="KEY=V1,V2,...|KEY=LOW..HIGH[/STEP]",
        help="a scenario key and the values to try (repeat for a grid: the first key across, "
        "one line per value of the others)",
    )
    sweep.add_argument(
        "--metric",
        default="published_95pct_min",
        help="per-night figure to plot (a column of replications.csv; default: %(default)s)",
    )
    sweep.add_argument(
        "--target",
        help='print the share of nights meeting it at each point, e.g. "95%% published by 6h"',
    )
    _level_option(sweep)
    _run_options(sweep)
    _out_options(sweep, "runs/sweep")
    sweep.set_defaults(run=run_sweep)

    plan = add_command(
        subparsers,
        "plan",
        "Find the cheapest plan that meets a target in enough nights, and how sure that is.",
        'caucus plan scenarios/phone-first.toml --target "95% published by 6h" '
        "--vary hotline.operators=10..200",
    )
    plan.add_argument("scenario", type=Path, help="scenario TOML file or preset name")
    plan.add_argument(
        "--target",
        required=True,
        help='what a night must achieve: "95%% published by 6h", "chairs\' hold, 90th '
        'percentile under 30 min", "errors published at most 10", ...',
    )
    plan.add_argument(
        "--vary",
        action="append",
        required=True,
        metavar="KEY=LOW..HIGH[/STEP]|KEY=V1,V2,...",
        help="a lever: its values from least to most capable (repeat for several levers)",
    )
    plan.add_argument(
        "--confidence",
        type=_share,
        default=0.9,
        help="share of nights that must meet the target (default: %(default)s)",
    )
    plan.add_argument(
        "--cost",
        action="append",
        default=[],
        metavar="KEY=W[,KEY=W]",
        help="cost of one unit of a lever (default 1 each); plans are ordered by total cost",
    )
    _level_option(plan)
    plan.add_argument(
        "--max-nights",
        type=_positive,
        default=40,
        help="most nights one plan plays (default: %(default)s)",
    )
    _run_options(plan, replications=False)
    _out_options(plan, "runs/<scenario>-plan")
    plan.set_defaults(run=run_plan)

    sensitivity = add_command(
        subparsers,
        "sensitivity",
        "Rank a scenario's assumptions by how much they move a per-night figure (SALib).",
        "caucus sensitivity scenarios/iowa-2020.toml --metric published_95pct_min",
    )
    sensitivity.add_argument("scenario", type=Path, help="scenario TOML file or preset name")
    sensitivity.add_argument(
        "--metric",
        default="published_95pct_min",
        help="per-night figure (a column of replications.csv; default: %(default)s)",
    )
    sensitivity.add_argument("--method", choices=("morris", "sobol"), default="morris")
    sensitivity.add_argument(
        "--vary",
        action="append",
        metavar="KEY=LOW..HIGH",
        help="an assumption and its range, added to the scenario's [calibrate] table "
        "(never one of its [facts])",
    )
    sensitivity.add_argument(
        "--nights", type=_positive, default=2, help="nights per design point (default: 2)"
    )
    sensitivity.add_argument(
        "--size",
        type=_positive,
        help="Morris trajectories (default 10) or Sobol base samples (default 64)",
    )
    _level_option(sensitivity)
    _run_options(sensitivity, replications=False)
    _out_options(sensitivity, "runs/<scenario>-sensitivity")
    sensitivity.set_defaults(run=run_sensitivity)

    presets = add_command(
        subparsers,
        "scenarios",
        "List the scenario presets shipped with Caucus Night, with what each represents.",
        "caucus scenarios",
    )
    presets.set_defaults(run=run_scenarios)

    calibrate = add_command(
        subparsers,
        "calibrate",
        "Fit a scenario's [calibrate] unknowns to its public record; its [facts] stay as stated.",
        "caucus calibrate scenarios/iowa-2020.toml --budget 300 --replications 8",
    )
    calibrate.add_argument("scenario", type=Path, help="scenario TOML file or preset name")
    calibrate.add_argument(
        "--budget", type=_positive, default=200, help="candidates to try (default: %(default)s)"
    )
    calibrate.add_argument(
        "--replications", type=_positive, help="nights per candidate (default: 8)"
    )
    calibrate.add_argument(
        "--only",
        type=_keys,
        metavar="KEY[,KEY...]",
        help="fit only these [calibrate] keys; the others are held at the file's values "
        "(default: fit them all)",
    )
    _run_options(calibrate, replications=False)
    _out_options(calibrate, "runs/calibrate-<scenario>")
    calibrate.set_defaults(run=run_calibrate)


def _run_options(parser: argparse.ArgumentParser, replications: bool = True) -> None:
    """How nights are run: shared by every command that runs them."""
    if replications:
        parser.add_argument(
            "--replications", type=_positive, help="nights (default: the scenario's)"
        )
    parser.add_argument("--seed", type=int, help="scenario seed (default: the scenario's)")
    parser.add_argument("--workers", type=_positive, help="processes (default: one per core)")
    parser.add_argument(
        "--cluster",
        metavar="ADDRESS",
        help="run the nights on the Dask cluster whose scheduler is at ADDRESS "
        "(tcp://HOST:8786; default: $CAUCUS_DASK_SCHEDULER, else local processes)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _out_options(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument("--out", type=Path, help=f"run folder (default: {default})")
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace an existing run folder (default: write beside it, as NAME-2, ...)",
    )


def _level_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--level",
        type=_share,
        default=0.95,
        help="confidence level of the intervals shown (default: %(default)s)",
    )


def _share(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, not {value}")
    return value


def _out(args: argparse.Namespace, default: Path) -> Path:
    """The run folder: ``--out`` or the default, under a new name if it exists and ``--force``
    was not given."""
    from studies.run_folder import fresh_folder

    wanted = args.out or default
    out = fresh_folder(wanted, args.force)
    if out != wanted:
        print(f"{wanted} exists: writing {out} (--force replaces it)", file=sys.stderr)
    return out


def _warn(warnings: list[str | None]) -> None:
    for warning in filter(None, warnings):
        print(f"warning: {warning}", file=sys.stderr)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _keys(text: str) -> list[str]:
    keys = [key.strip() for key in text.split(",") if key.strip()]
    if not keys:
        raise argparse.ArgumentTypeError("name at least one key")
    return keys


def _load(path: Path, args: argparse.Namespace):
    """The scenario (a file, or a preset by name) with the command line's seed and
    replications applied."""
    from sim.presets import find_scenario, nearest_preset
    from sim.scenario import ScenarioError, load_scenario

    found = find_scenario(path)
    try:
        scenario = load_scenario(found)
    except ScenarioError as error:
        if found.exists() or "did you mean" in str(error) or not (near := nearest_preset(path)):
            raise
        raise ScenarioError(f"{error} (did you mean the preset {near}?)") from None
    overrides = {
        k: getattr(args, k) for k in ("seed", "replications") if getattr(args, k, None) is not None
    }
    scenario = scenario.with_overrides(overrides) if overrides else scenario
    _warn([f"{path}: {w}" for w in scenario.warnings()])
    return scenario


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


def _nights_to_precision(scenario, args: argparse.Namespace):
    """Nights of the scenario until ``--metric``'s mean is known within ``--precision`` (or
    ``--max-nights``), in rounds of at least 10; the answer is the first n, whatever the rounds."""
    from studies.precision import nights_to_precision
    from studies.progress import ProgressBar
    from studies.runner import ClusterError, default_workers, replicate, run_nights

    workers = args.workers or default_workers()
    cluster = cluster_address(args)
    try:
        with ProgressBar(scenario.name, quiet=args.quiet) as bar:

            def play(first: int, count: int) -> list:
                def progress(done: int, _: int) -> None:
                    bar(first + done, args.max_nights)

                return run_nights(
                    scenario.night,
                    scenario.seed,
                    count,
                    replicate,
                    workers,
                    progress,
                    cluster,
                    first=first,
                )

            return nights_to_precision(
                play,
                lambda rep: rep.summary[args.metric],
                args.precision,
                args.max_nights,
                batch=max(10, workers),
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
    from studies.bands import few_nights
    from studies.precision import format_precision
    from studies.provenance import RunInfo
    from studies.public_record import RECORDS
    from studies.run_folder import (
        format_record_fit,
        format_table,
        record_fit,
        summary_rows,
        write_run,
    )
    from studies.units import LABELS

    try:
        scenario = _load(args.scenario, args)
    except ScenarioError as error:
        print(f"caucus simulate: {error}", file=sys.stderr)
        return 2
    if args.metric not in LABELS:
        print(
            f"caucus simulate: --metric {args.metric}: not one of {', '.join(LABELS)}",
            file=sys.stderr,
        )
        return 2
    out = _out(args, Path("runs") / args.scenario.stem)
    start = time.perf_counter()
    if args.precision:
        reps, reached = _nights_to_precision(scenario, args)
    else:
        _warn([few_nights(scenario.replications)])
        reps, reached = _nights(scenario, args, scenario.name), None
    info = RunInfo(
        time.perf_counter() - start,
        _where(args),
        args.metric if reached else None,
        reached,
        args.precision,
    )
    report = write_run(scenario, reps, out, info)
    title = f"{scenario.name}: {len(reps)} nights, seed {scenario.seed} (hours after 7 pm)"
    print(format_table(summary_rows(reps), title))
    record = RECORDS.get(scenario.table.get("record", ""))
    if record:
        print("\n" + format_record_fit(record_fit(reps, record.releases)))
    if reached:
        print("\n" + format_precision(reached, args.metric, args.precision))
    print(f"\nreport: {report}")
    return 0


def _where(args: argparse.Namespace) -> str:
    """Where the nights ran, in words."""
    from studies.runner import default_workers

    if cluster := cluster_address(args):
        return f"the Dask cluster at {cluster}"
    workers = args.workers or default_workers()
    return f"{workers} local process{'es' if workers > 1 else ''}"


def run_compare(args: argparse.Namespace) -> int:
    from sim.scenario import ScenarioError
    from studies.comparison import write_comparison

    try:
        scenarios = [_load(path, args) for path in args.scenarios]
    except ScenarioError as error:
        print(f"caucus compare: {error}", file=sys.stderr)
        return 2
    from studies.runner import aggregates

    out = _out(args, Path("runs/compare"))
    runs = {s.name: _nights(s, args, s.name, aggregates) for s in scenarios}
    table, plot = write_comparison(scenarios, runs, out)
    print(table)
    print(f"\nplot: {plot}")
    return 0


def run_sweep(args: argparse.Namespace) -> int:
    from sim.scenario import ScenarioError
    from studies.comparison import SweepPoint, SweptNight, write_sweep
    from studies.levers import parse_values, point_label
    from studies.targets import TargetError, parse_target
    from studies.units import LABELS

    try:
        base = _load(args.scenario, args)
        axes = [parse_values(spec, base, "--set") for spec in args.grid]
        keys = [key for key, _ in axes]
        grid = list(itertools.product(*(values for _, values in axes)))
        variants = [base.with_overrides(dict(zip(keys, point, strict=True))) for point in grid]
        target = parse_target(args.target) if args.target else None
    except (ScenarioError, TargetError, ValueError) as error:
        print(f"caucus sweep: {error}", file=sys.stderr)
        return 2
    if args.metric not in LABELS:
        known = ", ".join(LABELS)
        print(f"caucus sweep: --metric {args.metric}: not one of {known}", file=sys.stderr)
        return 2
    out = _out(args, Path("runs/sweep"))
    points = []
    for point, variant in zip(grid, variants, strict=True):
        nights = _nights(variant, args, point_label(keys, point), SweptNight(target))
        points.append(SweepPoint(point, [rep for rep, _ in nights], [f for _, f in nights]))
    print(write_sweep(keys, points, args.metric, out, target, args.level))
    print(f"\nplot: {out / 'sweep.png'}")
    return 0


def run_plan(args: argparse.Namespace) -> int:
    from sim.scenario import ScenarioError
    from studies.levers import Lever, parse_costs, parse_values
    from studies.plan import Plan, Tried, plan_scenario, write_plan
    from studies.runner import ClusterError, default_workers
    from studies.targets import TargetError, parse_target

    workers = args.workers or default_workers()
    try:
        scenario = _load(args.scenario, args)
        costs = parse_costs(args.cost)
        levers = []
        for spec in args.vary:
            key, values = parse_values(spec, scenario)
            levers.append(Lever(key, tuple(values), costs.pop(key, 1.0)))
        if costs:
            raise ValueError(f"--cost {next(iter(costs))}: not a lever (--vary)")
        plan = Plan(
            tuple(levers),
            parse_target(args.target),
            args.confidence,
            args.level,
            args.max_nights,
            batch=workers,
        )
        out = _out(args, Path("runs") / f"{args.scenario.stem}-plan")

        def report(tried: Tried) -> None:
            print(
                f"  {tried.label(plan.levers)}: met in {sum(tried.met)} of {tried.nights} "
                f"nights -> {tried.verdict}{'' if tried.sure else ' (so far)'}",
                file=sys.stderr,
            )

        result = plan_scenario(
            scenario, plan, workers, None if args.quiet else report, cluster_address(args)
        )
    except (ScenarioError, TargetError, ValueError, ClusterError) as error:
        print(f"caucus plan: {error}", file=sys.stderr)
        return 2
    report_path = write_plan(result, scenario, out)
    print(result.text())
    print(f"\nreport: {report_path}")
    return 0


def run_sensitivity(args: argparse.Namespace) -> int:
    from sim.scenario import ScenarioError
    from studies.progress import ProgressBar
    from studies.runner import ClusterError, default_workers
    from studies.sensitivity import ranges, study, write_sensitivity
    from studies.units import LABELS

    try:
        scenario = _load(args.scenario, args)
        unknowns = ranges(scenario, args.vary)
        if args.metric not in LABELS:
            raise ValueError(f"--metric {args.metric}: not one of {', '.join(LABELS)}")
        out = _out(args, Path("runs") / f"{args.scenario.stem}-sensitivity")
        with ProgressBar(f"{scenario.name}: {args.method}", quiet=args.quiet) as progress:
            result = study(
                scenario,
                args.metric,
                unknowns,
                args.method,
                args.nights,
                args.size,
                args.workers or default_workers(),
                args.level,
                progress,
                cluster_address(args),
            )
    except (ScenarioError, ValueError, ClusterError) as error:
        print(f"caucus sensitivity: {error}", file=sys.stderr)
        return 2
    report = write_sensitivity(result, out)
    print(result.text())
    print(f"\nreport: {report}")
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


def run_calibrate(args: argparse.Namespace) -> int:
    from sim.scenario import ScenarioError
    from studies.calibrate import DEFAULT_NIGHTS, calibrate, format_calibration, write_calibration
    from studies.progress import ProgressBar
    from studies.runner import ClusterError, default_workers

    nights = args.replications or DEFAULT_NIGHTS
    try:  # --replications is nights per candidate, not the calibrated scenario's own count
        scenario = _load(args.scenario, argparse.Namespace(seed=args.seed, replications=None))
        command = (
            shlex.join(["caucus", "calibrate", str(args.scenario), "--budget", str(args.budget)])
            + f" --replications {nights} --seed {scenario.seed}"
            + (f" --only {shlex.quote(','.join(args.only))}" if args.only else "")
        )
        with ProgressBar(f"calibrating {scenario.name}", quiet=args.quiet) as progress:
            calibration = calibrate(
                scenario,
                args.budget,
                nights,
                args.workers or default_workers(),
                progress=progress,
                command=command,
                cluster=cluster_address(args),
                only=args.only,
            )
    except (ScenarioError, ClusterError) as error:
        print(f"caucus calibrate: {error}", file=sys.stderr)
        return 2
    path = write_calibration(
        calibration, _out(args, Path("runs") / f"calibrate-{args.scenario.stem}")
    )
    print(format_calibration(calibration))
    print(f"\ncalibrated scenario: {path}")
    return 0
