"""The 2020 caucus rules: hand-worked examples and invariants."""

import random
from fractions import Fraction

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from caucus.rules import (
    NoMajority,
    OneDelegateRule,
    Tie,
    TooManyViableGroups,
    allocate_delegates,
    is_legal_realignment,
    locked_groups,
    realignment_problems,
    satellite_delegates,
    state_delegate_equivalents,
    viability_number,
    viability_threshold,
    viable_groups,
)


@pytest.mark.parametrize(
    ("delegates", "threshold"),
    [
        (1, None),
        (2, Fraction(1, 4)),
        (3, Fraction(1, 6)),
        (4, Fraction(15, 100)),
        (36, Fraction(3, 20)),
    ],
)
def test_threshold_by_delegates(delegates, threshold):
    assert viability_threshold(delegates) == threshold


def test_threshold_needs_a_delegate():
    with pytest.raises(ValueError, match="at least one delegate"):
        viability_threshold(0)


@pytest.mark.parametrize(
    ("delegates", "attendance", "needed"),
    [
        (3, 5, 1),  # 5/6 rounds up to 1
        (2, 10, 3),  # 2.5 -> 3
        (2, 8, 2),  # exactly 2
        (4, 100, 15),  # exactly 15
        (4, 101, 16),  # 15.15 -> 16
        (3, 60, 10),  # exactly 10
        (1, 40, None),
    ],
)
def test_viability_number_rounds_up(delegates, attendance, needed):
    assert viability_number(delegates, attendance) == needed


def test_five_attendees_electing_three():
    # Threshold 1/6 of 5 = 0.83, viability number 1: every group with a supporter is viable.
    # Shares: A 3*3/5 = 1.8 -> 2, B 2*3/5 = 1.2 -> 1; total 3.
    assert viable_groups({"A": 3, "B": 2, "C": 0}, 3, 5) == {"A", "B"}
    allocation = allocate_delegates({"A": 3, "B": 2}, 3, 5)
    assert allocation.delegates == {"A": 2, "B": 1}
    assert allocation.tie is None


def test_round_half_up():
    # D=5, N=20, viability 3: A 10 -> 2.5 -> 3, B 6 -> 1.5 -> 2, C 2 not viable; total 5.
    allocation = allocate_delegates({"A": 10, "B": 6, "C": 2}, 5, 20)
    assert (allocation.delegates, allocation.tie) == ({"A": 3, "B": 2}, None)


def test_too_many_takes_from_smallest_rounded_up_fraction():
    # D=4, N=40, threshold 6: A 15 -> 1.5 -> 2, B 13 -> 1.3 -> 1, C 12 -> 1.2 -> 1: total 4.
    assert allocate_delegates({"A": 15, "B": 13, "C": 12}, 4, 40).delegates == {
        "A": 2,
        "B": 1,
        "C": 1,
    }
    # D=6, N=40: A 14 -> 2.1 -> 2, B 13 -> 1.95 -> 2, C 13 -> 1.95 -> 2 ... total 6, no change;
    # D=5, N=50: A 25 -> 2.5 -> 3, B 15 -> 1.5 -> 2, C 10 -> 1.0 -> 1: total 6, too many.
    # Rounded up: A (.5) and B (.5) tie on the smallest fraction: a coin toss takes one.
    allocation = allocate_delegates({"A": 25, "B": 15, "C": 10}, 5, 50)
    assert allocation.tie == Tie(groups=("A", "B"), seats=1, change=-1)
    assert sorted(map(sorted, (o.items() for o in allocation.outcomes()))) == [
        [("A", 2), ("B", 2), ("C", 1)],
        [("A", 3), ("B", 1), ("C", 1)],
    ]


def test_too_many_never_takes_an_only_delegate():
    # D=4, N=100, viability 15: A, B, C 15 -> 0.6 -> 1 each; D 55 -> 2.2 -> 2; total 5.
    # A, B and C hold their only delegate, so D (rounded down) gives one up.
    allocation = allocate_delegates({"A": 15, "B": 15, "C": 15, "D": 55}, 4, 100)
    assert allocation.delegates == {"A": 1, "B": 1, "C": 1, "D": 1}


def test_too_few_gives_to_largest_fraction_rounded_down():
    # D=6, N=50 (people left): A 20 -> 2.4 -> 2, B 14 -> 1.68 -> 2, C 8 -> 0.96 -> 1: total 5.
    # Rounded down: A (.4) gets the sixth delegate.
    assert allocate_delegates({"A": 20, "B": 14, "C": 8}, 6, 50).delegates == {
        "A": 3,
        "B": 2,
        "C": 1,
    }


def test_too_few_with_equal_fractions_is_a_tie():
    allocation = allocate_delegates({"A": 10, "B": 10}, 5, 25)  # 2.0 each, one left over
    assert allocation.tie == Tie(groups=("A", "B"), seats=1, change=1)
    assert allocation.delegates == {"A": 2, "B": 2}


def test_toss_is_decided_by_the_seeded_generator():
    allocation = allocate_delegates({"A": 10, "B": 10}, 5, 25)
    draws = {tuple(sorted(allocation.toss(random.Random(seed)).items())) for seed in range(20)}
    assert draws == {(("A", 3), ("B", 2)), (("A", 2), ("B", 3))}
    assert allocation.toss(random.Random(7)) == allocation.toss(random.Random(7))


