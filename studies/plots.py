"""The run folder's plots (matplotlib, PNG). Hours are hours after 7 pm on caucus night."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.config import CHANNELS
from studies.bands import band, curve_band
from studies.public_record import HoldReport, ReleasePoint
from studies.runner import DELAY_PARTS, Replication

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


def reporting_curve(
    runs: dict[str, list[Replication]],
    minutes: np.ndarray,
    record: tuple[ReleasePoint, ...] = (),
    received: bool = True,
) -> Figure:
    """Share of precincts received and published through the night, mean and 90% band."""
    hours = minutes / 60
    title = "Precincts reporting" if len(runs) == 1 else "Precincts published, by scenario"
    figure, axes = _axes(title, "hours after 7 pm", "share of precincts (%)")
    horizon = max(
        reporting_horizon_h([r.published for r in reps], minutes) for reps in runs.values()
    )
    if record:
        horizon = max(horizon, max(p.hours for p in record) * 1.05)
    for (name, reps), color in zip(runs.items(), COLORS, strict=False):
        kinds = [("published", "-")] + ([("received", "--")] if received else [])
        for kind, style in kinds:
            mean, low, high = curve_band([getattr(r, kind) for r in reps])
            label = f"{kind}" if len(runs) == 1 else f"{name}: {kind}"
            axes.plot(hours, 100 * mean, style, color=color, label=label)
            axes.fill_between(hours, 100 * low, 100 * high, color=color, alpha=0.2, lw=0)
    points = [(p.hours, p.percent_published, p.bound) for p in record]
    _public_record(axes, points, {"exact": "published", "by": "published by"}, "public record")
    axes.set_xlim(0, horizon)
    axes.set_ylim(0, 101)
    axes.legend(loc="lower right", title="mean, 90% band" if len(runs) == 1 else None)
    return figure


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


def metric_sweep(rows: list[tuple[str, list[float]]], parameter: str, metric: str) -> Figure:
    """A metric (hours) against a swept parameter: mean and 90% band per grid point."""
    figure, axes = _axes(f"{metric} by {parameter}", parameter, f"{metric} (hours)")
    labels = [label for label, _ in rows]
    bands = [band([v / 60 for v in values]) for _, values in rows]
    x = np.arange(len(labels))
    axes.plot(x, [b.mean for b in bands], "o-")
    axes.fill_between(x, [b.low for b in bands], [b.high for b in bands], alpha=0.2, lw=0)
    axes.set_xticks(x, labels, rotation=30 if len(labels) > 6 else 0)
    return figure
