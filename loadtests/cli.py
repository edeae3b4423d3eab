"""`caucus loadtest`: a caucus night (or spike, soak) against an endpoint, with a verdict."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from caucus.cli import add_command

HOLD_REVIEWERS = 2
"""Reviewers on duty with --hold-for-review when --reviewers is not given."""


def register(subparsers: argparse._SubParsersAction) -> None:
    from loadtests.options import add_to_cli

    p = add_command(
        subparsers,
        "loadtest",
        "Load-test a results-reporting endpoint the way caucus night hits it; SLO + audit verdict.",
        "caucus loadtest --scenario scenarios/iowa-2020.toml --serve --compress 240",
    )
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--host", help="base URL of an endpoint (spoken to through --adapter)")
    target.add_argument(
        "--serve", action="store_true", help="start the reference service on 127.0.0.1"
    )
    p.add_argument("--shape", choices=("caucus-night", "spike", "soak"), default="caucus-night")
    p.add_argument("--run-time", help="stop after this long (Locust syntax: 90s, 5m)")
    p.add_argument("--workers", type=int, default=0, help="Locust worker processes (0: none)")
    p.add_argument("--slo", type=Path, help="SLO TOML (default: loadtests/slo.toml)")
    p.add_argument(
        "--admin-key",
        default=os.environ.get("CAUCUS_ADMIN_KEY"),
        help="with --host: admin key for the audit export (env CAUCUS_ADMIN_KEY)",
    )
    serve = p.add_argument_group("the reference service (with --serve)")
    serve.add_argument("--precincts", type=int, default=200, help="roster size (default 200)")
    serve.add_argument(
        "--serve-db",
        default="sqlite",
        metavar="sqlite|throwaway|postgresql://...",
        help="its database: a fresh SQLite file (default), a throwaway PostgreSQL cluster, or"
        " your (empty) PostgreSQL database",
    )
    serve.add_argument(
        "--serve-workers", type=int, default=1, help="its worker processes (default 1)"
    )
    serve.add_argument(
        "--hold-for-review",
        action="store_true",
        help="it holds results that break the rules for HQ review (caucus serve"
        f" --hold-impossible) and {HOLD_REVIEWERS} reviewers work the queue (unless --reviewers)",
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
    add_to_cli(p)
    p.set_defaults(run=run_loadtest)


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
    if args.hold_for_review:
        flags.append("--hold-impossible")
    return flags


def problem(args: argparse.Namespace) -> str | None:
    """What is wrong with the command line, in one line (None: nothing)."""
    if not args.scenario:
        return "--scenario (or CAUCUS_SCENARIO) is required: the night's arrival curve"
    if not Path(args.scenario).is_file():
        return f"no scenario file {args.scenario}"
    if args.host and not args.pin_sheet:
        return "--host needs --pin-sheet (the chairs' PINs)"
    if args.shape == "soak" and not args.run_time:
        return "a soak needs --run-time"
    if args.serve_db not in ("sqlite", "throwaway") and not args.serve_db.startswith(
        ("postgresql://", "postgres://")
    ):
        return f"--serve-db {args.serve_db!r}: sqlite, throwaway or a postgresql:// URL"
    if args.serve_workers < 1:
        return "--serve-workers must be at least 1"
    if args.hold_for_review and not args.serve:
        return (
            "--hold-for-review starts the reference service that way: it needs --serve (start"
            " your own holding results, and give --reviewers and --reviewer-sheet)"
        )
    return None


def run_loadtest(args: argparse.Namespace) -> int:
    from loadtests.options import settle
    from loadtests.rehearsal import Target, planned_s, rehearse

    if wrong := problem(args):
        print(f"caucus loadtest: {wrong}", file=sys.stderr)
        return 2
    if args.operators and args.workers > args.operators:
        args.operators = args.workers  # every worker's phoned precincts need an operator
    if args.hold_for_review and not args.reviewers:
        args.reviewers = HOLD_REVIEWERS
    args.run_folder = args.run_folder or str(Path("runs") / f"loadtest-{Path(args.scenario).stem}")
    settle(args)
    target = Target(
        host=args.host,
        pin_sheet=Path(args.pin_sheet) if args.pin_sheet else None,
        admin_key=args.admin_key,
        operator_sheet=Path(args.operator_sheet) if args.operator_sheet else None,
        reviewer_sheet=Path(args.reviewer_sheet) if args.reviewer_sheet else None,
        serve_flags=serve_flags(args, planned_s(args)) if args.serve else None,
        precincts=args.precincts,
        serve_db=args.serve_db,
        serve_workers=args.serve_workers,
    )
    return rehearse(args, target, Path(args.run_folder))
