"""The API's request and response bodies: the typed half of the OpenAPI contract.

Request bodies are strict: unknown fields, wrong types and out-of-range numbers are refused
with 422 before any handler runs.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field


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
SPACES = "\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
"""What :meth:`str.strip` strips, spelt out: every regular-expression engine reads it alike."""
ReasonText = Annotated[
    str,
    Field(
        min_length=3,
        max_length=500,
        pattern=f"[^{SPACES}][\\s\\S]*[^{SPACES}][\\s\\S]*[^{SPACES}]",
    ),
    AfterValidator(str.strip),
]
"""A reason someone gives for what they did: at least 3 characters besides spaces (checked as
given, exactly as the contract says; kept without the spaces around it)."""
StaffName = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9 .-]+$")]
StaffKey = Annotated[str, Field(min_length=8, max_length=64)]


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

    operator: StaffName
    key: StaffKey


class ReviewerLogin(Strict):
    """An HQ reviewer signs in with their own key from the roster's reviewer file."""

    reviewer: StaffName
    key: StaffKey


class AdminLogin(Strict):
    """HQ signs a war-room screen in with the service's admin key."""

    admin_key: Annotated[str, Field(min_length=8, max_length=200)]


class Session(BaseModel):
    """A bearer token for the night (it names a server-side session that can be revoked)."""

    token: str
    role: Literal["chair", "operator", "reviewer"]
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
    delegates: Count | None = None
    """County delegates awarded; left out, the result is incomplete (as the 2020 app delivered
    it): refused with ``missing-field``, or held for review with ``--hold-impossible``."""


class FirstAlignmentReport(Submission):
    """`first-alignment`: supporters per preference group before realignment.

    A group listed twice breaks the ``duplicate-report`` rule (422 impossible-result).
    """

    groups: Annotated[list[FirstAlignmentGroup], Field(min_length=1, max_length=30)]


class CloseReport(Submission):
    """`close`: the final result: attendance, both alignments and delegates per group."""

    attendance: Attendance
    groups: Annotated[list[FinalGroup], Field(min_length=1, max_length=30)]


class RuleBroken(BaseModel):
    """One caucus rule a submission breaks, named by its stable check id."""

    id: str
    name: str
    detail: str


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
    review: Literal["held", "approved", "corrected", "rejected"] | None = None
    """Held for HQ review (a correction after close, or a result breaking the rules with
    ``--hold-impossible``), then approved, corrected by HQ or rejected; None: in force at once."""
    findings: list[RuleBroken] = Field(default_factory=list)
    """The rules a held result breaks, as the checks found them when it arrived."""


class ExportedReport(Receipt):
    """One stored row for auditors: the receipt, the body, what corrected it (if any), when it
    went into force (verified) and when the public first saw it (published)."""

    body: dict
    corrected_by: str | None = None
    verified_at: str | None = None
    published_at: str | None = None


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


StageBody = OpenReport | FirstAlignmentReport | CloseReport


class Approve(Strict):
    """Put the held result in force as reported (not an incomplete one)."""

    decision: Literal["approve"]
    reason: ReasonText


class Reject(Strict):
    """Keep the version in force before (a held correction only)."""

    decision: Literal["reject"]
    reason: ReasonText


class Correct(Strict):
    """Put ``result`` in force instead: the stage's numbers as HQ established them from the
    worksheet or by calling the chair back. It must pass the checks; its
    ``correction_reason`` is ``reason``."""

    decision: Literal["correct"]
    reason: ReasonText
    result: StageBody


ReviewDecision = Annotated[Approve | Correct | Reject, Field(discriminator="decision")]
"""An HQ reviewer's decision on a held result, with the reason (kept in the ledger)."""


class DecisionRow(BaseModel):
    """A reviewer's decision on a held result: a ledger row of its own (nothing overwritten)."""

    seq: int
    receipt_id: str
    """The held version decided on."""
    precinct_id: str
    stage: Stage
    decision: Literal["approved", "corrected", "rejected"]
    reason: str
    decided_by: str
    decided_at: str
    correction_id: str | None
    """With ``corrected``: the receipt of the version HQ entered (now in force)."""


class Decision(DecisionRow):
    correction: Receipt | None = None
    """With ``corrected``: the version HQ entered."""


class HeldResult(BaseModel):
    """A result waiting in the review queue, with what a reviewer needs to decide on it."""

    receipt: Receipt
    body: dict
    """The stage as reported."""
    kind: Literal["correction-after-close", "breaks-rules", "incomplete"]
    county: str
    precinct_name: str
    chair_name: str
    chair_phone: str
    delegates_to_elect: int
    waiting_s: float
    """Seconds since it arrived."""
    stages: dict[str, dict]
    """The precinct's stages in force now, as reported (the held one's current version too)."""


class ReviewQueue(BaseModel):
    """Held results not yet decided, oldest first."""

    waiting: int
    oldest_waiting_s: float | None
    held: list[HeldResult]


class ReleaseRequest(Strict):
    """HQ releases every verified result now, and says why."""

    reason: ReasonText


