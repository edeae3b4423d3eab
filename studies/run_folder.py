"""A run folder: the resolved scenario, per-replication aggregates, records, plots, report.

The folder is written under a temporary name and renamed when complete, so a folder with the
final name is never half-written.
"""

from __future__ import annotations

import base64
import csv
import dataclasses
import gzip
import html
import itertools
import json
import math
import re
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim.config import CHANNELS, NightConfig
from sim.scenario import Scenario, night_values
from studies import plots
from studies.bands import Band, band, curve_band, few_nights
from studies.levers import value_text
from studies.precision import Precision, half_width
from studies.provenance import RunInfo, machine, software
from studies.public_record import RECORDS, ReleasePoint
from studies.runner import CALL_COLUMNS, PRECINCT_COLUMNS, Replication, grid, share_by
from studies.units import shown

SUMMARY = (
    *(f"published_{p}pct_min" for p in (50, 90, 95, 100)),
    *(f"received_{p}pct_min" for p in (50, 90, 95)),
    *(f"share_{c}" for c in CHANNELS),
    "never_arrived",
    "report_hold_p90_min",
    "report_abandon_share",
    "busy_share",
    "prank_operator_share",
    "errors_injected",
    "errors_caught",
    "errors_published",
)
"""The per-night figures of the summary table, in order (shown as :func:`studies.units.shown`
says)."""

HEADLINE = "published_95pct_min"
"""The figure whose precision a report states when none was asked for."""


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
        Row(figure.label, key, band([r.summary[key] for r in reps]), figure.scale, figure.unit)
        for key, figure in ((key, shown(key)) for key in SUMMARY)
    ]


def record_fit(
    reps: list[Replication], releases: tuple[ReleasePoint, ...]
) -> list[tuple[ReleasePoint, Band]]:
    """The share published (percent) at exactly each time of the public record, over nights:
    a batch released at that very time counts."""
    return [
        (point, band([100 * share_by(r.published_min, r.units, point.minute) for r in reps]))
        for point in releases
    ]


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


def fresh_folder(out: Path, force: bool = False) -> Path:
    """Where to write a run: ``out`` when it is free or ``force`` says to replace it, else the
    first free ``out-2``, ``out-3``, ..."""
    if force or not out.exists():
        return out
    return next(
        candidate
        for n in itertools.count(2)
        if not (candidate := out.with_name(f"{out.name}-{n}")).exists()
    )


