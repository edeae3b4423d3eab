"""What request handlers depend on: the running service, its storage, and who is calling."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from reporting.auth import Principal, TokenSigner
from reporting.board import ResultsBoard
from reporting.config import Settings
from reporting.errors import ApiError
from reporting.faults import FaultInjector
from reporting.identity import Network, client_address
from reporting.limits import RateLimiter
from reporting.night import NightClock
from reporting.progress import ProgressBoard
from reporting.roster import Roster
from reporting.staff import StaffRoster
from reporting.storage import Storage


@dataclass(slots=True)
class Service:
    """One worker's running service: settings, roster, storage and shared helpers."""

    settings: Settings
    roster: Roster
    staff: StaffRoster
    storage: Storage
    signer: TokenSigner
    board: ResultsBoard
    faults: FaultInjector
    submit_limiter: RateLimiter
    trusted_proxies: tuple[Network, ...]
    clock: NightClock
    progress: ProgressBoard


async def get_service(request: Request) -> Service:
    return request.app.state.service


async def get_storage(service: Annotated[Service, Depends(get_service)]) -> Storage:
    return service.storage


ServiceDep = Annotated[Service, Depends(get_service)]
StorageDep = Annotated[Storage, Depends(get_storage)]


async def get_client(request: Request, service: ServiceDep) -> str:
    """The client's address (from X-Forwarded-For only behind a trusted proxy)."""
    return client_address(request.scope, service.trusted_proxies)


ClientDep = Annotated[str, Depends(get_client)]

bearer = HTTPBearer(auto_error=False, description="Token from POST /api/v1/sessions")
admin_bearer = HTTPBearer(
    auto_error=False, scheme_name="AdminKey", description="The service's admin key"
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def _unauthorized(detail: str) -> ApiError:
    return ApiError(
        401, "unauthorized", "Sign in first", detail, headers={"WWW-Authenticate": "Bearer"}
    )


def on_roster(service: Service, principal: Principal) -> bool:
    """An operator's or reviewer's token (or a war-room screen a reviewer signed in) counts
    only while that name is on the roster's staff files; chairs' and HQ's always do."""
    role, name = principal.role, principal.subject
    if role == "war-room":
        role, _, name = name.partition(":")  # "reviewer:NAME" or "admin"
    return role not in ("operator", "reviewer") or name in service.staff.hashes(role)


def off_the_roster(principal: Principal) -> ApiError:
    return _unauthorized(f"{principal.entered_by} is no longer on the roster")


class ReporterBearer(HTTPBearer):
    """A chair or operator (still on the roster) with a valid token, within the submission
    rate limit.

    Revocation is checked where it matters: inside the write (see :mod:`reporting.ledger`).
    One dependency that is its own security scheme: submissions are the hot path, and each
    level of dependencies FastAPI resolves costs tens of microseconds per request.
    """

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        credentials = await super().__call__(request)
        service: Service = request.app.state.service
        if credentials is None:
            raise _unauthorized("an Authorization: Bearer token is required")
        principal = service.signer.verify(credentials.credentials)
        if principal is None:
            raise _unauthorized("the token is invalid or has expired")
        if principal.role not in ("chair", "operator"):
            raise ApiError(
                403,
                "not-a-reporter",
                "Only precinct chairs and hotline operators report results",
                "HQ reviewers correct a held result through the review queue",
            )
        if not on_roster(service, principal):
            raise off_the_roster(principal)
        wait = service.submit_limiter.allow(principal.entered_by)
        if wait:
            raise ApiError(
                429,
                "rate-limited",
                "Too many submissions",
                headers={"Retry-After": str(max(1, round(wait)))},
            )
        return principal


reporter = ReporterBearer(
    auto_error=False, scheme_name="HTTPBearer", description="Token from POST /api/v1/sessions"
)


async def admin(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(admin_bearer)],
    service: ServiceDep,
) -> None:
    """HQ staff with the admin key."""
    key = service.settings.admin_key.encode()
    if credentials is None or not hmac.compare_digest(credentials.credentials.encode(), key):
        raise _unauthorized("the admin key is required")


def revoked() -> ApiError:
    return _unauthorized(
        "the session was revoked (a precinct's code reset, a sign-out, or HQ): sign in again"
    )
