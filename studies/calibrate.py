"""Fitting a scenario's unknowns to its public record (`caucus calibrate`).

The scenario's ``[facts]`` stay as stated; each key of its ``[calibrate]`` table is searched
within its range by optuna's TPE sampler (ask and tell, seeded). Every candidate plays the same
nights (the scenario seed's nights 0 .. n-1: common random numbers), each reduced in its worker
to what the fit reads (:class:`NightFit`), and is scored by its distance to the record: the root
mean square of the misses of every figure the record states (:func:`fit_terms`), scaled so that
a figure the fit tests do not accept misses by more than 1. Times are minutes after 7 pm.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from caucus import check_precinct
from caucus.checks import FINAL_ABOVE_FIRST
from sim.clock import CLOCK_TOLERANCE_MIN
from sim.hotline import REPORT
from sim.night import Night
from sim.scenario import Scenario, ScenarioError, Unknown
from studies.bands import band
from studies.public_record import RECORDS, CountTarget, HoldReport, Record, ReleasePoint
from studies.run_folder import to_toml
from studies.runner import run_nights, share_by

RELEASE_TOLERANCE_PP = 5.0
"""A release share within this many percentage points of the record is met (miss 1 at the
edge)."""
COUNT_TOLERANCE = 0.25
"""An "about" count is met within this share of the stated count (miss 1 at the edge); a bound
not met misses by 1 plus the shortfall in these shares."""
HOLD_TOLERANCE = 1.5
"""A hold report not met misses by 1, plus 1 for each factor of this the holds are off by."""
HOLD_MARGIN = 0.15
"""An "at least" hold met by less than this share still misses a little (under 1): a fit found
on a few nights keeps room for the noise of others."""
HOLD_WINDOW_MIN = 15.0
"""Chairs' holds that ended within this many minutes of a hold report's time are compared."""
MIN_HOLDS = 20
"""Fewer holds than this near a report's time (over all nights) cannot judge it."""
NO_DATA_MISS = 5.0
"""Miss of a figure the simulated nights never produced (nothing happened is not a fit)."""
NEAR_BEST = 0.1
"""Trials within this much of the best distance fit nearly as well (a tenth of the tolerance,
about the noise of a handful of nights)."""
MIN_NEAR_BEST = 5
"""Fewer near-best trials than this cannot say what the record pins down."""
PINNED_SHARE = 0.3
"""An unknown whose near-best values span less than this share of its range (log scale for
wide ranges) is pinned down by the record; otherwise the record leaves it open."""
DEFAULT_NIGHTS = 8
"""Nights per candidate unless told otherwise."""


@dataclass(frozen=True)
class NightFit:
    """What the fit reads of one night, per reporting unit and per chairs' held call."""

    published_min: np.ndarray
    """When each unit was published (NaN: never)."""
    received_min: np.ndarray
    """When each unit's result reached HQ (NaN: never)."""
    mailed: np.ndarray
    """Whether the result came by mail."""
    inconsistent: np.ndarray
    """Whether the published result breaks a caucus rule (any check)."""
    final_above_first: np.ndarray
    """Whether the published result has more final than first supporters."""
    hold_end_min: np.ndarray
    """When each of the chairs' holds ended (answered or hung up)."""
    hold_min: np.ndarray
    """How long each hold lasted (minutes)."""

    @property
    def units(self) -> int:
        return len(self.published_min)


def night_fit(night: Night, index: int) -> NightFit:
    """Reduce a night to a :class:`NightFit` (module level: it runs in the workers)."""
    records = night.records

    def times(attribute: str) -> np.ndarray:
        values = (getattr(r, attribute) for r in records)
        return np.array([math.nan if t is None else t for t in values], dtype=float)

    # Only a chair's mistake can break a rule: true results pass every check.
    broken = [
        {f.check for f in check_precinct(r.published)}
        if r.published is not None and r.precinct.mistake
        else set()
        for r in records
    ]
    holds = [
        (c.placed_min + c.wait_min, c.wait_min)
        for c in night.calls
        if c.kind == REPORT and c.wait_min is not None
    ]
    ends, waits = np.array(holds, dtype=float).reshape(-1, 2).T
    return NightFit(
        published_min=times("published_min"),
        received_min=times("received_min"),
        mailed=np.array([r.channel == "mail" for r in records]),
        inconsistent=np.array([bool(b) for b in broken]),
        final_above_first=np.array([FINAL_ABOVE_FIRST in b for b in broken]),
        hold_end_min=ends,
        hold_min=waits,
    )


def _by(times: np.ndarray, minute: float) -> np.ndarray:
    """Which units' time is at or before ``minute`` (a release at exactly ``minute`` counts)."""
    return times <= minute + CLOCK_TOLERANCE_MIN