def write_folder(out: Path, write: Callable[[Path], None]) -> Path:
    """Have ``write`` fill a folder under a temporary name, then rename it to ``out`` (replacing
    an older one), so a folder with the final name is never half-written."""
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        write(partial)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    if out.exists():
        old = out.with_name(out.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        out.rename(old)
        shutil.rmtree(old)
    partial.rename(out)
    return out


def write_run(
    scenario: Scenario, reps: list[Replication], out: Path, info: RunInfo | None = None
) -> Path:
    """Write the whole run folder at ``out`` (replacing an older one) and return the report;
    ``info`` says how the nights were played, for the report's STRESS section."""
    write_folder(out, lambda folder: _write_contents(scenario, reps, folder, info))
    return out / "report.html"


def _write_contents(
    scenario: Scenario, reps: list[Replication], folder: Path, info: RunInfo | None
) -> None:
    config = scenario.night
    (folder / "scenario.toml").write_text(to_toml(scenario.table))
    write_replications(folder / "replications.csv", reps)
    write_csv(
        folder / "precincts.csv.gz", PRECINCT_COLUMNS, (row for r in reps for row in r.precincts)
    )
    write_csv(folder / "calls.csv.gz", CALL_COLUMNS, (row for r in reps for row in r.calls))
    write_csv(
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
    write_csv(
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
    stress = Stress.of(scenario, reps, info)
    (folder / "summary.json").write_text(
        json.dumps(
            {
                "scenario": scenario.name,
                "replications": len(reps),
                "seed": scenario.seed,
                "precision": dataclasses.asdict(stress.precision)
                | {"metric": stress.metric, "asked": stress.asked},
                "run_seconds": stress.info.seconds if stress.info else None,
                "software": stress.software,
                "machine": stress.machine,
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
    record = RECORDS.get(scenario.table.get("record", ""))
    releases, holds = (record.releases, record.holds) if record else ((), ())
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
    fit = format_record_fit(record_fit(reps, releases)) if releases else ""
    (folder / "report.html").write_text(report_html(scenario, len(reps), rows, saved, fit, stress))


@dataclass(frozen=True, slots=True)
class Stress:
    """What the report's STRESS-DES section states about a run: the precision its nights
    reached on ``metric`` (the one asked for, else the headline 95%-published time), how the
    nights were played, the software and the machine."""

    metric: str
    precision: Precision
    asked: float | None
    info: RunInfo | None
    software: dict[str, str]
    machine: dict[str, str]

    @classmethod
    def of(cls, scenario: Scenario, reps: list[Replication], info: RunInfo | None) -> Stress:
        if info and info.precision and info.metric:
            metric, precision, asked = info.metric, info.precision, info.asked
        else:
            metric, asked = HEADLINE, None
            values = [r.summary[metric] for r in reps]
            precision = Precision(
                len(values), float(np.mean(values)), half_width(values), reached=False
            )
        return cls(metric, precision, asked, info, software(), machine())

    def html(self, scenario: Scenario) -> str:
        figure = shown(self.metric)
        p = self.precision
        mean = f"{p.mean / figure.scale:.2f} {figure.unit}"
        width = f"{p.half_width / figure.scale:.2f} {figure.unit} ({100 * p.relative:.1f}%)"
        if math.isnan(p.mean):
            nights = (
                f"{p.nights} nights; {figure.label} did not happen in every night, so its mean "
                "has no confidence interval."
            )
        elif self.asked is None:
            nights = (
                f"{p.nights} nights, the number asked for. The 95% confidence interval of the "
                f"mean {figure.label} is {mean} ± {width}."
            )
        else:
            verdict = "reached" if p.reached else "not reached by the cap"
            nights = (
                f"{p.nights} nights, chosen by the confidence-interval method: nights were added "
                f"until the 95% confidence interval of the mean {figure.label} was within "
                f"{100 * self.asked:g}% of the mean ({verdict}): {mean} ± {width}."
            )
        run = (
            f"The nights ran on {self.info.where} in {self.info.seconds:.1f} s."
            if self.info
            else ""
        )
        unknowns = html_table(
            ("assumption", "value", "range", "why"),
            (
                (key, _text(scenario.value(key)), f"{u.low:g} to {u.high:g}", u.why)
                for key, u in scenario.unknowns.items()
            ),
        )
        return "\n".join(
            [
                "<h2>How this run was made (STRESS-DES)</h2>",
                "<p>Inputs: every input of the night, and what differs from the base file, "
                "are listed under Inputs below; the model itself is described in the "
                "project's docs/model.md.</p>",
                (
                    f"<p>Assumptions ({len(scenario.unknowns)} unknowns, fitted within their "
                    f"ranges; {len(scenario.facts)} inputs are facts of the record):</p>" + unknowns
                    if scenario.unknowns
                    else "<p>The scenario states no assumptions with ranges.</p>"
                ),
                f"<p>Nights and precision: {html.escape(nights)}</p>",
                f"<p>Seed: scenario seed {scenario.seed}; night i gets the first word of "
                f"numpy's SeedSequence([{scenario.seed}, i]). {html.escape(run)}</p>",
                html_table(("software", "version"), self.software.items()),
                html_table(("machine", ""), self.machine.items()),
            ]
        )


def report_html(
    scenario: Scenario,
    replications: int,
    rows: list[Row],
    figures: list[tuple[str, Path]],
    record_fit_text: str = "",
    stress: Stress | None = None,
) -> str:
    """A self-contained page: description, summary table, fit to the record, plots embedded as
    PNG data, how the run was made, and the scenario's inputs."""
    table = html_table(
        ("figure", "mean [90% band]", "unit"), ((r.label, r.text(), r.unit) for r in rows)
    )
    intro = (
        f"<p>{replications} simulated nights, scenario seed {scenario.seed}. Times are hours "
        "after 7 pm. Figures are the mean over nights with the 90% band (5th to 95th "
        "percentile) in brackets.</p>"
    )
    cautions = [*scenario.warnings(), *filter(None, [few_nights(replications)])]
    return page(
        f"Caucus Night: {scenario.name}",
        [
            _description(scenario),
            html_warnings(cautions),
            intro + table,
            f"<pre>{html.escape(record_fit_text)}</pre>" if record_fit_text else "",
            html_figures(figures),
            stress.html(scenario) if stress else "",
            html_inputs(scenario),
        ],
    )


def page(title: str, sections: Iterable[str]) -> str:
    """A self-contained HTML page with these sections (HTML) under a title."""
    body = "\n".join(section for section in sections if section)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1000px; margin: 2em auto; color: #222; }}
table {{ border-collapse: collapse; }}
td, th {{ padding: 0.25em 0.8em; border-bottom: 1px solid #ddd; text-align: left; }}
img {{ max-width: 100%; }}
.warning {{ color: #8a4b00; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
{body}
</body></html>
"""


def html_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A table of escaped text."""
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "\n".join(
        "<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row) + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>\n{body}\n</table>"


def html_figures(figures: list[tuple[str, Path]]) -> str:
    """PNG files embedded as data, each under its title."""
    return "\n".join(
        f"<h2>{html.escape(title)}</h2><img alt='{html.escape(title)}' "
        f"src='data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()}'>"
        for title, path in figures
    )


def html_warnings(warnings: list[str]) -> str:
    """Warnings as a list, or nothing."""
    items = "".join(f"<li>{html.escape(w)}</li>" for w in warnings)
    return f"<ul class='warning'>{items}</ul>" if warnings else ""


def html_inputs(scenario: Scenario) -> str:
    """What differs from the scenario's base, then every input of the night with where it
    comes from (a fact of the record, measured from data, an assumption with its range, a
    choice, or a default)."""
    parts = ["<h2>Inputs</h2>"]
    if scenario.base is not None:
        base = scenario.base
        source = f" ({base.path.name})" if base.path else ""
        if differences := scenario.differences():
            parts.append(f"<p>What differs from {html.escape(base.name + source)}:</p>")
            parts.append(
                html_table(
                    ("input", base.name, scenario.name),
                    ((key, _text(was), _text(now)) for key, was, now in differences),
                )
            )
        else:
            parts.append(f"<p>The same night as {html.escape(base.name + source)}.</p>")
    defaults = night_values(NightConfig())
    rows = []
    for key, value in night_values(scenario.night).items():
        items = [u for k, u in scenario.unknowns.items() if k.startswith(f"{key}[")]
        if key in scenario.facts:
            origin = f"fact: {scenario.facts[key].source}"
        elif key in scenario.measured:
            origin = f"measured: {scenario.measured[key]}"
        elif key in scenario.unknowns:
            unknown = scenario.unknowns[key]
            origin = f"assumption in [{unknown.low:g}, {unknown.high:g}]: {unknown.why}"
        elif items:
            origin = "assumptions: " + "; ".join(
                f"{u.key[len(key) :]} in [{u.low:g}, {u.high:g}]: {u.why}" for u in items
            )
        elif key in scenario.choices:
            origin = f"choice: {scenario.choices[key]}"
        else:
            origin = "default" if defaults[key] == value else "set by the scenario"
        rows.append((key, _text(value), origin))
    parts.append(
        f"<details><summary>Every input of the night ({len(rows)})</summary>"
        + html_table(("input", "value", "where it comes from"), rows)
        + "</details>"
    )
    return "\n".join(parts)


def _description(scenario: Scenario) -> str:
    lines = html.escape(scenario.description or "").splitlines()
    return f"<p>{'<br>'.join(lines)}</p>"


def _text(value: Any) -> str:
    """An input as a planner reads it: 1260.0 as 1260, None as never."""
    if isinstance(value, tuple):
        return "[" + ", ".join(_text(v) for v in value) + "]"
    if dataclasses.is_dataclass(value):
        fields = dataclasses.fields(value)
        return "{" + ", ".join(f"{f.name} = {_text(getattr(value, f.name))}" for f in fields) + "}"
    return value_text(value)


def write_replications(path: Path, reps: list[Replication]) -> None:
    """One row of per-night figures per night, with its index and seed."""
    keys = list(reps[0].summary)
    write_csv(
        path,
        ["replication", "seed", *keys],
        ([r.index, r.seed, *(r.summary[k] for k in keys)] for r in reps),
    )


def write_csv(path: Path, header: Iterable[str], rows: Iterable[Iterable[Any]]) -> None:
    """A CSV file (gzipped when its name ends in .gz)."""
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
    if isinstance(value, dict):  # an array of tables, written inline
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {value!r} as TOML")
