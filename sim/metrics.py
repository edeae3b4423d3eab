"""What a night adds up to: reporting times, channels, hold times, errors; and the conservation
checks every night must pass. Times are minutes after 7 pm."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from sim.config import CHANNELS
from sim.hotline import ABANDONED, BUSY, KINDS, OUTCOMES, PRANK, REPORT, UNFINISHED
from sim.night import Night

PERCENTS = (50, 90, 95, 99, 100)
"""Shares of precincts (percent) whose received and published times are reported."""


@dataclass(frozen=True, slots=True)
class HourHold:
    """Hold times (minutes) of calls placed in one hour of the night that reached the queue;
    ``hour`` counts from 7 pm (0 is 7-8 pm). NaN when no call of that hour was held."""

    hour: int
    calls: int
    p50_min: float
    p90_min: float
    max_min: float


def time_to_share(times: list[float | None], total: int, percent: float) -> float:
    """Minute by which ``percent`` of ``total`` precincts had a time; NaN if never."""
    done = sorted(t for t in times if t is not None)
    needed = math.ceil(total * percent / 100)
    return done[needed - 1] if 0 < needed <= len(done) else math.nan


def hold_by_hour(night: Night, kind: str | None = REPORT) -> list[HourHold]:
    """Hold-time percentiles by hour the call was placed, for one kind of caller (None: all)."""
    waits: dict[int, list[float]] = {}
    for call in night.calls:
        if call.wait_min is not None and (kind is None or call.kind == kind):
            waits.setdefault(math.floor(call.placed_min / 60), []).append(call.wait_min)
    return [
        HourHold(hour, len(w), *np.percentile(w, [50, 90, 100]).tolist())
        for hour, w in sorted(waits.items())
    ]


def summarize(night: Night) -> dict[str, float]:
    """The night's aggregates as a flat dict of numbers (minutes after 7 pm, shares in 0..1):

    - ``received_{p}pct_min``, ``published_{p}pct_min`` for p in :data:`PERCENTS` (NaN: never);
    - ``share_{channel}``: share of precincts received by each channel; ``never_arrived``
      (count);
    - ``calls_{kind}`` for each of :data:`sim.hotline.KINDS`; ``busy_share`` and
      ``abandon_share`` of all calls; ``wait_share``: of all calls, those put on hold before an
      operator answered or they hung up (Erlang C's probability of waiting);
      ``report_abandon_share`` of chairs' calls that reached the queue;
      ``report_hold_p50_min``, ``report_hold_p90_min``;
    - ``prank_operator_share``: share of operator minutes spent on pranks;
    - ``errors_injected``, ``errors_caught``, ``errors_published`` (counts of precincts);
      ``flagged`` results; ``peak_lines_busy``.

    The keys are the same for every night.
    """
    records, calls = night.records, night.calls
    total = len(records)
    summary: dict[str, float] = {}
    for p in PERCENTS:
        summary[f"received_{p}pct_min"] = time_to_share([r.received_min for r in records], total, p)
        summary[f"published_{p}pct_min"] = time_to_share(
            [r.published_min for r in records], total, p
        )
    channels = Counter(r.channel for r in records)
    for channel in CHANNELS:
        summary[f"share_{channel}"] = channels[channel] / total
    summary["never_arrived"] = channels[None]
    kinds = Counter(c.kind for c in calls)
    for kind in KINDS:
        summary[f"calls_{kind}"] = kinds[kind]
    outcomes = Counter(c.outcome for c in calls)
    summary["busy_share"] = outcomes[BUSY] / len(calls) if calls else math.nan
    summary["abandon_share"] = outcomes[ABANDONED] / len(calls) if calls else math.nan
    waited = sum(c.wait_min is not None and c.wait_min > 0 for c in calls)
    summary["wait_share"] = waited / len(calls) if calls else math.nan
    held = [c for c in calls if c.kind == REPORT and c.wait_min is not None]
    summary["report_abandon_share"] = (
        sum(c.outcome == ABANDONED for c in held) / len(held) if held else math.nan
    )
    waits = [c.wait_min for c in held]
    p50, p90 = np.percentile(waits, [50, 90]).tolist() if waits else (math.nan, math.nan)
    summary["report_hold_p50_min"], summary["report_hold_p90_min"] = p50, p90
    operator_min = night.hotline.operator_min
    busy_min = sum(operator_min.values())
    summary["prank_operator_share"] = operator_min[PRANK] / busy_min if busy_min else 0.0
    summary["errors_injected"] = sum(r.precinct.mistake is not None for r in records)
    summary["errors_caught"] = sum(r.error_caught for r in records)
    summary["errors_published"] = sum(r.error_published for r in records)
    summary["flagged"] = sum(bool(r.findings) for r in records)
    summary["peak_lines_busy"] = night.hotline.peak_lines_busy
    return summary


def conservation_problems(night: Night) -> list[str]:
    """Ways the night broke conservation (empty: none).

    Every precinct is published at most once, and only after its caucus ended, it arrived and
    was verified; every call ends in exactly one outcome, and chairs' hotline attempts match
    the finished report calls one for one; lines busy never exceed the most lines the night had,
    nor callers on hold the lines busy.
    """
    problems = []
    hotline = night.config.hotline
    lines = max([hotline.lines, *(s.lines for s in hotline.shifts if s.lines is not None)])
    for record in night.records:
        name = record.precinct.name
        if record.publications > 1:
            problems.append(f"{name} published {record.publications} times")
        if record.publications and record.received_min is None:
            problems.append(f"{name} published without arriving")
        times = [record.ready_min, record.received_min, record.verified_min, record.published_min]
        if None not in times and times != sorted(times):
            problems.append(f"{name} times out of order")
    published = Counter(r.precinct.index for r in night.hq.published)
    if any(n > 1 for n in published.values()):
        problems.append("a precinct appears twice in the releases")
    for i, call in enumerate(night.calls):
        if call.outcome not in OUTCOMES:
            problems.append(f"call {i} ({call.kind}) has no outcome")
    report_calls = Counter(
        c.caller for c in night.calls if c.kind == REPORT and c.outcome != UNFINISHED
    )
    attempts = Counter(
        r.precinct.index for r in night.records for a in r.attempts if a.channel == "hotline"
    )
    if report_calls != attempts:
        problems.append("chairs' hotline attempts do not match the report calls")
    if night.hotline.peak_lines_busy > lines:
        problems.append(f"{night.hotline.peak_lines_busy} lines busy of {lines}")
    if any(busy > lines or on_hold > busy for _, busy, on_hold in night.series):
        problems.append("time series shows more lines busy than lines, or more on hold than busy")
    return problems
