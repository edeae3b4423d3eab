"""The API's request and response bodies: the typed half of the OpenAPI contract.

Request bodies are strict: unknown fields, wrong types and out-of-range numbers are refused
with 422 before any handler runs.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _whole(value: object) -> object:
    """JSON Schema counts 12.0 as an integer; so do we. 12.5, "12" and true stay refused."""
    if type(value) is float and value.is_integer():
        return int(value)
    return value


Whole = BeforeValidator(_whole)
GroupName = Annotated[str, Field(min_length=1, max_length=40)]
"""Checked against the roster's candidate list (look-alikes refused) before anything else."""
Count = Annotated[int, Field(ge=0, le=100_000), Whole]
Attendance = Annotated[int, Field(ge=1, le=100_000), Whole]
PrecinctId = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")]
ReasonText = Annotated[str, Field(min_length=3, max_length=500)]


class Strict(BaseModel):
    """A request body: no extra fields, no type coercion."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Stage(StrEnum):
    """The three submissions of a precinct's night, in order."""

    OPEN = "open"
    FIRST_ALIGNMENT = "first-alignment"
    CLOSE = "close"


class ChairLogin(Strict):
    """A precinct chair signs in with the code from the roster (``7KQ2M-X9FHD``).

    Case, spaces and dashes do not matter; O, I and L read as 0, 1 and 1.
    """

    precinct_id: PrecinctId
    pin: Annotated[str, Field(min_length=10, max_length=16, pattern=r"^[0-9A-Za-z -]+$")]


class OperatorLogin(Strict):
    """A hotline operator signs in with their own key from the roster's operator file."""

    operator: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9 .-]+$")]
    key: Annotated[str, Field(min_length=8, max_length=64)]


class Session(BaseModel):
    """A bearer token for the night (it names a server-side session that can be revoked)."""

    token: str
    role: Literal["chair", "operator"]
    subject: str
    expires_at: str


class Submission(Strict):
    """Fields every stage shares: a correction names its reason."""

    correction_reason: ReasonText | None = None


class OpenReport(Submission):
    """`open`: the in-person participants counted when preference cards are handed out."""

    attendance: Attendance


class FirstAlignmentGroup(Strict):
    name: GroupName
    first: Count


class FinalGroup(Strict):
    name: GroupName
    first: Count
    final: Count
    delegates: Count


class FirstAlignmentReport(Submission):
    """`first-alignment`: supporters per preference group before realignment.

    A group listed twice breaks the ``duplicate-report`` rule (422 impossible-result).
    """

    groups: Annotated[list[FirstAlignmentGroup], Field(min_length=1, max_length=30)]


class CloseReport(Submission):
    """`close`: the final result: attendance, both alignments and delegates per group."""

    attendance: Attendance
    groups: Annotated[list[FinalGroup], Field(min_length=1, max_length=30)]


class Receipt(BaseModel):
    """What the service tells a chair it stored; the same receipt comes back on a replay.

    ``body_sha256`` is the SHA-256 of the canonical body: the JSON object as accepted, null
    fields dropped, keys sorted, separators ``,`` and ``:``, UTF-8.
    """

    receipt_id: str
    precinct_id: str
    stage: Stage
    idempotency_key: str
    body_sha256: str
    accepted_at: str
    entered_by: str
    correction_of: str | None = None
    flags: list[str] = Field(default_factory=list)
    review: Literal["held", "approved", "rejected"] | None = None
    """For a correction after close: held for HQ review, then approved or rejected."""


class ExportedReport(Receipt):
    """One stored row for auditors: the receipt, the body, and what corrected it (if any)."""

    body: dict
    corrected_by: str | None = None


class Export(BaseModel):
    """Every submission ever stored, corrections included, in the order stored."""

    exported_at: str
    precincts_total: int
    submissions: list[ExportedReport]


class RuleBroken(BaseModel):
    """One caucus rule a submission breaks, named by its stable check id."""

    id: str
    name: str
    detail: str


class Problem(BaseModel):
    """Every error body (RFC 9457 problem details); ``type`` is a stable short code."""

    type: str
    title: str
    status: int
    detail: str | None = None
    rules: list[RuleBroken] | None = None
    errors: list[dict] | None = None
    receipt_id: str | None = None


class CandidateTotal(BaseModel):
    name: str
    first: int
    final: int
    delegates: int


class Results(BaseModel):
    """Statewide totals over every precinct's current final report."""

    precincts_total: int
    precincts_reporting: int
    percent_reporting: float
    county_delegates_total: int
    candidates: list[CandidateTotal]
    as_of: str


class PublicVersion(BaseModel):
    """A stored version as the public sees it: no idempotency key, nobody's name.

    ``receipt_id`` is what a correction sends in ``If-Match``.
    """

    receipt_id: str
    stage: Stage
    body_sha256: str
    accepted_at: str
    correction_of: str | None = None
    flags: list[str] = Field(default_factory=list)


class StageReport(BaseModel):
    """The version of one stage in force, its corrections, and corrections awaiting review."""

    receipt: PublicVersion
    body: dict
    corrections: int
    held_for_review: int = 0


class PrecinctStatus(BaseModel):
    precinct_id: str
    county: str
    delegates_to_elect: int
    status: Literal["not-opened", "open", "aligned", "closed"]
    stages: dict[str, StageReport]


class Candidates(BaseModel):
    """The preference groups a report may name, exactly as written here."""

    candidates: list[str]


class Reason(Strict):
    """Why HQ or the hotline acted (kept in the HQ log)."""

    reason: ReasonText


class ReviewDecision(Strict):
    """HQ's decision on a correction held for review."""

    decision: Literal["approve", "reject"]
    reason: ReasonText


class NewCode(BaseModel):
    """A precinct's new sign-in code, shown once: read it to the chair over the phone."""

    precinct_id: str
    code: str
    sessions_revoked: int


class Unlocked(BaseModel):
    precinct_id: str
    was_held: bool


class Alert(BaseModel):
    """An entry of the HQ log; ``open`` alerts wait for someone to act."""

    seq: int
    at: str
    kind: str
    precinct_id: str | None
    receipt_id: str | None
    actor: str
    detail: str
    open: bool


class Alerts(BaseModel):
    alerts: list[Alert]


class Faults(BaseModel):
    """Fault injection in force (rehearsals only)."""

    latency_ms: int
    error_rate: float
    drop_rate: float
    outages: list[str]
    seed: int | None
    start: str
    clock_started: float | None
    """Epoch seconds the outage windows count from (None: waiting for the first request)."""
    in_outage: bool


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    storage: str
    precincts: int
    test_roster: bool
    """The roster's codes came from a seed: fine for rehearsals, never for a real night."""
    faults: Faults | None
