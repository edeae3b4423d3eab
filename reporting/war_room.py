"""``GET /war-room``: HQ's screen for the night, against the plan, refreshing itself.

A browser signs in once with a reviewer's name and key, or the admin key (the sign-in form
posts them as JSON; the same limits as every sign-in apply). The service answers with an
HttpOnly, SameSite=Strict session cookie scoped to ``/war-room`` (Secure except on loopback,
where browsers treat plain http as secure): the key never sits in a URL, a log or anything a
script can read, and the cookie opens these read-only pages and nothing else (a server-side
session, revoked on sign-out). The page polls ``/war-room/progress.json`` every 2 s with
``If-None-Match`` (the same figures as ``GET /api/v1/admin/progress``) and draws everything
with ``textContent`` and SVG, under a Content-Security-Policy that allows only its own script.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from html import escape
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Body, Cookie, Request, Response
from fastapi.responses import HTMLResponse

from reporting.auth import Principal
from reporting.dependencies import ClientDep, Service, ServiceDep, StorageDep, on_roster
from reporting.errors import ApiError, storage_unavailable
from reporting.limits import StrictJsonRoute
from reporting.models import AdminLogin, ReviewerLogin
from reporting.plan import Plan
from reporting.sessions import admin_account, open_session, staff_account
from reporting.storage import StorageError

COOKIE = "caucus_war_room"
PATH = "/war-room"
STATIC = Path(__file__).parent / "static"
ASSETS = {
    "war-room.css": "text/css",
    "war-room.js": "text/javascript",
    "sign-in.js": "text/javascript",
}
router = APIRouter(route_class=StrictJsonRoute, include_in_schema=False)
LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


@dataclass(frozen=True, slots=True)
class Screen:
    """A signed-in war-room browser: its session, and who signed it in."""

    session_id: str
    signed_in_as: str


async def screen(service: Service, token: str | None) -> Screen | None:
    """The war-room session a cookie names, if it is valid and open (and the reviewer who
    signed it in is still on the roster)."""
    if not token:
        return None
    principal = service.signer.verify(token)
    if principal is None or principal.role != "war-room" or not on_roster(service, principal):
        return None
    if not await service.storage.session_open(principal.session_id):
        return None
    return Screen(principal.session_id, principal.subject)


CookieToken = Annotated[str | None, Cookie(alias=COOKIE)]


def _headers() -> dict[str, str]:
    return {
        "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self';"
        " connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none';"
        " frame-ancestors 'none'",
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
    }


@router.get(PATH)
async def war_room(service: ServiceDep, token: CookieToken = None) -> HTMLResponse:
    """The war room, or the sign-in form when this browser is not signed in."""
    try:
        signed_in = await screen(service, token)
    except StorageError as error:
        raise storage_unavailable(error) from error
    if signed_in is None:
        return HTMLResponse(SIGN_IN, headers=_headers())
    page = ROOM.format(plan=_plan_json(service.progress.plan), who=escape(signed_in.signed_in_as))
    return HTMLResponse(page, headers=_headers())


@cache
def _asset(name: str) -> bytes:
    return (STATIC / name).read_bytes()


@router.get(f"{PATH}/static/{{name}}")
async def asset(name: str) -> Response:
    """The page's own script and style (public: they hold no figures and no secrets)."""
    if name not in ASSETS:
        raise ApiError(404, "not-found", "Not Found")
    return Response(_asset(name), media_type=ASSETS[name], headers={"Cache-Control": "no-cache"})


def _plan_json(plan: Plan | None) -> str:
    """The plan's curves for the chart, safe inside a script element."""
    if plan is None:
        return "null"
    curves = {
        kind: {
            "minutes": curve.minutes,
            **{k: [round(v, 5) for v in getattr(curve, k)] for k in ("mean", "low", "high")},
        }
        for kind, curve in (("received", plan.received), ("published", plan.published))
    }
    text = json.dumps({"name": plan.name, "nights": plan.nights, **curves})
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _secure(request: Request) -> bool:
    """Secure cookies, except when the browser talks to this machine over loopback."""
    host = request.headers.get("host", "")
    name = host[: host.index("]") + 1] if host.startswith("[") else host.split(":")[0]
    return request.url.scheme == "https" or name not in LOOPBACK


