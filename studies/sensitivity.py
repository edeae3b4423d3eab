"""`caucus sensitivity`: which assumptions move a per-night figure, over their plausible ranges.

The assumptions and their ranges are a scenario's ``[calibrate]`` table and any ranges given as
``--vary KEY=LOW..HIGH``; its ``[facts]`` are set as stated and never varied. SALib draws the
design and computes the indices:

- Morris (elementary effects): ``mu_star`` is the mean absolute change of the figure (in its
  own unit) per whole range of the assumption (steps of two thirds of the range, scaled),
  ``sigma`` how much that change depends on the others; cheap (``trajectories x (assumptions +
  1)`` design points).
- Sobol: ``ST`` is the share of the figure's variance that goes away if the assumption were
  known (``S1``: by itself); ``samples x (assumptions + 2)`` design points.

Each design point plays the same ``nights`` nights (common random numbers) and scores their
mean, so an assumption the model never reads changes nothing and scores exactly 0. An
assumption the model reads but that does not matter still scores chance: once a value changes,
the draws of the chairs it reaches go their own way (each chair draws from a stream of their
own, :mod:`sim.luck`, so the other chairs' draws stay as they were). :attr:`Sensitivity.noise`
bounds what chance alone scores from the spread of the nights at each point. A time of night
that never came (95% never published) scores as the night's horizon.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from SALib.analyze import morris as morris_analysis
from SALib.analyze import sobol as sobol_analysis
from SALib.sample import morris as morris_design
from SALib.sample import sobol as sobol_design

from sim.metrics import summarize
from sim.night import Night
from sim.scenario import Scenario, ScenarioError, Unknown
from studies import plots
from studies.levers import parse_range
from studies.run_folder import (
    html_figures,
    html_inputs,
    html_table,
    page,
    to_toml,
    write_csv,
    write_folder,
)
from studies.runner import run_nights
from studies.units import shown

METHODS = ("morris", "sobol")
MORRIS_LEVELS = 4


@dataclass(frozen=True, slots=True)
class PerNight:
    """A reduce for :func:`studies.runner.run_nights`: one per-night figure, NaN times of night
    as the horizon."""

    key: str

    def __call__(self, night: Night, index: int) -> float:
        value = float(summarize(night)[self.key])
        if math.isnan(value) and self.key.endswith("pct_min"):
            return night.config.horizon_min
        return value


@dataclass(frozen=True, slots=True)
class Index:
    """How much one assumption moves the figure. Morris: ``value`` is mu_star (the figure's
    unit), ``second`` sigma; Sobol: ``value`` is ST, ``second`` S1 (shares of variance).
    ``conf`` and ``second_conf`` are half-widths of their confidence intervals."""

    unknown: Unknown
    value: float
    conf: float
    second: float
    second_conf: float


@dataclass
class Sensitivity:
    """A finished study: the design as played, each point's figure, and the ranked indices."""

    scenario: Scenario
    metric: str
    method: str
    nights: int
    unknowns: list[Unknown]
    design: np.ndarray
    """One row per design point, one column per assumption (values as played)."""
    figures: np.ndarray
    """The figure in each night (columns) at each design point (rows)."""
    indices: list[Index]
    """Largest first."""
    level: float = 0.95

    @property
    def outputs(self) -> np.ndarray:
        """The figure at each design point: its mean over the nights."""
        return self.figures.mean(axis=1)

    @property
    def noise(self) -> float:
        """The index chance alone would score (NaN with one night per point): from the spread
        of the nights at each point, as if the two ends of an elementary effect (or the two
        halves of a Sobol pair) drew independent nights; chance scores less where they share
        draws, so this bounds it from above."""
        if self.nights < 2:
            return math.nan
        variance = float(np.mean(np.var(self.figures, axis=1, ddof=1))) / self.nights
        if self.method == "morris":  # E|difference of two means| over a step of 2/3
            return 1.5 * math.sqrt(2 / math.pi) * math.sqrt(2 * variance)
        return variance / float(np.var(self.outputs))

    @property
    def names(self) -> tuple[str, str]:
        """Names of ``value`` and ``second`` for this method."""
        return ("mu_star", "sigma") if self.method == "morris" else ("ST", "S1")

    def text(self) -> str:
        """The ranking as printed by `caucus sensitivity`."""
        figure = shown(self.metric)
        scale = figure.scale if self.method == "morris" else 1.0
        unit = f" {figure.unit}" if self.method == "morris" else ""
        first, second = self.names
        level = f"{100 * self.level:g}%"
        rows = [["rank", "assumption", "range", f"{first} [{level} interval]", second, ""]]
        for rank, index in enumerate(self.indices, 1):
            u = index.unknown
            rows.append(
                [
                    str(rank),
                    u.key,
                    f"[{u.low:g}, {u.high:g}]",
                    f"{index.value / scale:.2f} [{(index.value - index.conf) / scale:.2f}, "
                    f"{(index.value + index.conf) / scale:.2f}]{unit}",
                    f"{index.second / scale:.2f}{unit}",
                    "within chance" if index.value <= self.noise else "",
                ]
            )
        widths = [max(len(row[i]) for row in rows) + 2 for i in range(len(rows[0]))]
        low, high = np.min(self.outputs), np.max(self.outputs)
        if math.isnan(self.noise):
            chance = "chance: not estimated with one night per design point (use --nights 2)"
        else:
            chance = (
                f"chance alone scores {first} up to about {self.noise / scale:.2f}{unit} "
                f"(from the spread of the {self.nights} nights at each point)"
            )
        return "\n".join(
            [
                f"sensitivity of {figure.axis} in {self.scenario.name}: {self.method}, "
                f"{len(self.outputs)} design points x {self.nights} nights",
                *(
                    "".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
                    for row in rows
                ),
                "",
                f"across the design: {figure.format(low)} to {figure.format(high)} "
                f"(mean {figure.format(float(np.mean(self.outputs)))})",
                chance,
            ]
        )


