"""The run folder's plots (matplotlib, PNG). Hours are hours after 7 pm on caucus night."""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.config import CHANNELS
from studies.bands import Band, band, curve_band
from studies.levers import value_text
from studies.public_record import HoldReport, ReleasePoint
from studies.runner import DELAY_PARTS, Replication
from studies.units import Shown

COLORS = colormaps["tab10"].colors

DELAY_LABELS = {
    "caucus": "caucus + paperwork",
    "channel": "getting it to HQ",
    "hq": "HQ entry + verification",
    "release": "waiting for a release",
}


def _axes(title: str, xlabel: str, ylabel: str) -> tuple[Figure, Axes]:
    figure = Figure(figsize=(9, 5), dpi=110, layout="tight")
    axes = figure.add_subplot()
    axes.set_title(title)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.grid(alpha=0.3)
    return figure, axes


def save(figure: Figure, path: Path) -> Path:
    """Write a figure as PNG and return its path."""
    figure.savefig(path)
    return path


MARKERS = {"exact": "o", "by": "v", "at_least": "^", "about": "s"}
"""Marker of a public-record point by how exact the report is."""


def _public_record(
    axes: Axes, points: list[tuple[float, float, str]], bounds: dict[str, str], label: str
) -> None:
    """Black markers for (hours, value, bound) points of the public record, one per bound."""
    for bound, words in bounds.items():
        shown = [(x, y) for x, y, b in points if b == bound]
        if shown:
            xs, ys = zip(*shown, strict=True)
            axes.plot(xs, ys, MARKERS[bound], color="black", label=f"{label} ({words})")


def reporting_horizon_h(curves: list[np.ndarray], minutes: np.ndarray) -> float:
    """Hours to show: until the mean published curve is flat at its end, plus a margin."""
    mean = np.mean(np.vstack(curves), axis=0)
    final = mean[-1]
    reached = minutes[np.argmax(mean >= final - 1e-9)] if final > 0 else minutes[-1]
    return min(math.ceil(reached / 60 * 1.1 + 1), minutes[-1] / 60)


ZOOM_HOURS = 12
"""The first hours of the night, drawn beside the whole curve."""


def reporting_curve(
    runs: dict[str, list[Replication]],
    minutes: np.ndarray,
    record: tuple[ReleasePoint, ...] = (),
    received: bool = True,
) -> Figure:
    """Share of precincts received and published through the night, mean and 90% band: the
    whole night on the left, its first :data:`ZOOM_HOURS` hours on the right."""
    title = "Precincts reporting" if len(runs) == 1 else "Precincts published, by scenario"
    figure = Figure(figsize=(13, 5), dpi=110, layout="tight")
    whole, first = figure.subplots(1, 2, width_ratios=(3, 2), sharey=True)
    horizon = max(
        reporting_horizon_h([r.published for r in reps], minutes) for reps in runs.values()
    )
    if record:
        horizon = max(horizon, max(p.hours for p in record) * 1.05)
    for axes, hours, name in ((whole, horizon, title), (first, ZOOM_HOURS, "the first hours")):
        axes.set_title(name)
        axes.set_xlabel("hours after 7 pm")
        axes.grid(alpha=0.3)
        _curves(axes, runs, minutes, record, received)
        axes.set_xlim(0, hours)
        axes.set_ylim(0, 101)
    whole.set_ylabel("share of precincts (%)")
    whole.legend(loc="lower right", title="mean, 90% band" if len(runs) == 1 else None)
    return figure


def _curves(
    axes: Axes,
    runs: dict[str, list[Replication]],
    minutes: np.ndarray,
    record: tuple[ReleasePoint, ...],
    received: bool,
) -> None:
    hours = minutes / 60
    for (name, reps), color in zip(runs.items(), COLORS, strict=False):
        kinds = [("published", "-")] + ([("received", "--")] if received else [])
        for kind, style in kinds:
            mean, low, high = curve_band([getattr(r, kind) for r in reps])
            label = f"{kind}" if len(runs) == 1 else f"{name}: {kind}"
            axes.step(hours, 100 * mean, style, where="post", color=color, label=label)
            axes.fill_between(
                hours, 100 * low, 100 * high, step="post", color=color, alpha=0.2, lw=0
            )
    points = [(p.hours, p.percent_published, p.bound) for p in record]
    _public_record(axes, points, {"exact": "published", "by": "published by"}, "public record")