@router.post(f"{PATH}/session", status_code=204)
async def sign_in(
    login: Annotated[ReviewerLogin | AdminLogin, Body()],
    request: Request,
    client: ClientDep,
    service: ServiceDep,
    storage: StorageDep,
) -> Response:
    """Exchange a reviewer's key (or the admin key) for the war room's session cookie."""
    try:
        if isinstance(login, ReviewerLogin):
            account = await staff_account(
                "reviewer", login.reviewer, login.key, client, service, storage
            )
            subject = f"reviewer:{login.reviewer}"
        else:
            account = await admin_account(login.admin_key, client, service, storage)
            subject = "admin"
        session = await open_session(
            Principal("war-room", subject), account, client, service, storage
        )
    except StorageError as error:
        raise storage_unavailable(error) from error
    token, _ = service.signer.issue(session)
    response = Response(status_code=204, headers=_headers())
    response.set_cookie(
        COOKIE,
        token,
        max_age=service.signer.ttl_s,
        path=PATH,
        secure=_secure(request),
        httponly=True,
        samesite="strict",
    )
    return response


@router.post(f"{PATH}/sign-out", status_code=204)
async def sign_out(service: ServiceDep, storage: StorageDep, token: CookieToken = None) -> Response:
    """Revoke this browser's session and forget the cookie."""
    try:
        signed_in = await screen(service, token)
        if signed_in is not None:
            await storage.revoke_session(signed_in.session_id, signed_in.signed_in_as)
    except StorageError as error:
        raise storage_unavailable(error) from error
    response = Response(status_code=204, headers=_headers())
    response.delete_cookie(COOKIE, path=PATH, httponly=True, samesite="strict")
    return response


@router.get(f"{PATH}/progress.json")
async def progress_json(
    request: Request, service: ServiceDep, token: CookieToken = None
) -> Response:
    """The figures the page draws (as ``GET /api/v1/admin/progress``), for a signed-in screen."""
    try:
        if await screen(service, token) is None:
            raise ApiError(401, "unauthorized", "Sign in to the war room first")
        snapshot = await service.progress.snapshot()
    except StorageError as error:
        raise storage_unavailable(error) from error
    headers = {**_headers(), "Cache-Control": "private, no-cache", "ETag": snapshot.etag}
    if request.headers.get("if-none-match") == snapshot.etag:
        return Response(status_code=304, headers=headers)
    return Response(snapshot.body, media_type="application/json", headers=headers)


SIGN_IN = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>War room: sign in</title>
<link rel="stylesheet" href="/war-room/static/war-room.css"></head>
<body>
<form id="sign-in" autocomplete="off">
<h1>War room</h1>
<p>Sign in with your HQ reviewer name and key (or leave the name empty and give the admin
key). The key is exchanged for a session cookie; this page does not keep it.</p>
<label for="reviewer">Reviewer name</label><input id="reviewer" name="reviewer">
<label for="key">Key</label><input id="key" name="key" type="password">
<button type="submit">Sign in</button>
<p id="problem" role="alert"></p>
</form>
<script src="/war-room/static/sign-in.js"></script>
</body></html>
"""

ROOM = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>War room</title>
<link rel="stylesheet" href="/war-room/static/war-room.css"></head>
<body>
<header><h1>War room: caucus night</h1>
<span><span id="clock">night not started</span> &middot; <span id="policy"></span>
&middot; <span id="plan-name"></span> &middot; {who}
<button id="sign-out" type="button">Sign out</button></span></header>
<main>
<div class="figures">
<div class="figure"><div>Received</div><div class="n" id="received">&ndash;</div>
<div class="plan" id="received-plan"></div></div>
<div class="figure"><div>Verified</div><div class="n" id="verified">&ndash;</div>
<div class="plan">in force: passed the checks, or decided by a reviewer</div></div>
<div class="figure"><div>Published</div><div class="n" id="published">&ndash;</div>
<div class="plan" id="published-plan"></div></div>
<div class="figure"><div>Review queue</div><div class="n" id="waiting">&ndash;</div>
<div class="plan" id="oldest"></div></div>
</div>
<section><h2>Precincts by time of night (plan: 90% band and mean, dashed)</h2>
<svg id="chart" width="820" height="300" role="img"
aria-label="received, verified and published against the plan"></svg></section>
<section><h2>Refused by rule (422)</h2>
<table><thead><tr><th>check</th><th class="n">refused</th></tr></thead>
<tbody id="refused"></tbody></table>
<p id="refused-total"></p></section>
<section class="wide"><h2>Not yet in, by county (<span id="missing-total"></span>)</h2>
<table><thead><tr><th>county</th><th class="n">missing</th><th>precincts and chairs to call</th>
</tr></thead><tbody id="missing"></tbody></table></section>
</main>
<p class="foot"><small id="updated">Loading.</small></p>
<script type="application/json" id="plan">{plan}</script>
<script src="/war-room/static/war-room.js"></script>
</body></html>
"""
