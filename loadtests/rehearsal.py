"""One rehearsal: the target (own endpoint or the reference service), a preflight, Locust,
the audits (receipts, and the results held for review) and the verdict."""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from loadtests.adapters import ReportingAdapter, load_adapter
from loadtests.audit import audit
from loadtests.night import TAIL_S, NightPlan, coverage, plan_night
from loadtests.options import locust_flags
from loadtests.preflight import PreflightFailed, held_results, preflight
from loadtests.progress import FLOOD_STATS_CSV, PROGRESS_CSV, RUN_STATS_CSV, read_progress
from loadtests.receipts import read_receipts
from loadtests.review_audit import ReviewAudit, review_audit
from loadtests.reviews import reviewers_on_duty
from loadtests.runner import LocustPlan, run_locust
from loadtests.service import ReferenceService, reference_service
from loadtests.sheets import chair_login, operator_login, reviewer_login
from loadtests.slo import DEFAULT_SLO, check_slo, load_slo, read_stats
from loadtests.verdict import (
    Evidence,
    Span,
    events,
    expected_names,
    request_counts,
    table,
    verdict,
    write_verdict,
)

NO_ADMIN_KEY = "no admin key for the export (--admin-key / CAUCUS_ADMIN_KEY)"
WRITTEN = ("receipts", PROGRESS_CSV, RUN_STATS_CSV, FLOOD_STATS_CSV, "verdict.json")
"""What a run writes in its folder besides Locust's reports (cleared before it starts)."""


@dataclass(frozen=True, slots=True)
class Target:
    """Where the load goes: ``host`` and credentials, or ``serve_flags`` for the reference."""

    host: str | None
    pin_sheet: Path | None
    admin_key: str | None
    operator_sheet: Path | None
    serve_flags: list[str] | None
    precincts: int
    serve_db: str = "sqlite"
    serve_workers: int = 1
    reviewer_sheet: Path | None = None


def planned_s(args: argparse.Namespace) -> float:
    """Wall seconds the run is planned to take (shape or run time, whichever is shorter)."""
    night_s = args.night_hours * 3600 / args.compress + TAIL_S
    if not args.run_time:
        return night_s
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([hms]?)", args.run_time)
    seconds = sum(float(n) * {"h": 3600, "m": 60}.get(unit, 1) for n, unit in parts)
    return min(seconds, night_s)


