"""The rules of recording, written once for every database: append-only, idempotent, no overwrite.

Each function runs inside one transaction given as a :class:`Tx` (SQL with ``?`` placeholders).
A stage of a precinct has one original report and a chain of corrections, each naming the
version it corrects (``If-Match``: a correction of any other version is refused, so no update
is lost); the current version is the newest one in force.

A result is *held* for HQ review when it is a correction after the precinct has closed, or
(with ``hold_impossible``) when it breaks the caucus rules or arrives incomplete: it is stored
with its findings, alerted, and not in force until a reviewer decides. A decision is a row of
its own in ``decisions`` (who, why, when): ``approved`` puts the held row in force,
``corrected`` puts a new row entered by the reviewer in force instead, ``rejected`` leaves the
version before in force. No row is ever updated, so the state at any time can be read back.

A version in force is *verified*; it is *published* when a release has made it public (see
:func:`release`), or at once under the continuous release policy. Unique constraints (one
original per stage, one unheld correction per version, one decision per held row, one use of
an idempotency key per caller) make a concurrent second writer fail instead of adding a row;
the storage then re-runs it.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, TypeVar

from caucus.checks import MISSING_FIELD
from reporting.guard import SESSION_OPEN, close_alerts, log, session_open
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
    "findings",
)
DECIDED = "(SELECT d.decision FROM decisions d WHERE d.receipt_id = {t}.receipt_id)"
SELECTED = ", ".join(
    f"COALESCE({DECIDED.format(t='s')}, s.review)" if c == "review" else f"s.{c}" for c in COLUMNS
)
"""Every column of ``submissions s``, ``review`` as decided since (held, approved, corrected or
rejected)."""
SELECT = f"SELECT {SELECTED} FROM submissions s"
IN_FORCE = (
    "({t}.review IS NULL OR EXISTS (SELECT 1 FROM decisions d"
    " WHERE d.receipt_id = {t}.receipt_id AND d.decision = 'approved'))"
)
CURRENT = (
    f"{IN_FORCE.format(t='s')} AND NOT EXISTS (SELECT 1 FROM submissions c"
    f" WHERE c.correction_of = s.receipt_id AND {IN_FORCE.format(t='c')})"
)
"""A row is current when it is in force and no correction in force replaces it."""
PENDING = (
    "({t}.review = 'held' AND NOT EXISTS (SELECT 1 FROM decisions d"
    " WHERE d.receipt_id = {t}.receipt_id))"
)
"""A held row no reviewer has decided on yet."""
PUBLISHED = (
    "EXISTS (SELECT 1 FROM publications p WHERE p.receipt_id = s.receipt_id AND NOT EXISTS"
    " (SELECT 1 FROM publications q WHERE q.precinct_id = s.precinct_id AND q.stage = s.stage"
    " AND q.release_seq > p.release_seq))"
)
"""A row is published when the latest release to publish its precinct's stage published it."""
DECISIONS = {"approve": "approved", "correct": "corrected", "reject": "rejected"}


class Tx(Protocol):
    """The slice of a DB-API connection the ledger needs (``?`` placeholders)."""

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> tuple | None: ...
    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]: ...
    def execute(self, sql: str, params: Sequence[Any] = ()) -> None: ...
    def fetchall_each(self, queries: Sequence[Query]) -> list[list[tuple]]:
        """Each statement's rows, every statement sent before any answer is read (on
        PostgreSQL, one round trip for them all)."""
        ...

    def later(self, sql: str, params: Sequence[Any] = ()) -> Callable[[], list[tuple]]:
        """Send a statement; its rows when called (inside :meth:`pipeline`, best called after
        the pipeline ends, when every answer is in)."""
        ...

    def pipeline(self) -> AbstractContextManager[Any]:
        """Statements sent within go out without waiting for each other's answers; a failure
        surfaces at the latest when the pipeline ends."""
        ...


