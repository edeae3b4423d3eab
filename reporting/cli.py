"""`caucus serve`, `caucus roster generate` and `caucus watch`. Heavy imports wait until a
command runs."""

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
        "--token-secret",
        default=os.environ.get("CAUCUS_TOKEN_SECRET"),
        help="signs session tokens (env CAUCUS_TOKEN_SECRET); default: the keys in"
        " --token-key-file",
    )
    serve.add_argument(
        "--token-key-file",
        type=Path,
        default=Path("caucus-token.keys"),
        help="hex keys, one a line: the first signs, all verify (created if missing; give every"
        " host the same file; rotate by adding a line on top)",
    )
    serve.add_argument(
        "--session-hours", type=float, default=12.0, help="how long a sign-in lasts (default 12)"
    )
    serve.add_argument(
        "--trusted-proxies",
        default="",
        metavar="CIDR,...",
        help="reverse proxies whose X-Forwarded-For is believed (default: none, not even loopback)",
    )
    serve.add_argument(
        "--hold-impossible",
        "--flag-impossible",
        action="store_true",
        help="hold results that break the rules or arrive incomplete for HQ review (202)"
        " instead of refusing them (422, the default); --flag-impossible is its old name",
    )
    night = serve.add_argument_group("the night: its clock, releases and plan")
    night.add_argument(
        "--release",
        choices=("continuous", "batches"),
        default="continuous",
        help="verified results become public at once (continuous, default) or in batches, at"
        " --release-at times or on POST /api/v1/admin/releases",
    )
    night.add_argument(
        "--release-at",
        default="",
        metavar="TIME,...",
        help="batch times of night: 21:00, +2h, 90min (minutes after 7 pm)",
    )
    night.add_argument(
        "--release-every",
        type=float,
        metavar="MINUTES",
        help="after the last --release-at time, a batch every this many night minutes",
    )
    night.add_argument(
        "--night-start",
        default="serve",
        help="when 7 pm is on the night clock: `serve` (default: now), `first-sign-in` (any"
        " worker's first chair or operator sign-in), or an ISO 8601 time with its offset",
    )
    night.add_argument(
        "--compress",
        type=float,
        default=1.0,
        help="night minutes per wall minute, for a rehearsal (as caucus loadtest --compress;"
        " default 1)",
    )
    night.add_argument(
        "--plan",
        type=Path,
        metavar="RUN_FOLDER",
        help="a `caucus simulate` run folder: the war room (/war-room) shows its expected band",
    )
    serve.add_argument(
        "--login-rate", type=float, default=5.0, help="sign-ins/s per client IP (0: no limit)"
    )
    serve.add_argument(
        "--precinct-failure-cap",
        type=int,
        default=100,
        help="wrong codes in a row that hold a precinct's sign-in and alert HQ (at most 100)",
    )
    serve.add_argument(
        "--header-timeout",
        type=float,
        default=10.0,
        help="seconds a client has to send request headers (default 10)",
    )
    serve.add_argument(
        "--body-timeout",
        type=float,
        default=10.0,
        help="seconds a client has to send a request body once its headers are in (default 10)",
    )
    serve.add_argument(
        "--max-header-bytes", type=int, default=16_384, help="request header limit (16 KiB)"
    )
    serve.add_argument(
        "--max-connections",
        type=int,
        default=4_096,
        help="open connections per worker; beyond, the longest-idle one is closed",
    )
    serve.add_argument(
        "--max-in-flight", type=int, default=256, help="requests handled at once per worker"
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
        help="rehearsal: 503 for DURATION s from START s after the fault clock starts (repeatable)",
    )
    serve.add_argument(
        "--fault-start",
        default="serve",
        help="rehearsal: the fault clock starts at `serve` (default: when this caucus serve"
        " started, the same for its workers; each host its own), `first-request` (any"
        " worker's, kept in the database), or an ISO 8601 time (the same on every host)",
    )
    serve.add_argument("--fault-seed", type=int, help="rehearsal: seed of the random faults")
    serve.add_argument("--log-level", default="info")
    serve.set_defaults(run=run_serve)

    roster = add_command(
        subparsers,
        "roster",
        "Make a roster: precincts (hashed codes), candidates, operators, and the sheets.",
        "caucus roster generate --precincts 1765 --out roster.csv",
    )
    actions = roster.add_subparsers(title="actions", metavar="ACTION", required=True)
    generate = actions.add_parser("generate", help="generate a made-up roster")
    generate.add_argument("--precincts", type=int, required=True)
    generate.add_argument(
        "--seed",
        type=int,
        help="same seed, same roster, codes included: only with --test-roster",
    )
    generate.add_argument(
        "--test-roster",
        action="store_true",
        help="a roster for tests and rehearsals (codes may come from --seed); marked as such",
    )
    generate.add_argument("--out", type=Path, required=True, help="the service's roster CSV")
    generate.add_argument(
        "--pins-out", type=Path, help="the chairs' code sheet (default: OUT with -pins suffix)"
    )
    generate.add_argument(
        "--candidates",
        help="comma-separated candidate list (default: the 2020 Iowa field and Uncommitted)",
    )
    generate.add_argument("--operators", type=int, default=4, help="hotline operators (4)")
    generate.add_argument("--reviewers", type=int, default=2, help="HQ reviewers (2)")
    generate.set_defaults(run=run_roster_generate)

    watch = add_command(
        subparsers,
        "watch",
        "Watch a results endpoint against the plan: on plan or behind, and who is missing.",
        "CAUCUS_ADMIN_KEY=... caucus watch --host http://127.0.0.1:8000 --plan runs/iowa-2020",
    )
    watch.add_argument("--host", required=True, help="base URL of an endpoint speaking the API")
    watch.add_argument("--plan", type=Path, required=True, help="a `caucus simulate` run folder")
    watch.add_argument(
        "--reviewer",
        default=os.environ.get("CAUCUS_REVIEWER"),
        help="sign in as this HQ reviewer (env CAUCUS_REVIEWER), with the key in env"
        " CAUCUS_REVIEWER_KEY; else the admin key in env CAUCUS_ADMIN_KEY",
    )
    watch.add_argument("--every", type=float, default=5.0, help="seconds between readings (5)")
    watch.add_argument(
        "--once", action="store_true", help="one reading; exit 0 on plan or ahead, 1 behind"
    )
    watch.add_argument(
        "--counties", type=int, default=8, help="counties listed with missing precincts (8)"
    )
    watch.set_defaults(run=run_watch)


