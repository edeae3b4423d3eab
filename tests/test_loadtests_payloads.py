"""Report bodies for load tests follow the caucus rules; wrong ones break a named rule."""

from __future__ import annotations

import random

import pytest

from caucus.checks import check_precinct
from loadtests.adapters.contract import body_of
from loadtests.payloads import legal_result, precinct_rng, wrong_result


@pytest.mark.parametrize("delegates", [1, 2, 3, 4, 6, 12, 36])
def test_legal_results_pass_every_caucus_check(delegates: int) -> None:
    for i in range(100):
        result = legal_result(f"P{i:04d}", delegates, precinct_rng(7, f"P{i:04d}"))
        assert check_precinct(result.as_precinct_result()) == []
        assert sum(g.county_delegates or 0 for g in result.groups) == delegates


def test_stages_agree_with_the_final_report() -> None:
    result = legal_result("P0001", 6, precinct_rng(7, "P0001"))
    close = body_of("close", result)
    assert body_of("open", result) == {"attendance": close["attendance"]}
    first = {g["name"]: g["first"] for g in body_of("first-alignment", result)["groups"]}
    assert first == {g["name"]: g["first"] for g in close["groups"]}
    assert sum(first.values()) <= close["attendance"]


def test_same_seed_same_numbers_for_chair_and_operator() -> None:
    one = legal_result("P0042", 5, precinct_rng(2020, "P0042"))
    two = legal_result("P0042", 5, precinct_rng(2020, "P0042"))
    assert one == two
    assert one != legal_result("P0042", 5, precinct_rng(2021, "P0042"))


@pytest.mark.parametrize("delegates", [1, 2, 5, 20])
def test_wrong_results_break_a_rule(delegates: int) -> None:
    rng = random.Random(3)
    for i in range(100):
        result = legal_result(f"P{i}", delegates, precinct_rng(1, f"P{i}"))
        wrong = wrong_result(result, rng)
        assert wrong.groups != result.groups
        assert check_precinct(wrong.as_precinct_result()), wrong
