"""Many nights of one scenario, in local processes or on a Dask cluster, with results that do
not depend on where they ran: replication i always gets the seed derived from (scenario seed, i).

Times are minutes after 7 pm; curves are sampled every :data:`GRID_STEP_MIN` minutes and at
each batch release time, and figures at a time of the public record are read from the exact
publication times (:func:`share_by`), never from the sampled curve.
"""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from typing import TypeVar

import numpy as np

from sim.clock import CLOCK_TOLERANCE_MIN
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
SCHEDULER_VARIABLE = "CAUCUS_DASK_SCHEDULER"
"""Environment variable naming the Dask scheduler to run nights on when none is given."""
CONNECT_TIMEOUT_S = 10
"""How long to try reaching a Dask scheduler (seconds)."""


class ClusterError(RuntimeError):
    """The nights cannot run on the Dask cluster asked for."""


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
    published_min: np.ndarray
    """Sorted minutes at which precincts were published (published ones only): the exact
    times, for reading the share published at any moment (:func:`share_by`)."""
    units: int
    """Reporting units in the night."""
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
    """One row of :data:`PRECINCT_COLUMNS` per reporting unit (empty from :func:`aggregates`)."""
    calls: list[tuple]
    """One row of :data:`CALL_COLUMNS` per call (first :data:`CALL_RECORD_NIGHTS` nights of
    :func:`replicate` only)."""


def replication_seed(scenario_seed: int, index: int) -> int:
    """The seed of replication ``index``: the same whatever the number of workers."""
    return int(np.random.SeedSequence([scenario_seed, index]).generate_state(1)[0])


def grid(config: NightConfig) -> np.ndarray:
    """Minutes after 7 pm at which curves are sampled, up to the night's horizon: every
    :data:`GRID_STEP_MIN` and at each batch release time, so a curve drawn as steps jumps
    exactly when a batch is published."""
    every = np.arange(0.0, config.horizon_min + GRID_STEP_MIN, GRID_STEP_MIN)
    release = config.release
    batches = release.batch_times_min if release.mode == "batches" else ()
    return np.union1d(every, [t for t in batches if 0 <= t <= config.horizon_min])


def share_by(times: np.ndarray, total: int, minute: float | np.ndarray) -> float | np.ndarray:
    """Share of ``total`` units whose time (``times``, sorted, present ones only) is at or
    before ``minute``: a release at exactly ``minute`` counts (within
    :data:`~sim.clock.CLOCK_TOLERANCE_MIN`)."""
    counted = np.searchsorted(times, np.asarray(minute) + CLOCK_TOLERANCE_MIN, side="right")
    return counted / max(total, 1)


def replicate(night: Night, index: int) -> Replication:
    """Reduce night ``index`` of a scenario to what the run folder keeps: the
    :func:`aggregates`, a row per precinct and, for the first nights, a row per call."""
    return replace(
        aggregates(night, index),
        precincts=[_precinct_row(index, r) for r in night.records],
        calls=[
            (index, c.kind, c.caller, c.placed_min, c.wait_min, c.outcome, c.ended_min)
            for c in (night.calls if index < CALL_RECORD_NIGHTS else ())
        ],
    )


