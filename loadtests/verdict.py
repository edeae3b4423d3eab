"""The run's verdict: SLO checks, hostile-traffic refusal and the audit, as JSON and a table."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from loadtests.audit import AuditReport
from loadtests.slo import HTTP_METHODS, Check, as_json

LISTED_FINDINGS = 20
"""Findings of each kind printed in the table (the JSON has them all)."""


def events(rows: Sequence[dict[str, str]]) -> dict[str, int]:
    """Counts of the users' own events (chairs giving up, phoned results) from the stats."""
    return {
        f"{row['Type']} {row['Name']}": int(row["Request Count"])
        for row in rows
        if row["Type"] not in HTTP_METHODS and row["Name"] != "Aggregated"
    }


def verdict(
    checks: list[Check],
    audit: AuditReport | None,
    counted: dict[str, int],
    run: dict,
    precincts: dict | None = None,
) -> dict:
    """Everything the run decided; ``passed`` needs every check and the audit (when run).

    ``precincts`` (from :func:`loadtests.night.coverage`) says how many results got in.
    """
    passed = all(c.passed for c in checks) and (audit is None or audit.passed)
    return {
        "passed": passed,
        "run": run,
        "slo": as_json(checks),
        "audit": audit.to_json() if audit else None,
        "events": counted,
        "precincts": precincts,
    }


def write_verdict(result: dict, out: Path) -> Path:
    path = out / "verdict.json"
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return path


COLUMNS = ("p50_ms", "p95_ms", "p99_ms", "error_rate")


def table(result: dict) -> str:
    """The verdict as a plain-text table: measured/limit per objective, one row per name."""
    rows: dict[str, dict[str, dict]] = {}
    for c in result["slo"]:
        rows.setdefault(c["name"], {})[c["objective"]] = c
    header = "".join(f"{label:>15}" for label in ("p50 ms", "p95 ms", "p99 ms", "errors"))
    lines = [f"{'request name (measured/limit; * missed)':<50}{header}  result"]
    for name, checks in rows.items():
        cells = []
        for column in COLUMNS:
            c = checks.get(column) or checks.get("unrefused_rate" if column == "error_rate" else "")
            cells.append(f"{_cell(c):>15}")
        mark = "ok" if all(c["passed"] for c in checks.values()) else "FAIL"
        lines.append(f"{name:<50}{''.join(cells)}  {mark}")
    audit = result["audit"]
    if audit is None:
        lines.append("audit: not run (no admin key for the export)")
    else:
        lines.append(
            f"audit: {audit['receipts']} receipts, {audit['stored']} stored; lost"
            f" {len(audit['lost'])}, altered {len(audit['altered'])}, duplicated"
            f" {len(audit['duplicated'])}, accepted twice {len(audit['accepted_twice'])},"
            f" stored without receipt {len(audit['unreceipted'])}"
            f"  {'ok' if audit['passed'] else 'FAIL'}"
        )
        for kind in ("lost", "altered", "duplicated", "accepted_twice"):
            for f in audit[kind][:LISTED_FINDINGS]:
                lines.append(
                    f"  {kind}: {f['precinct_id']} {f['stage']} receipt {f['receipt_id']}"
                    f" ({f['problem']})"
                )
    if result["precincts"]:
        p = result["precincts"]
        lines.append(
            f"precincts: {p['due']} results due ({p['due_by_phone']} by phone), {p['closed']}"
            f" in (receipt held, not lost), {len(p['not_closed'])} not in (listed in verdict.json)"
        )
    if result["events"]:
        lines.append(
            "events: " + "; ".join(f"{name} {n}" for name, n in sorted(result["events"].items()))
        )
    lines.append(f"verdict: {'PASS' if result['passed'] else 'FAIL'}")
    return "\n".join(lines)


def _cell(check: dict | None) -> str:
    """``measured/limit`` (ms, or % for rates), starred when the objective is missed."""
    if check is None:
        return "-"
    if check["objective"].endswith("_rate"):
        text = f"{check['measured']:.1%}/{check['limit']:.1%}"
    else:
        text = f"{check['measured']:g}/{check['limit']:g}"
    return text if check["passed"] else f"*{text}"