Query = tuple[str, tuple]
"""A statement and its parameters."""

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Later(Generic[T]):
    """A write's result that its statements' answers decide: ``settle()`` once they are in
    (the writer settles it after the batch's pipeline is flushed)."""

    settle: Callable[[], T]


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
    """What recording a submission (or a decision) did.

    ``kind`` is ``accepted`` (stored and in force), ``held`` (stored, waiting for HQ review),
    ``replayed`` (stored before: same receipt), ``conflict`` (409: ``code`` says why),
    ``precondition`` (412 or 428: ``code`` says which), ``revoked`` (the session was revoked),
    ``refused`` (422: ``rules`` broken, or ``code`` says why) or ``unknown`` (404).
    """

    kind: str
    receipt: Receipt | None = None
    code: str = ""
    detail: str = ""
    rules: list[RuleBroken] = field(default_factory=list)
    decision: dict | None = None
    """For a decision: its row (see :func:`decision_row`)."""


def canonical_json(body: dict) -> str:
    """The form a body is hashed and stored in: keys sorted, no spaces, UTF-8 kept."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def body_sha256(body: dict) -> str:
    """What a receipt's ``body_sha256`` says: the SHA-256 of the canonical body."""
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def report_from_row(row: Sequence) -> StoredReport:
    """A stored row as receipt and body (our own rows: built without validating them again)."""
    values = dict(zip(COLUMNS, row, strict=True))
    body = json.loads(values.pop("body"))
    values["flags"] = json.loads(values["flags"])
    values["findings"] = [RuleBroken.model_construct(**f) for f in json.loads(values["findings"])]
    values["stage"] = Stage(values["stage"])
    return StoredReport(Receipt.model_construct(**values), body)


def current_reports(tx: Tx, precinct_id: str, published: bool = False) -> dict[Stage, StoredReport]:
    """The current version of each stage the precinct has reported (``published``: the
    version the public sees under batch releases)."""
    rows = tx.fetchall(
        f"{SELECT} WHERE s.precinct_id = ? AND {PUBLISHED if published else CURRENT}",
        (precinct_id,),
    )
    return {Stage(r.receipt.stage): r for r in map(report_from_row, rows)}


def corrections(tx: Tx, precinct_id: str) -> dict[Stage, tuple[int, int]]:
    """Corrections in force and results waiting for review, by stage of a precinct."""
    rows = tx.fetchall(
        f"SELECT stage, SUM(CASE WHEN correction_of IS NOT NULL AND {IN_FORCE.format(t='s')}"
        f" THEN 1 ELSE 0 END), SUM(CASE WHEN {PENDING.format(t='s')} THEN 1 ELSE 0 END)"
        " FROM submissions s WHERE precinct_id = ? GROUP BY stage",
        (precinct_id,),
    )
    return {Stage(stage): (int(n), int(h)) for stage, n, h in rows if n or h}


def final_reports(tx: Tx, published: bool = False) -> list[dict]:
    """The current `close` body of every precinct that has closed (``published``: the one the
    last release made public)."""
    rows = tx.fetchall(
        f"SELECT body FROM submissions s WHERE stage = 'close' AND"
        f" {PUBLISHED if published else CURRENT}"
    )
    return [json.loads(body) for (body,) in rows]


def _insert(
    tx: Tx, receipt: Receipt, body: dict, session_id: str | None, now: float
) -> Callable[[], bool]:
    """Send ``receipt``'s row; whether it was stored (False when ``session_id`` is not open)."""
    values = receipt.model_dump(mode="json")
    values["flags"] = json.dumps(values["flags"])
    values["findings"] = json.dumps(values["findings"])
    values["body"] = canonical_json(body)
    params = [values[c] for c in COLUMNS]
    return _insert_in_session(tx, "submissions", COLUMNS, params, session_id, now)


def _insert_in_session(
    tx: Tx,
    table: str,
    columns: Sequence[str],
    params: list,
    session_id: str | None,
    now: float,
) -> Callable[[], bool]:
    in_session = ""
    if session_id is not None:
        in_session = f" WHERE EXISTS (SELECT 1 FROM sessions WHERE {SESSION_OPEN})"
        params = [*params, session_id, now]
    inserted = tx.later(
        f"INSERT INTO {table} ({', '.join(columns)})"
        f" SELECT {', '.join('?' * len(columns))}{in_session} RETURNING 1",
        params,
    )
    return lambda: bool(inserted())


