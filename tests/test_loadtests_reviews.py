"""An HQ reviewer's second look: on hand-made held results whose right decision is known, and
on a real review queue of the reference service."""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from caucus.results import GroupResult
from loadtests.adapters import HeldResult, Reply, Request
from loadtests.adapters.app2020 import App2020
from loadtests.adapters.contract import ContractV1, body_of
from loadtests.payloads import CaucusResult, legal_result, precinct_rng
from loadtests.preflight import PreflightFailed, preflight, send
from loadtests.review_audit import review_audit
from loadtests.reviews import awards_recomputed, calls_to_try, problems, reviewers_on_duty
from loadtests.service import ReferenceService, reference_service

WORKSHEET = legal_result("P0001", 6, precinct_rng(7, "P0001"))
"""Attendance 55; Klobuchar 16 -> 16, Sanders 15 -> 16, Buttigieg 2 -> 0, Biden 22 -> 22;
delegates 2, 2, 0, 2."""
FIRST = {g.name: g.first for g in WORKSHEET.groups if g.first}


def _held(reported: CaucusResult, kind: str = "breaks-rules", *findings: str) -> HeldResult:
    """``reported`` held as P0001's close, with its open and first alignment in force."""
    return HeldResult("r1", "P0001", "close", kind, findings, reported, 55, FIRST)


def _with(result: CaucusResult, name: str, **changes: int | None) -> CaucusResult:
    groups = tuple(replace(g, **changes) if g.name == name else g for g in result.groups)
    return replace(result, groups=groups)


def test_the_worksheet_itself_passes() -> None:
    assert WORKSHEET.attendance == 55 and problems(_held(WORKSHEET), WORKSHEET) == []


def test_a_correction_that_passes_on_a_second_look_is_approved_first() -> None:
    calls = calls_to_try(_held(WORKSHEET, "correction-after-close"), WORKSHEET)
    assert [c.decision for c in calls] == ["approve", "correct", "correct", "reject"]
    assert calls[0].reason == "second look: passes the caucus rules (correction-after-close)"


def test_an_incomplete_result_gets_the_awards_the_rules_give() -> None:
    incomplete = replace(
        WORKSHEET, groups=tuple(replace(g, county_delegates=None) for g in WORKSHEET.groups)
    )
    held = _held(incomplete, "incomplete", "missing-field")
    assert problems(held, incomplete) == ["missing-field"]
    first, *_ = calls_to_try(held, None)  # no approval: it is incomplete
    assert first.decision == "correct" and first.result == WORKSHEET
    assert first.reason == (
        "missing-field: delegates recomputed with the caucus rules from the alignments reported"
    )


def test_a_delegate_miscount_is_recomputed_and_a_wrong_alignment_needs_the_worksheet() -> None:
    miscount = _with(WORKSHEET, "Biden", county_delegates=3)
    assert "delegate-total" in problems(_held(miscount), miscount)
    assert awards_recomputed(_held(miscount)) == WORKSHEET
    shrank = _with(WORKSHEET, "Biden", final=18)  # a viable group lost 4
    held = _held(shrank, "breaks-rules", "viable-group-shrank")
    assert problems(held, shrank) == ["viable-group-shrank"]
    assert problems(held, awards_recomputed(held)) == ["viable-group-shrank"]  # still wrong
    calls = calls_to_try(held, WORKSHEET)
    assert [(c.decision, c.result) for c in calls] == [("correct", WORKSHEET), ("reject", None)]
    assert calls[0].reason == (
        "viable-group-shrank: called the chair back, entered as the worksheet reads"
    )


def test_a_worksheet_that_disagrees_with_the_stages_in_force_is_not_entered() -> None:
    above = _with(WORKSHEET, "Biden", final=30)
    held = replace(_held(above, "breaks-rules", "final-above-first"), attendance=54)
    assert "attendance-changed" in problems(held, WORKSHEET)
    first_changed = replace(held, attendance=55, first={**FIRST, "Biden": 21})
    assert "first-alignment-changed" in problems(first_changed, WORKSHEET)
    [reject] = calls_to_try(held, WORKSHEET)
    assert reject.decision == "reject" and reject.reason == (
        "final-above-first: cannot be established from the stages reported or the worksheet"
    )


