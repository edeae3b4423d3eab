"""The rules of recording, written once for every database: append-only, idempotent, no overwrite.

Each function runs inside one transaction given as a :class:`Tx` (SQL with ``?`` placeholders).
A stage of a precinct has one original report and a chain of corrections, each naming the
version it corrects (``If-Match``: a correction of any other version is refused, so no update
is lost); the current version is the newest one in force. Once a precinct has closed, a
correction is *held* for HQ review: stored, flagged, alerted, and not in force (nor in the
public totals) until HQ approves it. Unique constraints (one original per stage, one
correction per version, one use of an idempotency key per caller) make a concurrent second
writer fail instead of adding a row; the storage then re-runs it.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from reporting.guard import SESSION_OPEN, close_alerts, log
from reporting.models import Receipt, RuleBroken, Stage

COLUMNS = (
    "receipt_id",
    "precinct_id",
    "stage",
    "idempotency_key",
    "body_sha256",
    "accepted_at",
    "entered_by",
    "correction_of",
    "flags",
    "review",
    "body",
)
SELECT = f"SELECT {', '.join(COLUMNS)} FROM submissions"
IN_FORCE = "({t}.review IS NULL OR {t}.review = 'approved')"
CURRENT = (
    f"{IN_FORCE.format(t='s')} AND NOT EXISTS (SELECT 1 FROM submissions c"
    f" WHERE c.correction_of = s.receipt_id AND {IN_FORCE.format(t='c')})"
)
"""A row is current when it is in force and no correction in force replaces it."""


class Tx(Protocol):
    """The slice of a DB-API connection the ledger needs (``?`` placeholders)."""

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> tuple | None: ...
    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]: ...
    def execute(self, sql: str, params: Sequence[Any] = ()) -> None: ...


@dataclass(frozen=True, slots=True)
class Entry:
    """A submission to record; ``body`` is the canonical body (see :class:`Receipt`)."""

    precinct_id: str
    stage: Stage
    idempotency_key: str
    body: dict
    body_sha256: str
    entered_by: str
    session_id: str | None = None
    """The caller's session, checked inside the write (None: not checked)."""
    if_match: str | None = None
    """The receipt id of the version a correction replaces."""

    @property
    def is_correction(self) -> bool:
        return "correction_reason" in self.body


@dataclass(frozen=True, slots=True)
class StoredReport:
    """One stored row: its receipt and its body."""

    receipt: Receipt
    body: dict


RuleCheck = Callable[[Stage, dict, dict[Stage, dict]], list[RuleBroken]]
"""Rules for a body given the current bodies of the precinct's other stages."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What recording a submission did.

    ``kind`` is ``accepted`` (stored and in force), ``held`` (stored, waiting for HQ review),
    ``replayed`` (stored before: same receipt), ``conflict`` (409: ``code`` says why),
    ``precondition`` (412 or 428: ``code`` says which), ``revoked`` (the session was revoked)
    or ``refused`` (422: ``rules`` broken).
    """

    kind: str
    receipt: Receipt | None = None
    code: str = ""
    detail: str = ""
    rules: list[RuleBroken] = field(default_factory=list)


