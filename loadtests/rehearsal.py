"""One rehearsal: the target (own endpoint or the reference service), Locust, audit, verdict."""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from loadtests.audit import audit, fetch_export
from loadtests.night import HOTLINE_SHARE, TAIL_S, coverage, plan_night
from loadtests.receipts import read_receipts
from loadtests.runner import LocustPlan, run_locust
from loadtests.service import ReferenceService, reference_service
from loadtests.slo import DEFAULT_SLO, check_slo, load_slo, read_stats
from loadtests.verdict import events, table, verdict, write_verdict


@dataclass(frozen=True, slots=True)
class Target:
    """Where the load goes: ``host`` and credentials, or ``serve_flags`` for the reference."""

    host: str | None
    pin_sheet: Path | None
    admin_key: str | None
    operator_sheet: Path | None
    serve_flags: list[str] | None
    precincts: int


def planned_s(args: argparse.Namespace) -> float:
    """Wall seconds the run is planned to take (shape or run time, whichever is shorter)."""
    night_s = args.night_hours * 3600 / args.compress + TAIL_S
    if not args.run_time:
        return night_s
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([hms]?)", args.run_time)
    seconds = sum(float(n) * {"h": 3600, "m": 60}.get(unit, 1) for n, unit in parts)
    return min(seconds, night_s)


def night_options(
    args: argparse.Namespace, service: ReferenceService | Target, cast: dict[str, int], out: Path
) -> list[str]:
    return [
        "--pin-sheet", str(service.pin_sheet), "--scenario", str(args.scenario),
        *(["--operator-sheet", str(service.operator_sheet)] if service.operator_sheet else []),
        "--compress", str(args.compress), "--night-hours", str(args.night_hours),
        "--seed", str(args.seed), "--receipts", str(out / "receipts"),
        "--wrong-share", str(args.wrong_share),
        *(f"--{kind}={n}" for kind, n in cast.items()),
    ]  # fmt: skip


def rehearse(args: argparse.Namespace, target: Target, cast: dict[str, int], out: Path) -> int:
    """Run the load test and write the verdict; 0 when it passes, 1 when it fails."""
    out.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(out / "receipts", ignore_errors=True)
    serving = (
        reference_service(out / "service", target.precincts, args.seed, target.serve_flags)
        if target.serve_flags is not None
        else nullcontext(target)
    )
    with serving as service:
        host = service.url if isinstance(service, ReferenceService) else target.host
        assert host is not None
        plan = LocustPlan(
            host=host,
            shape=args.shape,
            night_options=night_options(args, service, cast, out),
            out=out,
            run_time=args.run_time,
            workers=args.workers,
            planned_s=planned_s(args),
        )
        try:
            code = run_locust(plan)
        except subprocess.TimeoutExpired:
            print(f"caucus loadtest: Locust overran; see {out / 'locust.log'}", file=sys.stderr)
            return 1
        if code != 0:
            print(
                f"caucus loadtest: Locust exited {code}; see {out / 'locust.log'}", file=sys.stderr
            )
            return 1
        receipts = read_receipts(out / "receipts")
        report = None
        if service.admin_key:
            report = audit(receipts, fetch_export(host, service.admin_key))
        night = plan_night(
            str(service.pin_sheet), str(args.scenario), args.night_hours, HOTLINE_SHARE, args.seed
        )
        played_min = min(args.night_hours * 60, planned_s(args) * args.compress / 60)
        lost = {f.receipt_id for f in report.lost} if report else set()
        closed = {
            r.precinct_id for r in receipts if r.stage == "close" and r.receipt_id not in lost
        }
    rows = read_stats(plan.csv_prefix.with_name("locust_stats.csv"))
    checks = check_slo(rows, load_slo(args.slo or DEFAULT_SLO))
    run = {
        "host": host,
        "scenario": str(args.scenario),
        "shape": args.shape,
        "compress": args.compress,
        "night_hours": args.night_hours,
        "workers": args.workers,
        "cast": cast,
        "served": target.serve_flags is not None,
        "faults": target.serve_flags or [],
    }
    result = verdict(checks, report, events(rows), run, coverage(night, played_min, closed))
    path = write_verdict(result, out)
    print(table(result))
    print(f"run folder: {out} (verdict: {path.name}, Locust: locust.html, locust_*.csv)")
    return 0 if result["passed"] else 1