def ranges(scenario: Scenario, vary: list[str] | None = None) -> list[Unknown]:
    """The assumptions to vary: the scenario's ``[calibrate]`` table, with ``--vary
    KEY=LOW..HIGH`` ranges added (or replacing a key's range); :class:`ScenarioError` when
    there are none, a key is not a number, or a key is one of the scenario's ``[facts]``."""
    unknowns = dict(scenario.unknowns)
    for spec in vary or ():
        key, low, high, _ = parse_range(spec)
        _refuse_fact(scenario, key, f"--vary {spec}: ")
        try:
            current = scenario.value(key)
        except AttributeError:
            raise ScenarioError(f"--vary {spec}: {key} is not a key of the night") from None
        if isinstance(current, bool) or not isinstance(current, (int, float)):
            raise ScenarioError(f"--vary {spec}: {key} is not a number ({current!r})")
        if not low < high:
            raise ScenarioError(f"--vary {spec}: expected LOW < HIGH")
        unknowns[key] = Unknown(key, low, high, "--vary", isinstance(current, int))
    if not unknowns:
        raise ScenarioError(
            f"{scenario.path}: no [calibrate] table: give ranges with --vary KEY=LOW..HIGH"
        )
    return list(unknowns.values())


def _refuse_fact(scenario: Scenario, key: str, where: str = "") -> None:
    """:class:`ScenarioError` when ``key`` is one of the scenario's ``[facts]``: what the
    public record states is set as stated, never varied as if it were unknown."""
    if fact := scenario.facts.get(key):
        raise ScenarioError(
            f"{where}{key} is a fact of {scenario.name} ({fact.source}): a fact is set as "
            "stated, never varied (ask what if it were otherwise with caucus sweep or plan)"
        )


def study(
    scenario: Scenario,
    metric: str,
    unknowns: list[Unknown],
    method: str = "morris",
    nights: int = 2,
    size: int | None = None,
    workers: int = 1,
    level: float = 0.95,
    progress: Callable[[int, int], None] | None = None,
    cluster: str | None = None,
) -> Sensitivity:
    """Play the design (in ``workers`` processes or on the Dask ``cluster``) and rank the
    assumptions. ``size``: Morris trajectories (default 10) or Sobol base samples (default 64,
    a power of two). ``progress(done, total)`` counts nights. A scenario's ``[facts]`` are
    never varied (:class:`ScenarioError`)."""
    if method not in METHODS:
        raise ValueError(f"method {method!r} is not one of {METHODS}")
    for unknown in unknowns:
        _refuse_fact(scenario, unknown.key)
    if len(unknowns) < 2:
        raise ValueError("a sensitivity study needs at least two assumptions to rank")
    problem = {
        "num_vars": len(unknowns),
        "names": [u.key for u in unknowns],
        "bounds": [[u.low, u.high] for u in unknowns],
    }
    seed = scenario.seed
    if method == "morris":
        design = morris_design.sample(problem, size or 10, num_levels=MORRIS_LEVELS, seed=seed)
    else:
        design = sobol_design.sample(problem, size or 64, calc_second_order=False, seed=seed)
    played = np.array(
        [
            [round(v) if u.integer else v for u, v in zip(unknowns, row, strict=True)]
            for row in design
        ]
    )
    reduce = PerNight(metric)
    figures = []
    for i, row in enumerate(played):
        variant = scenario.with_overrides(_overrides(unknowns, row))
        figures.append(
            run_nights(
                variant.night,
                scenario.seed,
                nights,
                reduce,
                min(workers, nights),
                cluster=cluster,
            )
        )
        if progress:
            progress((i + 1) * nights, len(played) * nights)
    y = np.mean(figures, axis=1)
    if np.isnan(y).any():
        raise ValueError(f"{metric} is missing in some nights: choose a figure every night has")
    if np.ptp(y) == 0:
        raise ValueError(f"{metric} is {y[0]:g} at every design point: nothing to rank")
    if method == "morris":
        found = morris_analysis.analyze(
            problem, design, y, conf_level=level, num_levels=MORRIS_LEVELS, seed=seed
        )
        columns = ("mu_star", "mu_star_conf", "sigma", None)
    else:
        found = sobol_analysis.analyze(
            problem, y, calc_second_order=False, conf_level=level, seed=seed
        )
        columns = ("ST", "ST_conf", "S1", "S1_conf")
    indices = [
        Index(
            u,
            *(float(found[c][i]) if c else math.nan for c in columns),
        )
        for i, u in enumerate(unknowns)
    ]
    indices.sort(key=lambda index: -index.value)
    return Sensitivity(
        scenario, metric, method, nights, unknowns, played, np.array(figures), indices, level
    )