MEASURES: dict[str, Callable[[NightFit, float], float]] = {
    "unpublished": lambda f, m: float(np.sum(~_by(f.published_min, m))),
    "unpublished_received": lambda f, m: float(
        np.sum(~_by(f.published_min, m) & _by(f.received_min, m))
    ),
    "unpublished_mailed": lambda f, m: float(np.sum(~_by(f.published_min, m) & f.mailed)),
    "published_inconsistent": lambda f, m: float(np.sum(_by(f.published_min, m) & f.inconsistent)),
    "published_final_above_first": lambda f, m: float(
        np.sum(_by(f.published_min, m) & f.final_above_first)
    ),
}
"""What a :class:`CountTarget` counts in a night, at minute m."""


@dataclass(frozen=True)
class Term:
    """One figure of the record against the simulated nights: ``met`` is the fit tests'
    verdict; ``miss`` is 0 for a perfect fit and over 1 exactly when the figure is not met
    (release shares and "about" counts: the distance in tolerances; bounds: 0 when met)."""

    label: str
    record: str
    simulated: str
    miss: float
    met: bool


def fit_terms(record: Record, fits: list[NightFit]) -> list[Term]:
    """Every figure of ``record`` against the nights ``fits``: release shares at the exact
    times, chairs' hold reports with their bounds, and counted outcomes."""
    return (
        [_release_term(point, fits) for point in record.releases]
        + [_hold_term(report, fits) for report in record.holds]
        + [_count_term(target, fits) for target in record.counts]
    )


def distance(terms: list[Term]) -> float:
    """Root mean square miss: 1 when every figure sits at the edge of its tolerance."""
    return math.sqrt(sum(t.miss**2 for t in terms) / len(terms))


def _release_term(point: ReleasePoint, fits: list[NightFit]) -> Term:
    shares = band([100 * share_by(np.sort(f.published_min), f.units, point.minute) for f in fits])
    off = shares.mean - point.percent_published
    bound = " (by)" if point.bound == "by" else ""
    return Term(
        f"% published at {point.hours:.2f} h",
        f"{point.percent_published:g}{bound}",
        shares.format(),
        abs(off) / RELEASE_TOLERANCE_PP,
        abs(off) <= RELEASE_TOLERANCE_PP,
    )


def _hold_term(report: HoldReport, fits: list[NightFit]) -> Term:
    near = np.concatenate(
        [f.hold_min[np.abs(f.hold_end_min - report.minute) <= HOLD_WINDOW_MIN] for f in fits]
    )
    label = f"chairs' hold ending near {report.hours:.2f} h (min)"
    shown = f"{report.hold_minutes:g} ({report.bound.replace('_', ' ')})"
    if len(near) < MIN_HOLDS:
        return Term(label, shown, f"{len(near)} holds", NO_DATA_MISS, False)
    p10, p90, longest = (*np.percentile(near, [10, 90]).tolist(), float(near.max()))
    value = report.hold_minutes
    ratio = lambda a, b: math.log((a + 1) / (b + 1))  # noqa: E731 (holds may be 0 minutes)
    if report.bound == "at_least":  # a chair waited at least this: the 90th percentile did too
        met, off = p90 >= value, ratio(value, p90)
    else:  # one chair's hold: between the 10th percentile and the longest
        met, off = p10 <= value <= longest, max(ratio(p10, value), ratio(value, longest))
    if met:
        margin = ratio(value * (1 + HOLD_MARGIN), p90) if report.bound == "at_least" else 0.0
        miss = max(margin, 0.0) / math.log(HOLD_TOLERANCE)
    else:
        miss = min(1 + max(off, 0.0) / math.log(HOLD_TOLERANCE), NO_DATA_MISS)
    return Term(label, shown, f"p10 {p10:.0f}, p90 {p90:.0f}, max {longest:.0f}", miss, met)


def _count_term(target: CountTarget, fits: list[NightFit]) -> Term:
    counted = band([MEASURES[target.measure](f, target.minute) for f in fits])
    value, mean = target.count, counted.mean
    scale = COUNT_TOLERANCE * max(value, 4)
    if target.bound == "about":
        miss, met = abs(mean - value) / scale, abs(mean - value) <= scale
    else:  # more_than, at_least: one-sided
        met = mean > value if target.bound == "more_than" else mean >= value
        miss = 0.0 if met else 1 + (value - mean) / scale
    label = f"{target.measure.replace('_', ' ')} at {target.hours:.2f} h (units)"
    words = {"about": "about", "more_than": "more than", "at_least": "at least"}
    return Term(label, f"{words[target.bound]} {value:g}", counted.format(), miss, met)


@dataclass(frozen=True)
class Trial:
    """One candidate: the unknowns' values and its distance to the record."""

    number: int
    values: dict[str, float]
    distance: float
    missed: int = 0
    """Figures of the record this candidate does not meet."""