def record_reads(entry: Entry) -> Query:
    """What :func:`record` reads first, in one statement: the row this caller stored under
    this key (if any), and the precinct's current rows and rows waiting for review."""
    pending = PENDING.format(t="s")
    return (
        f"SELECT {SELECTED}, (s.entered_by = ? AND s.idempotency_key = ?), {CURRENT}, {pending}"
        " FROM submissions s WHERE (s.entered_by = ? AND s.idempotency_key = ?)"
        f" OR (s.precinct_id = ? AND ({pending} OR {CURRENT}))",
        (entry.entered_by, entry.idempotency_key) * 2 + (entry.precinct_id,),
    )


def precinct_key(precinct_id: str) -> str:
    """The write key of a precinct's rows: its writes run one at a time, anywhere."""
    return f"precinct:{precinct_id}"


def record_keys(entry: Entry) -> tuple[str, ...]:
    """What :func:`record_reads` covers, as write keys: the precinct, and the caller's key."""
    return (
        precinct_key(entry.precinct_id),
        f"idempotency:{entry.entered_by}:{entry.idempotency_key}",
    )


def record(
    tx: Tx,
    entry: Entry,
    check: RuleCheck,
    hold_impossible: bool,
    rows: list[tuple] | None = None,
    now: float | None = None,
) -> Outcome | Later[Outcome]:
    """Store ``entry`` unless it replays, conflicts with or breaks what is already stored.

    ``rows`` are those of :func:`record_reads`, when read already (None: read here). The
    caller's session is checked by the insert itself: a revoked or expired session never
    stores anything (it may still be told the receipt of what it stored before). A result
    accepted at once comes back :class:`Later`: accepted, or revoked if the insert stored
    nothing, so the insert's answer need not be waited for.
    """
    now = now or time.time()
    rows = tx.fetchall(*record_reads(entry)) if rows is None else rows
    reports = [(report_from_row(r[:-3]), *r[-3:]) for r in rows]
    by_key = [report for report, keyed, _, _ in reports if keyed]
    current = {Stage(r.receipt.stage): r for r, _, is_current, _ in reports if is_current}
    waiting = {Stage(r.receipt.stage): r for r, _, _, is_pending in reports if is_pending}
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
    this, held = current.get(entry.stage), waiting.get(entry.stage)
    if entry.is_correction:
        refusal = _correction_refusal(entry, this, held)
        if refusal is not None:
            return refusal
    else:
        for stored in (this, held):
            if stored is not None and stored.receipt.body_sha256 == entry.body_sha256:
                return Outcome("replayed", stored.receipt)
        if this is not None:
            return Outcome(
                "conflict",
                code="already-reported",
                detail=f"{entry.stage} is already reported with different numbers;"
                " send a correction with a reason (and If-Match) to change it",
                receipt=this.receipt,
            )
        if held is not None:
            return _review_pending(held, f"{entry.stage} as first reported waits for HQ review")
    others = {stage: r.body for stage, r in current.items() if stage != entry.stage}
    rules = check(entry.stage, entry.body, others)
    if rules and not hold_impossible:
        refusal = [now_iso(), entry.precinct_id, entry.stage.value, entry.entered_by]
        refusal.append(",".join(r.id for r in rules))
        columns = ("at", "precinct_id", "stage", "entered_by", "rules")
        if not _insert_in_session(tx, "refusals", columns, refusal, entry.session_id, now)():
            return Outcome("revoked")
        return Outcome("refused", rules=rules)
    after_close = entry.is_correction and Stage.CLOSE in current
    hold = after_close or bool(rules)
    receipt = Receipt(
        receipt_id=uuid.uuid4().hex,
        precinct_id=entry.precinct_id,
        stage=entry.stage,
        idempotency_key=entry.idempotency_key,
        body_sha256=entry.body_sha256,
        accepted_at=now_iso(),
        entered_by=entry.entered_by,
        correction_of=this.receipt.receipt_id if entry.is_correction and this else None,
        flags=[rule.id for rule in rules] + (["held-for-review"] if hold else []),
        review="held" if hold else None,
        findings=rules,
    )
    stored = _insert(tx, receipt, entry.body, entry.session_id, now)
    if not hold:
        return Later(lambda: Outcome("accepted", receipt) if stored() else Outcome("revoked"))
    if not stored():
        return Outcome("revoked")
    why = (
        f"{entry.stage} corrected after close: {entry.body.get('correction_reason')}"
        if after_close
        else f"{entry.stage} breaks {', '.join(r.id for r in rules)}"
    )
    log(
        tx,
        "correction-held" if after_close else "result-held",
        entry.entered_by,
        why,
        precinct_id=entry.precinct_id,
        receipt_id=receipt.receipt_id,
        open_alert=True,
    )
    return Outcome("held", receipt)


