"""The run's verdict: what the run covered, and every reason it fails, as JSON and a table.

A run passes only when it proved something: results were due, every request name it must
exercise got requests, every receipt matched, the target held nothing of the run's precincts
beforehand, and the SLOs (over the run, and on their own during the prank flood) and the audit
held; with HQ reviewers on duty, results were held for review and none was published before
its review.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from loadtests.audit import AuditReport
from loadtests.night import clock
from loadtests.review_audit import ReviewAudit
from loadtests.slo import HTTP_METHODS, Check, as_json

LISTED_FINDINGS = 20
"""Findings of each kind printed in the table (the JSON has them all)."""
LISTED_PRECINCTS = 5
CORE = ("sign-in", "precinct", "open", "first-alignment", "close")
"""Operations every caucus-night run must exercise (``results`` too when there are watchers)."""
RECEIPT_MISMATCH = "RECEIPT receipt mismatch"
"""The event counting accepted submissions whose receipt did not match what was sent."""


@dataclass(frozen=True, slots=True)
class Span:
    """The night a run covered and the flood window, in night minutes (0 is 7 pm)."""

    start_min: float
    end_min: float
    flood: tuple[float, float] | None

    def flood_inside(self) -> str:
        """``inside``, ``partly inside``, ``not reached`` or ``none`` (no flood in the night)."""
        if self.flood is None:
            return "none"
        start, end = self.flood
        if self.end_min <= start or self.start_min >= end:
            return "not reached"
        return "inside" if self.start_min <= start and end <= self.end_min else "partly inside"

    def describe(self) -> str:
        covered = f"night covered: {clock(self.start_min)} to {clock(self.end_min)}"
        if self.flood is None:
            return f"{covered}; no prank flood in this night"
        start, end = self.flood
        inside = self.flood_inside()
        if inside == "not reached":
            inside = "not inside the run: prank traffic was not tested"
        elif inside == "partly inside":
            inside = (
                f"partly inside ({clock(max(start, self.start_min))} to"
                f" {clock(min(end, self.end_min))} of it)"
            )
        return f"{covered}; prank flood {clock(start)} to {clock(end)}: {inside}"

    def to_json(self) -> dict:
        flood = None
        if self.flood:
            flood = {"from": clock(self.flood[0]), "to": clock(self.flood[1])}
            flood |= {"from_min": self.flood[0], "to_min": self.flood[1]}
            flood["inside"] = self.flood_inside()
        return {
            "from": clock(self.start_min),
            "to": clock(self.end_min),
            "from_min": round(self.start_min, 1),
            "to_min": round(self.end_min, 1),
            "flood": flood,
        }


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the run measured, for the verdict to judge."""

    span: Span
    precincts: Mapping
    """Results due and in (:func:`loadtests.night.coverage`)."""
    requests: Mapping[str, int]
    """Requests per HTTP request name."""
    expected: Sequence[str]
    """Request names the run must have exercised."""
    checks: Sequence[Check] = ()
    flood_checks: Sequence[Check] = ()
    """The same objectives for legitimate requests during the flood window alone."""
    events: Mapping[str, int] = field(default_factory=dict)
    audit: AuditReport | None = None
    audit_skipped: str = ""
    """Why the audit did not run ('' when it did)."""
    held: Sequence[str] = ()
    """The run's precincts for which the target held results before it started."""
    reviewers: int = 0
    """HQ reviewers on duty."""
    review: ReviewAudit | None = None
    review_skipped: str = ""
    """Why the review audit did not run ('' when it did, or when it was not asked for)."""


def expected_names(names: Mapping[str, str], slo: Mapping, watchers: int) -> list[str]:
    """The adapter's request names of the core operations and of every other name the SLO
    file gives objectives of its own (``results`` only when there are watchers)."""
    unused = set() if watchers else {names["results"]}
    core = [names[op] for op in (*CORE, "results")]
    own = [n for n in names.values() if n in slo.get("endpoints", {})]
    return [n for n in dict.fromkeys([*core, *own]) if n not in unused]