@dataclass(frozen=True)
class Spread:
    """How far the near-best trials range over one unknown."""

    unknown: Unknown
    best: float
    low: float
    high: float
    share: float
    """Share of the unknown's range the near-best values span (log scale for wide ranges)."""
    candidates: int
    """Near-best trials the spread is taken over."""

    @property
    def verdict(self) -> str:
        """pinned, open (with the share of the range), or too few candidates to say."""
        if self.candidates < MIN_NEAR_BEST:
            return "too few near-best candidates to say"
        return "pinned" if self.share < PINNED_SHARE else f"open ({self.share:.0%} of range)"


@dataclass(frozen=True)
class Calibration:
    """The outcome of a calibration: every trial, the best, its fit, the calibrated scenario."""

    base: Scenario
    record: Record
    scenario: Scenario
    """The scenario with the best values set."""
    trials: list[Trial]
    best: Trial
    terms: list[Term]
    """The best candidate's fit to the record."""
    nights: int
    seed: int
    start: Trial | None = None
    """The scenario's own values, tried first (None when they lie outside the ranges)."""
    command: str = ""

    def near_best(self) -> list[Trial]:
        """Candidates that fit nearly as well as the best: those meeting every figure of the
        record, when any does; else those within :data:`NEAR_BEST` of the best distance."""
        fitting = [t for t in self.trials if not t.missed]
        return fitting or [t for t in self.trials if t.distance <= self.best.distance + NEAR_BEST]

    @property
    def held(self) -> list[str]:
        """The base's unknowns this calibration did not fit (``only``): held at their values."""
        return [key for key in self.base.unknowns if key not in self.best.values]

    def spreads(self) -> list[Spread]:
        near = self.near_best()
        spreads = []
        for key in self.best.values:
            unknown = self.base.unknowns[key]
            values = [t.values[key] for t in near]
            position = _scale(unknown)
            share = (position(max(values)) - position(min(values))) / (
                position(unknown.high) - position(unknown.low)
            )
            best = self.best.values[key]
            spreads.append(Spread(unknown, best, min(values), max(values), share, len(near)))
        return spreads


def _log_scaled(unknown: Unknown) -> bool:
    """Ranges spanning a factor of 10 or more are searched and compared on a log scale."""
    return unknown.low > 0 and unknown.high / unknown.low >= 10


def _scale(unknown: Unknown) -> Callable[[float], float]:
    return math.log if _log_scaled(unknown) else float