def _review_pending(held: StoredReport, detail: str) -> Outcome:
    return Outcome("conflict", code="review-pending", detail=detail, receipt=held.receipt)


def _correction_refusal(
    entry: Entry, this: StoredReport | None, held: StoredReport | None
) -> Outcome | None:
    """Why a correction may not be stored now (None: it may)."""
    if held is not None:
        return _review_pending(held, f"{entry.stage} has a version waiting for HQ review")
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
    return None


DECISION_COLUMNS = ("receipt_id", "decision", "correction_id", "decided_by", "reason", "decided_at")
DECISION_KEYS = ("seq", *DECISION_COLUMNS, "precinct_id", "stage")
DECISION_SELECT = (
    f"SELECT d.seq, {', '.join('d.' + c for c in DECISION_COLUMNS)}, s.precinct_id, s.stage"
    " FROM decisions d JOIN submissions s ON s.receipt_id = d.receipt_id"
)
"""A decision with the held row's precinct and stage (as :data:`DECISION_KEYS`)."""


def decision_row(tx: Tx, receipt_id: str) -> dict | None:
    """The decision on a held row (None: none yet)."""
    row = tx.fetchone(f"{DECISION_SELECT} WHERE d.receipt_id = ?", (receipt_id,))
    return dict(zip(DECISION_KEYS, row, strict=True)) if row else None


def decide(
    tx: Tx,
    receipt_id: str,
    decision: str,
    actor: str,
    reason: str,
    result: tuple[Stage, dict] | None,
    check: RuleCheck,
    session_id: str | None = None,
    now: float | None = None,
) -> Outcome:
    """A reviewer's decision (``approve``, ``correct`` with ``result``: its stage and body,
    ``reject``) on a held row, stored as a row of its own. The same decision again by the same
    reviewer replays."""
    now = now or time.time()
    row = tx.fetchone(f"{SELECT} WHERE s.receipt_id = ?", (receipt_id,))
    if row is None:
        return Outcome("unknown", code="unknown-receipt", detail=receipt_id)
    held = report_from_row(row)
    body = None if result is None else {**result[1], "correction_reason": reason}
    earlier = decision_row(tx, receipt_id)
    if earlier is not None:
        correction = _stored(tx, earlier["correction_id"]) if earlier["correction_id"] else None
        same = (earlier["decided_by"], earlier["decision"], earlier["reason"]) == (
            actor,
            DECISIONS[decision],
            reason,
        ) and (correction.body if correction else None) == body
        if same:
            return Outcome("replayed", correction.receipt if correction else None, decision=earlier)
        return Outcome(
            "conflict",
            code="already-decided",
            detail=f"{earlier['decided_by']} {earlier['decision']} it at {earlier['decided_at']}",
            decision=earlier,
        )
    if held.receipt.review != "held":
        return Outcome(
            "conflict",
            code="not-held",
            detail=f"{receipt_id} is not waiting for review (it went into force on arrival)",
            receipt=held.receipt,
        )
    if not session_open(tx, session_id, now):
        return Outcome("revoked")
    stage = Stage(held.receipt.stage)
    current = current_reports(tx, held.receipt.precinct_id)
    this = current.get(stage)
    correction = None
    if decision == "approve" and any(f.id == MISSING_FIELD.id for f in held.receipt.findings):
        return Outcome(
            "refused",
            code="incomplete-result",
            detail="an incomplete result cannot go into force as it is: enter a correction"
            " with the missing numbers",
        )
    if decision == "reject" and this is None:
        return Outcome(
            "conflict",
            code="nothing-to-fall-back-to",
            detail=f"{stage} has no other version in force: approve it or enter a correction",
        )
    if body is not None:
        assert result is not None
        if result[0] != stage:
            return Outcome(
                "refused",
                code="wrong-stage",
                detail=f"the held result is {stage}: give the numbers of that stage",
            )
        others = {s: r.body for s, r in current.items() if s != stage}
        rules = check(stage, body, others)
        if rules:
            return Outcome("refused", code="impossible-result", rules=rules)
        correction = Receipt(
            receipt_id=uuid.uuid4().hex,
            precinct_id=held.receipt.precinct_id,
            stage=stage,
            idempotency_key=f"review-{receipt_id}",
            body_sha256=body_sha256(body),
            accepted_at=now_iso(),
            entered_by=actor,
            correction_of=this.receipt.receipt_id if this else receipt_id,
        )
        _insert(tx, correction, body, None, now)
    values = [
        receipt_id,
        DECISIONS[decision],
        correction.receipt_id if correction else None,
        actor,
        reason,
        now_iso(),
    ]
    tx.execute(
        f"INSERT INTO decisions ({', '.join(DECISION_COLUMNS)}) VALUES"
        f" ({', '.join('?' * len(DECISION_COLUMNS))})",
        values,
    )
    close_alerts(tx, "correction-held", None, receipt_id)
    close_alerts(tx, "result-held", None, receipt_id)
    log(
        tx,
        f"review-{DECISIONS[decision]}",
        actor,
        reason,
        precinct_id=held.receipt.precinct_id,
        receipt_id=receipt_id,
    )
    return Outcome("accepted", correction, decision=decision_row(tx, receipt_id))


