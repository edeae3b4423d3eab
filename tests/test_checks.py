"""Every integrity check has a case that fires and one that does not."""

import pytest

from caucus.checks import (
    CHECKS,
    DELEGATE_TOTAL,
    DELEGATES_OFF_FORMULA,
    DUPLICATE_REPORT,
    FINAL_ABOVE_FIRST,
    IDENTICAL_RESULTS,
    NONVIABLE_AWARDED,
    ONE_DELEGATE_NO_MAJORITY,
    ONE_DELEGATE_NOT_PLURALITY,
    SDE_MISMATCH,
    TOO_MANY_VIABLE,
    VIABLE_GROUP_SHRANK,
    check_precinct,
    check_release,
)
from caucus.results import GroupResult, PrecinctResult
from caucus.rules import OneDelegateRule


def precinct(delegates, *groups, name="P1", ratio=None, satellite=False):
    """groups: (name, first, final, county_delegates[, sde])."""
    return PrecinctResult(
        county="Test",
        precinct=name,
        groups=tuple(GroupResult(*g) for g in groups),
        delegates_to_elect=delegates,
        is_satellite=satellite,
        sde_per_delegate=ratio,
    )


def rules_broken(result, one_delegate=OneDelegateRule.PLURALITY):
    return {f.check for f in check_precinct(result, one_delegate)}


CLEAN = precinct(5, ("A", 20, 22, 3), ("B", 12, 14, 2), ("C", 5, 0, 0))


def test_clean_precinct_has_no_findings():
    assert rules_broken(CLEAN) == set()


def test_check_ids_are_unique_and_explained():
    assert len({c.id for c in CHECKS}) == len(CHECKS)
    assert all(c.name and c.explanation.endswith(".") for c in CHECKS)


@pytest.mark.parametrize(
    ("check", "result"),
    [
        (FINAL_ABOVE_FIRST, precinct(3, ("A", 10, 12, 2), ("B", 8, 9, 1))),
        (VIABLE_GROUP_SHRANK, precinct(5, ("A", 20, 19, 3), ("B", 12, 16, 2), ("C", 5, 0, 0))),
        (DELEGATES_OFF_FORMULA, precinct(5, ("A", 20, 22, 2), ("B", 12, 14, 3), ("C", 5, 0, 0))),
        (DELEGATE_TOTAL, precinct(5, ("A", 20, 22, 3), ("B", 12, 14, 1), ("C", 5, 0, 0))),
        (NONVIABLE_AWARDED, precinct(4, ("A", 30, 33, 3), ("B", 5, 5, 1), ("C", 5, 0, 0))),
        (TOO_MANY_VIABLE, precinct(2, ("A", 10, 10, 1), ("B", 10, 10, 1), ("C", 10, 10, 0))),
        (ONE_DELEGATE_NOT_PLURALITY, precinct(1, ("A", 6, 6, 0), ("B", 4, 4, 1))),
        (SDE_MISMATCH, precinct(2, ("A", 10, 10, 1, 0.1), ("B", 10, 10, 1, 0.2), ratio=0.1)),
    ],
    ids=lambda v: v.id if hasattr(v, "id") else "",
)
def test_check_fires(check, result):
    findings = [f for f in check_precinct(result) if f.check == check]
    assert findings, f"{check.id} did not fire"
    assert all(f.precinct == "P1" and f.detail for f in findings)


@pytest.mark.parametrize(
    "check",
    [
        FINAL_ABOVE_FIRST,
        VIABLE_GROUP_SHRANK,
        DELEGATES_OFF_FORMULA,
        DELEGATE_TOTAL,
        NONVIABLE_AWARDED,
        TOO_MANY_VIABLE,
        ONE_DELEGATE_NOT_PLURALITY,
        SDE_MISMATCH,
    ],
    ids=lambda c: c.id,
)
def test_check_quiet_on_clean_results(check):
    clean = [
        CLEAN,
        precinct(1, ("A", 6, 6, 1), ("B", 4, 4, 0)),
        precinct(2, ("A", 10, 10, 1, 0.1), ("B", 10, 10, 1, 0.1), ratio=0.1),
    ]
    assert all(check not in rules_broken(r) for r in clean)


