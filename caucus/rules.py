"""The 2020 Iowa Democratic caucus rules as plain functions (DESIGN.md section 3).

D is the number of county delegates a precinct elects and N its attendance. All arithmetic is
exact: a group's share ``supporters * D / N`` is kept as a whole part and a remainder over N.
"""

from __future__ import annotations

import functools
import itertools
import random
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction


class OneDelegateRule(StrEnum):
    """How a one-delegate precinct is decided: the two readings of the 2020 rules."""

    PLURALITY = "plurality"  # the group with the most supporters after realignment
    MAJORITY = "majority"  # the app guide's "over 50%"


class TooManyViableGroups(ValueError):
    """More groups are viable than delegates to elect: the smallest ones must realign."""


class NoMajority(ValueError):
    """Under the majority reading, no group of a one-delegate precinct holds over half."""


@functools.lru_cache(maxsize=64)
def viability_threshold(delegates: int) -> Fraction | None:
    """Share of attendance a group needs to be viable; None for one-delegate precincts.

    Cached: a night asks for the same few thresholds thousands of times (a Fraction is
    immutable, so every caller may share it; the cache is bounded, whatever a file holds)."""
    if delegates < 1:
        raise ValueError(f"a precinct elects at least one delegate, not {delegates}")
    if delegates == 1:
        return None
    if delegates == 2:
        return Fraction(1, 4)
    if delegates == 3:
        return Fraction(1, 6)
    return Fraction(15, 100)


@functools.lru_cache(maxsize=64)
def _threshold_terms(delegates: int) -> tuple[int, int] | None:
    """The viability threshold as (numerator, denominator) ints; None when D = 1. Cached as
    :func:`viability_threshold` is: a Fraction's terms are properties, slow to read thousands
    of times a night."""
    threshold = viability_threshold(delegates)
    return None if threshold is None else (threshold.numerator, threshold.denominator)