class Release(BaseModel):
    """One release: every version in force and not yet public became public."""

    seq: int
    at: str
    night_minute: float | None
    """Minutes after 7 pm on the service's night clock (None: the night had not started)."""
    released_by: str
    """``schedule`` for a batch at a set time, else who asked for it."""
    reason: str
    scheduled_for_min: float | None
    published: int
    """Stage versions this release made public."""


class ReleasePolicy(BaseModel):
    """When verified results become public: at once, or in batches (minutes after 7 pm)."""

    mode: Literal["continuous", "batches"]
    at_min: list[float]
    every_min: float | None
    """After the last set time, a batch every this many minutes."""
    next_min: float | None
    """The next scheduled batch (None: none scheduled, or continuous)."""


class Releases(BaseModel):
    policy: ReleasePolicy
    releases: list[Release]


class Refusal(BaseModel):
    """A submission refused (422) for breaking the caucus rules: counted, never stored."""

    at: str
    precinct_id: str
    stage: Stage
    entered_by: str
    rules: list[str]


class ExportedRelease(Release):
    receipt_ids: list[str]
    """The stage versions it made public."""


class Export(BaseModel):
    """Everything stored, in the order stored: submissions (corrections and held results
    included), reviewers' decisions, releases and refused submissions."""

    exported_at: str
    precincts_total: int
    release_policy: ReleasePolicy
    submissions: list[ExportedReport]
    decisions: list[DecisionRow]
    releases: list[ExportedRelease]
    refusals: list[Refusal]


class NightClock(BaseModel):
    """The service's clock of caucus night: minutes after 7 pm, compressed in a rehearsal."""

    start: str
    """``serve``, ``first-sign-in`` or an ISO 8601 time (7 pm of the night)."""
    started_at: str | None
    compress: float
    """Night minutes per wall minute (1 on the night itself)."""
    minute: float | None
    """At ``as_of``, in minutes after 7 pm (None: not started yet)."""


class QueueState(BaseModel):
    waiting: int
    oldest_since: str | None
    """When the oldest held result arrived (its age is ``as_of`` minus this)."""
    oldest_night_minute: float | None
    """The same, in minutes after 7 pm."""


class MissingPrecinct(BaseModel):
    """A precinct whose final result has not arrived, and whom to call."""

    precinct_id: str
    precinct_name: str
    chair_name: str
    chair_phone: str
    status: Literal["not-opened", "open", "aligned"]


class MissingCounty(BaseModel):
    county: str
    missing: int
    precincts: list[MissingPrecinct]


class RuleCount(BaseModel):
    rule: str
    """A `caucus` check id."""
    refused: int


class ProgressSeries(BaseModel):
    """Minutes after 7 pm at which each precinct's final result was received, verified
    (in force) and published, sorted: a cumulative count is the list's rank."""

    received: list[float]
    verified: list[float]
    published: list[float]


class PlanStanding(BaseModel):
    """Where a count stands against the plan's band at a minute (counts in precincts)."""

    kind: Literal["received", "published"]
    minute: float
    actual: int
    low: int
    mean: int
    high: int
    status: Literal["behind", "on plan", "ahead"]
    """Behind below the band's low edge (5th percentile), ahead above its high edge (95th)."""
    behind_precincts: int
    """Precincts short of the plan's mean (0 when at or above it)."""
    behind_minutes: float
    """How long ago the plan's mean first expected more than ``actual`` (0 when not short)."""


class PlanState(BaseModel):
    """The plan the service was started with (``--plan``): a `caucus simulate` run."""

    name: str
    nights: int | None
    standings: list[PlanStanding]
    """Received and published now (none before the night starts)."""


class Progress(BaseModel):
    """How the night is going, for the war room and `caucus watch` (reviewers and HQ)."""

    as_of: str
    precincts_total: int
    night: NightClock
    release: ReleasePolicy
    received: int
    verified: int
    published: int
    series: ProgressSeries
    queue: QueueState
    missing: list[MissingCounty]
    """Counties with precincts not yet in, most missing first."""
    refused: list[RuleCount]
    """Submissions refused (422) by rule, most first (one submission may break several)."""
    refused_submissions: int
    plan: PlanState | None = None


class NewCode(BaseModel):
    """A precinct's new sign-in code, shown once: read it to the chair over the phone."""

    precinct_id: str
    code: str
    sessions_revoked: int


class Unlocked(BaseModel):
    precinct_id: str
    was_held: bool


class UnlockedAll(BaseModel):
    """Every precinct whose sign-in hold HQ lifted at once (each recorded as its own unlock)."""

    precincts: list[str]


class RevokeSessions(Strict):
    """HQ revokes every open session of an operator or an HQ reviewer (a reviewer's war-room
    screens too): a lost or stolen token, or someone who has left the desk."""

    role: Literal["operator", "reviewer"]
    name: StaffName
    reason: ReasonText


class SessionsRevoked(BaseModel):
    role: Literal["operator", "reviewer"]
    name: str
    sessions_revoked: int


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
