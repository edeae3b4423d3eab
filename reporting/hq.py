"""API v1 for HQ, its reviewers and the hotline: alerts, sign-in holds, the review queue,
releases and the night's progress.

Everything done here is recorded with who did it and why. The hotline (an operator's token)
and HQ (the admin key) may unlock a precinct's sign-in or give it a new code; HQ alone may lift
every hold at once. HQ reviewers (a reviewer's token) and HQ work the review queue: each
decision is a ledger row of its own. Only HQ releases a batch on command, and only HQ revokes
an operator's or reviewer's sessions. A staff token works only while its session is open and
its name is on the roster's staff files (checked on every use, and inside every write).
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from reporting.api import check_names
from reporting.dependencies import (
    Credentials,
    Service,
    ServiceDep,
    StorageDep,
    admin,
    off_the_roster,
    on_roster,
    revoked,
)
from reporting.errors import PROBLEM_RESPONSES, ApiError, problem, storage_unavailable
from reporting.ledger import Outcome
from reporting.limits import StrictJsonRoute
from reporting.models import (
    Alert,
    Alerts,
    CloseReport,
    Correct,
    Decision,
    FirstAlignmentReport,
    HeldResult,
    NewCode,
    OpenReport,
    PrecinctId,
    Progress,
    Reason,
    Release,
    ReleaseRequest,
    Releases,
    ReviewDecision,
    ReviewQueue,
    RevokeSessions,
    SessionsRevoked,
    Stage,
    Unlocked,
    UnlockedAll,
)
from reporting.progress import release_policy
from reporting.roster import format_code, new_code, rehash
from reporting.stages import check_stage
from reporting.storage import StorageError

router = APIRouter(prefix="/api/v1/admin", responses=PROBLEM_RESPONSES, route_class=StrictJsonRoute)
PrecinctPath = Annotated[PrecinctId, Path(description="Precinct id from the roster")]
ReceiptPath = Annotated[str, Path(max_length=64, pattern=r"^[0-9a-f]+$")]
STAGE_OF = {
    OpenReport: Stage.OPEN,
    FirstAlignmentReport: Stage.FIRST_ALIGNMENT,
    CloseReport: Stage.CLOSE,
}


@dataclass(frozen=True, slots=True)
class Staff:
    """Who acts: ``admin`` (the admin key) or ``operator:NAME`` / ``reviewer:NAME``."""

    actor: str
    session_id: str | None = None


async def staff(credentials: Credentials, service: Service, role: str, refusal: ApiError) -> Staff:
    """The admin key, or a valid token of ``role`` whose session is open and whose name is on
    the roster; 401 without either (or revoked, or off the roster), ``refusal`` for another
    role's token."""
    if credentials is None:
        raise ApiError(401, "unauthorized", "Sign in first", headers={"WWW-Authenticate": "Bearer"})
    key = service.settings.admin_key.encode()
    if hmac.compare_digest(credentials.credentials.encode(), key):
        return Staff("admin")
    principal = service.signer.verify(credentials.credentials)
    if principal is None:
        raise ApiError(401, "unauthorized", "Sign in first", "the token is invalid or has expired")
    if principal.role != role:
        raise refusal
    if not on_roster(service, principal):
        raise off_the_roster(principal)
    try:
        if not await service.storage.session_open(principal.session_id):
            raise revoked()
    except StorageError as error:
        raise storage_unavailable(error) from error
    return Staff(principal.entered_by, principal.session_id)


async def hotline_or_hq(credentials: Credentials, service: ServiceDep) -> Staff:
    refusal = ApiError(403, "hotline-only", "Only the hotline and HQ may do this")
    return await staff(credentials, service, "operator", refusal)


async def reviewer_or_hq(credentials: Credentials, service: ServiceDep) -> Staff:
    refusal = ApiError(403, "reviewers-only", "Only HQ reviewers and HQ may do this")
    return await staff(credentials, service, "reviewer", refusal)


Hotline = Annotated[Staff, Depends(hotline_or_hq)]
Reviewer = Annotated[Staff, Depends(reviewer_or_hq)]
HOTLINE_RESPONSES: dict[int | str, dict] = {
    403: {"description": "A chair's token: only the hotline and HQ may do this"},
    404: {"description": "No such precinct on the roster"},
}
REVIEWER_RESPONSES: dict[int | str, dict] = {
    403: problem("A chair's or an operator's token: only reviewers and HQ may do this"),
}


def _precinct(service: ServiceDep, precinct_id: str) -> None:
    if service.roster.get(precinct_id) is None:
        raise ApiError(404, "unknown-precinct", "No such precinct", precinct_id)