def _stored(tx: Tx, receipt_id: str) -> StoredReport:
    row = tx.fetchone(f"{SELECT} WHERE s.receipt_id = ?", (receipt_id,))
    assert row is not None
    return report_from_row(row)


def waiting_for_review(tx: Tx, limit: int) -> tuple[int, list[StoredReport]]:
    """How many held rows wait for a decision, and the oldest ``limit`` of them."""
    (count,) = tx.fetchone(f"SELECT COUNT(*) FROM submissions s WHERE {PENDING.format(t='s')}")
    rows = tx.fetchall(f"{SELECT} WHERE {PENDING.format(t='s')} ORDER BY s.seq LIMIT ?", (limit,))
    return int(count), [report_from_row(r) for r in rows]


RELEASE_COLUMNS = ("at", "night_minute", "released_by", "reason", "scheduled_for")


def release(
    tx: Tx, actor: str, reason: str, night_minute: float | None, scheduled_for: float | None
) -> int | None:
    """Make every version in force public that is not yet; the release's seq, or None when the
    batch ``scheduled_for`` this minute was released already (by another worker)."""
    row = tx.fetchone(
        f"INSERT INTO releases ({', '.join(RELEASE_COLUMNS)}) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (scheduled_for) DO NOTHING RETURNING seq",
        (now_iso(), night_minute, actor, reason, scheduled_for),
    )
    if row is None:
        return None
    tx.execute(
        "INSERT INTO publications (release_seq, precinct_id, stage, receipt_id)"
        " SELECT ?, s.precinct_id, s.stage, s.receipt_id FROM submissions s"
        f" WHERE {CURRENT} AND NOT EXISTS"
        " (SELECT 1 FROM publications p WHERE p.receipt_id = s.receipt_id)",
        (row[0],),
    )
    log(tx, "release", actor, reason)
    return int(row[0])


def releases(tx: Tx, with_receipts: bool = False) -> list[dict]:
    """Every release in order, with how many versions each published (and which)."""
    rows = tx.fetchall(
        f"SELECT r.seq, {', '.join('r.' + c for c in RELEASE_COLUMNS)},"
        " (SELECT COUNT(*) FROM publications p WHERE p.release_seq = r.seq)"
        " FROM releases r ORDER BY r.seq"
    )
    keys = ("seq", *RELEASE_COLUMNS[:-1], "scheduled_for_min", "published")
    found = [dict(zip(keys, row, strict=True)) for row in rows]
    if with_receipts:
        published: dict[int, list[str]] = {}
        for seq, receipt_id in tx.fetchall(
            "SELECT release_seq, receipt_id FROM publications ORDER BY release_seq, receipt_id"
        ):
            published.setdefault(seq, []).append(receipt_id)
        for item in found:
            item["receipt_ids"] = published.get(item["seq"], [])
    return found


