"""Many nights of one scenario, in parallel processes, with results that do not depend on how
many processes ran them: replication i always gets the seed derived from (scenario seed, i).

Times are minutes after 7 pm; curves are sampled every :data:`GRID_STEP_MIN` minutes.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from sim.config import NightConfig
from sim.hotline import REPORT
from sim.metrics import summarize
from sim.night import Night, run_night

T = TypeVar("T")
Reduce = Callable[[Night, int], T]
"""What a study keeps of night ``index``: a module-level function of (night, index)."""

GRID_STEP_MIN = 10.0
"""Spacing of the reporting curves (minutes)."""

DELAY_PARTS = ("caucus", "channel", "hq", "release")
"""Where a published precinct's delay comes from: the caucus and paperwork until the chair is
ready, the channel until HQ has it, HQ verification, and waiting for the release."""

PRECINCT_COLUMNS = (
    "replication",
    "county",
    "precinct",
    "is_satellite",
    "attendance",
    "delegates",
    "ready_min",
    "first_attempt_min",
    "attempts",
    "channels_tried",
    "channel",
    "received_min",
    "verified_min",
    "published_min",
    "mistake",
    "findings",
    "error_published",
)
CALL_COLUMNS = ("replication", "kind", "caller", "placed_min", "wait_min", "outcome", "ended_min")
CALL_RECORD_NIGHTS = 5
"""Per-call records are kept for the first nights only: a flooded night has ~50,000 calls."""


@dataclass(frozen=True)
class Replication:
    """What one night leaves for the run folder: aggregates, curves, series, records."""

    index: int
    seed: int
    summary: dict[str, float]
    received: np.ndarray
    """Share of precincts received at each grid minute."""
    published: np.ndarray
    """Share of precincts published at each grid minute."""
    report_hold_p90_by_hour: np.ndarray
    """90th percentile hold (minutes) of chairs' calls whose hold ended in each hour after
    7 pm."""
    lines_busy: np.ndarray
    """Lines busy every ``sample_every_min`` minutes from 7 pm."""
    on_hold: np.ndarray
    """Callers on hold every ``sample_every_min`` minutes from 7 pm."""
    delay_min: dict[str, float]
    """Mean minutes of each :data:`DELAY_PARTS` part over published precincts."""
    precincts: list[tuple]
    """One row of :data:`PRECINCT_COLUMNS` per reporting unit."""
    calls: list[tuple]
    """One row of :data:`CALL_COLUMNS` per call (first :data:`CALL_RECORD_NIGHTS` nights)."""


def replication_seed(scenario_seed: int, index: int) -> int:
    """The seed of replication ``index``: the same whatever the number of workers."""
    return int(np.random.SeedSequence([scenario_seed, index]).generate_state(1)[0])


def grid(config: NightConfig) -> np.ndarray:
    """Minutes after 7 pm at which curves are sampled, up to the night's horizon."""
    return np.arange(0.0, config.horizon_min + GRID_STEP_MIN, GRID_STEP_MIN)


def replicate(night: Night, index: int) -> Replication:
    """Reduce night ``index`` of a scenario to what the run folder keeps."""
    minutes = grid(night.config)
    return Replication(
        index=index,
        seed=night.seed,
        summary=summarize(night),
        received=_share_by(minutes, [r.received_min for r in night.records]),
        published=_share_by(minutes, [r.published_min for r in night.records]),
        report_hold_p90_by_hour=_hold_p90_by_hour(night),
        lines_busy=_sampled(night, 1),
        on_hold=_sampled(night, 2),
        delay_min=_delay_parts(night),
        precincts=[_precinct_row(index, r) for r in night.records],
        calls=[
            (index, c.kind, c.caller, c.placed_min, c.wait_min, c.outcome, c.ended_min)
            for c in (night.calls if index < CALL_RECORD_NIGHTS else ())
        ],
    )


def play(config: NightConfig, scenario_seed: int, index: int, reduce: Reduce[T]) -> T:
    """Run night ``index`` of a scenario (its seed derived from the scenario's) and reduce it."""
    return reduce(run_night(config, replication_seed(scenario_seed, index)), index)