def test_a_coin_toss_is_not_recomputed() -> None:
    def held(a: int, b: int) -> HeldResult:
        groups = (GroupResult("A", a, a), GroupResult("B", b, b))  # delegates not given
        result = CaucusResult("P0002", 4, 16, groups)
        return HeldResult(
            "r2", "P0002", "close", "incomplete", ("missing-field",), result, 16, None
        )

    # 16 people, 4 delegates: 4 and 12 give 1 and 3; 6 and 10 give 1.5 and 2.5, both rounded
    # up to 5 in all, and which gives one back is a coin toss
    assert [g.county_delegates for g in awards_recomputed(held(4, 12)).groups] == [1, 3]
    assert awards_recomputed(held(6, 10)) is None
    assert [c.decision for c in calls_to_try(held(6, 10), None)] == ["reject"]


def test_earlier_stages_are_checked_against_what_is_in_force() -> None:
    aligned = CaucusResult("P0001", 6, 0, (GroupResult("Biden", 60, 0),))
    held = HeldResult("r3", "P0001", "first-alignment", "breaks-rules", (), aligned, 55, None)
    assert problems(held, aligned) == ["first-above-attendance"]
    assert problems(held, WORKSHEET) == []
    twice = replace(aligned, groups=(GroupResult("Biden", 3, 0), GroupResult("Biden", 4, 0)))
    assert problems(held, twice) == ["duplicate-report"]
    opened = CaucusResult("P0001", 6, 50, ())
    held = HeldResult("r4", "P0001", "open", "breaks-rules", (), opened, None, FIRST)
    assert problems(held, opened) == ["first-above-attendance"]  # 55 aligned, 50 counted
    assert awards_recomputed(held) is None


def test_reviewers_are_on_duty_only_with_their_keys_and_an_adapter_that_reviews() -> None:
    assert ContractV1().reviews and not App2020().reviews
    assert reviewers_on_duty(2, "keys.csv", ContractV1()) == 2
    assert reviewers_on_duty(2, "", ContractV1()) == 0
    assert reviewers_on_duty(2, "keys.csv", App2020()) == 0


def legal(result: CaucusResult) -> dict:
    return body_of("close", result)


def _wrong(kind: str) -> Callable[[CaucusResult], dict]:
    """The close body with one mistake: ``above`` (final above first), ``miscount`` (a
    delegate too many), ``incomplete`` (no delegates, as the 2020 app sent them)."""

    def made(result: CaucusResult) -> dict:
        top = max(result.groups, key=lambda g: g.final)
        if kind == "above":
            return legal(_with(result, top.name, final=top.final + result.attendance))
        if kind == "miscount":
            delegates = (top.county_delegates or 0) + 1
            return legal(_with(result, top.name, county_delegates=delegates))
        body = legal(result)
        return {
            **body,
            "groups": [{k: v for k, v in g.items() if k != "delegates"} for g in body["groups"]],
        }

    return made


def _worksheet(held: HeldResult) -> CaucusResult:
    """The chair's worksheet as the load test's reviewer reads it (seed 7)."""
    rng = precinct_rng(7, held.precinct_id)
    return legal_result(held.precinct_id, held.reported.delegates_to_elect, rng)


class Desk:
    """A chair's and a reviewer's requests to a real service, as the load test's users make
    them (the adapter's requests, sent with httpx)."""

    def __init__(self, client: httpx.Client, service: ReferenceService) -> None:
        self.client, self.adapter = client, ContractV1()
        with service.pin_sheet.open(newline="") as file:
            self.pins = {row["precinct_id"]: row["pin"] for row in csv.DictReader(file)}
        self.keys = service.reviewer_sheet

    def signed_in(self, login: dict[str, str]) -> dict[str, str]:
        return self.adapter.session(send(self.client, self.adapter.sign_in(login)))

    def send(self, request: Request, headers: dict[str, str]) -> Reply:
        return send(self.client, replace(request, headers={**request.headers, **headers}))

    def night(self, precinct: str, seed: int, close: Callable[[CaucusResult], dict] = legal):
        """A chair reports open and first alignment from the ``seed`` worksheet, then the
        close body ``close`` makes of it; the worksheet, the chair's session, the reply."""
        chair = self.signed_in({"precinct_id": precinct, "pin": self.pins[precinct]})
        delegates = self.adapter.delegates(send(self.client, self.adapter.precinct(precinct)))
        worksheet = legal_result(precinct, delegates, precinct_rng(seed, precinct))
        for stage in ("open", "first-alignment"):
            report = self.adapter.report(precinct, stage, worksheet, f"{precinct}-{stage}")
            assert self.send(report, chair).status == 201
        report = self.adapter.report(precinct, "close", worksheet, f"{precinct}-close")
        return worksheet, chair, self.send(replace(report, body=close(worksheet)), chair)


