"""`caucus plan`: the cheapest plan that meets a target in enough nights, and how sure that is.

A plan gives each lever (:class:`studies.levers.Lever`) one of its values. Every plan plays the
same nights (night i gets the seed derived from (scenario seed, i)), so plans are compared
night by night. A plan first plays a couple of nights, then more only while the interval
(Clopper-Pearson) of its share of nights meeting the target still holds the share asked for,
up to ``max_nights``: clear misses cost two nights, plans near the answer cost many.

The search assumes that more of a lever never hurts. One lever: bisection over its values, each
verdict screened in at most ``screen_nights`` nights, then the plans either side of the answer
settled in up to ``max_nights``. Several levers: plans in order of cost, each settled, until one
meets.
"""

from __future__ import annotations

import html
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.scenario import Scenario
from studies import plots
from studies.bands import share_interval
from studies.levers import Lever, point_label, value_text
from studies.run_folder import (
    html_figures,
    html_inputs,
    html_warnings,
    page,
    to_toml,
    write_csv,
    write_folder,
)
from studies.runner import run_nights
from studies.targets import Target

MEETS, FAILS = "meets", "fails"

Evaluate = Callable[[tuple[Any, ...], int, int], list[float]]
"""The target's figure in nights ``first`` .. ``first + count - 1`` of the plan giving the
levers these values: ``evaluate(values, first, count)``."""


@dataclass(frozen=True, slots=True)
class Plan:
    """The question: which values of ``levers`` make ``target`` met in at least ``share`` of
    nights, at least cost?"""

    levers: tuple[Lever, ...]
    target: Target
    share: float = 0.9
    """Share of nights that must meet the target (0.9: 9 nights out of 10)."""
    level: float = 0.95
    """Confidence level of the interval around a plan's share of nights."""
    max_nights: int = 40
    """Most nights any one plan plays."""
    screen_nights: int = 10
    """Most nights a plan plays while the bisection is still far from the answer."""
    batch: int = 2
    """Fewest nights played at once (the worker processes)."""

    def __post_init__(self) -> None:
        if not self.levers:
            raise ValueError("a plan needs at least one lever (--vary)")
        if not 0 < self.share <= 1 or not 0 < self.level < 1:
            raise ValueError("share must be in (0, 1] and level in (0, 1)")
        if min(self.max_nights, self.screen_nights, self.batch) < 1:
            raise ValueError("max_nights, screen_nights and batch must be at least 1")

    @property
    def plans(self) -> int:
        """How many plans the levers' values make."""
        return math.prod(len(lever.values) for lever in self.levers)


@dataclass
class Tried:
    """One plan tried: its lever values and each night's figure."""

    indices: tuple[int, ...]
    values: tuple[Any, ...]
    cost: float
    figures: list[float] = field(default_factory=list)
    met: list[bool] = field(default_factory=list)
    verdict: str = ""
    sure: bool = False
    """Whether the interval settled the verdict (else it rests on the share seen in
    ``max_nights`` nights)."""
    interval: tuple[float, float] = (0.0, 1.0)

    @property
    def nights(self) -> int:
        return len(self.figures)

    @property
    def share(self) -> float:
        return sum(self.met) / len(self.met) if self.met else math.nan

    def label(self, levers: tuple[Lever, ...]) -> str:
        return point_label([lever.key for lever in levers], self.values)