def test_too_many_viable_groups_must_realign():
    with pytest.raises(TooManyViableGroups, match="3 groups are viable for 2"):
        allocate_delegates({"A": 10, "B": 10, "C": 10}, 2, 30)


def test_one_delegate_goes_to_the_plurality():
    assert allocate_delegates({"A": 4, "B": 3, "C": 3}, 1, 10).delegates == {"A": 1}
    tie = allocate_delegates({"A": 4, "B": 4, "C": 2}, 1, 10).tie
    assert tie == Tie(groups=("A", "B"), seats=1, change=1)


def test_one_delegate_majority_reading():
    majority = OneDelegateRule.MAJORITY
    assert allocate_delegates({"A": 6, "B": 4}, 1, 10, majority).delegates == {"A": 1}
    with pytest.raises(NoMajority, match="over half of 10"):
        allocate_delegates({"A": 5, "B": 4}, 1, 10, majority)


def test_nobody_viable_awards_nothing():
    assert allocate_delegates({"A": 1, "B": 1}, 4, 20).delegates == {}


@pytest.mark.parametrize(
    ("attendance", "delegates"),
    [(1, 4), (20, 4), (21, 5), (40, 5), (41, 6), (60, 6), (61, 7), (80, 7), (100, 8), (101, 9)],
)
def test_satellite_delegates_by_attendance(attendance, delegates):
    assert satellite_delegates(attendance) == delegates


def test_sde_is_delegates_times_county_ratio():
    assert state_delegate_equivalents(3, 0.0784313725) == pytest.approx(0.2353, abs=1e-4)


def test_realignment_rules():
    first = {"A": 20, "B": 5, "C": 15}  # D=4, N=40, viability 6: A and C viable
    assert is_legal_realignment(first, {"A": 23, "B": 0, "C": 17}, 4, 40)
    assert realignment_problems(first, {"A": 19, "B": 0, "C": 20}, 4, 40) == [
        "A was viable with 20 but fell to 19"
    ]
    assert realignment_problems(first, {"A": 25, "B": 0, "C": 16}, 4, 40) == [
        "final total 41 exceeds first total 40"
    ]


def test_rule_6_unlocks_the_smallest_viable_groups():
    first = {"A": 40, "B": 32, "C": 28}  # D=2, N=100, viability 25: three viable for two seats
    assert locked_groups(first, 2, 100) == {"A", "B"}
    assert is_legal_realignment(first, {"A": 55, "B": 32, "C": 0}, 2, 100)
    assert realignment_problems(first, {"A": 55, "B": 30, "C": 0}, 2, 100) == [
        "B was viable with 32 but fell to 30"
    ]
    tied = {"A": 40, "B": 30, "C": 30}  # which of B and C realigned is not defined
    assert locked_groups(tied, 2, 100) == {"A"}
    assert is_legal_realignment(tied, {"A": 40, "B": 45, "C": 0}, 2, 100)
    assert locked_groups({"A": 6, "B": 4}, 1, 10) == set()  # one delegate: anyone may move
    assert locked_groups({"A": 20, "B": 5, "C": 15}, 4, 40) == {"A", "C"}


alignments = st.dictionaries(
    st.sampled_from("ABCDEFG"), st.integers(min_value=0, max_value=300), min_size=1
)


@given(final=alignments, delegates=st.integers(2, 24), absent=st.integers(0, 60))
def test_allocation_invariants(final, delegates, absent):
    attendance = sum(final.values()) + absent
    assume(attendance > 0)
    try:
        allocation = allocate_delegates(final, delegates, attendance)
    except TooManyViableGroups:
        assume(False)
    viable = viable_groups(final, delegates, attendance)
    for outcome in allocation.outcomes():
        if viable:
            assert sum(outcome.values()) == delegates
        assert set(outcome) == viable
        assert all(outcome[g] >= 1 for g in viable)
        for a in viable:
            for b in viable:
                if final[a] > final[b]:
                    assert outcome[a] >= outcome[b], (a, b)
    if allocation.tie is None and viable:
        assert sum(allocation.delegates.values()) == delegates


@given(final=alignments)
def test_one_delegate_invariants(final):
    attendance = sum(final.values())
    assume(attendance > 0)
    allocation = allocate_delegates(final, 1, attendance)
    top = max(final.values())
    for outcome in allocation.outcomes():
        assert sum(outcome.values()) == 1
        (winner,) = outcome
        assert final[winner] == top


@given(
    first=alignments,
    moves=st.lists(st.tuples(st.sampled_from("ABCDEFG"), st.integers(0, 50)), max_size=5),
    delegates=st.integers(1, 12),
)
def test_moving_non_viable_supporters_is_legal(first, moves, delegates):
    """Realignment that only moves members of non-viable groups never breaks the rules."""
    attendance = sum(first.values())
    assume(attendance > 0)
    final = {g: first.get(g, 0) for g in set(first) | {g for g, _ in moves}}
    locked = viable_groups(first, delegates, attendance) if delegates >= 2 else set(first)
    for group, n in moves:
        donors = [g for g in sorted(final) if g not in locked and final[g] > 0]
        if donors:
            taken = min(n, final[donors[0]])
            final[donors[0]] -= taken
            final[group] += taken
    assert is_legal_realignment({g: first.get(g, 0) for g in final}, final, delegates, attendance)
