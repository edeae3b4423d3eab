"""API v1 sign-in: chairs with their PIN (locked out after repeated wrong PINs), operators."""

from __future__ import annotations

import hmac
import time
from datetime import UTC, datetime
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Body, Request

from reporting import metrics
from reporting.auth import Principal
from reporting.dependencies import Service, ServiceDep, StorageDep
from reporting.errors import PROBLEM_RESPONSES, ApiError, storage_unavailable
from reporting.models import ChairLogin, OperatorLogin, Session
from reporting.roster import verify_pin
from reporting.storage import Storage, StorageError

router = APIRouter(prefix="/api/v1", responses=PROBLEM_RESPONSES)


@router.post(
    "/sessions",
    status_code=201,
    responses={423: {"description": "Sign-in locked after repeated wrong PINs"}},
)
async def create_session(
    login: Annotated[ChairLogin | OperatorLogin, Body()],
    request: Request,
    service: ServiceDep,
    storage: StorageDep,
) -> Session:
    """Sign in: a chair with precinct id and PIN, or an operator with the operator key."""
    client = request.client.host if request.client else "unknown"
    wait = service.login_limiter.allow(client)
    if wait:
        metrics.LOGINS.labels("any", "rate-limited").inc()
        raise ApiError(
            429, "rate-limited", "Too many sign-ins", headers={"Retry-After": str(round(wait) or 1)}
        )
    if isinstance(login, OperatorLogin):
        principal = _operator(login, service)
    else:
        principal = await _chair(login, service, storage)
    token, expires = service.signer.issue(principal)
    metrics.LOGINS.labels(principal.role, "ok").inc()
    return Session(
        token=token,
        role=principal.role,
        subject=principal.subject,
        expires_at=datetime.fromtimestamp(expires, UTC).isoformat(),
    )


def _bad_credentials(role: str) -> ApiError:
    metrics.LOGINS.labels(role, "refused").inc()
    return ApiError(401, "bad-credentials", "Wrong precinct, PIN or key")


def _operator(login: OperatorLogin, service: Service) -> Principal:
    if not hmac.compare_digest(login.key.encode(), service.settings.operator_key.encode()):
        raise _bad_credentials("operator")
    return Principal("operator", login.operator)


async def _chair(login: ChairLogin, service: Service, storage: Storage) -> Principal:
    precinct = service.roster.get(login.precinct_id)
    if precinct is None:
        raise _bad_credentials("chair")
    try:
        failures, locked_until = await storage.lockout(precinct.precinct_id)
        now = time.time()
        if locked_until > now:
            raise _locked(locked_until - now)
        if not await anyio.to_thread.run_sync(verify_pin, precinct, login.pin):
            settings = service.settings
            until = await storage.bad_pin(
                precinct.precinct_id, now, settings.max_bad_pins, settings.lockout_s
            )
            raise _locked(until - now) if until else _bad_credentials("chair")
        if failures:
            await storage.good_pin(precinct.precinct_id)
    except StorageError as error:
        raise storage_unavailable(error) from error
    return Principal("chair", precinct.precinct_id)


def _locked(seconds: float) -> ApiError:
    metrics.LOGINS.labels("chair", "locked").inc()
    return ApiError(
        423,
        "locked",
        "Sign-in locked after repeated wrong PINs",
        "call the hotline, or retry after Retry-After seconds",
        headers={"Retry-After": str(max(1, round(seconds)))},
    )
