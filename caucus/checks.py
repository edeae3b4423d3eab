"""Integrity checks on reported results: each rule has a stable id, a name and an explanation.

A :class:`Finding` names the reporting unit, the rule and the numbers that break it. Checks on a
single unit are functions ``PrecinctResult -> list[str]`` (one detail per breach); checks across
units look at the whole release.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from caucus.results import PrecinctResult
from caucus.rules import (
    NoMajority,
    OneDelegateRule,
    TooManyViableGroups,
    allocate_delegates,
    locked_groups,
    viability_number,
    viable_groups,
)


@dataclass(frozen=True, slots=True)
class Check:
    """One integrity rule."""

    id: str
    name: str
    explanation: str


@dataclass(frozen=True, slots=True)
class Finding:
    """One breach of one rule by one reporting unit; ``line`` is the file line when known."""

    check: Check
    county: str
    precinct: str
    detail: str
    line: int | None = None


FINAL_ABOVE_FIRST = Check(
    "final-above-first",
    "Final total above first total",
    "Realignment cannot add people: the final alignment total exceeds the first.",
)
VIABLE_GROUP_SHRANK = Check(
    "viable-group-shrank",
    "A viable group lost supporters",
    "Members of a group viable in the first alignment are locked in (unless rule 6 sent it to "
    "realign), yet its count fell.",
)
DELEGATES_OFF_FORMULA = Check(
    "delegates-off-formula",
    "Delegates do not match the formula",
    "Awards differ from supporters x D / N with the rounding rules under every coin-toss outcome.",
)
DELEGATE_TOTAL = Check(
    "delegate-total",
    "Delegates awarded differ from delegates to elect",
    "The groups' county delegates do not add up to what the precinct elects.",
)
NONVIABLE_AWARDED = Check(
    "nonviable-awarded",
    "A non-viable group won delegates",
    "A group below the viability number in the final alignment was awarded delegates.",
)
TOO_MANY_VIABLE = Check(
    "too-many-viable",
    "More viable groups than delegates",
    "The smallest viable groups should have realigned: more groups are viable than seats.",
)
ONE_DELEGATE_NOT_PLURALITY = Check(
    "one-delegate-not-plurality",
    "One-delegate precinct not given to the plurality",
    "A one-delegate precinct's delegate must go to the group with the most final supporters.",
)
ONE_DELEGATE_NO_MAJORITY = Check(
    "one-delegate-no-majority",
    "One-delegate precinct without a majority",
    "Under the 'over 50%' reading, the winner of a one-delegate precinct needs a majority.",
)
SDE_MISMATCH = Check(
    "sde-mismatch",
    "SDEs do not match county delegates",
    "A group's SDEs differ from its county delegates x the county's SDE ratio.",
)
MISSING_FIELD = Check(
    "missing-field",
    "Missing or empty field",
    "A value the result needs is absent or empty.",
)
BAD_COUNT = Check(
    "bad-count",
    "Negative or non-integer count",
    "Supporters and delegates are whole numbers of zero or more.",
)
CONFLICTING_FIELDS = Check(
    "conflicting-fields",
    "Conflicting precinct fields",
    "Rows of one precinct disagree on a per-precinct value (satellite, delegates, SDE ratio).",
)
DUPLICATE_REPORT = Check(
    "duplicate-report",
    "Duplicate report",
    "The same precinct (or the same group within it) is reported more than once.",
)
IDENTICAL_RESULTS = Check(
    "identical-results",
    "Identical results in two precincts",
    "Two different precincts report exactly the same alignments: likely a copy or swap.",
)

CHECKS: tuple[Check, ...] = (
    FINAL_ABOVE_FIRST,
    VIABLE_GROUP_SHRANK,
    DELEGATES_OFF_FORMULA,
    DELEGATE_TOTAL,
    NONVIABLE_AWARDED,
    TOO_MANY_VIABLE,
    ONE_DELEGATE_NOT_PLURALITY,
    ONE_DELEGATE_NO_MAJORITY,
    SDE_MISMATCH,
    MISSING_FIELD,
    BAD_COUNT,
    CONFLICTING_FIELDS,
    DUPLICATE_REPORT,
    IDENTICAL_RESULTS,
)
"""Every rule, in the order reports list them."""

SDE_TOLERANCE = 0.00051
"""Published SDEs are rounded to 4 decimals; a difference beyond half a unit of that is real."""

IDENTICAL_MIN_SUPPORTERS = 10
"""Precincts with fewer first-alignment supporters can match by chance; they are not compared."""


def final_above_first(result: PrecinctResult) -> list[str]:
    if result.final_total > result.first_total:
        return [f"final total {result.final_total} > first total {result.first_total}"]
    return []


def viable_group_shrank(result: PrecinctResult) -> list[str]:
    """A locked-in group lost supporters; the smallest viable groups that rule 6 sends to
    realign (more viable groups than delegates) are not locked in and may shrink."""
    delegates = result.electing
    if not delegates or delegates < 2 or result.headcount < 1:
        return []
    first = result.first_alignment()
    final = result.final_alignment()
    return [
        f"{group} viable in first alignment with {first[group]} fell to {final[group]}"
        for group in sorted(locked_groups(first, delegates, result.headcount))
        if final[group] < first[group]
    ]


def delegate_total(result: PrecinctResult) -> list[str]:
    awarded, delegates = result.awarded(), result.delegates_to_elect
    if awarded is None or delegates is None or sum(awarded.values()) == delegates:
        return []
    return [f"{sum(awarded.values())} delegates awarded, precinct elects {delegates}"]


def nonviable_awarded(result: PrecinctResult) -> list[str]:
    awarded, delegates = result.awarded(), result.delegates_to_elect
    if awarded is None or not delegates or delegates < 2 or result.headcount < 1:
        return []
    final = result.final_alignment()
    viable = viable_groups(final, delegates, result.headcount)
    needed = viability_number(delegates, result.headcount)
    return [
        f"{group} has {final[group]} < viability number {needed} but won {n}"
        for group, n in sorted(awarded.items())
        if group not in viable
    ]


def sde_mismatch(result: PrecinctResult) -> list[str]:
    ratio = result.sde_per_delegate
    if ratio is None:
        return []
    return [
        f"{g.name}: {g.sde} SDE for {g.county_delegates} delegates x {ratio}"
        for g in result.groups
        if g.sde is not None
        and g.county_delegates is not None
        and abs(g.sde - g.county_delegates * ratio) > SDE_TOLERANCE
    ]


def allocation_findings(
    result: PrecinctResult, one_delegate: OneDelegateRule
) -> list[tuple[Check, str]]:
    """Rules that recompute the allocation: formula, too many viable, one-delegate readings."""
    awarded, delegates = result.awarded(), result.delegates_to_elect
    if awarded is None or not delegates or result.headcount < 1:
        return []
    try:
        allocation = allocate_delegates(
            result.final_alignment(), delegates, result.headcount, one_delegate
        )
    except TooManyViableGroups as breach:
        return [(TOO_MANY_VIABLE, str(breach))]
    except NoMajority as breach:
        return [(ONE_DELEGATE_NO_MAJORITY, str(breach))]
    outcomes = allocation.outcomes()
    if awarded in outcomes:
        return []
    expected = " or ".join(_format_awards(o) for o in outcomes)
    one_seat = delegates == 1 and sum(awarded.values()) == 1
    rule = ONE_DELEGATE_NOT_PLURALITY if one_seat else DELEGATES_OFF_FORMULA
    return [(rule, f"awarded {_format_awards(awarded)}; the rules give {expected}")]


def _format_awards(awards: dict[str, int]) -> str:
    return "{" + ", ".join(f"{g} {n}" for g, n in sorted(awards.items())) + "}" if awards else "{}"


SINGLE_UNIT_CHECKS: tuple[tuple[Check, Callable[[PrecinctResult], list[str]]], ...] = (
    (FINAL_ABOVE_FIRST, final_above_first),
    (VIABLE_GROUP_SHRANK, viable_group_shrank),
    (DELEGATE_TOTAL, delegate_total),
    (NONVIABLE_AWARDED, nonviable_awarded),
    (SDE_MISMATCH, sde_mismatch),
)


def check_precinct(
    result: PrecinctResult, one_delegate: OneDelegateRule = OneDelegateRule.PLURALITY
) -> list[Finding]:
    """Every single-unit rule this result breaks."""
    findings = [
        Finding(check, result.county, result.precinct, detail)
        for check, rule in SINGLE_UNIT_CHECKS
        for detail in rule(result)
    ]
    findings += [
        Finding(check, result.county, result.precinct, detail)
        for check, detail in allocation_findings(result, one_delegate)
    ]
    return findings


def identical_results(results: Iterable[PrecinctResult]) -> list[Finding]:
    """Pairs of different precincts with the same non-trivial alignments."""
    seen: dict[tuple, PrecinctResult] = {}
    findings = []
    for result in results:
        if result.first_total < IDENTICAL_MIN_SUPPORTERS:
            continue
        signature = tuple(sorted((g.name, g.first, g.final) for g in result.groups if g.first))
        if signature in seen and seen[signature].key != result.key:
            other = seen[signature]
            findings.append(
                Finding(
                    IDENTICAL_RESULTS,
                    result.county,
                    result.precinct,
                    f"same alignments as {other.county} / {other.precinct}",
                )
            )
        seen.setdefault(signature, result)
    return findings


def duplicate_reports(results: Iterable[PrecinctResult]) -> list[Finding]:
    """Reporting units that appear more than once."""
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for result in results:
        counts[result.key] += 1
    return [
        Finding(DUPLICATE_REPORT, county, precinct, f"reported {n} times")
        for (county, precinct), n in counts.items()
        if n > 1
    ]


def check_release(
    results: Iterable[PrecinctResult], one_delegate: OneDelegateRule = OneDelegateRule.PLURALITY
) -> list[Finding]:
    """Every finding for a whole release: each unit's rules, then the cross-unit rules."""
    results = list(results)
    findings = [f for result in results for f in check_precinct(result, one_delegate)]
    return findings + duplicate_reports(results) + identical_results(results)