@router.get("/alerts", dependencies=[Depends(admin)])
async def alerts(
    storage: StorageDep, open: Annotated[bool, Query(description="only alerts to act on")] = False
) -> Alerts:
    """The HQ log: sign-in held, results held for review, releases, and what was done."""
    try:
        rows = await storage.hq_log(open)
    except StorageError as error:
        raise storage_unavailable(error) from error
    return Alerts(alerts=[Alert(**row) for row in rows])


@router.post("/precincts/{precinct_id}/unlock", responses=HOTLINE_RESPONSES)
async def unlock(
    precinct_id: PrecinctPath,
    body: Reason,
    hotline: Hotline,
    service: ServiceDep,
    storage: StorageDep,
) -> Unlocked:
    """The hotline lifts a precinct's sign-in hold after checking who the caller is."""
    _precinct(service, precinct_id)
    try:
        was_held = await storage.unlock(precinct_id, hotline.actor, body.reason, hotline.session_id)
    except StorageError as error:
        raise storage_unavailable(error) from error
    if was_held is None:
        raise revoked()
    return Unlocked(precinct_id=precinct_id, was_held=was_held)


@router.post("/precincts/unlock", dependencies=[Depends(admin)])
async def unlock_all(body: Reason, service: ServiceDep, storage: StorageDep) -> UnlockedAll:
    """HQ lifts every precinct's sign-in hold at once (after a flood of wrong codes); each
    unlock is recorded in the HQ log with the reason."""
    try:
        unlocked = await storage.unlock_all(list(service.roster.precincts), "admin", body.reason)
    except StorageError as error:
        raise storage_unavailable(error) from error
    return UnlockedAll(precincts=unlocked)


@router.post("/precincts/{precinct_id}/code", status_code=201, responses=HOTLINE_RESPONSES)
async def reset_code(
    precinct_id: PrecinctPath,
    body: Reason,
    hotline: Hotline,
    service: ServiceDep,
    storage: StorageDep,
) -> NewCode:
    """A new sign-in code for a precinct (shown once); the chair's sessions are revoked."""
    _precinct(service, precinct_id)
    precinct = service.roster.get(precinct_id)
    assert precinct is not None
    code = new_code()
    pin_hash = await anyio.to_thread.run_sync(rehash, precinct.pin_hash, precinct_id, code)
    try:
        revoked_sessions = await storage.reset_code(
            precinct_id, pin_hash, hotline.actor, body.reason, hotline.session_id
        )
    except StorageError as error:
        raise storage_unavailable(error) from error
    if revoked_sessions is None:
        raise revoked()
    return NewCode(
        precinct_id=precinct_id, code=format_code(code), sessions_revoked=revoked_sessions
    )


@router.post("/sessions/revoke", dependencies=[Depends(admin)])
async def revoke_sessions(body: RevokeSessions, storage: StorageDep) -> SessionsRevoked:
    """HQ revokes every open session of an operator or a reviewer (a reviewer's war-room
    screens too), at once on every worker and host; the HQ log keeps who and why. The person
    can sign in again while their key is on the roster: take their name off the staff file
    to keep them out (it is read again within a second, and their tokens stop working too)."""
    try:
        count = await storage.revoke_sessions(body.role, body.name, "admin", body.reason)
    except StorageError as error:
        raise storage_unavailable(error) from error
    return SessionsRevoked(role=body.role, name=body.name, sessions_revoked=count)


@router.get("/reviews", responses=REVIEWER_RESPONSES)
async def review_queue(
    _: Reviewer,
    service: ServiceDep,
    storage: StorageDep,
    limit: Annotated[int, Query(ge=1, le=500, description="at most this many, oldest first")] = 50,
) -> ReviewQueue:
    """The review queue (a reviewer's token, or the admin key): held results no one has
    decided on, oldest first, each with its findings, the stage as reported, the precinct's
    stages in force, and the chair to call."""
    try:
        waiting, held, stages = await storage.waiting_for_review(limit)
    except StorageError as error:
        raise storage_unavailable(error) from error
    now = time.time()
    items = []
    for report in held:
        receipt = report.receipt
        precinct = service.roster.get(receipt.precinct_id)
        assert precinct is not None
        found = {f.id for f in receipt.findings}
        items.append(
            HeldResult(
                receipt=receipt,
                body=report.body,
                kind="incomplete"
                if "missing-field" in found
                else "breaks-rules"
                if found
                else "correction-after-close",
                county=precinct.county,
                precinct_name=precinct.precinct_name,
                chair_name=precinct.chair_name,
                chair_phone=precinct.chair_phone,
                delegates_to_elect=precinct.delegates_to_elect,
                waiting_s=round(now - datetime.fromisoformat(receipt.accepted_at).timestamp(), 1),
                stages={stage.value: r.body for stage, r in stages[receipt.precinct_id].items()},
            )
        )
    oldest = items[0].waiting_s if items else None
    return ReviewQueue(waiting=waiting, oldest_waiting_s=oldest, held=items)