def aggregates(night: Night, index: int) -> Replication:
    """Reduce night ``index`` to its summary, curves and series, without per-precinct or
    per-call rows: what `compare` and `sweep` need (about 50 kB pickled for an iowa-2020
    night, against 0.35 MB with the rows)."""
    minutes, units = grid(night.config), len(night.records)
    received = _sorted_times([r.received_min for r in night.records])
    published = _sorted_times([r.published_min for r in night.records])
    return Replication(
        index=index,
        seed=night.seed,
        summary=summarize(night),
        received=share_by(received, units, minutes),
        published=share_by(published, units, minutes),
        published_min=published,
        units=units,
        report_hold_p90_by_hour=_hold_p90_by_hour(night),
        lines_busy=_sampled(night, 1),
        on_hold=_sampled(night, 2),
        delay_min=_delay_parts(night),
        precincts=[],
        calls=[],
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
    cluster: str | None = None,
    first: int = 0,
) -> list[T]:
    """Nights ``first`` .. ``first + nights - 1``, each reduced by ``reduce`` (a module-level
    function, so it can travel to another process) to what the caller needs; in night order. A
    study that adds nights later starts from where it stopped.

    The nights run in ``workers`` local processes, or, when ``cluster`` names a Dask
    scheduler (``tcp://host:8786``), on that cluster's workers (``workers`` is then unused).
    ``progress(done, total)`` is called as each night comes back."""
    if nights < 1 or workers < 1 or first < 0:
        raise ValueError("nights and workers must be at least 1, first at least 0")
    indices = range(first, first + nights)
    played = (
        _on_cluster(cluster, config, scenario_seed, indices, reduce)
        if cluster
        else _played(config, scenario_seed, indices, reduce, workers)
    )
    done: dict[int, T] = {}
    for index, reduced in played:
        done[index] = reduced
        if progress:
            progress(len(done), nights)
    return [done[index] for index in indices]


def run_replications(
    config: NightConfig,
    scenario_seed: int,
    replications: int,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
    cluster: str | None = None,
) -> list[Replication]:
    """``replications`` nights, each reduced to a :class:`Replication` for the run folder, in
    replication order (see :func:`run_nights` for ``workers`` and ``cluster``)."""
    return run_nights(config, scenario_seed, replications, replicate, workers, progress, cluster)


def _played(
    config: NightConfig, scenario_seed: int, indices: range, reduce: Reduce[T], workers: int
) -> Iterator[tuple[int, T]]:
    nights = len(indices)
    if workers == 1 or nights == 1:
        for index in indices:
            yield index, play(config, scenario_seed, index, reduce)
        return
    with ProcessPoolExecutor(max_workers=min(workers, nights)) as pool:
        yield from zip(
            indices,
            pool.map(
                play,
                [config] * nights,
                [scenario_seed] * nights,
                indices,
                [reduce] * nights,
            ),
            strict=True,
        )


def _on_cluster(
    address: str, config: NightConfig, scenario_seed: int, indices: range, reduce: Reduce[T]
) -> Iterator[tuple[int, T]]:
    """Nights as they finish on the Dask cluster at ``address``. The scheduler runs a night
    again elsewhere when its worker dies; each night's key is unique, so it comes back once."""
    try:
        from distributed import Client, as_completed
    except ImportError as error:
        raise ClusterError(
            "running nights on a Dask cluster needs dask.distributed: "
            "pip install 'caucus-night[cluster]'"
        ) from error
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except OSError as error:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {error}") from error
    run = uuid.uuid4().hex[:12]
    nights = len(indices)
    with client:
        futures = client.map(
            play,
            [config] * nights,
            [scenario_seed] * nights,
            indices,
            [reduce] * nights,
            key=[f"caucus-night-{run}-{index}" for index in indices],
        )
        index_of = {future.key: index for index, future in zip(indices, futures, strict=True)}
        for future in as_completed(futures, loop=client.loop):
            yield index_of[future.key], future.result()
            future.release()


def default_workers() -> int:
    """One worker per core this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _sorted_times(times: list[float | None]) -> np.ndarray:
    return np.sort(np.array([t for t in times if t is not None], dtype=float))


def _sampled(night: Night, column: int) -> np.ndarray:
    """A time-series column as it stood every ``sample_every_min`` minutes from 7 pm."""
    config = night.config
    minutes = np.arange(0.0, config.horizon_min + 1e-9, config.sample_every_min)
    times = np.array([row[0] for row in night.series])
    values = np.array([row[column] for row in night.series], dtype=float)
    latest = np.searchsorted(times, minutes + CLOCK_TOLERANCE_MIN, side="right") - 1
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
