"""A small reporting API in the 2020 Iowa app's shape, for testing the App2020 adapter.

    APP2020_PINS=pins.csv APP2020_OPERATORS=operators.csv \\
        python -m uvicorn --app-dir tests app2020_server:create_app --factory --port 8020

``pins.csv`` holds ``precinct_id,pin,delegates``; ``operators.csv`` holds ``operator,key``.
Chairs sign in at ``POST /login`` and report ``POST /precincts/{id}/open``
(``inPersonParticipants``), ``/first-alignment`` and ``/close`` (``results``); a result that
breaks the caucus rules gets 422, the same stage again with the same body gets the same
submission, with another body 409. It keeps everything in memory: it stands for somebody
else's API, not for ours.
"""

from __future__ import annotations

import csv
import os
import secrets

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from caucus.checks import check_precinct
from caucus.results import GroupResult, PrecinctResult

STAGES = ("open", "first-alignment", "close")
STATUS = {0: "not-started", 1: "opened", 2: "aligned", 3: "closed"}


def _refuse(status: int, error: str) -> JSONResponse:
    return JSONResponse({"error": error}, status_code=status)


def create_app() -> Starlette:
    with open(os.environ["APP2020_PINS"], newline="") as file:
        precincts = {r["precinct_id"]: r for r in csv.DictReader(file)}
    with open(os.environ["APP2020_OPERATORS"], newline="") as file:
        operators = {r["operator"]: r["key"] for r in csv.DictReader(file)}
    sessions: dict[str, str] = {}  # token -> precinct id, or "*" for an operator
    stored: dict[tuple[str, str], tuple[dict, str]] = {}

    async def login(request: Request) -> JSONResponse:
        try:
            body = await request.json()
        except ValueError:
            return _refuse(400, "malformed JSON")
        precinct = precincts.get(str(body.get("precinctId")))
        if "operatorId" in body and operators.get(body["operatorId"]) == body.get("key"):
            who = "*"
        elif precinct is not None and precinct["pin"] == body.get("pin"):
            who = precinct["precinct_id"]
        else:
            return _refuse(401, "wrong precinct or PIN")
        token = secrets.token_hex(16)
        sessions[token] = who
        return JSONResponse({"accessToken": token})

    async def precinct(request: Request) -> JSONResponse:
        found = precincts.get(request.path_params["precinct_id"])
        if found is None:
            return _refuse(404, "no such precinct")
        done = sum((found["precinct_id"], s) in stored for s in STAGES)
        return JSONResponse(
            {
                "precinctId": found["precinct_id"],
                "countyDelegates": int(found["delegates"]),
                "status": STATUS[done],
            }
        )

    async def report(request: Request) -> JSONResponse:
        precinct_id, stage = request.path_params["precinct_id"], request.path_params["stage"]
        who = sessions.get(request.headers.get("authorization", "").removeprefix("Bearer "))
        if who is None or who not in ("*", precinct_id):
            return _refuse(401, "not signed in for this precinct")
        if stage not in STAGES or precinct_id not in precincts:
            return _refuse(404, "no such precinct or stage")
        try:
            body = await request.json()
        except ValueError:
            return _refuse(400, "malformed JSON")
        problem = _breaks_rules(stage, body, int(precincts[precinct_id]["delegates"]))
        if problem:
            return _refuse(422, problem)
        earlier = stored.get((precinct_id, stage))
        if earlier is not None:
            if earlier[0] != body:
                return _refuse(409, f"{stage} already reported with other numbers")
            return JSONResponse(_submission(precinct_id, stage, earlier[1]))
        submission_id = secrets.token_hex(8)
        stored[(precinct_id, stage)] = (body, submission_id)
        return JSONResponse(_submission(precinct_id, stage, submission_id), status_code=201)

    async def results(_: Request) -> JSONResponse:
        reporting = sum((p, "close") in stored for p in precincts)
        return JSONResponse({"precinctsReporting": reporting, "precinctsTotal": len(precincts)})

    return Starlette(
        routes=[
            Route("/login", login, methods=["POST"]),
            Route("/precincts/{precinct_id}", precinct),
            Route("/precincts/{precinct_id}/{stage}", report, methods=["POST"]),
            Route("/results", results),
        ]
    )


def _submission(precinct_id: str, stage: str, submission_id: str) -> dict:
    return {"submissionId": submission_id, "precinctId": precinct_id, "stage": stage}


def _breaks_rules(stage: str, body: dict, delegates: int) -> str:
    """Why a stage's body cannot be right ('' when it can), by the caucus rules for close."""
    allowed = {
        "open": {"inPersonParticipants"},
        "first-alignment": {"results"},
        "close": {"inPersonParticipants", "results"},
    }[stage]
    if not isinstance(body, dict) or set(body) != allowed:
        return f"{stage} takes exactly {sorted(allowed)}"
    if stage != "close":
        return ""
    try:
        groups = tuple(
            GroupResult(
                str(r["candidate"]),
                int(r["firstAlignment"]),
                int(r["finalAlignment"]),
                int(r["countyDelegates"]),
            )
            for r in body["results"]
        )
        attendance = int(body["inPersonParticipants"])
        result = PrecinctResult("", "", groups, delegates_to_elect=delegates, attendance=attendance)
    except (KeyError, TypeError, ValueError):
        return "results: each needs candidate, firstAlignment, finalAlignment, countyDelegates"
    return "; ".join(f"{f.check.name}: {f.detail}" for f in check_precinct(result))
