"""The verdict on small hand-made runs whose answer is known: a run that proved nothing fails."""

from __future__ import annotations

from dataclasses import replace

from loadtests.adapters.app2020 import App2020
from loadtests.adapters.contract import ContractV1
from loadtests.audit import AuditReport, Finding
from loadtests.slo import Check, load_slo
from loadtests.verdict import Evidence, Span, expected_names, reasons, table, verdict

NAMES = ContractV1.NAMES
EXPECTED = expected_names(NAMES, load_slo(), watchers=5)
FLOOD = (180.0, 300.0)
DUE = {"first_due_min": 41.0, "due": 12, "due_by_phone": 2, "closed": 12, "not_closed": []}


def _good() -> Evidence:
    """Six hours played, results due and in, every name exercised, every check held."""
    return Evidence(
        span=Span(0.0, 360.0, FLOOD),
        precincts=DUE,
        requests={name: 40 for name in EXPECTED},
        expected=EXPECTED,
        checks=[Check(NAMES["close"], "p95_ms", 1000, 40, True)],
        flood_checks=[Check(NAMES["close"], "p95_ms", 1000, 60, True)],
        audit=AuditReport(receipts=36, stored=36),
    )


def test_a_run_that_proved_its_points_passes() -> None:
    result = verdict(_good(), {})
    assert result["passed"] and result["reasons"] == []
    text = table(result)
    assert text.splitlines()[-1] == "verdict: PASS"
    assert "night covered: 7:00 pm to 1:00 am; prank flood 10:00 pm to 12:00 am: inside" in text
    assert "during the prank flood" in text


def test_nothing_happened_does_not_pass() -> None:
    nothing = Evidence(
        span=Span(0.0, 5.0, FLOOD),
        precincts={**DUE, "due": 0, "due_by_phone": 0, "closed": 0},
        requests={},
        expected=EXPECTED,
    )
    why = reasons(nothing)
    assert why[0] == (
        "no result was due: the run covered 7:00 pm to 7:05 pm; the first was due at 7:41 pm"
    )
    assert [r for r in why[1:]] == [f"no requests to {name}" for name in EXPECTED]
    text = table(verdict(nothing, {}))
    assert "prank flood 10:00 pm to 12:00 am: not inside the run" in text
    assert "verdict: FAIL" in text and "  why: no result was due" in text


def test_an_slo_d_name_without_requests_fails() -> None:
    good = _good()
    evidence = replace(good, requests={**good.requests, NAMES["first-alignment"]: 0})
    assert reasons(evidence) == [f"no requests to {NAMES['first-alignment']}"]


def test_receipts_that_do_not_match_fail() -> None:
    evidence = replace(_good(), events={"RECEIPT receipt mismatch": 28, "CHAIR gave up: x": 28})
    assert reasons(evidence) == ["28 receipts did not match what was sent"]


def test_a_target_holding_results_fails_on_that_alone() -> None:
    held = [f"P{i:04d}" for i in range(1, 8)]
    evidence = Evidence(Span(0, 0, None), {}, {}, EXPECTED, held=held)
    [why] = reasons(evidence)
    assert why.startswith("the target already held results for 7 of the run's precincts")
    assert "(P0001, P0002, P0003, P0004, P0005, ...)" in why
    assert table(verdict(evidence, {})) == f"verdict: FAIL (no load was sent)\n  why: {why}"


def test_latency_during_the_flood_is_judged_on_its_own() -> None:
    slow = Check(NAMES["sign-in"], "p95_ms", 1500, 2400, False)
    evidence = replace(_good(), flood_checks=[slow])
    missed = "POST /api/v1/sessions p95_ms 2400/1500"
    assert reasons(evidence) == [f"SLO missed during the flood: {missed}"]
    assert verdict(replace(_good(), checks=[slow]), {})["reasons"] == [f"SLO missed: {missed}"]


def test_audit_findings_fail_and_a_skipped_audit_is_said() -> None:
    lost = AuditReport(receipts=2, stored=1, lost=[Finding("P0002", "close", "r2", "not stored")])
    assert reasons(replace(_good(), audit=lost)) == [
        "audit: lost 1, altered 0, duplicated 0, accepted twice 0"
    ]
    skipped = verdict(replace(_good(), audit=None, audit_skipped="X has no export"), {})
    assert skipped["passed"] and "audit: skipped (X has no export)" in table(skipped)


def test_how_much_of_the_flood_the_run_covered() -> None:
    assert Span(0, 180, FLOOD).flood_inside() == "not reached"  # ended at the leak
    assert Span(0, 181, FLOOD).flood_inside() == "partly inside"
    assert "partly inside (10:00 pm to 11:00 pm of it)" in Span(0, 240, FLOOD).describe()
    assert Span(0, 300, FLOOD).flood_inside() == "inside"
    assert Span(200, 360, FLOOD).flood_inside() == "partly inside"
    assert Span(0, 360, None).describe().endswith("no prank flood in this night")


def test_expected_names_follow_the_adapter_and_the_slo_file() -> None:
    slo = load_slo()
    assert expected_names(NAMES, slo, watchers=0) == [
        NAMES[op] for op in ("sign-in", "precinct", "open", "first-alignment", "close")
    ]
    assert NAMES["results"] in expected_names(NAMES, slo, watchers=1)
    other = expected_names(App2020.NAMES, slo, watchers=1)  # the v1 names in slo.toml drop out
    assert other == [
        App2020.NAMES[op] for op in ("sign-in", "precinct", "open", "first-alignment", "close")
    ] + [App2020.NAMES["results"]]
