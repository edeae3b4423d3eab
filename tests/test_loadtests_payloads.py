"""Report bodies for load tests follow the caucus rules; wrong ones break a named rule."""

from __future__ import annotations

import random

import pytest

from caucus.checks import check_precinct
from caucus.results import GroupResult, PrecinctResult
from loadtests.payloads import legal_result, precinct_rng, wrong_result


@pytest.mark.parametrize("delegates", [1, 2, 3, 4, 6, 12, 36])
def test_legal_results_pass_every_caucus_check(delegates: int) -> None:
    for i in range(100):
        result = legal_result(f"P{i:04d}", delegates, precinct_rng(7, f"P{i:04d}"))
        assert check_precinct(result.as_precinct_result()) == []
        assert sum(g.county_delegates or 0 for g in result.groups) == delegates


def test_stages_agree_with_the_final_report() -> None:
    result = legal_result("P0001", 6, precinct_rng(7, "P0001"))
    close = result.close_body()
    assert result.open_body() == {"attendance": close["attendance"]}
    first = {g["name"]: g["first"] for g in result.first_alignment_body()["groups"]}
    assert first == {g["name"]: g["first"] for g in close["groups"]}
    assert sum(first.values()) <= close["attendance"]


def test_same_seed_same_numbers_for_chair_and_operator() -> None:
    one = legal_result("P0042", 5, precinct_rng(2020, "P0042")).close_body()
    two = legal_result("P0042", 5, precinct_rng(2020, "P0042")).close_body()
    assert one == two
    assert one != legal_result("P0042", 5, precinct_rng(2021, "P0042")).close_body()


@pytest.mark.parametrize("delegates", [1, 2, 5, 20])
def test_wrong_results_break_a_rule(delegates: int) -> None:
    rng = random.Random(3)
    for i in range(100):
        result = legal_result(f"P{i}", delegates, precinct_rng(1, f"P{i}"))
        body = wrong_result(result, rng)
        groups = tuple(
            GroupResult(g["name"], g["first"], g["final"], g["delegates"]) for g in body["groups"]
        )
        wrong = PrecinctResult("", f"P{i}", groups, delegates, attendance=body["attendance"])
        assert check_precinct(wrong), body