@dataclass
class PlanResult:
    """What the search found: every plan tried (in the order tried) and the cheapest that
    meets the target, if any."""

    plan: Plan
    tried: list[Tried]
    answer: Tried | None

    @property
    def nights(self) -> int:
        """Nights played in all."""
        return sum(t.nights for t in self.tried)

    def warnings(self) -> list[str]:
        """What makes the answer less sure than it reads."""
        plan, answer = self.plan, self.answer
        asked = f"{100 * plan.share:g}%"
        notes = []
        if answer is None:
            best = max(self.tried, key=lambda t: (t.share, t.cost), default=None)
            if best is not None:
                notes.append(
                    f"no plan in the ranges meets the target in {asked} of nights; the best "
                    f"tried ({best.label(plan.levers)}) met it in {_share_text(best)}"
                )
        elif not answer.sure:
            notes.append(
                f"the answer rests on {answer.nights} nights, too few to tell its share "
                f"{_share_text(answer)} from {asked}: more nights (--max-nights) would settle it"
            )
        surely_fail = [t.indices for t in self.tried if t.verdict == FAILS and t.sure]
        cheaper = [t for t in self.tried if answer is None or t.cost < answer.cost]
        for tried in cheaper:
            ruled_out = any(_dominates(fails, tried.indices) for fails in surely_fail)
            if tried.verdict == FAILS and not tried.sure and not ruled_out:
                notes.append(
                    f"{tried.label(plan.levers)} met the target in {_share_text(tried)} of "
                    f"{tried.nights} nights, not surely below {asked}: it might meet it"
                )
        for a, b in itertools.permutations(self.tried, 2):
            if a.verdict == MEETS and b.verdict == FAILS and _dominates(b.indices, a.indices):
                notes.append(
                    f"{b.label(plan.levers)} fails where the less capable {a.label(plan.levers)} "
                    "meets: more of a lever does not always help here, so the search may miss "
                    "the cheapest plan"
                )
                break
        return notes

    def text(self) -> str:
        """The answer, how sure it is, and every plan tried, as printed by `caucus plan`."""
        plan = self.plan
        head = [lever.key for lever in plan.levers]
        level = f"{100 * plan.level:g}%"
        rows = [[*head, "cost", "nights", "met", f"share [{level} interval]", "verdict"]]
        for t in sorted(self.tried, key=lambda t: (t.cost, t.indices)):
            verdict = t.verdict
            if not t.sure:
                verdict += " (screened)" if t.nights < plan.max_nights else " (unsure)"
            rows.append(
                [
                    *map(value_text, t.values),
                    f"{t.cost:g}",
                    str(t.nights),
                    str(sum(t.met)),
                    _share_text(t),
                    verdict,
                ]
            )
        widths = [max(len(row[i]) for row in rows) + 2 for i in range(len(rows[0]))]
        lines = [
            f"plan: {plan.target.text} in at least {100 * plan.share:g}% of nights",
            *(
                "".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
                for row in rows
            ),
            "",
        ]
        if self.answer:
            lines.append(
                f"answer: {self.answer.label(plan.levers)} (cost {self.answer.cost:g}): met in "
                f"{sum(self.answer.met)} of {self.answer.nights} nights, "
                f"{_share_text(self.answer)}"
            )
        else:
            lines.append("answer: none of the plans in the ranges")
        lines.append(
            f"nights played: {self.nights} over {len(self.tried)} plans (every plan of the "
            f"ranges at {plan.max_nights} nights each would be {plan.plans} x {plan.max_nights}"
            f" = {plan.plans * plan.max_nights})"
        )
        lines += [f"warning: {note}" for note in self.warnings()]
        return "\n".join(lines)


def search(
    plan: Plan, evaluate: Evaluate, report: Callable[[Tried], None] | None = None
) -> PlanResult:
    """Find the cheapest plan meeting the target in at least ``plan.share`` of nights;
    ``report`` hears of each verdict as it comes in."""
    return _Search(plan, evaluate, report).run()