def request_counts(rows: Iterable[Mapping[str, str]]) -> dict[str, int]:
    return {row["Name"]: int(row["Request Count"]) for row in rows if row["Type"] in HTTP_METHODS}


def events(rows: Sequence[Mapping[str, str]]) -> dict[str, int]:
    """Counts of the users' own events (chairs giving up, phoned results) from the stats."""
    return {
        f"{row['Type']} {row['Name']}": int(row["Request Count"])
        for row in rows
        if row["Type"] not in HTTP_METHODS and row["Name"] != "Aggregated"
    }


def reasons(e: Evidence) -> list[str]:
    """Every reason the run fails, in plain words (empty: it passes)."""
    if e.held:  # the load was not sent: nothing else was measured
        listed = ", ".join(e.held[:LISTED_PRECINCTS]) + (
            ", ..." if len(e.held) > LISTED_PRECINCTS else ""
        )
        return [
            f"the target already held results for {len(e.held)} of the run's precincts before"
            f" it started ({listed}): use an empty database or another PIN sheet"
        ]
    why = []
    if not e.precincts.get("due"):
        first = e.precincts.get("first_due_min")
        when = f"; the first was due at {clock(first)}" if first is not None else ""
        why.append(
            f"no result was due: the run covered {clock(e.span.start_min)} to"
            f" {clock(e.span.end_min)}{when}"
        )
    why += [f"no requests to {name}" for name in e.expected if not e.requests.get(name)]
    if mismatches := e.events.get(RECEIPT_MISMATCH, 0):
        why.append(f"{mismatches} receipts did not match what was sent")
    why += [f"SLO missed: {_missed(c)}" for c in e.checks if not c.passed]
    why += [f"SLO missed during the flood: {_missed(c)}" for c in e.flood_checks if not c.passed]
    if e.audit is not None and not e.audit.passed:
        a = e.audit
        why.append(
            f"audit: lost {len(a.lost)}, altered {len(a.altered)}, duplicated"
            f" {len(a.duplicated)}, accepted twice {len(a.accepted_twice)}"
        )
    if e.review is not None and (early := e.review.published_early):
        receipts = [p.receipt_id for p in early]
        listed = ", ".join(receipts[:LISTED_FINDINGS]) + (
            ", ..." if len(receipts) > LISTED_FINDINGS else ""
        )
        why.append(f"{len(early)} results held for review were public before review: {listed}")
    if e.review is not None and e.reviewers and not e.review.checked:
        why.append(
            "no result was held for review, so the reviewers' part proved nothing (a target"
            " that holds results: caucus serve --hold-impossible, or --serve --hold-for-review;"
            " --wrong-share above 0)"
        )
    return why


def verdict(evidence: Evidence, run: Mapping) -> dict:
    """Everything the run decided; ``passed`` when no reason to fail was found."""
    why = reasons(evidence)
    return {
        "passed": not why,
        "reasons": why,
        "run": dict(run),
        "span": evidence.span.to_json(),
        "slo": as_json(evidence.checks),
        "flood_slo": as_json(evidence.flood_checks),
        "audit": evidence.audit.to_json() if evidence.audit else None,
        "audit_skipped": evidence.audit_skipped,
        "events": dict(evidence.events),
        "precincts": dict(evidence.precincts),
        "held": list(evidence.held),
        "reviewers": evidence.reviewers,
        "review": evidence.review.to_json() if evidence.review else None,
        "review_skipped": evidence.review_skipped,
        "describe": evidence.span.describe(),
    }


def write_verdict(result: dict, out: Path) -> Path:
    path = out / "verdict.json"
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return path


COLUMNS = ("p50_ms", "p95_ms", "p99_ms", "error_rate")