@pytest.mark.timeout(120)
def test_a_reviewer_works_a_real_queue(tmp_path: Path) -> None:
    """`caucus serve --hold-impossible` on 127.0.0.1: five held results, each decided as the
    second look says (one cannot be: the chair's stages are not the worksheet's), the wait of
    each and that none was public before its review."""
    with (
        reference_service(tmp_path / "service", 8, 7, ["--hold-impossible"]) as service,
        httpx.Client(base_url=service.url, timeout=10) as client,
    ):
        desk = Desk(client, service)
        held_at = time.time()
        desk.night("P0001", 7, _wrong("above"))
        desk.night("P0002", 7, _wrong("miscount"))
        _, _, incomplete = desk.night("P0003", 7, _wrong("incomplete"))
        assert incomplete.status == 202 and "missing-field" in incomplete.data["flags"]
        worksheet, chair, first_close = desk.night("P0004", 7)
        again = desk.adapter.report("P0004", "close", worksheet, "P0004-close-again")
        again = replace(again, body={**again.body, "correction_reason": "read again"})
        etag = {"If-Match": first_close.data["receipt_id"]}
        assert desk.send(again, {**chair, **etag}).status == 202  # a correction after close
        _, chair, _ = desk.night("P0005", 99, _wrong("above"))  # another chair's numbers
        follow_up = desk.adapter.report("P0005", "close", worksheet, "P0005-close-right")
        assert desk.adapter.review_pending(desk.send(follow_up, chair))  # 409 review-pending

        with open(desk.keys, newline="") as file:
            one, two, *_ = (
                {"reviewer": r["reviewer"], "key": r["key"]} for r in csv.DictReader(file)
            )
        wrong_key = {**one, "key": "not-the-key-00000"}
        with pytest.raises(PreflightFailed, match=r"reviewer HQ 01 \(is the reviewer sheet"):
            preflight(service.url, desk.adapter, None, None, wrong_key)
        reviewer = desk.signed_in(one)
        queue = desk.adapter.held_results(desk.send(desk.adapter.review_queue(20), reviewer))
        assert [h.precinct_id for h in queue] == ["P0001", "P0002", "P0003", "P0004", "P0005"]
        assert [h.kind for h in queue][2:4] == ["incomplete", "correction-after-close"]
        decided, calls = {}, {}
        for held in queue:
            for call in calls_to_try(held, _worksheet(held)):
                reply = desk.send(desk.adapter.decide(held, call), reviewer)
                kind, correction = desk.adapter.decided(reply)
                if kind != "refused":
                    how = call.reason.partition(": ")[2]
                    decided[held.precinct_id] = (call.decision, how, correction is not None)
                    calls[held.precinct_id] = call
                    break
            else:
                decided[held.precinct_id] = ("left", f"{reply.status} {reply.problem}", False)
        recomputed = "delegates recomputed with the caucus rules from the alignments reported"
        assert decided == {
            "P0001": ("correct", "called the chair back, entered as the worksheet reads", True),
            "P0002": ("correct", recomputed, True),
            "P0003": ("correct", recomputed, True),
            "P0004": ("approve", "passes the caucus rules (correction-after-close)", False),
            "P0005": ("left", "409 nothing-to-fall-back-to: Cannot decide on this receipt", False),
        }
        retried = desk.send(desk.adapter.decide(queue[0], calls["P0001"]), reviewer)
        assert retried.status == 200 and desk.adapter.decided(retried)[0] == "decided"
        late = desk.send(desk.adapter.decide(queue[0], calls["P0001"]), desk.signed_in(two))
        assert desk.adapter.decided(late) == ("taken", None)  # another reviewer decided first

        flagged = desk.adapter.review_ledger(service.url, service.admin_key)
    audit = review_audit(flagged, 60.0, time.time())
    assert audit.flagged == 5 and audit.waiting == (queue[4].receipt_id,)
    assert audit.decisions == {"approved": 1, "corrected": 3}
    assert audit.checked and audit.passed
    assert all(0 < w < time.time() - held_at for w in audit.waits_s)
    [approved] = [f for f in flagged if f.decision == "approved"]
    assert approved.published_s == approved.decided_s  # continuous release: public at the decision
