"""Reporting units before the night: attendance, delegates, caucus length, the true result, and
the result the chair will report (with a mistake, sometimes)."""

from __future__ import annotations

import bisect
import functools
import itertools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from caucus import (
    GroupResult,
    PrecinctResult,
    allocate_delegates,
    satellite_delegates,
    viable_groups,
)
from sim.config import MistakesConfig, PrecinctsConfig


@dataclass(frozen=True, slots=True)
class Precinct:
    """One reporting unit: ``caucus_end_min`` is when its worksheet is signed (minutes after
    7 pm); ``reported`` is what the chair will report, ``mistake`` the kind of error in it."""

    index: int
    county: str
    name: str
    is_satellite: bool
    attendance: int
    delegates: int
    caucus_end_min: float
    result: PrecinctResult
    reported: PrecinctResult
    mistake: str | None


@dataclass(slots=True)
class Attempt:
    """One try at getting the result to HQ: the channel, when it started and ended (minutes
    after 7 pm), and how it went (an app, hotline or delivery outcome)."""

    channel: str
    start_min: float
    end_min: float
    outcome: str


@dataclass(slots=True)
class PrecinctRecord:
    """What happened to one precinct's result during the night (times in minutes after 7 pm;
    None: did not happen before the night ended)."""

    precinct: Precinct
    has_app: bool
    attempts: list[Attempt] = field(default_factory=list)
    ready_min: float | None = None
    channel: str | None = None
    received_min: float | None = None
    received: PrecinctResult | None = None
    findings: tuple[str, ...] = ()
    verified_min: float | None = None
    published_min: float | None = None
    published: PrecinctResult | None = None
    publications: int = 0

    @property
    def status(self) -> str:
        """One of published, unpublished (arrived, not yet published) or never-arrived."""
        if self.published_min is not None:
            return "published"
        return "unpublished" if self.received_min is not None else "never-arrived"

    @property
    def first_attempt_min(self) -> float | None:
        return self.attempts[0].start_min if self.attempts else None

    @property
    def error_caught(self) -> bool:
        """The chair's mistake was flagged by HQ's checks (corrected or not)."""
        return self.precinct.mistake is not None and bool(self.findings)

    @property
    def error_published(self) -> bool:
        """A result differing from the caucus's true result was published."""
        return self.published is not None and self.published != self.precinct.result


def draw_precincts(
    config: PrecinctsConfig,
    mistakes: MistakesConfig,
    generator: np.random.Generator,
    rng: random.Random,
) -> list[Precinct]:
    """Every reporting unit of the night, regular precincts first, then satellites."""
    regular, satellites = config.regular, config.satellites
    attendance = np.concatenate(
        [
            _lognormal_counts(
                generator, config.attendance_median, config.attendance_sigma, regular
            ),
            _lognormal_counts(
                generator,
                config.satellite_attendance_median,
                config.satellite_attendance_sigma,
                satellites,
            ),
        ]
    ).clip(1, config.attendance_max)
    delegates = (
        (
            config.delegates_median
            * (attendance[:regular] / config.attendance_median)
            ** config.delegates_attendance_elasticity
            * generator.lognormal(0.0, config.delegates_sigma, regular)
        )
        .round()
        .clip(1, config.delegates_max)
    )
    length = (
        config.caucus_base_min + config.caucus_per_attendee_min * attendance
    ) * generator.lognormal(0.0, config.caucus_sigma, regular + satellites)
    length[regular:] += config.satellite_start_min
    shares = np.asarray(config.group_shares) / sum(config.group_shares)
    mix = generator.dirichlet(config.mix_concentration * shares, regular + satellites)
    first = generator.multinomial(attendance, mix)

    precincts = []
    for i, (n, counts, end_min) in enumerate(
        zip(attendance.tolist(), first.tolist(), length.tolist(), strict=True)
    ):
        is_satellite = i >= regular
        d = satellite_delegates(n) if is_satellite else int(delegates[i])
        county = "Satellite" if is_satellite else f"County {i % config.counties + 1:02d}"
        result = caucus(
            county,
            f"{'S' if is_satellite else 'P'}{i + 1:04d}",
            is_satellite,
            n,
            d,
            dict(zip(config.groups, counts, strict=True)),
            config.realign_join_share,
            rng,
        )
        mistake = _draw_mistake(mistakes, rng)
        reported = MISTAKES[mistake](result, rng) if mistake else None
        precincts.append(
            Precinct(
                index=i,
                county=county,
                name=result.precinct,
                is_satellite=is_satellite,
                attendance=n,
                delegates=d,
                caucus_end_min=end_min,
                result=result,
                reported=reported or result,
                mistake=mistake if reported else None,
            )
        )
    return precincts