def table(result: dict) -> str:
    """The verdict as plain text: the SLO table (measured/limit per objective, one row per
    name), the flood window's own, the audit, the precincts, the night covered, the reasons
    (only the reasons when no load was sent)."""
    why = [f"  why: {reason}" for reason in result["reasons"]]
    if result["held"]:
        return "\n".join(["verdict: FAIL (no load was sent)", *why])
    lines = _slo_rows(result["slo"], "request name (measured/limit; * missed)")
    if result["flood_slo"]:
        lines += _slo_rows(result["flood_slo"], "during the prank flood")
    audit = result["audit"]
    if audit is None:
        lines.append(f"audit: skipped ({result['audit_skipped']})")
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
    lines += _review_lines(result)
    if p := result["precincts"]:
        lines.append(
            f"precincts: {p['due']} results due ({p['due_by_phone']} by phone), {p['closed']}"
            f" in (receipt held, not lost), {len(p['not_closed'])} not in (listed in verdict.json)"
        )
    if result["events"]:
        lines.append(
            "events: " + "; ".join(f"{name} {n}" for name, n in sorted(result["events"].items()))
        )
    lines.append(result["describe"])
    lines.append(f"verdict: {'PASS' if result['passed'] else 'FAIL'}")
    return "\n".join([*lines, *why])


def _review_lines(result: dict) -> list[str]:
    """The review audit: held, decided, still waiting; how long they waited; the check that
    none was public before its review (or why there is nothing to say)."""
    review = result["review"]
    if review is None:
        skipped = result["review_skipped"]
        return [f"review: skipped ({skipped})"] if skipped else []
    if not review["checked"]:
        if not result["reviewers"]:
            return []
        return [
            "review: no result was held for review in this run: not proven that none is"
            " published before its review"
        ]
    decided = ", ".join(f"{kind} {n}" for kind, n in sorted(review["decisions"].items()))
    waiting = review["still_waiting"]
    oldest = f" (the oldest for {review['oldest_waiting_s']:g} s)" if waiting else ""
    lines = [
        f"review: {review['flagged']} held for review, {review['decided']} decided"
        f"{f' ({decided})' if decided else ''}, {len(waiting)} still waiting{oldest};"
        f" {result['reviewers']} reviewers on duty"
    ]
    if waited := review["waited"]:
        lines.append(
            "  waited: "
            + ", ".join(
                f"{name} {w['night_min']:.1f} min of night ({w['run_s']:.1f} s of run)"
                for name, w in waited.items()
            )
        )
    early = review["published_early"]
    lines.append(
        f"  public before review: {len(early)} of {review['flagged']} held"
        f"  {'ok' if review['passed'] else 'FAIL'}"
    )
    lines += [
        f"  public before review: {p['precinct_id']} {p['stage']} receipt {p['receipt_id']}"
        f" ({p['problem']})"
        for p in early[:LISTED_FINDINGS]
    ]
    return lines


def _slo_rows(checks: list[dict], heading: str) -> list[str]:
    rows: dict[str, dict[str, dict]] = {}
    for c in checks:
        rows.setdefault(c["name"], {})[c["objective"]] = c
    header = "".join(f"{label:>15}" for label in ("p50 ms", "p95 ms", "p99 ms", "errors"))
    lines = [f"{heading:<50}{header}  result"]
    for name, by_objective in rows.items():
        cells = []
        for column in COLUMNS:
            c = by_objective.get(column)
            if c is None and column == "error_rate":
                c = by_objective.get("unrefused_rate")
            cells.append(f"{_cell(c):>15}")
        mark = "ok" if all(c["passed"] for c in by_objective.values()) else "FAIL"
        lines.append(f"{name:<50}{''.join(cells)}  {mark}")
    return lines


def _missed(check: Check) -> str:
    return f"{check.name} {check.objective} {_cell(as_json([check])[0]).lstrip('*')}"


def _cell(check: dict | None) -> str:
    """``measured/limit`` (ms, or % for rates), starred when the objective is missed."""
    if check is None:
        return "-"
    if check["objective"].endswith("_rate"):
        text = f"{check['measured']:.1%}/{check['limit']:.1%}"
    else:
        text = f"{check['measured']:g}/{check['limit']:g}"
    return text if check["passed"] else f"*{text}"