def viability_number(delegates: int, attendance: int) -> int | None:
    """Fewest supporters a group needs to be viable: ceil(threshold x N); None when D = 1."""
    terms = _threshold_terms(delegates)
    if terms is None:
        return None
    return -(-terms[0] * attendance // terms[1])


def viable_groups(alignment: Mapping[str, int], delegates: int, attendance: int) -> set[str]:
    """Groups at or above the viability number (every group with supporters when D = 1)."""
    needed = max(viability_number(delegates, attendance) or 1, 1)
    return {group for group, n in alignment.items() if n >= needed}


def locked_groups(first: Mapping[str, int], delegates: int, attendance: int) -> set[str]:
    """Groups whose members are locked in after the first alignment (rules 2 and 6).

    The viable groups, less the smallest ones rule 6 sends to realign when more groups are
    viable than delegates. Groups tied at that cut may each have realigned (which of them did
    is not defined), so none of them is locked. One-delegate precincts lock no group: there is
    no threshold, and anyone may move before the plurality is counted.
    """
    if delegates < 2:
        return set()
    viable = viable_groups(first, delegates, attendance)
    if len(viable) <= delegates:
        return viable
    cut = sorted((first[g] for g in viable), reverse=True)[delegates]
    return {g for g in viable if first[g] > cut}


def realignment_problems(
    first: Mapping[str, int], final: Mapping[str, int], delegates: int, attendance: int
) -> list[str]:
    """Ways a realignment breaks the rules, each as a sentence with its numbers (empty: legal)."""
    problems = []
    first_total, final_total = sum(first.values()), sum(final.values())
    if final_total > first_total:
        problems.append(f"final total {final_total} exceeds first total {first_total}")
    for group in sorted(locked_groups(first, delegates, attendance)):
        if final.get(group, 0) < first[group]:
            problems.append(
                f"{group} was viable with {first[group]} but fell to {final.get(group, 0)}"
            )
    return problems


def is_legal_realignment(
    first: Mapping[str, int], final: Mapping[str, int], delegates: int, attendance: int
) -> bool:
    """True when the final alignment can follow from the first under the rules."""
    return not realignment_problems(first, final, delegates, attendance)


@dataclass(frozen=True, slots=True)
class Tie:
    """A coin toss: ``seats`` of ``groups`` (equal fractions) each get ``change`` delegates."""

    groups: tuple[str, ...]
    seats: int
    change: int


@dataclass(frozen=True, slots=True)
class Allocation:
    """Delegates per viable group, with the coin toss still to be made (if any)."""

    delegates: dict[str, int]
    tie: Tie | None = None

    def outcomes(self) -> list[dict[str, int]]:
        """Every allocation the coin toss can produce (one when there is no tie)."""
        if self.tie is None:
            return [dict(self.delegates)]
        return [
            self._with_winners(winners)
            for winners in itertools.combinations(self.tie.groups, self.tie.seats)
        ]

    def toss(self, rng: random.Random) -> dict[str, int]:
        """Decide the coin toss with a seeded generator and return the final allocation."""
        if self.tie is None:
            return dict(self.delegates)
        return self._with_winners(rng.sample(self.tie.groups, self.tie.seats))

    def _with_winners(self, winners: tuple[str, ...] | list[str]) -> dict[str, int]:
        assert self.tie is not None
        result = dict(self.delegates)
        for group in winners:
            result[group] = result.get(group, 0) + self.tie.change
        return {group: n for group, n in result.items() if n}


def allocate_delegates(
    final: Mapping[str, int],
    delegates: int,
    attendance: int,
    one_delegate: OneDelegateRule = OneDelegateRule.PLURALITY,
) -> Allocation:
    """Award D delegates to the viable groups of the final alignment (rules 4 to 6).

    Each viable group gets supporters x D / N rounded half up, and at least one. Too many
    awarded: one is taken from the group with the smallest fraction that was rounded up (never a
    group's only delegate; groups rounded down follow if that is not enough). Too few: one is
    given to the group with the largest fraction that was rounded down (then the others). Equal
    fractions where not every group can be adjusted are returned as a :class:`Tie`.
    """
    if attendance < 1:
        raise ValueError(f"attendance must be at least 1, not {attendance}")
    if delegates == 1:
        return _allocate_one(final, attendance, one_delegate)
    viable = sorted(viable_groups(final, delegates, attendance))
    if len(viable) > delegates:
        raise TooManyViableGroups(
            f"{len(viable)} groups are viable for {delegates} delegates: the smallest must realign"
        )
    if not viable:
        return Allocation({})
    awarded: dict[str, int] = {}
    remainder: dict[str, int] = {}
    rounded_up: set[str] = set()
    for g in viable:  # supporters x D / N: a whole part and a remainder over N
        whole, remainder[g] = divmod(final[g] * delegates, attendance)
        if 2 * remainder[g] >= attendance:
            rounded_up.add(g)
            whole += 1
        awarded[g] = max(whole, 1)
    # Remainders share the denominator N, so ordering by remainder is ordering by fraction.
    tie = None
    while tie is None and (gap := delegates - sum(awarded.values())) != 0:
        if gap < 0:
            ranked = sorted(
                ((g not in rounded_up, remainder[g]), g) for g in viable if awarded[g] > 1
            )
        else:
            ranked = sorted(((g in rounded_up, -remainder[g]), g) for g in viable)
        tie = _adjust(awarded, ranked, abs(gap), 1 if gap > 0 else -1)
    return Allocation(awarded, tie)


def _adjust(
    awarded: dict[str, int], ranked: list[tuple[tuple, str]], needed: int, change: int
) -> Tie | None:
    """Change the first ``needed`` groups of ``ranked`` (best first) by one delegate each.

    If groups with equal keys straddle the cut, those above it are changed and the rest is
    returned as a tie: which of the tied groups get the change is a coin toss.
    """
    if not ranked:
        raise ValueError("no group can give up a delegate")
    take = min(needed, len(ranked))
    if take < len(ranked) and ranked[take - 1][0] == ranked[take][0]:
        cut = ranked[take - 1][0]
        settled = [group for key, group in ranked[:take] if key != cut]
        tied = tuple(group for key, group in ranked if key == cut)
        for group in settled:
            awarded[group] += change
        return Tie(groups=tied, seats=take - len(settled), change=change)
    for _, group in ranked[:take]:
        awarded[group] += change
    return None


def _allocate_one(
    final: Mapping[str, int], attendance: int, one_delegate: OneDelegateRule
) -> Allocation:
    """A one-delegate precinct: the group with the most supporters wins (ties: coin toss)."""
    supporters = {g: n for g, n in final.items() if n > 0}
    if not supporters:
        return Allocation({})
    top = max(supporters.values())
    if one_delegate is OneDelegateRule.MAJORITY and 2 * top <= attendance:
        raise NoMajority(f"no group holds over half of {attendance}: the largest has {top}")
    leaders = tuple(sorted(g for g, n in supporters.items() if n == top))
    if len(leaders) == 1:
        return Allocation({leaders[0]: 1})
    return Allocation({}, Tie(groups=leaders, seats=1, change=1))


SATELLITE_DELEGATES = ((20, 4), (40, 5), (60, 6), (80, 7), (100, 8))
"""(attendance up to, delegates) for satellite caucuses; over 100 attendees elect 9."""


def satellite_delegates(attendance: int) -> int:
    """County delegates a satellite caucus elects by attendance (rule 8)."""
    if attendance < 1:
        raise ValueError(f"a satellite caucus needs at least one attendee, not {attendance}")
    for most, delegates in SATELLITE_DELEGATES:
        if attendance <= most:
            return delegates
    return 9


def state_delegate_equivalents(county_delegates: int, sde_per_delegate: float) -> float:
    """SDEs a group earns: county delegates x the county's fixed SDE-per-delegate ratio."""
    return county_delegates * sde_per_delegate
