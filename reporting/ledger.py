"""The rules of recording, written once for every database: append-only, idempotent, no overwrite.

Each function runs inside one transaction given as a :class:`Tx` (SQL with ``?`` placeholders).
A stage of a precinct has one original report and a chain of corrections, each naming the
version it corrects; the current version is the one nobody corrected. Unique constraints
(one original per stage, one correction per version, one use per idempotency key) make a
concurrent second writer fail instead of adding a row; the storage then re-runs it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

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
    "body",
)
SELECT = f"SELECT {', '.join(COLUMNS)} FROM submissions"
CURRENT = "NOT EXISTS (SELECT 1 FROM submissions c WHERE c.correction_of = s.receipt_id)"


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

    ``kind`` is ``accepted`` (stored now), ``replayed`` (stored before: same receipt),
    ``conflict`` (409: ``code`` says why) or ``refused`` (422: ``rules`` broken).
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
    values = dict(zip(COLUMNS, row, strict=True))
    body = json.loads(values.pop("body"))
    values["flags"] = json.loads(values["flags"])
    return StoredReport(Receipt(**values), body)


def current_reports(tx: Tx, precinct_id: str) -> dict[Stage, StoredReport]:
    """The current version of each stage the precinct has reported."""
    rows = tx.fetchall(f"{SELECT} s WHERE precinct_id = ? AND {CURRENT}", (precinct_id,))
    return {Stage(r.receipt.stage): r for r in map(report_from_row, rows)}


def corrections(tx: Tx, precinct_id: str) -> dict[Stage, int]:
    """How many corrections each stage of a precinct has."""
    rows = tx.fetchall(
        "SELECT stage, COUNT(*) FROM submissions"
        " WHERE precinct_id = ? AND correction_of IS NOT NULL GROUP BY stage",
        (precinct_id,),
    )
    return {Stage(stage): n for stage, n in rows}


def final_reports(tx: Tx) -> list[dict]:
    """The current `close` body of every precinct that has closed."""
    rows = tx.fetchall(f"SELECT body FROM submissions s WHERE stage = 'close' AND {CURRENT}")
    return [json.loads(body) for (body,) in rows]


def every_report(tx: Tx) -> list[StoredReport]:
    """Every row ever stored, corrections included, in the order they were stored."""
    return [report_from_row(r) for r in tx.fetchall(f"{SELECT} ORDER BY seq")]


def record(tx: Tx, entry: Entry, check: RuleCheck, reject_impossible: bool) -> Outcome:
    """Store ``entry`` unless it replays, conflicts with or breaks what is already stored."""
    # One round trip: the row stored under this key (if any) and the precinct's current rows.
    rows = tx.fetchall(
        f"SELECT {', '.join(COLUMNS)}, s.idempotency_key = ?, {CURRENT} FROM submissions s"
        f" WHERE precinct_id = ? AND (idempotency_key = ? OR {CURRENT})",
        (entry.idempotency_key, entry.precinct_id, entry.idempotency_key),
    )
    by_key = [report_from_row(r[:-2]) for r in rows if r[-2]]
    current = {Stage(r.receipt.stage): r for r in (report_from_row(r[:-2]) for r in rows if r[-1])}
    if by_key:
        earlier = by_key[0]
        if earlier.receipt.stage == entry.stage and earlier.receipt.body_sha256 == (
            entry.body_sha256
        ):
            return Outcome("replayed", earlier.receipt)
        return Outcome(
            "conflict",
            code="idempotency-key-reused",
            detail="this Idempotency-Key was used for a different submission",
            receipt=earlier.receipt,
        )
    this = current.get(entry.stage)
    if not entry.is_correction and this is not None:
        if this.receipt.body_sha256 == entry.body_sha256:
            return Outcome("replayed", this.receipt)
        return Outcome(
            "conflict",
            code="already-reported",
            detail=f"{entry.stage} is already reported with different numbers;"
            " send a correction with a reason to change it",
            receipt=this.receipt,
        )
    if entry.is_correction and this is None:
        return Outcome(
            "conflict",
            code="nothing-to-correct",
            detail=f"{entry.stage} has not been reported yet: send it without correction_reason",
        )
    others = {stage: r.body for stage, r in current.items() if stage != entry.stage}
    rules = check(entry.stage, entry.body, others)
    if rules and reject_impossible:
        return Outcome("refused", rules=rules)
    receipt = Receipt(
        receipt_id=uuid.uuid4().hex,
        precinct_id=entry.precinct_id,
        stage=entry.stage,
        idempotency_key=entry.idempotency_key,
        body_sha256=entry.body_sha256,
        accepted_at=datetime.now(UTC).isoformat(timespec="microseconds"),
        entered_by=entry.entered_by,
        correction_of=this.receipt.receipt_id if entry.is_correction and this else None,
        flags=[rule.id for rule in rules],
    )
    values = receipt.model_dump(mode="json")
    values["flags"] = json.dumps(values["flags"])
    values["body"] = canonical_json(entry.body)
    tx.execute(
        f"INSERT INTO submissions ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
        [values[c] for c in COLUMNS],
    )
    return Outcome("accepted", receipt)


def lockout(tx: Tx, precinct_id: str) -> tuple[int, float]:
    """Wrong PINs in a row, and when the sign-in lockout ends (epoch seconds; 0: not locked)."""
    row = tx.fetchone(
        "SELECT failures, locked_until FROM login_failures WHERE precinct_id = ?", (precinct_id,)
    )
    return (row[0], row[1]) if row else (0, 0.0)


def bad_pin(tx: Tx, precinct_id: str, now: float, max_failures: int, lockout_s: float) -> float:
    """Count a wrong PIN; the ``max_failures``-th in a row locks sign-in until the returned time."""
    (failures,) = tx.fetchone(
        "INSERT INTO login_failures (precinct_id, failures, locked_until) VALUES (?, 1, 0)"
        " ON CONFLICT (precinct_id) DO UPDATE SET failures = login_failures.failures + 1"
        " RETURNING failures",
        (precinct_id,),
    )
    if failures < max_failures:
        return 0.0
    tx.execute(
        "UPDATE login_failures SET failures = 0, locked_until = ? WHERE precinct_id = ?",
        (now + lockout_s, precinct_id),
    )
    return now + lockout_s


def good_pin(tx: Tx, precinct_id: str) -> None:
    """A correct PIN clears the run of failures."""
    tx.execute("DELETE FROM login_failures WHERE precinct_id = ?", (precinct_id,))