def _numbers(index: Index) -> tuple[float, float, float, float]:
    return index.value, index.conf, index.second, index.second_conf


def _overrides(unknowns: list[Unknown], row: np.ndarray) -> dict[str, Any]:
    return {u.key: int(v) if u.integer else float(v) for u, v in zip(unknowns, row, strict=True)}


def tornado(result: Sensitivity):
    """The ranking as a tornado chart (:func:`studies.plots.tornado`)."""
    figure = shown(result.metric)
    scale = figure.scale if result.method == "morris" else 1.0
    labels = [f"{i.unknown.key} [{i.unknown.low:g}, {i.unknown.high:g}]" for i in result.indices]
    if result.method == "morris":
        xlabel = f"mu_star: change of {figure.label} over the range ({figure.unit})"
    else:
        xlabel = f"ST: share of the variance of {figure.label}"
    return plots.tornado(
        labels,
        [i.value / scale for i in result.indices],
        [i.conf / scale for i in result.indices],
        xlabel,
        f"What moves {figure.label} in {result.scenario.name} ({result.method})",
        result.noise / scale,
        [i.second for i in result.indices] if result.method == "sobol" else None,
        "S1: by itself",
    )


def write_sensitivity(result: Sensitivity, out: Path) -> Path:
    """A run folder: ``sensitivity.csv`` (the ranking), ``design.csv`` (each design point's
    values and nights), ``tornado.png``, ``scenario.toml`` and ``report.html``; returns the
    report."""
    first, second = result.names

    def write(folder: Path) -> None:
        (folder / "scenario.toml").write_text(to_toml(result.scenario.table))
        (folder / "sensitivity.txt").write_text(result.text() + "\n")
        write_csv(
            folder / "sensitivity.csv",
            ["rank", "key", "low", "high", first, f"{first}_conf", second, f"{second}_conf"],
            (
                (rank, i.unknown.key, i.unknown.low, i.unknown.high, *_numbers(i))
                for rank, i in enumerate(result.indices, 1)
            ),
        )
        write_csv(
            folder / "design.csv",
            [*(u.key for u in result.unknowns), result.metric]
            + [f"night_{n}" for n in range(result.nights)],
            (
                [*row, mean, *nights]
                for row, mean, nights in zip(
                    result.design.tolist(), result.outputs, result.figures.tolist(), strict=True
                )
            ),
        )
        chart = plots.save(tornado(result), folder / "tornado.png")
        (folder / "report.html").write_text(report_html(result, chart))

    write_folder(out, write)
    return out / "report.html"


def report_html(result: Sensitivity, chart: Path) -> str:
    """The sensitivity section of a report: what was varied, the ranking, the tornado chart,
    and the scenario's inputs."""
    scenario = result.scenario
    figure = shown(result.metric)
    explained = (
        "mu_star is how much the figure changes, on average, when the assumption moves across "
        "its range; sigma how much that change depends on the other assumptions"
        if result.method == "morris"
        else "ST is the share of the figure's variance that would go away if the assumption "
        "were known; S1 the share it explains by itself"
    )
    assumptions = html_table(
        ("assumption", "range", "why"),
        ((u.key, f"[{u.low:g}, {u.high:g}]", u.why) for u in result.unknowns),
    )
    return page(
        f"Caucus Night: what moves {figure.label} in {scenario.name}",
        [
            f"<p>{html.escape(scenario.description)}</p>",
            "<h2>Sensitivity</h2>",
            f"<p>{html.escape(explained)}. Each of {len(result.outputs)} design points "
            f"({result.method}) played the same {result.nights} nights.</p>",
            f"<pre>{html.escape(result.text())}</pre>",
            html_figures([("Ranking", chart)]),
            "<h2>Assumptions varied</h2>" + assumptions,
            html_inputs(scenario),
        ],
    )