def hold_times(reps: list[Replication], record: tuple[HoldReport, ...] = ()) -> Figure:
    """90th-percentile hold of chairs' calls by the hour the hold ended."""
    figure, axes = _axes(
        "Hotline hold times of precinct chairs",
        "hour the hold ended: answered or hung up (hours after 7 pm)",
        "minutes on hold",
    )
    mean, low, high = curve_band([r.report_hold_p90_by_hour for r in reps])
    hours = np.arange(len(mean)) + 0.5
    shown = ~np.isnan(mean)
    if shown.any():
        last = int(np.max(np.nonzero(shown))) + 1
        axes.step(hours[:last], mean[:last], where="mid", label="90th percentile hold (mean)")
        axes.fill_between(hours[:last], low[:last], high[:last], step="mid", alpha=0.2, lw=0)
        axes.set_xlim(0, max(last, 6))
    points = [(h.hours, h.hold_minutes, h.bound) for h in record]
    bounds = {"exact": "exact", "at_least": "at least", "about": "about"}
    _public_record(axes, points, bounds, "chairs' reports")
    axes.legend(loc="upper left")
    return figure


def hotline_load(reps: list[Replication], sample_every_min: float, lines: int) -> Figure:
    """Lines busy and callers on hold through the night, mean and 90% band."""
    figure, axes = _axes("Hotline load", "hours after 7 pm", "calls")
    for series, label in ((lambda r: r.lines_busy, "lines busy"), (lambda r: r.on_hold, "on hold")):
        mean, low, high = curve_band([series(r) for r in reps])
        hours = np.arange(len(mean)) * sample_every_min / 60
        axes.plot(hours, mean, label=label)
        axes.fill_between(hours, low, high, alpha=0.2, lw=0)
    axes.axhline(lines, color="grey", ls=":", label=f"{lines} lines")
    busy = np.mean(np.vstack([r.lines_busy for r in reps]), axis=0)
    active = np.nonzero(busy > 0.5)[0]
    end_h = (active[-1] + 1) * sample_every_min / 60 if len(active) else 12
    axes.set_xlim(0, max(6, math.ceil(end_h * 1.1)))
    axes.legend(loc="upper right")
    return figure


def channel_mix(reps: list[Replication]) -> Figure:
    """Share of precincts received by each channel, with the 90% band."""
    figure, axes = _axes("How results reached HQ", "channel", "share of precincts (%)")
    bands = [band([100 * r.summary[f"share_{c}"] for r in reps]) for c in CHANNELS]
    means = [b.mean for b in bands]
    errors = [[b.mean - b.low for b in bands], [b.high - b.mean for b in bands]]
    axes.bar(CHANNELS, means, yerr=errors, capsize=6, color=COLORS[: len(CHANNELS)])
    axes.set_ylim(0, 100)
    return figure


def delay_sources(reps: list[Replication]) -> Figure:
    """Mean hours of each part of a published precinct's delay, with the 90% band."""
    figure, axes = _axes(
        "Where the delay comes from (published precincts)", "mean hours", "part of the delay"
    )
    bands = [band([r.delay_min[part] / 60 for r in reps]) for part in DELAY_PARTS]
    labels = [DELAY_LABELS[part] for part in DELAY_PARTS]
    errors = [[b.mean - b.low for b in bands], [b.high - b.mean for b in bands]]
    axes.barh(labels, [b.mean for b in bands], xerr=errors, capsize=6)
    axes.invert_yaxis()
    return figure


def metric_sweep(
    keys: list[str], points: list[tuple[Any, ...]], bands: list[Band], figure: Shown
) -> Figure:
    """A per-night figure (in its own unit) across a grid: mean and 90% band, one line per
    value of the keys after the first."""
    chart, axes = _axes(f"{figure.label} by {' x '.join(keys)}", keys[0], figure.axis)
    means = [b.mean / figure.scale for b in bands]
    lows = [b.low / figure.scale for b in bands]
    highs = [b.high / figure.scale for b in bands]
    _grid_lines(axes, keys, points, means, lows, highs, bars=False)
    return chart


