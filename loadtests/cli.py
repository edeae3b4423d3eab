"""`caucus loadtest`: a caucus night (or spike, soak) against an endpoint, with a verdict."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from caucus.cli import add_command

CAST = ("watchers", "pranksters", "operators")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = add_command(
        subparsers,
        "loadtest",
        "Load-test a results-reporting endpoint the way caucus night hits it; SLO + audit verdict.",
        "caucus loadtest --scenario scenarios/iowa-2020.toml --serve --compress 60",
    )
    p.add_argument("--scenario", type=Path, required=True, help="scenario TOML (arrival curve)")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--host", help="base URL of an endpoint speaking the reporting API")
    target.add_argument(
        "--serve", action="store_true", help="start the reference service on 127.0.0.1"
    )
    p.add_argument("--shape", choices=("caucus-night", "spike", "soak"), default="caucus-night")
    p.add_argument("--compress", type=float, default=60.0, help="time compression (default 60)")
    p.add_argument("--night-hours", type=float, default=6.0, help="night to play (default 6)")
    p.add_argument("--run-time", help="stop after this long (Locust syntax: 90s, 5m)")
    p.add_argument(
        "--users",
        action="append",
        default=[],
        metavar="KIND=N[,KIND=N]",
        help="peak watchers, pranksters, operators (default watchers=50,pranksters=5,operators=2)",
    )
    p.add_argument("--workers", type=int, default=0, help="Locust worker processes (0: none)")
    p.add_argument("--out", type=Path, help="run folder (default runs/loadtest-<scenario>)")
    p.add_argument("--slo", type=Path, help="SLO TOML (default: loadtests/slo.toml)")
    p.add_argument("--seed", type=int, default=2020)
    p.add_argument(
        "--wrong-share",
        type=float,
        default=0.05,
        help="share of chairs who first send a result breaking the rules (must get 422)",
    )
    p.add_argument("--precincts", type=int, default=200, help="with --serve: roster size")
    p.add_argument("--pin-sheet", type=Path, help="with --host: the chairs' PIN sheet")
    p.add_argument(
        "--admin-key",
        default=os.environ.get("CAUCUS_ADMIN_KEY"),
        help="with --host: admin key for the audit export (env CAUCUS_ADMIN_KEY)",
    )
    p.add_argument(
        "--operator-sheet",
        type=Path,
        help="with --host: hotline operators' own keys (CSV operator,key)",
    )
    faults = p.add_argument_group("fault drill (with --serve; passed to caucus serve)")
    faults.add_argument(
        "--drill",
        action="store_true",
        help="10%% errors and an outage for a tenth of the run, starting a third of the way in",
    )
    faults.add_argument("--fault-latency-ms", type=int, default=0)
    faults.add_argument("--fault-error-rate", type=float, default=0.0)
    faults.add_argument("--fault-drop-rate", type=float, default=0.0)
    faults.add_argument("--fault-outage", action="append", default=[], metavar="START+DURATION")
    p.set_defaults(run=run_loadtest)


def parse_cast(values: list[str]) -> dict[str, int]:
    """``["watchers=20,pranksters=3"]`` → counts per kind (defaults for the rest)."""
    cast = {"watchers": 50, "pranksters": 5, "operators": 2}
    for item in ",".join(values).split(","):
        if not item:
            continue
        kind, _, n = item.partition("=")
        if kind not in CAST or not n.isdigit():
            raise ValueError(f"--users: {item!r} is not KIND=N with KIND one of {', '.join(CAST)}")
        cast[kind] = int(n)
    return cast


def serve_flags(args: argparse.Namespace, run_s: float) -> list[str]:
    """`caucus serve` fault flags; ``--drill`` adds errors and an outage within ``run_s``."""
    if args.drill:
        args.fault_error_rate = args.fault_error_rate or 0.1
        args.fault_outage = [*args.fault_outage, f"{run_s / 3:.0f}+{max(3.0, run_s / 10):.0f}"]
    flags = [
        "--fault-latency-ms", str(args.fault_latency_ms),
        "--fault-error-rate", str(args.fault_error_rate),
        "--fault-drop-rate", str(args.fault_drop_rate),
    ]  # fmt: skip
    for window in args.fault_outage:
        flags += ["--fault-outage", window]
    return flags


def run_loadtest(args: argparse.Namespace) -> int:
    from loadtests.rehearsal import Target, planned_s, rehearse

    try:
        cast = parse_cast(args.users)
    except ValueError as error:
        print(f"caucus loadtest: {error}", file=sys.stderr)
        return 2
    if args.host and not args.pin_sheet:
        print("caucus loadtest: --host needs --pin-sheet (the chairs' PINs)", file=sys.stderr)
        return 2
    if args.shape == "soak" and not args.run_time:
        print("caucus loadtest: a soak needs --run-time", file=sys.stderr)
        return 2
    if not args.scenario.is_file():
        print(f"caucus loadtest: no scenario file {args.scenario}", file=sys.stderr)
        return 2
    if args.workers > cast["operators"]:
        cast["operators"] = args.workers  # every worker's phoned precincts need an operator
    out = args.out or Path("runs") / f"loadtest-{args.scenario.stem}"
    target = Target(
        host=args.host,
        pin_sheet=args.pin_sheet,
        admin_key=args.admin_key,
        operator_sheet=args.operator_sheet,
        serve_flags=serve_flags(args, planned_s(args)) if args.serve else None,
        precincts=args.precincts,
    )
    return rehearse(args, target, cast, out)