def rehearse(args: argparse.Namespace, target: Target, out: Path) -> int:
    """Check the target, run the load test, write the verdict.

    Exit code 0 when it passes, 1 when it fails, 2 when the target does not answer as the
    adapter expects (one line on stderr).
    """
    try:
        adapter = load_adapter(args.adapter)
    except ValueError as error:
        print(f"caucus loadtest: {error}", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    for name in WRITTEN:
        shutil.rmtree(out / name, ignore_errors=True)
        (out / name).unlink(missing_ok=True)
    serving = (
        reference_service(
            out / "service",
            target.precincts,
            args.seed,
            target.serve_flags,
            target.serve_db,
            target.serve_workers,
        )
        if target.serve_flags is not None
        else nullcontext(target)
    )
    with serving as service:
        host = service.url if isinstance(service, ReferenceService) else target.host
        assert host is not None
        args.pin_sheet, args.operator_sheet = str(service.pin_sheet), service.operator_sheet or ""
        args.reviewer_sheet = str(service.reviewer_sheet or "")
        reviewers = reviewers_on_duty(args.reviewers, args.reviewer_sheet, adapter)
        plan = plan_night(
            args.pin_sheet, args.scenario, args.night_hours, args.hotline_share, args.seed
        )
        run = _run_facts(args, target, host)
        try:
            held = _check_target(args, adapter, host, plan, service.admin_key, reviewers)
        except PreflightFailed as failed:
            print(f"caucus loadtest: preflight: {failed}", file=sys.stderr)
            return 2
        if held:
            return _report(Evidence(Span(0, 0, None), {}, {}, (), held=held), run, out)
        locust = LocustPlan(
            host=host,
            shape=args.shape,
            night_options=locust_flags(args),
            out=out,
            run_time=args.run_time,
            workers=args.workers,
            planned_s=planned_s(args),
        )
        try:
            code = run_locust(locust)
        except subprocess.TimeoutExpired:
            print(f"caucus loadtest: Locust overran; see {out / 'locust.log'}", file=sys.stderr)
            return 1
        if code != 0:
            print(
                f"caucus loadtest: Locust exited {code}; see {out / 'locust.log'}", file=sys.stderr
            )
            return 1
        receipts = read_receipts(out / "receipts")
        report, skipped = None, ""
        if not adapter.exports:
            skipped = f"{args.adapter} has no export"
        elif not service.admin_key:
            skipped = NO_ADMIN_KEY
        else:
            report = audit(receipts, adapter.export(host, service.admin_key) or [])
        review, review_skipped = _review(args, adapter, host, service.admin_key, plan)
    lost = {f.receipt_id for f in report.lost} if report else set()
    closed = {r.precinct_id for r in receipts if r.stage == "close" and r.receipt_id not in lost}
    slo = load_slo(args.slo or DEFAULT_SLO)
    rows = read_stats(out / RUN_STATS_CSV)
    span = _span(out, plan, args)
    flood_csv = out / FLOOD_STATS_CSV
    expected = expected_names(adapter.NAMES, slo, args.watchers)
    if reviewers:
        expected += [adapter.NAMES[op] for op in ("reviewer-sign-in", "review-queue")]
    evidence = Evidence(
        span=span,
        precincts=coverage(plan, span.end_min, closed),
        requests=request_counts(rows),
        expected=expected,
        checks=check_slo(rows, slo),
        flood_checks=check_slo(read_stats(flood_csv), slo) if flood_csv.exists() else [],
        events=events(rows),
        audit=report,
        audit_skipped=skipped,
        reviewers=reviewers,
        review=review,
        review_skipped=review_skipped,
    )
    return _report(evidence, run, out)


def _review(
    args: argparse.Namespace,
    adapter: ReportingAdapter,
    host: str,
    admin_key: str | None,
    plan: NightPlan,
) -> tuple[ReviewAudit | None, str]:
    """The review audit of the run's precincts from the target's record, or why there is none
    ('' when the run asked for no reviewers and the record cannot be read)."""
    asked = args.reviewers > 0
    if asked and not adapter.reviews:
        return None, f"{args.adapter} has no review operations: no reviewers"
    flagged = adapter.review_ledger(host, admin_key) if admin_key else None
    if flagged is not None:
        mine = {s.precinct_id for s in plan.slots}
        flagged = [f for f in flagged if f.precinct_id in mine]
        return review_audit(flagged, args.compress, time.time()), ""
    if not asked:
        return None, ""
    return None, NO_ADMIN_KEY if not admin_key else f"{args.adapter} has no review export"


def _check_target(
    args: argparse.Namespace,
    adapter: ReportingAdapter,
    host: str,
    plan: NightPlan,
    admin_key: str | None,
    reviewers: int,
) -> list[str]:
    """The preflight, then the run's precincts the target already holds results for."""
    chair = chair_login(args.pin_sheet)
    operator = operator_login(args.operator_sheet, 0) if args.operators else None
    if args.operators and operator is None:
        raise PreflightFailed(
            f"--operators {args.operators} but no --operator-sheet: the operators cannot sign in"
            " (give their keys, or --operators 0)"
        )
    if args.reviewers and adapter.reviews and not args.reviewer_sheet:
        raise PreflightFailed(
            f"--reviewers {args.reviewers} but no --reviewer-sheet: the reviewers cannot sign in"
            " (give their keys, or --reviewers 0)"
        )
    reviewer = reviewer_login(args.reviewer_sheet, 0) if reviewers else None
    preflight(host, adapter, chair, operator, reviewer)
    return held_results(host, adapter, (s.precinct_id for s in plan.slots), admin_key)


def _span(out: Path, plan: NightPlan, args: argparse.Namespace) -> Span:
    """The night the run covered: to the last minute its progress log reached, within the
    planned run (Locust lets users finish their tasks for a few seconds after it)."""
    planned = planned_s(args) * args.compress / 60
    progress = read_progress(out / PROGRESS_CSV)
    played = float(progress[-1]["night_min"]) if progress else planned
    return Span(0.0, min(played, planned, plan.night_min), plan.flood.window)


def _run_facts(args: argparse.Namespace, target: Target, host: str) -> dict:
    return {
        "host": host,
        "adapter": args.adapter,
        "scenario": str(args.scenario),
        "shape": args.shape,
        "compress": args.compress,
        "night_hours": args.night_hours,
        "run_id": args.run_id,
        "workers": args.workers,
        "cast": {k: getattr(args, k) for k in ("watchers", "pranksters", "operators", "reviewers")},
        "review_pace_s": args.review_pace,
        "served": target.serve_flags is not None,
        "serve_db": target.serve_db if target.serve_flags is not None else None,
        "serve_workers": target.serve_workers if target.serve_flags is not None else None,
        "faults": target.serve_flags or [],
    }


def _report(evidence: Evidence, run: dict, out: Path) -> int:
    result = verdict(evidence, run)
    path = write_verdict(result, out)
    print(table(result))
    reports = "" if evidence.held else ", Locust: locust.html, locust_*.csv"
    print(f"run folder: {out} (verdict: {path.name}{reports})")
    return 0 if result["passed"] else 1
