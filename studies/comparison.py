"""Several scenarios side by side (`caucus compare`) and a parameter grid (`caucus sweep`).

Scenarios run with the same seed share their replication seeds, so differences are paired
night by night (common random numbers) and their bands are narrower than the runs' own.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.night import Night
from sim.scenario import Scenario
from studies import plots
from studies.bands import band, few_nights, share_interval
from studies.levers import point_label, value_text
from studies.public_record import RECORDS
from studies.run_folder import summary_rows, write_csv, write_folder, write_replications
from studies.runner import Replication, aggregates, grid
from studies.targets import Target
from studies.units import shown


def write_comparison(
    scenarios: list[Scenario], runs: dict[str, list[Replication]], out: Path
) -> tuple[str, Path]:
    """An overlay of the reporting curves and a table of each scenario against the first."""
    record = RECORDS.get(scenarios[0].table.get("record", ""))
    releases = record.releases if record else ()
    names = list(runs)
    base = names[0]
    rows = {name: summary_rows(reps) for name, reps in runs.items()}
    lines = []
    for name in names[1:]:
        table = [("figure", base, name, "difference (paired by seed)")]
        for base_row, row in zip(rows[base], rows[name], strict=True):
            diff = band(
                [
                    o.summary[row.key] - b.summary[row.key]
                    for b, o in zip(runs[base], runs[name], strict=False)
                ]
            )
            unit = f" {row.unit}"
            table.append(
                (
                    row.label,
                    base_row.text() + unit,
                    row.text() + unit,
                    diff.format(row.scale) + unit,
                )
            )
        widths = [max(len(cells[i]) for cells in table) + 2 for i in range(3)]
        lines += [
            "".join(c.ljust(w) for c, w in zip(cells, widths, strict=False)) + cells[3]
            for cells in table
        ] + [""]
    lines.append("mean [90% band over nights]; the difference is taken night by night")
    nights = min(len(reps) for reps in runs.values())
    lines += [f"warning: {w}" for w in filter(None, [few_nights(nights)])]
    table = "\n".join(lines)

    def write(folder: Path) -> None:
        curves = plots.reporting_curve(runs, grid(scenarios[0].night), releases, received=False)
        plots.save(curves, folder / "comparison.png")
        (folder / "comparison.txt").write_text(table + "\n")
        for i, (name, reps) in enumerate(runs.items(), 1):
            place = folder / "scenarios" / f"{i:02d}-{_file_name(name)}"
            place.mkdir(parents=True)
            write_replications(place / "replications.csv", reps)

    write_folder(out, write)
    return table, out / "comparison.png"


WIDE_INTERVAL = 0.3
"""Intervals of the share of nights meeting a target wider than this get a warning."""


@dataclass(frozen=True, slots=True)
class SweptNight:
    """What a sweep keeps of a night (a reduce for :func:`studies.runner.run_nights`): its
    aggregates, and the figure of ``target`` (NaN without one)."""

    target: Target | None

    def __call__(self, night: Night, index: int) -> tuple[Replication, float]:
        figure = self.target(night, index) if self.target else math.nan
        return aggregates(night, index), figure


@dataclass(frozen=True, slots=True)
class SweepPoint:
    """One grid point of a sweep: the values given to the swept keys, its nights, and each
    night's figure for the target."""

    values: tuple[Any, ...]
    reps: list[Replication]
    figures: list[float]


def write_sweep(
    keys: list[str],
    points: list[SweepPoint],
    metric: str,
    out: Path,
    target: Target | None = None,
    level: float = 0.95,
) -> str:
    """The metric at each grid point (mean and 90% band, in its own unit), and with a target
    the share of nights that met it; a table, ``sweep.csv``, ``sweep.png`` and each point's
    ``replications.csv``. Returns the table as printed."""
    figure = shown(metric)
    lines = [f"{figure.axis}: mean [90% band] over nights"]
    header = [*keys, "nights", "mean", "p5", "p95"]
    if target:
        lines[0] += f"; nights meeting '{target.text}' ({100 * level:g}% interval)"
        header += ["met", "share_met", "share_low", "share_high"]
    labels = [point_label(keys, p.values) for p in points]
    width = max(map(len, labels)) + 2
    rows, bands, shares = [], [], []
    for label, point in zip(labels, points, strict=True):
        values = band([r.summary[metric] for r in point.reps])
        bands.append(values)
        line = f"{label:<{width}}{values.format(figure.scale)} {figure.unit}".rstrip()
        row = [
            *map(value_text, point.values),
            len(point.reps),
            values.mean,
            values.low,
            values.high,
        ]
        if target:
            met = sum(map(target.met, point.figures))
            low, high = share_interval(met, len(point.reps), level)
            shares.append((met / len(point.reps), low, high))
            line += (
                f"   met in {met} of {len(point.reps)}: "
                f"{100 * met / len(point.reps):.0f}% [{100 * low:.1f}, {100 * high:.1f}]"
            )
            row += [met, met / len(point.reps), low, high]
        lines.append(line)
        rows.append(row)
    nights = min(len(p.reps) for p in points)
    lines += [f"warning: {w}" for w in filter(None, [few_nights(nights), _wide(shares, nights)])]
    table = "\n".join(lines)

    def write(folder: Path) -> None:
        (folder / "sweep.txt").write_text(table + "\n")
        write_csv(folder / "sweep.csv", header, rows)
        for i, (label, point) in enumerate(zip(labels, points, strict=True), 1):
            place = folder / "points" / f"{i:02d}-{_file_name(label)}"
            place.mkdir(parents=True)
            write_replications(place / "replications.csv", point.reps)
        chart = plots.metric_sweep(keys, [p.values for p in points], bands, figure)
        plots.save(chart, folder / "sweep.png")
        if target:
            chance = plots.share_met(keys, [p.values for p in points], shares, target.text, level)
            plots.save(chance, folder / "target.png")

    write_folder(out, write)
    return table


def _wide(shares: list[tuple[float, float, float]], nights: int) -> str | None:
    """A warning when the shares' intervals are too wide to tell points apart."""
    widest = max((high - low for _, low, high in shares), default=0.0)
    if widest <= WIDE_INTERVAL:
        return None
    return (
        f"with {nights} nights a share's interval is up to {100 * widest:.0f} points wide: "
        "more --replications narrow it"
    )


def _file_name(label: str) -> str:
    """A label made safe as a folder name."""
    return re.sub(r"[^A-Za-z0-9._=,+-]", "_", label)