def caucus(
    county: str,
    name: str,
    is_satellite: bool,
    attendance: int,
    delegates: int,
    first: dict[str, int],
    join_share: float,
    rng: random.Random,
) -> PrecinctResult:
    """Run one caucus by the rules: first alignment, one legal realignment, allocation.

    The groups that hold their members (:func:`_holding`) stay as they are; every other group
    realigns: about ``join_share`` of its members join one holding group together (a larger
    group is likelier to win them over), half of the others go home, the rest stay and count
    for nothing. If no group is viable, the smallest groups combine with the largest until one
    is. Coin tosses are drawn from ``rng``.
    """
    first = {g: n for g, n in first.items() if n}
    final = dict(first)
    holding = _holding(first, delegates, attendance, rng)
    if not holding:
        final = _combine_until_viable(final, delegates, attendance)
        holding = _holding(final, delegates, attendance, rng)
    targets = sorted(holding)
    # Each realigning group picks by the holding groups' sizes before anyone joined them.
    odds = list(itertools.accumulate(final[g] for g in targets))
    for group in [g for g in final if g not in holding]:
        joiners = round(final[group] * join_share)
        final[group] = (final[group] - joiners) // 2
        final[_pick(targets, odds, rng)] += joiners
    awarded = allocate_delegates(final, delegates, attendance).toss(rng)
    groups = tuple(
        _group(g, first[g], final.get(g, 0), awarded.get(g, 0))
        for g in sorted(first)  # realignment moves people between groups, it adds none
    )
    return PrecinctResult(
        county,
        name,
        groups,
        delegates_to_elect=delegates,
        is_satellite=is_satellite,
        attendance=attendance,
    )


@functools.lru_cache(maxsize=1 << 14)
def _group(name: str, first: int, final: int, delegates: int) -> GroupResult:
    """One group's result. A :class:`GroupResult` is immutable, so precincts with the same
    counts share one: a night's 10,400 groups hold some 3,500 different counts, and building
    one costs several times looking it up."""
    return GroupResult(name, first, final, delegates)


def _pick(targets: list[str], cum_weights: list[int], rng: random.Random) -> str:
    """One of ``targets``, with odds given as cumulative weights: the very draw of
    ``rng.choices(targets, cum_weights=cum_weights)[0]`` (one ``rng.random()``, the same
    bisection), without its checks and list, which cost five times the draw."""
    return targets[bisect.bisect(cum_weights, rng.random() * cum_weights[-1], 0, len(targets) - 1)]


def _holding(
    alignment: dict[str, int], delegates: int, attendance: int, rng: random.Random
) -> set[str]:
    """Groups that keep their members at realignment: the viable groups, or only the
    ``delegates`` largest of them when more are viable than seats (rule 6: the smallest must
    realign); in a one-delegate precinct, which has no threshold, the two largest groups, whose
    race for the plurality the others join. Groups tied at the cut: a coin toss."""
    if delegates == 1:
        keep, contenders = 2, set(alignment)
    else:
        keep, contenders = delegates, viable_groups(alignment, delegates, attendance)
    if len(contenders) <= keep:
        return contenders
    cut = sorted((alignment[g] for g in contenders), reverse=True)[keep - 1]
    sure = {g for g in contenders if alignment[g] > cut}
    tied = sorted(g for g in contenders if alignment[g] == cut)
    return sure | set(rng.sample(tied, keep - len(sure)))


def _combine_until_viable(
    alignment: dict[str, int], delegates: int, attendance: int
) -> dict[str, int]:
    """No group is viable: the smallest groups join the largest until it is."""
    combined = dict(alignment)
    while not viable_groups(combined, delegates, attendance) and len(combined) > 1:
        smallest = min(combined, key=lambda g: (combined[g], g))
        largest = max(combined, key=lambda g: (combined[g], g))
        combined[largest] += combined.pop(smallest)
    return combined