class _Search:
    """The plans tried so far, and the two searches over them."""

    def __init__(self, plan: Plan, evaluate: Evaluate, report: Callable[[Tried], None] | None):
        self.plan, self.evaluate, self.report = plan, evaluate, report
        self.tried: dict[tuple[int, ...], Tried] = {}

    def run(self) -> PlanResult:
        answer = self.bisect() if len(self.plan.levers) == 1 else self.cheapest_first()
        return PlanResult(self.plan, list(self.tried.values()), answer)

    def decide(self, indices: tuple[int, ...], settle: bool) -> Tried:
        """The plan's verdict after at most ``screen_nights`` nights, or, to ``settle`` it,
        ``max_nights``."""
        plan = self.plan
        tried = self.tried.get(indices)
        if tried is None:
            values = tuple(lever.values[i] for lever, i in zip(plan.levers, indices, strict=True))
            tried = self.tried[indices] = Tried(indices, values, _cost(plan, indices))
        upto = plan.max_nights if settle else min(plan.screen_nights, plan.max_nights)
        if not tried.verdict or (not tried.sure and tried.nights < upto):
            _play(plan, tried, upto, self.evaluate)
            if self.report:
                self.report(tried)
        return tried

    def bisect(self) -> Tried | None:
        """One lever: bisection on verdicts screened in a few nights, then the two plans either
        side of the answer settled in up to ``max_nights``; if settling overturns a verdict,
        the bisection goes on from there."""
        count = len(self.plan.levers[0].values)
        failing, meeting = -1, count  # virtual ends: below the first value, beyond the last
        while True:
            while meeting - failing > 1:
                middle = (failing + meeting) // 2
                if self.decide((middle,), settle=False).verdict == MEETS:
                    meeting = middle
                else:
                    failing = middle
            if meeting < count and self.decide((meeting,), settle=True).verdict == FAILS:
                failing = meeting
                meeting = min(self._indices(MEETS, above=failing), default=count)
            elif failing >= 0 and self.decide((failing,), settle=True).verdict == MEETS:
                meeting = failing
                failing = max(self._indices(FAILS, below=meeting), default=-1)
            else:
                return self.tried[(meeting,)] if meeting < count else None

    def cheapest_first(self) -> Tried | None:
        """Several levers: plans in order of cost (the less capable first among equals), each
        settled; the first that meets is the answer. A plan less capable than another on every
        lever never costs more, so it has been tried before it: clear misses cost two
        nights each."""
        plan = self.plan
        ranges = [range(len(lever.values)) for lever in plan.levers]
        for indices in sorted(
            itertools.product(*ranges), key=lambda indices: (_cost(plan, indices), indices)
        ):
            if self.decide(indices, settle=True).verdict == MEETS:
                return self.tried[indices]
        return None

    def _indices(self, verdict: str, above: int = -1, below: int | None = None) -> list[int]:
        """Values of the one lever tried with this verdict, within (above, below)."""
        return [
            i
            for (i,), tried in self.tried.items()
            if tried.verdict == verdict and above < i and (below is None or i < below)
        ]


def _play(plan: Plan, tried: Tried, upto: int, evaluate: Evaluate) -> None:
    """Play more nights of one plan until its interval settles the verdict or it has played
    ``upto`` nights; then give the verdict (by the share seen, if the interval did not settle
    it)."""
    while True:
        count = _more_nights(plan, sum(tried.met), tried.nights, upto)
        if count:
            figures = evaluate(tried.values, tried.nights, count)
            tried.figures += figures
            tried.met += [plan.target.met(f) for f in figures]
        met, nights = sum(tried.met), tried.nights
        tried.interval = share_interval(met, nights, plan.level)
        surely_meets, surely_fails = tried.interval[0] >= plan.share, tried.interval[1] < plan.share
        if surely_meets or surely_fails or nights >= upto:
            tried.sure = surely_meets or surely_fails
            seen_meets = not surely_fails and met / nights >= plan.share
            tried.verdict = MEETS if surely_meets or seen_meets else FAILS
            return


def _more_nights(plan: Plan, met: int, nights: int, upto: int) -> int:
    """Nights to add: the fewest that would settle the verdict if they all went the way most
    nights so far went, at least ``batch``, at most what ``upto`` leaves; 0 once the verdict is
    settled."""
    left = upto - nights
    if nights:
        low, high = share_interval(met, nights, plan.level)
        if low >= plan.share or high < plan.share or left <= 0:
            return 0
    leaning_meets = nights > 0 and met / nights >= plan.share
    for more in range(1, left + 1):
        if leaning_meets:
            settled = share_interval(met + more, nights + more, plan.level)[0] >= plan.share
        else:
            settled = share_interval(met, nights + more, plan.level)[1] < plan.share
        if settled:
            return min(max(more, plan.batch), left)
    return left