def share_met(
    keys: list[str],
    points: list[tuple[Any, ...]],
    shares: list[tuple[float, float, float]],
    target: str,
    level: float,
    required: float | None = None,
) -> Figure:
    """Share of nights meeting a target at each grid point or plan tried, with its interval,
    one line per value of the keys after the first; ``required`` as a dotted line."""
    chart, axes = _axes(
        f"Nights meeting '{target}'", keys[0], f"share of nights (%), {100 * level:g}% interval"
    )
    share, low, high = ([100 * s[i] for s in shares] for i in range(3))
    _grid_lines(axes, keys, points, share, low, high, bars=True)
    if required is not None:
        axes.axhline(100 * required, color="black", ls=":", label=f"{100 * required:g}% asked")
        axes.legend(title=", ".join(keys[1:]) or None, fontsize="small")
    axes.set_ylim(-2, 102)
    return chart


def _grid_lines(
    axes: Axes,
    keys: list[str],
    points: list[tuple[Any, ...]],
    y: list[float],
    low: list[float],
    high: list[float],
    bars: bool,
) -> None:
    """Across the first key's values, one line per combination of the other keys' values:
    a band around the line, or error bars."""
    firsts = list(dict.fromkeys(point[0] for point in points))
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in firsts)
    where = {v: (v if numeric else i) for i, v in enumerate(firsts)}
    lines: dict[tuple[Any, ...], list[int]] = {}
    for i, point in enumerate(points):
        lines.setdefault(point[1:], []).append(i)
    span = (max(where.values()) - min(where.values())) or 1
    for n, ((rest, members), color) in enumerate(zip(lines.items(), itertools.cycle(COLORS))):
        members.sort(key=lambda i: where[points[i][0]])
        dodge = (n - (len(lines) - 1) / 2) * 0.01 * span if bars else 0.0
        xs = [where[points[i][0]] + dodge for i in members]
        ys, lo, hi = ([values[i] for i in members] for values in (y, low, high))
        label = ", ".join(value_text(v) for v in rest) or None
        if bars:
            errors = [
                [a - b for a, b in zip(ys, lo, strict=True)],
                [b - a for a, b in zip(ys, hi, strict=True)],
            ]
            axes.errorbar(xs, ys, yerr=errors, fmt="o-", capsize=4, color=color, label=label)
        else:
            axes.plot(xs, ys, "o-", color=color, label=label)
            axes.fill_between(xs, lo, hi, color=color, alpha=0.15, lw=0)
    if not numeric:
        long = len(firsts) > 6 or max(len(str(v)) for v in firsts) > 8
        axes.set_xticks(
            range(len(firsts)),
            [value_text(v) for v in firsts],
            rotation=30 if long else 0,
            ha="right" if long else "center",
        )
    if len(keys) > 1:
        axes.legend(title=", ".join(keys[1:]), fontsize="small")


def tornado(
    labels: list[str],
    values: list[float],
    conf: list[float],
    xlabel: str,
    title: str,
    chance: float = math.nan,
    inner: list[float] | None = None,
    inner_label: str = "",
) -> Figure:
    """Ranked horizontal bars (largest on top) with confidence intervals; ``inner`` as thinner
    bars inside (Sobol's first-order share); ``chance`` as a dotted line."""
    figure, axes = _axes(title, xlabel, "")
    figure.set_figheight(max(3.0, 1.2 + 0.45 * len(labels)))
    rows = np.arange(len(labels))
    axes.barh(rows, values, xerr=conf, capsize=5, color=COLORS[0], label=xlabel.split(" (")[0])
    if inner is not None:
        axes.barh(rows, inner, height=0.35, color=COLORS[1], label=inner_label)
    if not math.isnan(chance):
        axes.axvline(chance, color="grey", ls=":", label="chance alone (at most)")
    axes.set_yticks(rows, labels)
    axes.invert_yaxis()
    axes.set_xlim(left=min(0.0, *(v - c for v, c in zip(values, conf, strict=True))))
    axes.legend(loc="lower right", fontsize="small")
    return figure
