"""Several scenarios side by side (`caucus compare`) and a parameter grid (`caucus sweep`).

Scenarios run with the same seed share their replication seeds, so differences are paired
night by night (common random numbers) and their bands are narrower than the runs' own.
"""

from __future__ import annotations

from pathlib import Path

from sim.scenario import Scenario
from studies import plots
from studies.bands import band
from studies.run_folder import RECORDS, summary_rows
from studies.runner import Replication, grid


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
