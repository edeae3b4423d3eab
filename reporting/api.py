"""API v1: staged reporting, results, candidates, one precinct's status, the audit export."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import time
from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from reporting import metrics
from reporting.auth import Principal
from reporting.dependencies import Service, ServiceDep, StorageDep, admin, reporter, revoked
from reporting.errors import PROBLEM_RESPONSES, ApiError, storage_unavailable
from reporting.ledger import COLUMNS, Entry, body_sha256, canonical_json
from reporting.limits import StrictJsonRoute
from reporting.models import (
    Candidates,
    CloseReport,
    DecisionRow,
    Export,
    ExportedRelease,
    ExportedReport,
    FirstAlignmentReport,
    OpenReport,
    PrecinctId,
    PrecinctStatus,
    PublicVersion,
    Receipt,
    Refusal,
    Results,
    Stage,
    StageReport,
    Submission,
)
from reporting.progress import release_policy
from reporting.stages import check_stage
from reporting.storage import StorageError
from reporting.submission_route import SubmissionRoute

router = APIRouter(prefix="/api/v1", responses=PROBLEM_RESPONSES, route_class=StrictJsonRoute)
submissions = APIRouter(
    prefix="/api/v1", responses=PROBLEM_RESPONSES, route_class=SubmissionRoute, tags=[]
)
"""The three stages: parsed by :class:`reporting.submission_route.SubmissionRoute`."""

Reporter = Annotated[Principal, Depends(reporter)]
PrecinctPath = Annotated[PrecinctId, Path(description="Precinct id from the roster")]
IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=8,
        max_length=100,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="Client-chosen key, scoped to the caller (Stripe-style): the same key and"
        " body again returns the same receipt",
    ),
]
IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=100,
        description='A correction names the version it replaces: its receipt_id, as "ETag"'
        " (412 if another version is in force now, 428 if missing)",
    ),
]


SUBMISSION_RESPONSES: dict[int | str, dict] = {
    200: {
        "description": "Replay: this submission was stored before; same receipt",
        "headers": {
            "Idempotent-Replayed": {"schema": {"type": "string", "enum": ["true"]}},
        },
    },
    202: {
        "model": Receipt,
        "description": "Stored and held for HQ review, not yet in force nor public: a"
        " correction after close, or (with --hold-impossible) a result that breaks the rules"
        " or is incomplete; ``findings`` says why",
    },
    404: {"description": "No such precinct on the roster"},
    403: {
        "description": "A chair may only report for their own precinct; reviewers report"
        " nothing (they correct through the review queue)"
    },
    409: {
        "description": "Conflicts with what is stored (receipt_id names the stored version),"
        " or a version of this stage waits for HQ review"
    },
    412: {"description": "If-Match names a version that is no longer in force"},
    428: {"description": "A correction without If-Match"},
}


async def _submit(
    stage: Stage,
    precinct_id: str,
    body: Submission,
    key: str,
    if_match: str | None,
    principal: Principal,
    service: Service,
) -> JSONResponse:
    precinct = service.roster.get(precinct_id)
    if precinct is None:
        raise ApiError(404, "unknown-precinct", "No such precinct", precinct_id)
    if not principal.may_report(precinct_id):
        raise ApiError(403, "wrong-precinct", "You may only report for your own precinct")
    canonical = body.model_dump(mode="json", exclude_none=True)
    check_names(canonical, service)
    entry = Entry(
        precinct_id=precinct_id,
        stage=stage,
        idempotency_key=key,
        body=canonical,
        body_sha256=body_sha256(canonical),
        entered_by=principal.entered_by,
        session_id=principal.session_id,
        if_match=if_match.strip().removeprefix("W/").strip('"') if if_match else None,
    )
    if service.faults.drops_write():
        metrics.SUBMISSIONS.labels(stage, "dropped").inc()
        metrics.FAULTS.labels("drop").inc()
        return _dropped(entry)
    check = partial(check_stage, precinct, one_delegate=service.settings.one_delegate)
    try:
        outcome = await service.storage.record(entry, check, service.settings.hold_impossible)
    except StorageError as error:
        raise storage_unavailable(error) from error
    metrics.SUBMISSIONS.labels(stage, outcome.kind).inc()
    if outcome.kind == "revoked":
        raise revoked()
    if outcome.kind == "refused":
        raise ApiError(
            422,
            "impossible-result",
            "The result breaks the caucus rules",
            "; ".join(f"{r.id}: {r.detail}" for r in outcome.rules),
            rules=outcome.rules,
        )
    if outcome.kind in ("conflict", "precondition"):
        status = {"precondition-required": 428, "precondition-failed": 412}.get(outcome.code, 409)
        raise ApiError(
            status,
            outcome.code,
            "Conflicts with what is already stored",
            outcome.detail,
            receipt_id=outcome.receipt.receipt_id if outcome.receipt else None,
        )
    assert outcome.receipt is not None
    status = {"replayed": 200, "held": 202}.get(outcome.kind, 201)
    return JSONResponse(
        outcome.receipt.model_dump(mode="json"),
        status_code=status,
        headers={"Idempotent-Replayed": "true"} if outcome.kind == "replayed" else None,
    )


def check_names(body: dict, service: Service) -> None:
    """422 naming each group that is not a candidate on the roster (look-alikes named)."""
    refusals = [
        why
        for group in body.get("groups", ())
        if (why := service.roster.candidates.refusal(group["name"])) is not None
    ]
    if refusals:
        raise ApiError(
            422,
            "unknown-candidate",
            "A group is not named as a candidate on the roster",
            "; ".join(refusals),
        )


def _dropped(entry: Entry) -> JSONResponse:
    """Rehearsal fault: a receipt for a report that is not stored (the 2020 app's failure)."""
    receipt = Receipt(
        receipt_id=hashlib.sha256(
            f"{entry.precinct_id}:{entry.idempotency_key}".encode()
        ).hexdigest()[:32],
        precinct_id=entry.precinct_id,
        stage=entry.stage,
        idempotency_key=entry.idempotency_key,
        body_sha256=entry.body_sha256,
        accepted_at=datetime.now(UTC).isoformat(timespec="microseconds"),
        entered_by=entry.entered_by,
    )
    return JSONResponse(
        receipt.model_dump(mode="json"), status_code=201, headers={"X-Fault-Injected": "drop"}
    )


@submissions.post(
    "/precincts/{precinct_id}/open",
    status_code=201,
    response_model=Receipt,
    responses=SUBMISSION_RESPONSES,
)
async def report_open(
    precinct_id: PrecinctPath,
    body: OpenReport,
    idempotency_key: IdempotencyKey,
    principal: Reporter,
    request: Request,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Stage 1: attendance, as the caucus opens."""
    return await _submit(
        Stage.OPEN,
        precinct_id,
        body,
        idempotency_key,
        if_match,
        principal,
        request.app.state.service,
    )


@submissions.post(
    "/precincts/{precinct_id}/first-alignment",
    status_code=201,
    response_model=Receipt,
    responses=SUBMISSION_RESPONSES,
)
async def report_first_alignment(
    precinct_id: PrecinctPath,
    body: FirstAlignmentReport,
    idempotency_key: IdempotencyKey,
    principal: Reporter,
    request: Request,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Stage 2: supporters per group in the first alignment."""
    return await _submit(
        Stage.FIRST_ALIGNMENT,
        precinct_id,
        body,
        idempotency_key,
        if_match,
        principal,
        request.app.state.service,
    )


@submissions.post(
    "/precincts/{precinct_id}/close",
    status_code=201,
    response_model=Receipt,
    responses=SUBMISSION_RESPONSES,
)
async def report_close(
    precinct_id: PrecinctPath,
    body: CloseReport,
    idempotency_key: IdempotencyKey,
    principal: Reporter,
    request: Request,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Stage 3: the final result, checked against the caucus rules and the earlier stages."""
    return await _submit(
        Stage.CLOSE,
        precinct_id,
        body,
        idempotency_key,
        if_match,
        principal,
        request.app.state.service,
    )


@router.get(
    "/results",
    response_model=Results,
    responses={
        200: {
            "headers": {
                "ETag": {"schema": {"type": "string"}},
                "Cache-Control": {"schema": {"type": "string"}},
            }
        },
        304: {"description": "Not modified since the ETag in If-None-Match"},
    },
)
async def results(request: Request, service: ServiceDep) -> Response:
    """Statewide totals and precincts reporting; cached, with ETag and Cache-Control."""
    try:
        snapshot = await service.board.snapshot()
    except StorageError as error:
        raise storage_unavailable(error) from error
    headers = {
        "ETag": snapshot.etag,
        "Cache-Control": f"public, max-age={max(1, round(service.settings.results_ttl_s))}",
    }
    if request.headers.get("if-none-match") == snapshot.etag:
        return Response(status_code=304, headers=headers)
    return Response(snapshot.body, media_type="application/json", headers=headers)


@router.get("/precincts/{precinct_id}", responses={404: {"description": "No such precinct"}})
async def precinct_status(
    precinct_id: PrecinctPath, service: ServiceDep, storage: StorageDep
) -> PrecinctStatus:
    """One precinct: the public version of each stage (in force; with batch releases, the one
    released last), its corrections and versions held for review. Public: no idempotency keys,
    nobody's name."""
    precinct = service.roster.get(precinct_id)
    if precinct is None:
        raise ApiError(404, "unknown-precinct", "No such precinct", precinct_id)
    try:
        current, corrections = await storage.precinct(precinct_id, service.settings.batches)
    except StorageError as error:
        raise storage_unavailable(error) from error
    status = "not-opened"
    for stage, name in ((Stage.OPEN, "open"), (Stage.FIRST_ALIGNMENT, "aligned")):
        if stage in current:
            status = name
    if Stage.CLOSE in current:
        status = "closed"
    return PrecinctStatus(
        precinct_id=precinct.precinct_id,
        county=precinct.county,
        delegates_to_elect=precinct.delegates_to_elect,
        status=status,
        stages={
            stage.value: StageReport(
                receipt=PublicVersion(**report.receipt.model_dump()),
                body=report.body,
                corrections=corrections.get(stage, (0, 0))[0],
                held_for_review=corrections.get(stage, (0, 0))[1],
            )
            for stage, report in current.items()
        },
    )


@router.get("/candidates")
async def candidates(service: ServiceDep) -> Candidates:
    """The roster's candidates: a report's groups must be named exactly so."""
    return Candidates(candidates=list(service.roster.candidates.names))


@router.get(
    "/admin/export",
    response_model=Export,
    dependencies=[Depends(admin)],
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def export(
    service: ServiceDep,
    storage: StorageDep,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Response:
    """Everything stored, for audits: every submission (corrections and held results
    included, each with when it went into force and when it was published), reviewers'
    decisions, releases and refused submissions (JSON); the submissions alone as CSV."""
    try:
        ledger = await storage.ledger(service.settings.batches)
    except StorageError as error:
        raise storage_unavailable(error) from error
    corrected_by = {
        r.receipt.correction_of: r.receipt.receipt_id
        for r, _, _ in ledger.reports
        if r.receipt.correction_of
    }
    rows = [
        ExportedReport(
            **r.receipt.model_dump(),
            body=r.body,
            corrected_by=corrected_by.get(r.receipt.receipt_id),
            verified_at=verified,
            published_at=published,
        )
        for r, verified, published in ledger.reports
    ]
    if format == "csv":
        return Response(_csv(rows), media_type="text/csv")
    document = Export(
        exported_at=datetime.now(UTC).isoformat(),
        precincts_total=len(service.roster),
        release_policy=release_policy(service.settings, service.clock, time.time()),
        submissions=rows,
        decisions=[DecisionRow(**d) for d in ledger.decisions],
        releases=[ExportedRelease(**r) for r in ledger.releases],
        refusals=[Refusal(**r) for r in ledger.refusals],
    )
    return Response(document.model_dump_json(), media_type="application/json")


CSV_EXTRA = ("corrected_by", "verified_at", "published_at")


def _csv(rows: list[ExportedReport]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*COLUMNS, *CSV_EXTRA])
    for row in rows:
        values = row.model_dump(mode="json")
        values["flags"] = ";".join(row.flags)
        values["body"] = canonical_json(row.body)
        values["findings"] = json.dumps(values["findings"], ensure_ascii=False)
        writer.writerow([values[c] or "" for c in (*COLUMNS, *CSV_EXTRA)])
    return out.getvalue()
