"""`caucus serve` and `caucus roster generate`. Heavy imports wait until a command runs."""

from __future__ import annotations

import argparse
import copy
import os
import shutil
import sys
import tempfile
from pathlib import Path

from caucus.cli import add_command


def register(subparsers: argparse._SubParsersAction) -> None:
    serve = add_command(
        subparsers,
        "serve",
        "Run the reference results-reporting service (API, results page, metrics).",
        "caucus serve --roster roster.csv --db sqlite:///results.db --port 8000",
    )
    serve.add_argument("--roster", type=Path, required=True, help="roster CSV (hashed PINs)")
    serve.add_argument(
        "--db",
        default="sqlite:///caucus-results.db",
        help="sqlite:///FILE (default caucus-results.db) or postgresql://...",
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    serve.add_argument(
        "--admin-key",
        default=os.environ.get("CAUCUS_ADMIN_KEY"),
        help="bearer key for the audit export (env CAUCUS_ADMIN_KEY; default: random, printed)",
    )
    serve.add_argument(
        "--operator-key",
        default=os.environ.get("CAUCUS_OPERATOR_KEY"),
        help="hotline operators' sign-in key (env CAUCUS_OPERATOR_KEY; default: random, printed)",
    )
    serve.add_argument(
        "--token-secret",
        default=os.environ.get("CAUCUS_TOKEN_SECRET"),
        help="signs session tokens: give every host the same one (env CAUCUS_TOKEN_SECRET;"
        " default: random)",
    )
    serve.add_argument(
        "--flag-impossible",
        action="store_true",
        help="accept results that break the rules, flagged for HQ review, instead of 422",
    )
    serve.add_argument(
        "--login-rate", type=float, default=5.0, help="sign-ins/s per client IP (0: no limit)"
    )
    serve.add_argument(
        "--submit-rate", type=float, default=5.0, help="submissions/s per login (0: no limit)"
    )
    serve.add_argument("--fault-latency-ms", type=int, default=0, help="rehearsal: added latency")
    serve.add_argument("--fault-error-rate", type=float, default=0.0, help="rehearsal: share 503")
    serve.add_argument(
        "--fault-drop-rate",
        type=float,
        default=0.0,
        help="rehearsal: share of submissions acknowledged but not stored",
    )
    serve.add_argument(
        "--fault-outage",
        action="append",
        default=[],
        metavar="START+DURATION",
        help="rehearsal: 503 for DURATION s from START s after start-up (repeatable)",
    )
    serve.add_argument("--log-level", default="info")
    serve.set_defaults(run=run_serve)

    roster = add_command(
        subparsers,
        "roster",
        "Make a precinct roster: the service's file (hashed PINs) and the chairs' PIN sheet.",
        "caucus roster generate --precincts 1765 --seed 7 --out roster.csv",
    )
    actions = roster.add_subparsers(title="actions", metavar="ACTION", required=True)
    generate = actions.add_parser("generate", help="generate a made-up roster")
    generate.add_argument("--precincts", type=int, required=True)
    generate.add_argument("--seed", type=int, help="same seed, same roster (PINs included)")
    generate.add_argument("--out", type=Path, required=True, help="the service's roster CSV")
    generate.add_argument(
        "--pins-out", type=Path, help="the chairs' PIN sheet (default: OUT with -pins suffix)"
    )
    generate.set_defaults(run=run_roster_generate)


def run_roster_generate(args: argparse.Namespace) -> int:
    from reporting.roster import generate, pin_sheet_path, write_roster

    if args.precincts < 1:
        print("caucus roster: --precincts must be at least 1", file=sys.stderr)
        return 2
    pins = args.pins_out or pin_sheet_path(args.out)
    write_roster(generate(args.precincts, args.seed), args.out, pins)
    print(f"wrote {args.precincts} precincts to {args.out} and their PINs to {pins}")
    return 0


def run_serve(args: argparse.Namespace) -> int:
    import uvicorn
    from pydantic import ValidationError

    from reporting.config import Settings
    from reporting.faults import FaultSettings
    from reporting.roster import RosterError, load_roster

    try:
        load_roster(args.roster)
    except RosterError as error:
        print(f"caucus serve: {error}", file=sys.stderr)
        return 2
    keys = {"admin_key": args.admin_key, "operator_key": args.operator_key}
    try:
        settings = Settings(
            db_url=args.db,
            roster=args.roster.resolve(),
            reject_impossible=not args.flag_impossible,
            login_rate=args.login_rate,
            submit_rate=args.submit_rate,
            faults=FaultSettings(
                latency_ms=args.fault_latency_ms,
                error_rate=args.fault_error_rate,
                drop_rate=args.fault_drop_rate,
                outages=args.fault_outage,
            ),
            **{name: key for name, key in keys.items() if key},
            **({"secret": args.token_secret} if args.token_secret else {}),
        )
    except ValidationError as error:
        print(f"caucus serve: {error}", file=sys.stderr)
        return 2
    for name, key in keys.items():
        if not key:
            print(f"caucus serve: {name.replace('_', ' ')}: {getattr(settings, name)}", flush=True)
    settings.to_env()
    log_config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    log_config["loggers"]["reporting"] = {"handlers": ["default"], "level": "INFO"}
    metrics_dir = None
    if args.workers > 1:  # every worker writes its metrics here; /metrics merges them
        metrics_dir = tempfile.mkdtemp(prefix="caucus-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        uvicorn.run(
            "reporting.app:create_app_from_env",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level=args.log_level,
            log_config=log_config,
            access_log=False,
            timeout_graceful_shutdown=10,
        )
    finally:
        if metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0