def test_a_legal_rule_6_realignment_is_not_flagged():
    # D=2, N=100, viability 25: A, B and C are viable for two seats, so C (the smallest) must
    # realign; its members join A or go home. Only the locked-in groups must not shrink.
    rule_6 = precinct(2, ("A", 40, 55, 1), ("B", 32, 32, 1), ("C", 28, 0, 0))
    assert rules_broken(rule_6) == set()
    b_shrank = precinct(2, ("A", 40, 57, 1), ("B", 32, 30, 1), ("C", 28, 0, 0))
    assert rules_broken(b_shrank) == {VIABLE_GROUP_SHRANK}
    c_stayed = precinct(2, ("A", 40, 40, 1), ("B", 32, 32, 1), ("C", 28, 28, 0))
    assert TOO_MANY_VIABLE in rules_broken(c_stayed)


def test_one_delegate_realignment_to_the_plurality_is_legal():
    moved = precinct(1, ("A", 5, 8, 0), ("B", 6, 6, 1), ("C", 4, 0, 0))
    assert rules_broken(moved) == {ONE_DELEGATE_NOT_PLURALITY}  # A leads after realignment
    right = precinct(1, ("A", 5, 8, 1), ("B", 6, 6, 0), ("C", 4, 0, 0))
    assert rules_broken(right) == set()


def test_findings_name_the_numbers():
    (finding,) = check_precinct(precinct(3, ("A", 10, 12, 2), ("B", 8, 9, 1)))
    assert finding.detail == "final total 21 > first total 18"


def test_coin_toss_outcomes_are_all_accepted():
    # D=5, N=25: 2.0 each and one left over; either group may hold the fifth delegate.
    for awards in ((3, 2), (2, 3)):
        result = precinct(5, ("A", 10, 10, awards[0]), ("B", 10, 10, awards[1]), ("C", 5, 0, 0))
        assert DELEGATES_OFF_FORMULA not in rules_broken(result)


def test_one_delegate_majority_reading():
    split = precinct(1, ("A", 5, 5, 1), ("B", 4, 4, 0), ("C", 1, 1, 0))
    assert rules_broken(split) == set()
    assert rules_broken(split, OneDelegateRule.MAJORITY) == {ONE_DELEGATE_NO_MAJORITY}
    majority = precinct(1, ("A", 6, 6, 1), ("B", 4, 4, 0))
    assert rules_broken(majority, OneDelegateRule.MAJORITY) == set()


def test_satellite_delegates_follow_attendance():
    # 25 attendees elect 5; viability 15% of 25 = 4: A 15 and B 10 locked in.
    satellite = precinct(None, ("A", 15, 14, None), ("B", 10, 11, None), satellite=True)
    assert satellite.electing == 5
    assert rules_broken(satellite) == {VIABLE_GROUP_SHRANK}


def test_duplicate_reports():
    assert {f.check for f in check_release([CLEAN, CLEAN])} == {DUPLICATE_REPORT}
    assert check_release([CLEAN]) == []


def test_identical_results_in_two_precincts():
    twin = precinct(5, ("A", 20, 22, 3), ("B", 12, 14, 2), ("C", 5, 0, 0), name="P2")
    findings = check_release([CLEAN, twin])
    assert [(f.check, f.precinct) for f in findings] == [(IDENTICAL_RESULTS, "P2")]
    different = precinct(5, ("A", 21, 22, 3), ("B", 11, 14, 2), ("C", 5, 0, 0), name="P3")
    assert check_release([CLEAN, different]) == []
    tiny = [precinct(2, ("A", 3, 3, 1), ("B", 2, 2, 1), name=n) for n in ("T1", "T2")]
    assert check_release(tiny) == []  # small precincts can match by chance