def run_nights(
    config: NightConfig,
    scenario_seed: int,
    nights: int,
    reduce: Reduce[T],
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> list[T]:
    """Nights 0 .. ``nights`` - 1 in ``workers`` processes, each reduced by ``reduce`` (a
    module-level function, so it can travel to another process) to what the caller needs; in
    night order."""
    if nights < 1 or workers < 1:
        raise ValueError("nights and workers must be at least 1")
    done = []
    for reduced in _played(config, scenario_seed, nights, reduce, workers):
        done.append(reduced)
        if progress:
            progress(len(done), nights)
    return done


def run_replications(
    config: NightConfig,
    scenario_seed: int,
    replications: int,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> list[Replication]:
    """``replications`` nights in ``workers`` processes, each reduced to a
    :class:`Replication`, in replication order."""
    return run_nights(config, scenario_seed, replications, replicate, workers, progress)


def _played(
    config: NightConfig, scenario_seed: int, nights: int, reduce: Reduce[T], workers: int
) -> Iterator[T]:
    if workers == 1:
        for index in range(nights):
            yield play(config, scenario_seed, index, reduce)
        return
    with ProcessPoolExecutor(max_workers=min(workers, nights)) as pool:
        yield from pool.map(
            play,
            [config] * nights,
            [scenario_seed] * nights,
            range(nights),
            [reduce] * nights,
        )


def default_workers() -> int:
    """One worker per core this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


class ProgressBar:
    """A one-line progress bar on standard error: replications done, elapsed seconds."""

    def __init__(self, label: str, width: int = 30) -> None:
        self.label, self.width, self.start = label, width, time.perf_counter()

    def __call__(self, done: int, total: int) -> None:
        filled = self.width * done // total
        elapsed = time.perf_counter() - self.start
        bar = "#" * filled + "." * (self.width - filled)
        end = "\n" if done == total else ""
        sys.stderr.write(f"\r{self.label} [{bar}] {done}/{total} nights, {elapsed:.1f} s{end}")
        sys.stderr.flush()


def _share_by(minutes: np.ndarray, times: list[float | None]) -> np.ndarray:
    done = np.sort(np.array([t for t in times if t is not None], dtype=float))
    return np.searchsorted(done, minutes, side="right") / max(len(times), 1)


def _sampled(night: Night, column: int) -> np.ndarray:
    """A time-series column as it stood every ``sample_every_min`` minutes from 7 pm."""
    config = night.config
    minutes = np.arange(0.0, config.horizon_min + 1e-9, config.sample_every_min)
    times = np.array([row[0] for row in night.series])
    values = np.array([row[column] for row in night.series], dtype=float)
    latest = np.searchsorted(times, minutes, side="right") - 1
    return np.where(latest >= 0, values[np.maximum(latest, 0)], 0.0)


def _hold_p90_by_hour(night: Night) -> np.ndarray:
    """90th-percentile hold of chairs' calls by the hour the hold ended (answered or hung up),
    as chairs told reporters: "on hold for an hour" is said when the hold is over."""
    hours = math.ceil(night.config.horizon_min / 60)
    holds: dict[int, list[float]] = {}
    for call in night.calls:
        if call.kind == REPORT and call.wait_min is not None:
            hour = math.floor((call.placed_min + call.wait_min) / 60)
            holds.setdefault(hour, []).append(call.wait_min)
    out = np.full(hours, np.nan)
    for hour, waits in holds.items():
        if 0 <= hour < hours:
            out[hour] = np.percentile(waits, 90)
    return out


def _delay_parts(night: Night) -> dict[str, float]:
    parts: dict[str, list[float]] = {part: [] for part in DELAY_PARTS}
    for r in night.records:
        if r.published_min is None:
            continue
        for part, start, end in (
            ("caucus", 0.0, r.ready_min),
            ("channel", r.ready_min, r.received_min),
            ("hq", r.received_min, r.verified_min),
            ("release", r.verified_min, r.published_min),
        ):
            parts[part].append(max(end - max(start, 0.0), 0.0))
    return {part: float(np.mean(v)) if v else math.nan for part, v in parts.items()}


def _precinct_row(index: int, r) -> tuple:
    p = r.precinct
    return (
        index,
        p.county,
        p.name,
        int(p.is_satellite),
        p.attendance,
        p.delegates,
        r.ready_min,
        r.first_attempt_min,
        len(r.attempts),
        " ".join(a.channel for a in r.attempts),
        r.channel or "",
        r.received_min,
        r.verified_min,
        r.published_min,
        p.mistake or "",
        " ".join(r.findings),
        int(r.error_published),
    )
