"""A run folder: the resolved scenario, per-replication aggregates, records, plots, report.

The folder is written under a temporary name and renamed when complete, so a folder with the
final name is never half-written.
"""

from __future__ import annotations

import base64
import csv
import gzip
import html
import json
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim.config import CHANNELS
from sim.scenario import Scenario
from studies import plots
from studies.bands import Band, band, curve_band
from studies.public_record import (
    IOWA_2016_RELEASES,
    IOWA_2020_HOLDS,
    IOWA_2020_RELEASES,
    ReleasePoint,
)
from studies.runner import CALL_COLUMNS, PRECINCT_COLUMNS, Replication, grid

RECORDS = {
    "iowa-2020": (IOWA_2020_RELEASES, IOWA_2020_HOLDS),
    "iowa-2016": (IOWA_2016_RELEASES, ()),
}
"""Public records a scenario can be drawn against (its ``record`` key)."""


SUMMARY = (
    *((f"{p}% published", f"published_{p}pct_min", 60, "h") for p in (50, 90, 95, 100)),
    *((f"{p}% received", f"received_{p}pct_min", 60, "h") for p in (50, 90, 95)),
    *((f"received by {c}", f"share_{c}", 0.01, "%") for c in CHANNELS),
    ("never arrived", "never_arrived", 1, "precincts"),
    ("chairs' hold, 90th percentile", "report_hold_p90_min", 1, "min"),
    ("chairs' held calls abandoned", "report_abandon_share", 0.01, "%"),
    ("calls that got a busy signal", "busy_share", 0.01, "%"),
    ("operator time on pranks", "prank_operator_share", 0.01, "%"),
    ("errors injected", "errors_injected", 1, "results"),
    ("errors caught by HQ", "errors_caught", 1, "results"),
    ("errors published", "errors_published", 1, "results"),
)
"""The summary table: (label, per-night figure, divide by this to show it, unit shown)."""


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the summary table: a per-night figure over nights, shown in ``unit``."""

    label: str
    key: str
    band: Band
    scale: float
    unit: str

    def text(self) -> str:
        return self.band.format(self.scale)


def summary_rows(reps: list[Replication]) -> list[Row]:
    """The summary table over nights (mean [90% band])."""
    return [
        Row(label, key, band([r.summary[key] for r in reps]), scale, unit)
        for label, key, scale, unit in SUMMARY
    ]


def record_fit(
    reps: list[Replication], minutes: np.ndarray, releases: tuple[ReleasePoint, ...]
) -> list[tuple[ReleasePoint, Band]]:
    """The share published (percent) at each time of the public record, over nights."""
    fit = []
    for point in releases:
        at = np.searchsorted(minutes, point.hours * 60, side="right") - 1
        fit.append((point, band([100 * r.published[at] for r in reps])))
    return fit


def format_record_fit(fit: list[tuple[ReleasePoint, Band]]) -> str:
    lines = ["public record vs simulated: % of precincts published (mean [90% band])"]
    for point, simulated in fit:
        bound = " (by)" if point.bound == "by" else "     "
        lines.append(
            f"{point.hours:6.2f} h  record {point.percent_published:5.1f}{bound}  simulated "
            f"{simulated.format()}  ({simulated.mean - point.percent_published:+.1f})"
        )
    return "\n".join(lines)


def format_table(rows: Iterable[Row], title: str) -> str:
    rows = list(rows)
    width = max(len(r.label) for r in rows) + 2
    lines = [title, f"{'':<{width}}mean [90% band]"]
    lines += [f"{r.label:<{width}}{r.text()} {r.unit}" for r in rows]
    return "\n".join(lines)


def write_run(scenario: Scenario, reps: list[Replication], out: Path) -> Path:
    """Write the whole run folder at ``out`` (replacing an older one) and return the report."""
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        _write_contents(scenario, reps, partial)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    if out.exists():
        old = out.with_name(out.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        out.rename(old)
        shutil.rmtree(old)
    partial.rename(out)
    return out / "report.html"


def _write_contents(scenario: Scenario, reps: list[Replication], folder: Path) -> None:
    config = scenario.night
    (folder / "scenario.toml").write_text(to_toml(scenario.table))
    keys = list(reps[0].summary)
    _write_csv(
        folder / "replications.csv",
        ["replication", "seed", *keys],
        ([r.index, r.seed, *(r.summary[k] for k in keys)] for r in reps),
    )
    _write_csv(
        folder / "precincts.csv.gz", PRECINCT_COLUMNS, (row for r in reps for row in r.precincts)
    )
    _write_csv(folder / "calls.csv.gz", CALL_COLUMNS, (row for r in reps for row in r.calls))
    _write_csv(
        folder / "series.csv.gz",
        ["replication", "minute", "lines_busy", "on_hold"],
        (
            [r.index, i * config.sample_every_min, busy, held]
            for r in reps
            for i, (busy, held) in enumerate(zip(r.lines_busy, r.on_hold, strict=True))
        ),
    )
    minutes = grid(config)
    received, published = (
        curve_band([r.received for r in reps]),
        curve_band([r.published for r in reps]),
    )
    _write_csv(
        folder / "curves.csv",
        ["minute"]
        + [
            f"{kind}_{stat}" for kind in ("received", "published") for stat in ("mean", "p5", "p95")
        ],
        (
            [m, *received_at, *published_at]
            for m, received_at, published_at in zip(
                minutes, np.column_stack(received), np.column_stack(published), strict=True
            )
        ),
    )
    rows = summary_rows(reps)
    (folder / "summary.json").write_text(
        json.dumps(
            {
                "scenario": scenario.name,
                "replications": len(reps),
                "seed": scenario.seed,
                "rows": [
                    {
                        "label": r.label,
                        "unit": r.unit,
                        "scale": r.scale,
                        "mean": r.band.mean,
                        "p5": r.band.low,
                        "p95": r.band.high,
                        "missing": r.band.missing,
                    }
                    for r in rows
                ],
            },
            indent=2,
        )
    )
    releases, holds = RECORDS.get(scenario.table.get("record", ""), ((), ()))
    figures = [
        (
            "Reporting curve",
            "reporting-curve.png",
            plots.reporting_curve({scenario.name: reps}, minutes, releases),
        ),
        ("Hold times", "hold-times.png", plots.hold_times(reps, holds)),
        (
            "Hotline load",
            "hotline-load.png",
            plots.hotline_load(reps, config.sample_every_min, config.hotline.lines),
        ),
        ("Channel mix", "channels.png", plots.channel_mix(reps)),
        ("Where the delay comes from", "delay-sources.png", plots.delay_sources(reps)),
    ]
    saved = [(title, plots.save(figure, folder / name)) for title, name, figure in figures]
    fit = format_record_fit(record_fit(reps, minutes, releases)) if releases else ""
    (folder / "report.html").write_text(report_html(scenario, len(reps), rows, saved, fit))


def report_html(
    scenario: Scenario,
    replications: int,
    rows: list[Row],
    figures: list[tuple[str, Path]],
    record_fit_text: str = "",
) -> str:
    """A self-contained page: description, summary table, plots embedded as PNG data."""
    table = "\n".join(
        f"<tr><td>{html.escape(r.label)}</td><td>{html.escape(r.text())}</td>"
        f"<td>{html.escape(r.unit)}</td></tr>"
        for r in rows
    )
    images = "\n".join(
        f"<h2>{html.escape(title)}</h2><img alt='{html.escape(title)}' "
        f"src='data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()}'>"
        for title, path in figures
    )
    description = html.escape(scenario.description or "").replace("\n", "<br>")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Caucus Night: {html.escape(scenario.name)}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1000px; margin: 2em auto; color: #222; }}
table {{ border-collapse: collapse; }}
td, th {{ padding: 0.25em 0.8em; border-bottom: 1px solid #ddd; text-align: left; }}
img {{ max-width: 100%; }}
</style></head><body>
<h1>Caucus Night: {html.escape(scenario.name)}</h1>
<p>{description}</p>
<p>{replications} simulated nights, scenario seed {scenario.seed}. Times are hours after 7 pm.
Figures are the mean over nights with the 90% band (5th to 95th percentile) in brackets.</p>
<table><tr><th>figure</th><th>mean [90% band]</th><th>unit</th></tr>
{table}
</table>
{f"<pre>{html.escape(record_fit_text)}</pre>" if record_fit_text else ""}
{images}
</body></html>
"""


def _write_csv(path: Path, header: Iterable[str], rows: Iterable[Iterable[Any]]) -> None:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def to_toml(table: dict[str, Any]) -> str:
    """A resolved scenario table as TOML (scalars and lists first, then sub-tables)."""
    return _toml_table(table, "").lstrip()


def _toml_table(table: dict[str, Any], prefix: str) -> str:
    scalars = [
        f"{_toml_key(k)} = {_toml_value(v)}" for k, v in table.items() if not isinstance(v, dict)
    ]
    text = (f"\n[{prefix}]\n" if prefix else "") + "".join(line + "\n" for line in scalars)
    for key, value in table.items():
        if isinstance(value, dict):
            text += _toml_table(value, f"{prefix}.{_toml_key(key)}" if prefix else _toml_key(key))
    return text


def _toml_key(key: str) -> str:
    """A bare key when TOML allows one, else quoted (``"hotline.lines"``)."""
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")
