"""Several scenarios side by side (`caucus compare`) and a parameter grid (`caucus sweep`).

Scenarios run with the same seed share their replication seeds, so differences are paired
night by night (common random numbers) and their bands are narrower than the runs' own.
"""

from __future__ import annotations

from pathlib import Path

from sim import plots
from sim.bands import band
from sim.run_folder import RECORDS, summary_rows
from sim.runner import Replication, grid
from sim.scenario import Scenario


def write_comparison(
    scenarios: list[Scenario], runs: dict[str, list[Replication]], out: Path
) -> tuple[str, Path]:
    """An overlay of the reporting curves and a table of each scenario against the first."""
    out.mkdir(parents=True, exist_ok=True)
    record = RECORDS.get(scenarios[0].table.get("record", ""), ((), ()))[0]
    curves = plots.reporting_curve(runs, grid(scenarios[0].night), record, received=False)
    plot = plots.save(curves, out / "comparison.png")
    names = list(runs)
    base = names[0]
    lines = [f"{'':<32}" + "".join(f"{name[:30]:<32}" for name in names)]
    rows = {name: summary_rows(reps) for name, reps in runs.items()}
    for i, row in enumerate(rows[base]):
        cells = [f"{row.text()} {row.unit}"]
        for name in names[1:]:
            diff = band(
                [
                    o.summary[row.key] - b.summary[row.key]
                    for b, o in zip(runs[base], runs[name], strict=False)
                ]
            )
            cells.append(f"{rows[name][i].text()} (diff {diff.format(row.scale)})")
        lines.append(f"{row.label:<32}" + "".join(f"{c:<32}" for c in cells))
    lines.append(f"\nin brackets: 90% band over nights; diff: from {base}, paired by seed")
    table = "\n".join(lines)
    (out / "comparison.txt").write_text(table + "\n")
    return table, plot


def write_sweep(
    parameter: str, metric: str, runs: dict[str, list[Replication]], out: Path
) -> tuple[str, Path]:
    """The metric (hours) at each grid point, as a table and a plot."""
    out.mkdir(parents=True, exist_ok=True)
    rows = [(label, [r.summary[metric] for r in reps]) for label, reps in runs.items()]
    plot = plots.save(plots.metric_sweep(rows, parameter, metric), out / "sweep.png")
    width = max(len(label) for label, _ in rows) + 2
    lines = [f"{metric} (hours after 7 pm; mean [90% band])"]
    lines += [f"{label:<{width}}{band(values).format(60)}" for label, values in rows]
    table = "\n".join(lines)
    (out / "sweep.txt").write_text(table + "\n")
    return table, plot