@dataclass(frozen=True, slots=True)
class Ledger:
    """Everything stored, for the admin export."""

    reports: list[tuple[StoredReport, str | None, str | None]]
    """Each row with when it went into force and when the public first saw it."""
    decisions: list[dict]
    releases: list[dict]
    refusals: list[dict]


def every_row(tx: Tx, published: bool) -> Ledger:
    """Every row ever stored, in the order stored; ``published``: under batch releases (else a
    version is public as soon as it is in force)."""
    verified = (
        "CASE WHEN s.review IS NULL THEN s.accepted_at ELSE (SELECT d.decided_at FROM decisions d"
        " WHERE d.receipt_id = s.receipt_id AND d.decision = 'approved') END"
    )
    shown = (
        "(SELECT MIN(r.at) FROM publications p JOIN releases r ON r.seq = p.release_seq"
        " WHERE p.receipt_id = s.receipt_id)"
        if published
        else verified
    )
    rows = tx.fetchall(f"SELECT {SELECTED}, {verified}, {shown} FROM submissions s ORDER BY s.seq")
    reports = [(report_from_row(r[:-2]), r[-2], r[-1]) for r in rows]
    decisions = [
        dict(zip(DECISION_KEYS, row, strict=True))
        for row in tx.fetchall(f"{DECISION_SELECT} ORDER BY d.seq")
    ]
    refusals = [
        {"at": at, "precinct_id": p, "stage": st, "entered_by": by, "rules": rules.split(",")}
        for at, p, st, by, rules in tx.fetchall(
            "SELECT at, precinct_id, stage, entered_by, rules FROM refusals ORDER BY seq"
        )
    ]
    return Ledger(reports, decisions, releases(tx, with_receipts=True), refusals)


@dataclass(frozen=True, slots=True)
class NightRows:
    """What the war room counts, per precinct: when its final result was received, verified
    and published (ISO times), which stages it has reported, the queue, refusals by rule."""

    received: dict[str, str]
    verified: dict[str, str]
    published: dict[str, str]
    stages: dict[str, set[str]]
    waiting: list[str]
    """Arrival times of the held rows waiting for review, oldest first."""
    refused: Counter
    refused_submissions: int


def night_rows(tx: Tx, published: bool) -> NightRows:
    received: dict[str, str] = {}
    verified: dict[str, str] = {}
    for precinct, at, review, decision, decided_at in tx.fetchall(
        "SELECT s.precinct_id, s.accepted_at, s.review, d.decision, d.decided_at"
        " FROM submissions s LEFT JOIN decisions d ON d.receipt_id = s.receipt_id"
        " WHERE s.stage = 'close'"
    ):
        received[precinct] = min(at, received.get(precinct, at))
        in_force = at if review is None else decided_at if decision == "approved" else None
        if in_force is not None:
            verified[precinct] = min(in_force, verified.get(precinct, in_force))
    shown = verified
    if published:
        shown = dict(
            tx.fetchall(
                "SELECT p.precinct_id, MIN(r.at) FROM publications p JOIN releases r"
                " ON r.seq = p.release_seq WHERE p.stage = 'close' GROUP BY p.precinct_id"
            )
        )
    stages: dict[str, set[str]] = {}
    for precinct, stage in tx.fetchall("SELECT DISTINCT precinct_id, stage FROM submissions"):
        stages.setdefault(precinct, set()).add(stage)
    waiting = [
        at
        for (at,) in tx.fetchall(
            f"SELECT s.accepted_at FROM submissions s WHERE {PENDING.format(t='s')} ORDER BY s.seq"
        )
    ]
    refused: Counter = Counter()
    submissions = 0
    for rules, count in tx.fetchall("SELECT rules, COUNT(*) FROM refusals GROUP BY rules"):
        submissions += int(count)
        for rule in rules.split(","):
            refused[rule] += int(count)
    return NightRows(received, verified, shown, stages, waiting, refused, submissions)