def calibrate(
    scenario: Scenario,
    budget: int,
    nights: int = DEFAULT_NIGHTS,
    workers: int = 1,
    seed: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    command: str = "",
    record: Record | None = None,
    try_given: bool = True,
    cluster: str | None = None,
    only: Sequence[str] | None = None,
) -> Calibration:
    """Fit ``scenario``'s unknowns to its record (or ``record``) with ``budget`` candidates of
    ``nights`` nights each (the scenario seed's, or ``seed``'s, nights 0 .. nights-1 for every
    candidate), in ``workers`` processes or on the Dask ``cluster``. The scenario's own values
    are the first candidate when they lie in the ranges (unless not ``try_given``). With
    ``only``, just those unknowns are fitted and the others are held at their values.
    ``progress(done, total)`` is told of nights played. Raises ScenarioError when there is
    nothing to fit or no record to fit it to."""
    import optuna

    where = scenario.path or scenario.name
    record = record or RECORDS.get(scenario.table.get("record", ""))
    if record is None:
        known = ", ".join(sorted(RECORDS))
        raise ScenarioError(f"{where}: record: name the public record to fit ({known})")
    if not scenario.unknowns:
        raise ScenarioError(f"{where}: calibrate: no unknowns to fit (a [calibrate] table)")
    strangers = [key for key in only or () if key not in scenario.unknowns]
    if strangers:
        raise ScenarioError(
            f"{where}: --only: {strangers[0]} is not a key of its [calibrate] table"
        )
    fitted = {key: scenario.unknowns[key] for key in only or scenario.unknowns}
    if budget < 1 or nights < 1:
        raise ValueError("budget and nights must be at least 1")
    seed = scenario.seed if seed is None else seed
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="minimize",
        sampler=optuna.samplers.TPESampler(
            seed=seed, multivariate=True, n_startup_trials=max(min(budget // 5, 20), 1)
        ),
    )
    spaces = {key: _distribution(u) for key, u in fitted.items()}
    own = {key: scenario.value(key) for key in fitted}
    starts = try_given and all(u.low <= own[k] <= u.high for k, u in fitted.items())
    if starts:
        study.enqueue_trial(own)
    trials: list[Trial] = []
    best_terms: list[Term] = []
    for number in range(budget):
        asked = study.ask(spaces)
        values = {key: _rounded(asked.params[key]) for key in spaces}
        candidate = scenario.with_overrides(values)

        def told(done: int, total: int, before: int = number * nights) -> None:
            if progress:
                progress(before + done, budget * nights)

        fits = run_nights(candidate.night, seed, nights, night_fit, workers, told, cluster)
        terms = fit_terms(record, fits)
        trial = Trial(number, values, distance(terms), sum(not t.met for t in terms))
        study.tell(asked, trial.distance)
        if not trials or trial.distance < min(t.distance for t in trials):
            best_terms = terms
        trials.append(trial)
    best = min(trials, key=lambda t: (t.distance, t.number))
    return Calibration(
        base=scenario,
        record=record,
        scenario=scenario.with_overrides(best.values),
        trials=trials,
        best=best,
        terms=best_terms,
        nights=nights,
        seed=seed,
        start=trials[0] if starts else None,
        command=command,
    )


def _rounded(value: float) -> float:
    """Six significant digits: what the calibrated file states is what was evaluated."""
    return value if isinstance(value, int) else float(f"{value:.6g}")


def _distribution(unknown: Unknown) -> Any:
    from optuna.distributions import FloatDistribution, IntDistribution

    log = _log_scaled(unknown)
    if unknown.integer:
        return IntDistribution(math.ceil(unknown.low), math.floor(unknown.high), log=log)
    return FloatDistribution(unknown.low, unknown.high, log=log)


def format_calibration(calibration: Calibration) -> str:
    """The fit table, the best values and the spread of near-best values, as printed."""
    c = calibration
    lines = [
        f"{c.record.name}: best of {len(c.trials)} candidates, {c.nights} nights each "
        f"(seed {c.seed}); distance {c.best.distance:.3f}"
        + (f" (the scenario as given: {c.start.distance:.3f})" if c.start else ""),
        "",
        "fit to the public record (simulated: mean [90% band] over nights; miss 1 = tolerance)",
    ]
    rows = [("figure", "record", "simulated", "miss", "met")] + [
        (t.label, t.record, t.simulated, f"{t.miss:.2f}", "yes" if t.met else "NO") for t in c.terms
    ]
    lines += _columns(rows)
    near = c.near_best()
    lines += [
        "",
        f"unknowns: best value; range of the {len(near)} candidates "
        + (
            "that meet every figure of the record"
            if not c.best.missed
            else f"within {NEAR_BEST:g} of the best distance"
        )
        + f" (pinned: they span under {PINNED_SHARE:.0%} of the range)"
        + (f"; {len(c.held)} more held at their values" if c.held else ""),
    ]
    rows = [("key", "range", "best", "near-best", "record")] + [
        (
            s.unknown.key,
            f"{_number(s.unknown.low)} .. {_number(s.unknown.high)}",
            _number(s.best),
            f"{_number(s.low)} .. {_number(s.high)}",
            s.verdict,
        )
        for s in c.spreads()
    ]
    lines += _columns(rows)
    return "\n".join(lines)


def _columns(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) + 2 for i in range(len(rows[0]) - 1)]
    return [
        "".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + row[-1] for row in rows
    ]


def _number(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"


def write_calibration(calibration: Calibration, out: Path) -> Path:
    """Write ``fit.txt``, ``trials.csv`` and the calibrated scenario file into ``out``;
    return the scenario file's path."""
    c = calibration
    out.mkdir(parents=True, exist_ok=True)
    (out / "fit.txt").write_text(format_calibration(c) + "\n")
    keys = list(c.best.values)
    with (out / "trials.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["trial", *keys, "distance", "figures_missed"])
        writer.writerows(
            [t.number, *(t.values[k] for k in keys), t.distance, t.missed] for t in c.trials
        )
    stem = c.base.path.stem if c.base.path else "scenario"
    path = out / f"{stem}-calibrated.toml"
    path.write_text(calibrated_toml(c))
    return path


def calibrated_toml(calibration: Calibration) -> str:
    """The calibrated scenario, runnable as it is, with its provenance in a header."""
    import optuna

    c = calibration
    provenance = [
        f"Calibrated to the public record of {c.record.name} by",
        f"  {c.command}" if c.command else "  caucus calibrate",
        f"best of {len(c.trials)} candidates (optuna {optuna.__version__} TPE, seed {c.seed}), "
        f"{c.nights} nights each (nights 0..{c.nights - 1} of seed {c.seed})",
        f"distance {c.best.distance:.4f}"
        + (f"; the scenario as given: {c.start.distance:.4f}" if c.start else ""),
        "[facts] are as stated in the base file; "
        + (
            f"the {len(c.best.values)} [calibrate] keys fitted hold the best values, "
            f"the {len(c.held)} others the base file's."
            if c.held
            else "[calibrate] keys hold the best values."
        ),
    ]
    header = "".join(f"# {line}\n" for line in provenance)
    return header + "\n" + to_toml(c.scenario.table)
