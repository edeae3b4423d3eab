"""An adapter for an API shaped like the 2020 Iowa app's: camelCase bodies, no idempotency key.

Its client called ``POST /precincts/{id}/open`` with the in-person participants, then
``/first-alignment`` with the first-alignment ``results``, then ``/close`` with the final ones
(DESIGN.md section 5). Sign-in (``POST /login``), the precinct record and ``GET /results`` are
this adapter's assumption of the rest. It has no export, so the audit is skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from loadtests.adapters import Receipt, Reply, ReportingAdapter, Request
from loadtests.payloads import CaucusResult

HELD = {
    "not-started": frozenset(),
    "opened": frozenset({"open"}),
    "aligned": frozenset({"open", "first-alignment"}),
    "closed": frozenset({"open", "first-alignment", "close"}),
}
"""Stages held by a precinct's ``status``."""


class App2020(ReportingAdapter):
    """The 2020 app's shape: ``POST /precincts/{id}/open``, ``/first-alignment``, ``/close``."""

    NAMES: ClassVar[Mapping[str, str]] = {
        "sign-in": "POST /login",
        "operator-sign-in": "POST /login (operator)",
        "precinct": "GET /precincts/[id]",
        "open": "POST /precincts/[id]/open",
        "first-alignment": "POST /precincts/[id]/first-alignment",
        "close": "POST /precincts/[id]/close",
        "wrong-result": "POST /precincts/[id]/close (wrong result)",
        "results": "GET /results",
    }

    def sign_in(self, login: Mapping[str, str]) -> Request:
        if "operator" in login:
            body = {"operatorId": login["operator"], "key": login["key"]}
        else:
            body = {"precinctId": login["precinct_id"], "pin": login["pin"]}
        return Request("POST", "/login", self.login_name(login), body, ok=frozenset({200}))

    def session(self, reply: Reply) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.data(reply, 'accessToken')['accessToken']}"}

    def precinct(self, precinct_id: str) -> Request:
        return Request(
            "GET", f"/precincts/{precinct_id}", self.NAMES["precinct"], ok=frozenset({200})
        )

    def delegates(self, reply: Reply) -> int:
        return int(self.data(reply, "countyDelegates")["countyDelegates"])

    def stages_held(self, reply: Reply) -> frozenset[str]:
        return HELD[self.data(reply, "status")["status"]]

    def report(self, precinct_id: str, stage: str, result: CaucusResult, key: str) -> Request:
        if stage == "open":
            body: dict = {"inPersonParticipants": result.attendance}
        elif stage == "first-alignment":
            body = {
                "results": [{"candidate": g.name, "firstAlignment": g.first} for g in result.groups]
            }
        else:
            body = {
                "inPersonParticipants": result.attendance,
                "results": [
                    {
                        "candidate": g.name,
                        "firstAlignment": g.first,
                        "finalAlignment": g.final,
                        "countyDelegates": g.county_delegates or 0,
                    }
                    for g in result.groups
                ],
            }
        return Request("POST", f"/precincts/{precinct_id}/{stage}", self.NAMES[stage], body)

    def receipt(self, reply: Reply) -> Receipt:
        data = self.data(reply, "submissionId", "precinctId", "stage")
        stated = {"precinct_id": str(data["precinctId"]), "stage": str(data["stage"])}
        return Receipt(str(data["submissionId"]), stated)

    def results(self) -> Request:
        return Request("GET", "/results", self.NAMES["results"], ok=frozenset({200}))