def run_roster_generate(args: argparse.Namespace) -> int:
    from reporting.roster import CANDIDATES_2020, generate, pin_sheet_path, write_roster

    if args.precincts < 1:
        print("caucus roster: --precincts must be at least 1", file=sys.stderr)
        return 2
    if args.seed is not None and not args.test_roster:
        print(
            "caucus roster: --seed makes every code reproducible: a roster for real use takes"
            " its codes from the secure generator (add --test-roster for a test roster)",
            file=sys.stderr,
        )
        return 2
    candidates = (
        tuple(n.strip() for n in args.candidates.split(",")) if args.candidates else CANDIDATES_2020
    )
    pins = args.pins_out or pin_sheet_path(args.out)
    try:
        roster = generate(
            args.precincts,
            args.seed,
            candidates=candidates,
            operators=args.operators,
            reviewers=args.reviewers,
        )
    except ValueError as error:
        print(f"caucus roster: {error}", file=sys.stderr)
        return 2
    write_roster(roster, args.out, pins)
    kind = "TEST ROSTER (codes reproducible from the seed)" if roster.seeded else "roster"
    print(f"wrote {kind}: {args.precincts} precincts to {args.out}, their codes to {pins}")
    return 0


def run_serve(args: argparse.Namespace) -> int:
    import uvicorn
    from pydantic import ValidationError

    from reporting.auth import read_key_file
    from reporting.config import Settings
    from reporting.connections import LIMITS_ENV
    from reporting.faults import FaultSettings
    from reporting.identity import parse_networks
    from reporting.night import night_minute
    from reporting.plan import PlanError, read_plan
    from reporting.roster import RosterError, load_roster
    from reporting.staff import StaffRoster
    from reporting.workers import hold_port, run_workers

    try:
        load_roster(args.roster)
        StaffRoster(args.roster)
        if args.plan:
            read_plan(args.plan)
    except (RosterError, PlanError) as error:
        print(f"caucus serve: {error}", file=sys.stderr)
        return 2
    try:
        settings = Settings(
            db_url=args.db,
            roster=args.roster.resolve(),
            hold_impossible=args.hold_impossible,
            release_mode=args.release,
            release_at_min=[night_minute(t) for t in args.release_at.split(",") if t.strip()],
            release_every_min=args.release_every,
            night_start=args.night_start,
            night_compress=args.compress,
            plan=args.plan.resolve() if args.plan else None,
            login_rate=args.login_rate,
            precinct_failure_cap=args.precinct_failure_cap,
            submit_rate=args.submit_rate,
            token_ttl_s=round(args.session_hours * 3600),
            trusted_proxies=[c for c in args.trusted_proxies.split(",") if c.strip()],
            max_in_flight=args.max_in_flight,
            body_timeout_s=args.body_timeout,
            faults=FaultSettings(
                latency_ms=args.fault_latency_ms,
                error_rate=args.fault_error_rate,
                drop_rate=args.fault_drop_rate,
                outages=args.fault_outage,
                seed=args.fault_seed,
                start=args.fault_start,
            ),
            **({"admin_key": args.admin_key} if args.admin_key else {}),
            **(
                {"secret": args.token_secret}
                if args.token_secret
                else {"token_key_file": args.token_key_file.resolve()}
            ),
        )
        parse_networks(settings.trusted_proxies)
        if settings.token_key_file is not None:
            read_key_file(settings.token_key_file, create=True)
    except (ValidationError, ValueError, OSError) as error:
        print(f"caucus serve: {error}", file=sys.stderr)
        return 2
    if not args.admin_key:
        print(f"caucus serve: admin key: {settings.admin_key}", flush=True)
    os.environ[LIMITS_ENV] = f"{args.header_timeout},{args.max_header_bytes},{args.max_connections}"
    _raise_file_limit(args.max_connections * args.workers + 256)
    settings.to_env()
    log_config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    log_config["loggers"]["reporting"] = {"handlers": ["default"], "level": "INFO"}
    hold = metrics_dir = None
    if args.workers > 1:
        try:  # the workers' port, held before anything else starts
            hold = hold_port(args.host, args.port)
        except OSError as error:
            where = f"{args.host}:{args.port}"
            print(f"caucus serve: cannot listen on {where}: {error}", file=sys.stderr)
            return 2
        # every worker writes its metrics here; /metrics merges them
        metrics_dir = tempfile.mkdtemp(prefix="caucus-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    options = dict(
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        log_config=log_config,
        access_log=False,
        http="reporting.connections:GuardedHttpToolsProtocol",
        proxy_headers=False,  # X-Forwarded-For is read by the app, from --trusted-proxies only
        timeout_graceful_shutdown=10,
    )
    app = "reporting.app:create_app_from_env"
    try:
        if hold is not None:
            run_workers(uvicorn.Config(app, **options), hold)
        else:
            uvicorn.run(app, **options)
    finally:
        if metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def run_watch(args: argparse.Namespace) -> int:
    from reporting.watch import watch

    return watch(
        args.host,
        args.plan,
        reviewer=args.reviewer,
        reviewer_key=os.environ.get("CAUCUS_REVIEWER_KEY"),
        admin_key=os.environ.get("CAUCUS_ADMIN_KEY"),
        every_s=args.every,
        once=args.once,
        counties=args.counties,
    )


def _raise_file_limit(wanted: int) -> None:
    """Let the process hold ``wanted`` sockets if the hard limit allows (slow clients)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