def canonical_json(body: dict) -> str:
    """The form a body is hashed and stored in: keys sorted, no spaces, UTF-8 kept."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def report_from_row(row: tuple) -> StoredReport:
    """A stored row as receipt and body (our own rows: built without validating them again)."""
    values = dict(zip(COLUMNS, row, strict=True))
    body = json.loads(values.pop("body"))
    values["flags"] = json.loads(values["flags"])
    values["stage"] = Stage(values["stage"])
    return StoredReport(Receipt.model_construct(**values), body)


def current_reports(tx: Tx, precinct_id: str) -> dict[Stage, StoredReport]:
    """The current version of each stage the precinct has reported."""
    rows = tx.fetchall(f"{SELECT} s WHERE precinct_id = ? AND {CURRENT}", (precinct_id,))
    return {Stage(r.receipt.stage): r for r in map(report_from_row, rows)}


def corrections(tx: Tx, precinct_id: str) -> dict[Stage, tuple[int, int]]:
    """Corrections in force and corrections held for review, by stage of a precinct."""
    rows = tx.fetchall(
        "SELECT stage, SUM(CASE WHEN review = 'held' THEN 0 ELSE 1 END),"
        " SUM(CASE WHEN review = 'held' THEN 1 ELSE 0 END) FROM submissions"
        " WHERE precinct_id = ? AND correction_of IS NOT NULL"
        " AND (review IS NULL OR review <> 'rejected') GROUP BY stage",
        (precinct_id,),
    )
    return {Stage(stage): (int(n), int(h)) for stage, n, h in rows}


def final_reports(tx: Tx) -> list[dict]:
    """The current `close` body of every precinct that has closed."""
    rows = tx.fetchall(f"SELECT body FROM submissions s WHERE stage = 'close' AND {CURRENT}")
    return [json.loads(body) for (body,) in rows]


def every_report(tx: Tx) -> list[StoredReport]:
    """Every row ever stored, corrections included, in the order they were stored."""
    return [report_from_row(r) for r in tx.fetchall(f"{SELECT} ORDER BY seq")]


def record(
    tx: Tx, entry: Entry, check: RuleCheck, reject_impossible: bool, now: float | None = None
) -> Outcome:
    """Store ``entry`` unless it replays, conflicts with or breaks what is already stored.

    The caller's session is checked by the insert itself: a revoked or expired session never
    stores anything (it may still be told the receipt of what it stored before).
    """
    # One round trip: the row this caller stored under this key (if any), and the precinct's
    # current rows and held corrections.
    rows = tx.fetchall(
        f"SELECT {', '.join(COLUMNS)}, (s.entered_by = ? AND s.idempotency_key = ?), {CURRENT}"
        " FROM submissions s WHERE (s.entered_by = ? AND s.idempotency_key = ?)"
        f" OR (s.precinct_id = ? AND (s.review = 'held' OR {CURRENT}))",
        (entry.entered_by, entry.idempotency_key) * 2 + (entry.precinct_id,),
    )
    reports = [(report_from_row(r[:-2]), r[-2], r[-1]) for r in rows]
    by_key = [report for report, keyed, _ in reports if keyed]
    current = {Stage(r.receipt.stage): r for r, _, is_current in reports if is_current}
    held = {
        Stage(r.receipt.stage): r
        for r, _, _ in reports
        if r.receipt.review == "held" and r.receipt.precinct_id == entry.precinct_id
    }
    if by_key:
        earlier = by_key[0].receipt
        if (earlier.precinct_id, earlier.stage, earlier.body_sha256) == (
            entry.precinct_id,
            entry.stage,
            entry.body_sha256,
        ):
            return Outcome("replayed", earlier)
        return Outcome(
            "conflict",
            code="idempotency-key-reused",
            detail="you used this Idempotency-Key for a different submission",
            receipt=earlier,
        )
    this = current.get(entry.stage)
    if not entry.is_correction and this is not None:
        if this.receipt.body_sha256 == entry.body_sha256:
            return Outcome("replayed", this.receipt)
        return Outcome(
            "conflict",
            code="already-reported",
            detail=f"{entry.stage} is already reported with different numbers;"
            " send a correction with a reason (and If-Match) to change it",
            receipt=this.receipt,
        )
    if entry.is_correction:
        refusal = _correction_refusal(entry, this, held.get(entry.stage))
        if refusal is not None:
            return refusal
    others = {stage: r.body for stage, r in current.items() if stage != entry.stage}
    rules = check(entry.stage, entry.body, others)
    if rules and reject_impossible:
        return Outcome("refused", rules=rules)
    hold = entry.is_correction and Stage.CLOSE in current
    receipt = Receipt(
        receipt_id=uuid.uuid4().hex,
        precinct_id=entry.precinct_id,
        stage=entry.stage,
        idempotency_key=entry.idempotency_key,
        body_sha256=entry.body_sha256,
        accepted_at=datetime.now(UTC).isoformat(timespec="microseconds"),
        entered_by=entry.entered_by,
        correction_of=this.receipt.receipt_id if entry.is_correction and this else None,
        flags=[rule.id for rule in rules] + (["held-for-review"] if hold else []),
        review="held" if hold else None,
    )
    values = receipt.model_dump(mode="json")
    values["flags"] = json.dumps(values["flags"])
    values["body"] = canonical_json(entry.body)
    params = [values[c] for c in COLUMNS]
    in_session = ""
    if entry.session_id is not None:
        in_session = f" WHERE EXISTS (SELECT 1 FROM sessions WHERE {SESSION_OPEN})"
        params += [entry.session_id, now or time.time()]
    inserted = tx.fetchone(
        f"INSERT INTO submissions ({', '.join(COLUMNS)})"
        f" SELECT {', '.join('?' * len(COLUMNS))}{in_session} RETURNING seq",
        params,
    )
    if inserted is None:
        return Outcome("revoked")
    if hold:
        log(
            tx,
            "correction-held",
            entry.entered_by,
            f"{entry.stage} corrected after close: {entry.body.get('correction_reason')}",
            precinct_id=entry.precinct_id,
            receipt_id=receipt.receipt_id,
            open_alert=True,
        )
        return Outcome("held", receipt)
    return Outcome("accepted", receipt)


def _correction_refusal(
    entry: Entry, this: StoredReport | None, held: StoredReport | None
) -> Outcome | None:
    """Why a correction may not be stored now (None: it may)."""
    if this is None:
        return Outcome(
            "conflict",
            code="nothing-to-correct",
            detail=f"{entry.stage} has not been reported yet: send it without correction_reason",
        )
    if entry.if_match is None:
        return Outcome(
            "precondition",
            code="precondition-required",
            detail="a correction needs If-Match with the receipt_id of the version it replaces",
            receipt=this.receipt,
        )
    if entry.if_match != this.receipt.receipt_id:
        return Outcome(
            "precondition",
            code="precondition-failed",
            detail=f"the current {entry.stage} is {this.receipt.receipt_id}, not {entry.if_match}:"
            " someone changed it since you read it",
            receipt=this.receipt,
        )
    if held is not None:
        return Outcome(
            "conflict",
            code="review-pending",
            detail="an earlier correction of this version waits for HQ review",
            receipt=held.receipt,
        )
    return None


def review(tx: Tx, receipt_id: str, approve: bool, actor: str, reason: str) -> Outcome:
    """HQ's decision on a held correction: in force from now on, or rejected (kept either way)."""
    row = tx.fetchone(f"{SELECT} WHERE receipt_id = ?", (receipt_id,))
    if row is None:
        return Outcome("conflict", code="unknown-receipt", detail=receipt_id)
    report = report_from_row(row)
    if report.receipt.review != "held":
        return Outcome(
            "conflict",
            code="not-held",
            detail=f"{receipt_id} is not waiting for review"
            f" ({report.receipt.review or 'in force'})",
            receipt=report.receipt,
        )
    decision = "approved" if approve else "rejected"
    tx.execute("UPDATE submissions SET review = ? WHERE receipt_id = ?", (decision, receipt_id))
    close_alerts(tx, "correction-held", None, receipt_id)
    log(
        tx,
        f"correction-{decision}",
        actor,
        reason,
        precinct_id=report.receipt.precinct_id,
        receipt_id=receipt_id,
    )
    return Outcome("accepted", report.receipt.model_copy(update={"review": decision}))