def plan_scenario(
    scenario: Scenario,
    plan: Plan,
    workers: int = 1,
    report: Callable[[Tried], None] | None = None,
    cluster: str | None = None,
) -> PlanResult:
    """:func:`search` over variants of ``scenario``: each plan plays nights of the scenario with
    the levers' values set, night i with the seed derived from (scenario seed, i), in
    ``workers`` processes or on the Dask ``cluster``. Every value of every lever is checked
    first (:class:`sim.scenario.ScenarioError` names a bad one)."""
    keys = [lever.key for lever in plan.levers]
    for lever in plan.levers:
        for value in lever.values:
            scenario.with_overrides({lever.key: value})

    def evaluate(values: tuple[Any, ...], first: int, count: int) -> list[float]:
        variant = scenario.with_overrides(dict(zip(keys, values, strict=True)))
        return run_nights(
            variant.night,
            scenario.seed,
            count,
            plan.target,
            workers=min(workers, count),
            cluster=cluster,
            first=first,
        )

    return search(plan, evaluate, report)


def answer_scenario(result: PlanResult, scenario: Scenario) -> Scenario:
    """The scenario with the answer's values set (the scenario itself if there is none)."""
    if result.answer is None:
        return scenario
    keys = [lever.key for lever in result.plan.levers]
    return scenario.with_overrides(dict(zip(keys, result.answer.values, strict=True)))


def write_plan(result: PlanResult, scenario: Scenario, out: Path) -> Path:
    """A run folder: ``plan.txt`` as printed, ``plan.csv`` (each plan tried), ``nights.csv``
    (each night of each plan), ``chance.png`` (share of nights meeting the target against the
    levers), ``scenario.toml`` (the answer, runnable) and ``report.html``; returns the report."""
    plan = result.plan
    keys = [lever.key for lever in plan.levers]
    tried = sorted(result.tried, key=lambda t: t.indices)
    answer = answer_scenario(result, scenario)

    def write(folder: Path) -> None:
        (folder / "plan.txt").write_text(result.text() + "\n")
        (folder / "scenario.toml").write_text(to_toml(answer.table))
        write_csv(
            folder / "plan.csv",
            [*keys, "cost", "nights", "met", "share", "share_low", "share_high", "verdict", "sure"],
            (
                (*map(value_text, t.values), t.cost, t.nights, sum(t.met), *_shares(t))
                for t in tried
            ),
        )
        write_csv(
            folder / "nights.csv",
            [*keys, "night", "figure", "met"],
            (
                [*map(value_text, t.values), night, figure, met]
                for t in tried
                for night, (figure, met) in enumerate(zip(t.figures, t.met, strict=True))
            ),
        )
        chart = plots.share_met(
            keys,
            [t.values for t in tried],
            [(t.share, *t.interval) for t in tried],
            plan.target.text,
            plan.level,
            plan.share,
        )
        saved = plots.save(chart, folder / "chance.png")
        (folder / "report.html").write_text(
            page(
                f"Caucus Night: a plan for {scenario.name}",
                [
                    f"<p>{html.escape(scenario.description)}</p>",
                    html_warnings(result.warnings()),
                    f"<pre>{html.escape(result.text())}</pre>",
                    html_figures([("Share of nights meeting the target", saved)]),
                    html_inputs(answer),
                ],
            )
        )

    write_folder(out, write)
    return out / "report.html"


def _shares(tried: Tried) -> tuple[float, float, float, str, bool]:
    return tried.share, *tried.interval, tried.verdict, tried.sure


def _cost(plan: Plan, indices: tuple[int, ...]) -> float:
    return sum(lever.cost(i) for lever, i in zip(plan.levers, indices, strict=True))


def _dominates(stronger: tuple[int, ...], weaker: tuple[int, ...]) -> bool:
    """Whether plan ``stronger`` is at least as capable as ``weaker`` on every lever."""
    return all(s >= w for s, w in zip(stronger, weaker, strict=True))


def _share_text(tried: Tried) -> str:
    low, high = tried.interval
    return f"{100 * tried.share:.0f}% [{100 * low:.1f}, {100 * high:.1f}]"
