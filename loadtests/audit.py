"""The audit: what chairs and operators were told was stored, against the service's export.

Every receipt must name a stored report, stored once, with the body that was sent; no
precinct stage may be accepted twice. Reports stored without a receipt (the client gave up
after the service had stored it) are listed but do not fail the audit.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field

from loadtests.receipts import ReceiptRecord, canonical_sha256


@dataclass(frozen=True, slots=True)
class Finding:
    """One report the audit could not square: precinct, stage, receipt and what is wrong."""

    precinct_id: str
    stage: str
    receipt_id: str
    problem: str


@dataclass(slots=True)
class AuditReport:
    """Findings by kind; ``passed`` when nothing was lost, altered or accepted twice."""

    receipts: int = 0
    stored: int = 0
    lost: list[Finding] = field(default_factory=list)
    altered: list[Finding] = field(default_factory=list)
    duplicated: list[Finding] = field(default_factory=list)
    accepted_twice: list[Finding] = field(default_factory=list)
    unreceipted: list[Finding] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not (self.lost or self.altered or self.duplicated or self.accepted_twice)

    def to_json(self) -> dict:
        return {"passed": self.passed, **asdict(self)}


def audit(receipts: list[ReceiptRecord], export: list[dict]) -> AuditReport:
    """Compare the clients' receipts with the service's stored submissions."""
    rows = {row["receipt_id"]: row for row in export}
    report = AuditReport(stored=len(export))
    unique = {r.receipt_id: r for r in receipts}
    report.receipts = len(unique)
    for r in unique.values():
        row = rows.get(r.receipt_id)
        if row is None:
            report.lost.append(Finding(r.precinct_id, r.stage, r.receipt_id, "receipt, not stored"))
            continue
        sums = {r.sent_sha256, r.receipt_sha256, row["body_sha256"], canonical_sha256(row["body"])}
        sums.discard("")  # a receipt that states no hash
        if len(sums) > 1 or row["precinct_id"] != r.precinct_id or row["stage"] != r.stage:
            report.altered.append(
                Finding(r.precinct_id, r.stage, r.receipt_id, "stored report differs from sent")
            )
    keys = Counter((row["precinct_id"], row["idempotency_key"]) for row in export)
    originals = Counter(
        (row["precinct_id"], row["stage"]) for row in export if not row.get("correction_of")
    )
    for row in export:
        if keys[(row["precinct_id"], row["idempotency_key"])] > 1:
            report.duplicated.append(_finding(row, "idempotency key stored more than once"))
        elif originals[(row["precinct_id"], row["stage"])] > 1 and not row.get("correction_of"):
            report.duplicated.append(_finding(row, "stage stored more than once"))
        if row["receipt_id"] not in unique:
            report.unreceipted.append(_finding(row, "stored, no client holds its receipt"))
    accepted: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in unique.values():
        if rows.get(r.receipt_id, {}).get("correction_of") is None:
            accepted[(r.precinct_id, r.stage)].add(r.receipt_id)
    for (precinct_id, stage), ids in sorted(accepted.items()):
        if len(ids) > 1:
            report.accepted_twice.append(
                Finding(precinct_id, stage, ",".join(sorted(ids)), "accepted twice")
            )
    return report


def _finding(row: dict, problem: str) -> Finding:
    return Finding(row["precinct_id"], row["stage"], row["receipt_id"], problem)
