"""The built-in adapter: our reporting API v1 (tests/contract/openapi-v1.json)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime
from typing import ClassVar

import httpx

from caucus.results import GroupResult
from loadtests.adapters import (
    FlaggedResult,
    HeldResult,
    Receipt,
    Reply,
    ReportingAdapter,
    Request,
    ReviewCall,
)
from loadtests.payloads import CaucusResult

API = "/api/v1"
EXPORT_ATTEMPTS = 10
EXPORT_TIMEOUT_S = 30.0
RECEIPT_FIELDS = ("precinct_id", "stage", "idempotency_key", "body_sha256", "entered_by")


class ContractV1(ReportingAdapter):
    """Sessions with a bearer token, staged reports with an Idempotency-Key, the admin export."""

    NAMES: ClassVar[Mapping[str, str]] = {
        "sign-in": f"POST {API}/sessions",
        "operator-sign-in": f"POST {API}/sessions (operator)",
        "precinct": f"GET {API}/precincts/[id]",
        "open": f"POST {API}/precincts/[id]/open",
        "first-alignment": f"POST {API}/precincts/[id]/first-alignment",
        "close": f"POST {API}/precincts/[id]/close",
        "wrong-result": f"POST {API}/precincts/[id]/close (wrong result)",
        "results": f"GET {API}/results",
        "reviewer-sign-in": f"POST {API}/sessions (reviewer)",
        "review-queue": f"GET {API}/admin/reviews",
        "review-decision": f"POST {API}/admin/reviews/[receipt_id]",
    }

    def sign_in(self, login: Mapping[str, str]) -> Request:
        return Request(
            "POST", f"{API}/sessions", self.login_name(login), dict(login), ok=frozenset({201})
        )

    def session(self, reply: Reply) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.data(reply, 'token')['token']}"}

    def precinct(self, precinct_id: str) -> Request:
        return Request(
            "GET", f"{API}/precincts/{precinct_id}", self.NAMES["precinct"], ok=frozenset({200})
        )

    def delegates(self, reply: Reply) -> int:
        return int(self.data(reply, "delegates_to_elect")["delegates_to_elect"])

    def stages_held(self, reply: Reply) -> frozenset[str]:
        return frozenset(self.data(reply, "stages")["stages"])

    def report(self, precinct_id: str, stage: str, result: CaucusResult, key: str) -> Request:
        return Request(
            "POST",
            f"{API}/precincts/{precinct_id}/{stage}",
            self.NAMES[stage],
            body_of(stage, result),
            {"Idempotency-Key": key},
        )

    def receipt(self, reply: Reply) -> Receipt:
        return _receipt(self.data(reply, "receipt_id"))

    def results(self) -> Request:
        return Request("GET", f"{API}/results", self.NAMES["results"], ok=frozenset({200, 304}))

    def export(self, host: str, admin_key: str) -> list[dict] | None:
        """The submissions of ``GET /api/v1/admin/export``."""
        return _export(host, admin_key)["submissions"]

    def review_pending(self, reply: Reply) -> bool:
        return reply.status == 409 and (reply.data or {}).get("type") == "review-pending"

    def review_queue(self, limit: int) -> Request:
        return Request(
            "GET",
            f"{API}/admin/reviews?limit={limit}",
            self.NAMES["review-queue"],
            ok=frozenset({200}),
        )

    def held_results(self, reply: Reply) -> list[HeldResult]:
        return [_held(item) for item in self.data(reply, "held")["held"]]

    def decide(self, held: HeldResult, call: ReviewCall) -> Request:
        body: dict = {"decision": call.decision, "reason": call.reason}
        if call.result is not None:
            body["result"] = body_of(held.stage, call.result)
        # 409: another reviewer decided first, or there is nothing to fall back to
        return Request(
            "POST",
            f"{API}/admin/reviews/{held.receipt_id}",
            self.NAMES["review-decision"],
            body,
            ok=frozenset({200, 201, 409}),
        )

    def decided(self, reply: Reply) -> tuple[str, Receipt | None]:
        if reply.status in (200, 201):
            correction = self.data(reply, "decision").get("correction")
            return "decided", _receipt(correction) if correction else None
        if reply.status == 409 and (reply.data or {}).get("type") == "already-decided":
            return "taken", None
        return "refused", None

    def review_ledger(self, host: str, admin_key: str) -> list[FlaggedResult] | None:
        """The rows held on arrival (``review`` set) in the admin export, with their decisions."""
        document = _export(host, admin_key)
        decisions = {d["receipt_id"]: d for d in document["decisions"]}
        flagged = []
        for row in document["submissions"]:
            if not row.get("review"):
                continue
            decision = decisions.get(row["receipt_id"])
            flagged.append(
                FlaggedResult(
                    receipt_id=row["receipt_id"],
                    precinct_id=row["precinct_id"],
                    stage=row["stage"],
                    accepted_s=_unix_s(row["accepted_at"]),
                    decided_s=_unix_s(decision["decided_at"]) if decision else None,
                    decision=decision["decision"] if decision else None,
                    published_s=_unix_s(row["published_at"]) if row["published_at"] else None,
                )
            )
        return flagged


def _export(host: str, admin_key: str) -> dict:
    """``GET /api/v1/admin/export`` (JSON), retrying 5xx and timeouts."""
    headers = {"Authorization": f"Bearer {admin_key}"}
    url = f"{host.rstrip('/')}{API}/admin/export"
    for attempt in range(1, EXPORT_ATTEMPTS + 1):
        try:
            response = httpx.get(url, headers=headers, timeout=EXPORT_TIMEOUT_S)
        except httpx.TransportError:
            if attempt == EXPORT_ATTEMPTS:
                raise
        else:
            if response.status_code < 500 or attempt == EXPORT_ATTEMPTS:
                response.raise_for_status()
                return response.json()
        time.sleep(min(5.0, 0.5 * attempt))
    raise AssertionError("unreachable")


def _receipt(data: Mapping) -> Receipt:
    stated = {k: str(data[k]) for k in RECEIPT_FIELDS if k in data}
    return Receipt(str(data["receipt_id"]), stated)


def _unix_s(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def _held(item: Mapping) -> HeldResult:
    """One review-queue item, read into the caucus shape."""
    receipt, stages = item["receipt"], item["stages"]
    opened, aligned = stages.get("open"), stages.get("first-alignment")
    return HeldResult(
        receipt_id=receipt["receipt_id"],
        precinct_id=receipt["precinct_id"],
        stage=receipt["stage"],
        kind=item["kind"],
        findings=tuple(f["id"] for f in receipt.get("findings", ())),
        reported=result_of(receipt["precinct_id"], int(item["delegates_to_elect"]), item["body"]),
        attendance=opened["attendance"] if opened else None,
        first={g["name"]: g["first"] for g in aligned["groups"] if g["first"]} if aligned else None,
    )


def result_of(precinct_id: str, delegates: int, body: Mapping) -> CaucusResult:
    """A v1 stage body read back into a result (the inverse of :func:`body_of`)."""
    groups = tuple(
        GroupResult(g["name"], g.get("first", 0), g.get("final", 0), g.get("delegates"))
        for g in body.get("groups", ())
    )
    return CaucusResult(precinct_id, delegates, body.get("attendance", 0), groups)


def body_of(stage: str, result: CaucusResult) -> dict:
    """The v1 body of one stage: attendance; first alignment; the final result."""
    if stage == "open":
        return {"attendance": result.attendance}
    if stage == "first-alignment":
        return {"groups": [{"name": g.name, "first": g.first} for g in result.groups]}
    return {
        "attendance": result.attendance,
        "groups": [
            {
                "name": g.name,
                "first": g.first,
                "final": g.final,
                "delegates": g.county_delegates or 0,
            }
            for g in result.groups
        ],
    }