def _lognormal_counts(
    generator: np.random.Generator, median: float, sigma: float, size: int
) -> np.ndarray:
    return generator.lognormal(math.log(median), sigma, size).round().astype(np.int64)


def _draw_mistake(config: MistakesConfig, rng: random.Random) -> str | None:
    if rng.random() >= config.rate:
        return None
    return rng.choices(config.kinds, config.weights)[0]


def _with_groups(result: PrecinctResult, groups: list[GroupResult]) -> PrecinctResult:
    return replace(result, groups=tuple(groups))


def final_above_first(result: PrecinctResult, rng: random.Random) -> PrecinctResult:
    """Supporters added to a group's final count: more people at the end than at the start."""
    groups = list(result.groups)
    i = rng.randrange(len(groups))
    extra = result.first_total - result.final_total + rng.randint(1, 5)
    groups[i] = replace(groups[i], final=groups[i].final + extra)
    return _with_groups(result, groups)


def viable_group_shrank(result: PrecinctResult, rng: random.Random) -> PrecinctResult | None:
    """A viable group's final count written lower than its locked-in first count."""
    shrinkable = [i for i, g in enumerate(result.groups) if g.county_delegates and g.final > 1]
    if result.delegates_to_elect == 1 or not shrinkable:
        return None
    groups = list(result.groups)
    i = rng.choice(shrinkable)
    groups[i] = replace(groups[i], final=groups[i].final - rng.randint(1, groups[i].final // 2))
    return _with_groups(result, groups)


def wrong_rounding(result: PrecinctResult, rng: random.Random) -> PrecinctResult | None:
    """A delegate moved from one winning group to another (a rounding slip)."""
    winners = [i for i, g in enumerate(result.groups) if g.county_delegates]
    if len(winners) < 2:
        return None
    giver, taker = rng.sample(winners, 2)
    groups = list(result.groups)
    groups[giver] = replace(groups[giver], county_delegates=groups[giver].county_delegates - 1)
    groups[taker] = replace(groups[taker], county_delegates=groups[taker].county_delegates + 1)
    return _with_groups(result, groups)


def wrong_delegate_total(result: PrecinctResult, rng: random.Random) -> PrecinctResult:
    """One delegate too many awarded to a group."""
    groups = list(result.groups)
    i = rng.randrange(len(groups))
    groups[i] = replace(groups[i], county_delegates=(groups[i].county_delegates or 0) + 1)
    return _with_groups(result, groups)


def swapped_numbers(result: PrecinctResult, rng: random.Random) -> PrecinctResult | None:
    """Two groups' final counts written on each other's lines."""
    pairs = [
        (a, b)
        for a in range(len(result.groups))
        for b in range(a + 1, len(result.groups))
        if result.groups[a].final != result.groups[b].final
    ]
    if not pairs:
        return None
    a, b = rng.choice(pairs)
    groups = list(result.groups)
    groups[a], groups[b] = (
        replace(groups[a], final=groups[b].final),
        replace(groups[b], final=groups[a].final),
    )
    return _with_groups(result, groups)


def missing_number(result: PrecinctResult, rng: random.Random) -> PrecinctResult | None:
    """A group's final count left blank, entered as zero."""
    counted = [i for i, g in enumerate(result.groups) if g.final]
    if len(counted) < 2:
        return None
    groups = list(result.groups)
    i = rng.choice(counted)
    groups[i] = replace(groups[i], final=0)
    return _with_groups(result, groups)


MISTAKES: dict[str, Callable[[PrecinctResult, random.Random], PrecinctResult | None]] = {
    "final-above-first": final_above_first,
    "viable-group-shrank": viable_group_shrank,
    "wrong-rounding": wrong_rounding,
    "wrong-delegate-total": wrong_delegate_total,
    "swapped-numbers": swapped_numbers,
    "missing-number": missing_number,
}
"""Chair mistakes by kind; each returns the mistaken result, or None when the kind cannot
happen in this precinct (then the chair reports correctly)."""