@router.post(
    "/reviews/{receipt_id}",
    status_code=201,
    response_model=Decision,
    responses={
        **REVIEWER_RESPONSES,
        200: {"model": Decision, "description": "The same decision again: the one recorded"},
        404: problem("No such receipt"),
        409: problem("Not waiting for review, or decided already (by whom, when)"),
    },
)
async def decide(
    receipt_id: ReceiptPath,
    body: Annotated[ReviewDecision, Body()],
    reviewer: Reviewer,
    service: ServiceDep,
    storage: StorageDep,
) -> JSONResponse:
    """A reviewer (a reviewer's token, or the admin key) decides on a held result, with a
    reason: ``approve`` it as reported, ``correct`` it (``result``: the stage's numbers as HQ
    established them) or ``reject`` a held correction. The decision is a new ledger row naming
    who decided and why. 422: no reason, a correction that breaks the rules or is of another
    stage, or an incomplete result approved as it is."""
    result = None
    if isinstance(body, Correct):
        canonical = body.result.model_dump(mode="json", exclude_none=True)
        canonical.pop("correction_reason", None)  # the correction's reason is the decision's
        check_names(canonical, service)
        result = (STAGE_OF[type(body.result)], canonical)

    def check(precinct_id: str):
        precinct = service.roster.get(precinct_id)
        return partial(check_stage, precinct, one_delegate=service.settings.one_delegate)

    try:
        outcome = await storage.decide(
            receipt_id,
            body.decision,
            reviewer.actor,
            body.reason,
            result,
            check,
            reviewer.session_id,
        )
    except StorageError as error:
        raise storage_unavailable(error) from error
    _refuse(outcome)
    assert outcome.decision is not None
    decision = Decision(**outcome.decision, correction=outcome.receipt)
    return JSONResponse(
        decision.model_dump(mode="json"), status_code=200 if outcome.kind == "replayed" else 201
    )


def _refuse(outcome: Outcome) -> None:
    """The problem for an outcome that is not a decision recorded (or replayed)."""
    if outcome.kind == "unknown":
        raise ApiError(404, "unknown-receipt", "No such receipt", outcome.detail)
    if outcome.kind == "revoked":
        raise revoked()
    if outcome.kind == "conflict":
        raise ApiError(409, outcome.code, "Cannot decide on this receipt", outcome.detail)
    if outcome.kind == "refused":
        detail = outcome.detail or "; ".join(f"{r.id}: {r.detail}" for r in outcome.rules)
        raise ApiError(
            422, outcome.code, "The decision cannot stand", detail, rules=outcome.rules or None
        )


@router.get("/releases", responses=REVIEWER_RESPONSES)
async def list_releases(_: Reviewer, service: ServiceDep, storage: StorageDep) -> Releases:
    """The release policy and every release so far (a reviewer's token, or the admin key)."""
    try:
        rows = await storage.releases()
    except StorageError as error:
        raise storage_unavailable(error) from error
    return Releases(
        policy=release_policy(service.settings, service.clock, time.time()),
        releases=[Release(**row) for row in rows],
    )


@router.post(
    "/releases",
    status_code=201,
    dependencies=[Depends(admin)],
    responses={409: problem("The release policy is continuous: nothing to release")},
)
async def release_now(body: ReleaseRequest, service: ServiceDep, storage: StorageDep) -> Release:
    """HQ releases a batch now: every verified result not yet public becomes public."""
    if not service.settings.batches:
        raise ApiError(
            409,
            "continuous-release",
            "Results are released continuously",
            "every verified result is public at once (caucus serve --release continuous)",
        )
    try:
        row = await storage.release("admin", body.reason, service.clock.minute(time.time()), None)
    except StorageError as error:
        raise storage_unavailable(error) from error
    assert row is not None
    return Release(**row)


@router.get(
    "/progress",
    response_model=Progress,
    responses={
        **REVIEWER_RESPONSES,
        200: {"headers": {"ETag": {"schema": {"type": "string"}}}},
        304: {"description": "Not modified since the ETag in If-None-Match"},
    },
)
async def progress(request: Request, _: Reviewer, service: ServiceDep) -> Response:
    """How the night is going (what the war room shows; a reviewer's token, or the admin
    key): received, verified and published against the night clock and the plan, the review
    queue, precincts not yet in by county with their chairs, submissions refused by rule."""
    try:
        snapshot = await service.progress.snapshot()
    except StorageError as error:
        raise storage_unavailable(error) from error
    headers = {"ETag": snapshot.etag, "Cache-Control": "private, no-cache"}
    if request.headers.get("if-none-match") == snapshot.etag:
        return Response(status_code=304, headers=headers)
    return Response(snapshot.body, media_type="application/json", headers=headers)
