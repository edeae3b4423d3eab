"""Results made with the caucus rules: a precinct's night, and results with a mistake.

Adapters turn a result into the bodies their API takes.

Every result is drawn from a ``random.Random`` seeded per precinct, so the chair, a hotline
operator and a re-run all build the same numbers for the same precinct.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace

from caucus.checks import check_precinct
from caucus.results import GroupResult, PrecinctResult
from caucus.rules import allocate_delegates, viable_groups

CANDIDATES = (
    "Biden",
    "Buttigieg",
    "Klobuchar",
    "Sanders",
    "Steyer",
    "Warren",
    "Yang",
    "Uncommitted",
)
ATTENDANCE_MEDIAN = 61
"""Iowa 2020: median first-alignment total of a precinct (DESIGN.md section 4)."""
ATTENDANCE_MAX = 860
MAX_DRAWS = 500
"""Draws before giving up on a legal result (never reached in practice)."""


@dataclass(frozen=True, slots=True)
class CaucusResult:
    """One precinct's night: attendance and, per group, first and final supporters, delegates."""

    precinct_id: str
    delegates_to_elect: int
    attendance: int
    groups: tuple[GroupResult, ...]

    def as_precinct_result(self) -> PrecinctResult:
        return PrecinctResult(
            county="",
            precinct=self.precinct_id,
            groups=self.groups,
            delegates_to_elect=self.delegates_to_elect,
            attendance=self.attendance,
        )


def precinct_rng(seed: int, precinct_id: str) -> random.Random:
    """The generator for one precinct's numbers under a run seed."""
    return random.Random(f"{seed}:{precinct_id}")


def legal_result(precinct_id: str, delegates: int, rng: random.Random) -> CaucusResult:
    """A result the caucus rules accept: first alignment, legal realignment, delegates."""
    for _ in range(MAX_DRAWS):
        attendance = min(
            ATTENDANCE_MAX, max(2, round(rng.lognormvariate(math.log(ATTENDANCE_MEDIAN), 0.9)))
        )
        names = rng.sample(CANDIDATES, rng.randint(2, min(6, attendance)))
        weights = [rng.gammavariate(1.5, 1.0) for _ in names]
        first = _split(attendance, weights, rng)
        first_aligned = dict(zip(names, first, strict=True))
        viable = viable_groups(first_aligned, delegates, attendance)
        if not viable:
            continue
        final = _realign(first_aligned, viable, rng)
        try:
            awarded = allocate_delegates(final, delegates, attendance).toss(rng)
        except ValueError:
            continue
        groups = tuple(
            GroupResult(n, first_aligned[n], final[n], awarded.get(n, 0))
            for n in names
            if first_aligned[n]
        )
        result = CaucusResult(precinct_id, delegates, attendance, groups)
        if not check_precinct(result.as_precinct_result()):
            return result
    raise RuntimeError(f"no legal result for {precinct_id} with {delegates} delegates")


def _split(total: int, weights: list[float], rng: random.Random) -> list[int]:
    """``total`` people spread over groups in proportion to ``weights`` (each group >= 0)."""
    scale = sum(weights)
    counts = [int(total * w / scale) for w in weights]
    for _ in range(total - sum(counts)):
        counts[rng.randrange(len(counts))] += 1
    return counts


def _realign(first: dict[str, int], viable: set[str], rng: random.Random) -> dict[str, int]:
    """Members of non-viable groups join a viable group (70%) or go home; viable groups stay."""
    final = {name: (n if name in viable else 0) for name, n in first.items()}
    ranked = sorted(viable)
    for name, n in first.items():
        if name in viable:
            continue
        for _ in range(n):
            if rng.random() < 0.7:
                final[rng.choice(ranked)] += 1
    return final


WRONG_KINDS = ("final-above-first", "viable-group-shrank", "delegate-total")
"""Mistakes chairs made in 2020, each caught by a rule in ``caucus.checks``."""


def wrong_result(result: CaucusResult, rng: random.Random) -> CaucusResult:
    """The final result with one 2020-style mistake: the service must refuse it."""
    groups = [[g.name, g.first, g.final or 0, g.county_delegates or 0] for g in result.groups]
    kind = rng.choice(WRONG_KINDS)
    top = max(groups, key=lambda g: g[2])
    if kind == "final-above-first":
        top[2] += sum(g[1] for g in groups) - sum(g[2] for g in groups) + 3
    elif kind == "viable-group-shrank":
        top[2] = max(0, top[1] - 2)
        top[3] += 0 if top[2] else -top[3]
    else:
        top[3] += 1
    wrong = replace(result, groups=tuple(GroupResult(*g) for g in groups))
    if not check_precinct(wrong.as_precinct_result()):  # e.g. one delegate: no group locked in
        top[3] += 1
        wrong = replace(result, groups=tuple(GroupResult(*g) for g in groups))
    return wrong
