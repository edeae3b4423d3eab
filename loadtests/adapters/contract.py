"""The built-in adapter: our reporting API v1 (tests/contract/openapi-v1.json)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import ClassVar

import httpx

from loadtests.adapters import Receipt, Reply, ReportingAdapter, Request
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
        data = self.data(reply, "receipt_id")
        stated = {k: str(data[k]) for k in RECEIPT_FIELDS if k in data}
        return Receipt(str(data["receipt_id"]), stated)

    def results(self) -> Request:
        return Request("GET", f"{API}/results", self.NAMES["results"], ok=frozenset({200, 304}))

    def export(self, host: str, admin_key: str) -> list[dict] | None:
        """``GET /api/v1/admin/export``, retrying 5xx and timeouts."""
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
                    return response.json()["submissions"]
            time.sleep(min(5.0, 0.5 * attempt))
        raise AssertionError("unreachable")


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
