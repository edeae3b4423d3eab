"""API v1 sign-in: chairs with their roster code, operators and HQ reviewers with their own key.

Every attempt is reserved in storage before its code is checked (:mod:`reporting.guard`), so
limits hold across workers and hosts and attempts sent together cannot get past them. The
first chair or operator sign-in starts a ``first-sign-in`` night clock.
"""

from __future__ import annotations

import hmac
import time
import uuid
from datetime import UTC, datetime
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Body

from reporting import metrics
from reporting.auth import Principal
from reporting.dependencies import ClientDep, Service, ServiceDep, StorageDep
from reporting.errors import PROBLEM_RESPONSES, ApiError, storage_unavailable
from reporting.guard import Gate
from reporting.limits import StrictJsonRoute
from reporting.models import ChairLogin, OperatorLogin, ReviewerLogin, Session
from reporting.roster import verify_pin, verify_staff
from reporting.storage import Storage, StorageError

router = APIRouter(prefix="/api/v1", responses=PROBLEM_RESPONSES, route_class=StrictJsonRoute)


@router.post(
    "/sessions",
    status_code=201,
    responses={
        423: {"description": "Sign-in held after 100 wrong codes in a row: call the hotline"},
    },
)
async def create_session(
    login: Annotated[ChairLogin | OperatorLogin | ReviewerLogin, Body()],
    client: ClientDep,
    service: ServiceDep,
    storage: StorageDep,
) -> Session:
    """Sign in: a chair with precinct id and code, an operator or an HQ reviewer with their
    own key.

    Too many attempts from one address are 429; repeated wrong codes for one precinct from one
    address wait longer each time (429 with Retry-After); 100 wrong codes in a row hold the
    precinct's sign-in (423) and alert HQ.
    """
    try:
        if isinstance(login, ChairLogin):
            principal = await _chair(login, client, service, storage)
        else:
            role, name = (
                ("operator", login.operator)
                if isinstance(login, OperatorLogin)
                else ("reviewer", login.reviewer)
            )
            account = await staff_account(role, name, login.key, client, service, storage)
            principal = await open_session(Principal(role, name), account, client, service, storage)
        if principal.role != "reviewer" and service.clock.started is None:
            service.clock.started = await storage.start_clock("night", time.time())
    except StorageError as error:
        raise storage_unavailable(error) from error
    token, expires = service.signer.issue(principal)
    metrics.LOGINS.labels(principal.role, "ok").inc()
    return Session(
        token=token,
        role=principal.role,
        subject=principal.subject,
        expires_at=datetime.fromtimestamp(expires, UTC).isoformat(),
    )


async def staff_account(
    role: str, name: str, key: str, client: str, service: Service, storage: Storage
) -> str:
    """The sign-in account of an operator's or reviewer's right key; 401 or 429 otherwise."""
    hashes = service.staff.hashes(role)
    account = f"{role}:{name}" if name in hashes else f"unknown-{role}"  # no rows per name
    _pass(await storage.reserve_sign_in(account, client, service.settings.sign_in_policy, False))
    if not verify_staff(hashes, name, key):
        raise _bad_credentials(role)
    return account


async def admin_account(key: str, client: str, service: Service, storage: Storage) -> str:
    """The sign-in account of the admin key (for a war-room screen); 401 or 429 otherwise."""
    _pass(await storage.reserve_sign_in("admin", client, service.settings.sign_in_policy, False))
    if not hmac.compare_digest(key.encode(), service.settings.admin_key.encode()):
        raise _bad_credentials("admin")
    return "admin"


async def _chair(login: ChairLogin, client: str, service: Service, storage: Storage) -> Principal:
    precinct = service.roster.get(login.precinct_id)
    policy = service.settings.sign_in_policy
    if precinct is None:  # counts against the client only: no rows for made-up precincts
        _pass(await storage.reserve_sign_in("unknown-precinct", client, policy, False))
        raise _bad_credentials("chair")
    account = f"precinct:{precinct.precinct_id}"
    gate = await storage.reserve_sign_in(account, client, policy, True)
    _pass(gate)
    if not await anyio.to_thread.run_sync(verify_pin, precinct, login.pin, gate.pin_hash):
        raise _bad_credentials("chair")
    return await open_session(
        Principal("chair", precinct.precinct_id), account, client, service, storage
    )


async def open_session(
    principal: Principal, account: str, client: str, service: Service, storage: Storage
) -> Principal:
    """The code or key was right: clear the account's failures, open a session for the night."""
    session = Principal(principal.role, principal.subject, uuid.uuid4().hex)
    now = time.time()
    row = (session.session_id, session.role, session.subject, now, now + service.signer.ttl_s)
    await storage.signed_in(account, client, row)
    return session


def _pass(gate: Gate) -> None:
    """Go on if the reservation says go; else the refusal it names."""
    if gate.kind == "go":
        return
    metrics.LOGINS.labels("any", gate.kind).inc()
    retry = {"Retry-After": str(max(1, round(gate.retry_after_s)))}
    if gate.kind == "held":
        raise ApiError(
            423,
            "sign-in-held",
            "Sign-in held after repeated wrong codes",
            "HQ has been alerted: call the hotline, which can unlock it or read you a new code",
        )
    title = {
        "rate-limited": "Too many sign-ins from your address",
        "slow-down": "Too many wrong codes for this precinct from your address",
    }[gate.kind]
    raise ApiError(429, gate.kind, title, "retry after Retry-After seconds", headers=retry)


def _bad_credentials(role: str) -> ApiError:
    metrics.LOGINS.labels(role, "refused").inc()
    return ApiError(401, "bad-credentials", "Wrong precinct, code or key")
