"""API v1 for HQ and the hotline: alerts, unlocking sign-in, new codes, reviewing corrections.

Everything done here is recorded in the HQ log with who did it and why. The hotline (an
operator's token) and HQ (the admin key) may unlock a precinct's sign-in or give it a new code;
only HQ reviews corrections held after close. This is where the HQ review desk grows from.
"""

from __future__ import annotations

import hmac
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Depends, Path, Query

from reporting.dependencies import Credentials, ServiceDep, StorageDep, admin
from reporting.errors import PROBLEM_RESPONSES, ApiError, storage_unavailable
from reporting.limits import StrictJsonRoute
from reporting.models import (
    Alert,
    Alerts,
    NewCode,
    PrecinctId,
    Reason,
    Receipt,
    ReviewDecision,
    Unlocked,
)
from reporting.roster import format_code, new_code, rehash
from reporting.storage import StorageError

router = APIRouter(prefix="/api/v1/admin", responses=PROBLEM_RESPONSES, route_class=StrictJsonRoute)
PrecinctPath = Annotated[PrecinctId, Path(description="Precinct id from the roster")]


async def hotline_or_hq(credentials: Credentials, service: ServiceDep) -> str:
    """``admin`` for the admin key, ``operator:NAME`` for an operator's token; else 401/403."""
    if credentials is None:
        raise ApiError(401, "unauthorized", "Sign in first", headers={"WWW-Authenticate": "Bearer"})
    key = service.settings.admin_key.encode()
    if hmac.compare_digest(credentials.credentials.encode(), key):
        return "admin"
    principal = service.signer.verify(credentials.credentials)
    if principal is None:
        raise ApiError(401, "unauthorized", "Sign in first", "the token is invalid or has expired")
    if principal.role != "operator":
        raise ApiError(403, "hotline-only", "Only the hotline and HQ may do this")
    return principal.entered_by


Actor = Annotated[str, Depends(hotline_or_hq)]
HOTLINE_RESPONSES: dict[int | str, dict] = {
    403: {"description": "A chair's token: only the hotline and HQ may do this"},
    404: {"description": "No such precinct on the roster"},
}


def _precinct(service: ServiceDep, precinct_id: str) -> None:
    if service.roster.get(precinct_id) is None:
        raise ApiError(404, "unknown-precinct", "No such precinct", precinct_id)


@router.get("/alerts", dependencies=[Depends(admin)])
async def alerts(
    storage: StorageDep, open: Annotated[bool, Query(description="only alerts to act on")] = False
) -> Alerts:
    """The HQ log: sign-in held, corrections held for review, and what was done about them."""
    try:
        rows = await storage.hq_log(open)
    except StorageError as error:
        raise storage_unavailable(error) from error
    return Alerts(alerts=[Alert(**row) for row in rows])


@router.post("/precincts/{precinct_id}/unlock", responses=HOTLINE_RESPONSES)
async def unlock(
    precinct_id: PrecinctPath, body: Reason, actor: Actor, service: ServiceDep, storage: StorageDep
) -> Unlocked:
    """The hotline lifts a precinct's sign-in hold after checking who the caller is."""
    _precinct(service, precinct_id)
    try:
        was_held = await storage.unlock(precinct_id, actor, body.reason)
    except StorageError as error:
        raise storage_unavailable(error) from error
    return Unlocked(precinct_id=precinct_id, was_held=was_held)


@router.post("/precincts/{precinct_id}/code", status_code=201, responses=HOTLINE_RESPONSES)
async def reset_code(
    precinct_id: PrecinctPath, body: Reason, actor: Actor, service: ServiceDep, storage: StorageDep
) -> NewCode:
    """A new sign-in code for a precinct (shown once); the chair's sessions are revoked."""
    _precinct(service, precinct_id)
    precinct = service.roster.get(precinct_id)
    assert precinct is not None
    code = new_code()
    pin_hash = await anyio.to_thread.run_sync(rehash, precinct.pin_hash, precinct_id, code)
    try:
        revoked = await storage.reset_code(precinct_id, pin_hash, actor, body.reason)
    except StorageError as error:
        raise storage_unavailable(error) from error
    return NewCode(precinct_id=precinct_id, code=format_code(code), sessions_revoked=revoked)


@router.post(
    "/corrections/{receipt_id}/review",
    dependencies=[Depends(admin)],
    responses={409: {"description": "No such receipt, or it is not waiting for review"}},
)
async def review(
    receipt_id: Annotated[str, Path(max_length=64, pattern=r"^[0-9a-f]+$")],
    body: ReviewDecision,
    storage: StorageDep,
) -> Receipt:
    """HQ approves a correction held after close (it goes into force and into the totals) or
    rejects it (it stays in the export, out of force)."""
    try:
        outcome = await storage.review(receipt_id, body.decision == "approve", "admin", body.reason)
    except StorageError as error:
        raise storage_unavailable(error) from error
    if outcome.kind != "accepted":
        raise ApiError(409, outcome.code, "Cannot review this receipt", outcome.detail)
    assert outcome.receipt is not None
    return outcome.receipt
