"""What a Locust run records as it goes, besides Locust's own stats: progress, and the flood.

:class:`ProgressLog` runs on the master (or the only process). :class:`FloodStats` runs in
every process: workers send their share with their regular reports, the master merges it.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import gevent
from locust.env import Environment
from locust.runners import WorkerRunner
from locust.stats import RequestStats, StatsEntry

from loadtests.night import Night, clock
from loadtests.progress import (
    CLASSES,
    COLUMNS,
    FLOOD_STATS_CSV,
    PROGRESS_CSV,
    RUN_STATS_CSV,
    Terminal,
    progress_line,
)
from loadtests.slo import HTTP_METHODS
from loadtests.users import HOSTILE

SAMPLE_S = 1.0
STATS_COLUMNS = ("Type", "Name", "Request Count", "Failure Count", "50%", "95%", "99%")
"""The columns of Locust's ``*_stats.csv`` that the verdict reads."""


class ProgressLog:
    """A row of ``progress.csv`` every second: time of night, users by class, requests/s,
    failures; the same as a line on stderr when it is a terminal."""

    def __init__(self, environment: Environment, night: Night, folder: Path) -> None:
        self.environment = environment
        self.night = night
        self.path = folder / PROGRESS_CSV
        self.terminal = Terminal()
        with self.path.open("w", newline="", encoding="utf-8") as file:
            csv.writer(file).writerow(COLUMNS)
        self.greenlet = gevent.spawn(self._run)

    def _run(self) -> None:
        while True:
            gevent.sleep(SAMPLE_S)
            self.sample()

    def sample(self) -> None:
        runner = self.environment.runner
        assert runner is not None
        counts = getattr(runner, "reported_user_classes_count", None) or runner.user_classes_count
        total = runner.stats.total
        minute = self.night.minute()
        row = {
            "unix_s": round(time.time(), 1),
            "wall_s": round(time.monotonic() - self.night.started, 1),
            "night_min": round(minute, 1),
            "time_of_night": clock(minute),
            **{name: counts.get(name, 0) for name in CLASSES},
            "requests_per_s": round(total.current_rps, 1),
            "failures": total.num_failures,
            "failures_per_s": round(total.current_fail_per_sec, 1),
        }
        with self.path.open("a", newline="", encoding="utf-8") as file:
            csv.writer(file).writerow(row[c] for c in COLUMNS)
        self.terminal.show(progress_line(row))

    def stop(self) -> None:
        self.greenlet.kill()
        self.terminal.done()


class FloodStats:
    """Legitimate requests during the flood window, in Locust statistics of their own."""

    def __init__(self, environment: Environment) -> None:
        self.environment = environment
        self.stats = RequestStats()
        events = environment.events
        events.request.add_listener(self.record)
        if isinstance(environment.runner, WorkerRunner):
            events.report_to_master.add_listener(self.report)
        else:
            events.worker_report.add_listener(self.merge)

    def record(
        self,
        request_type: str,
        name: str,
        response_time: float,
        response_length: int,
        exception: object = None,
        **_: object,
    ) -> None:
        night: Night | None = getattr(self.environment, "caucus_night", None)
        if night is None or not night.in_flood():
            return
        if request_type not in HTTP_METHODS or name.startswith(HOSTILE):
            return
        self.stats.log_request(request_type, name, round(response_time), response_length)
        if exception:
            self.stats.log_error(request_type, name, exception)  # type: ignore[arg-type]

    def report(self, client_id: str, data: dict) -> None:
        data["caucus_flood"] = self.stats.serialize_stats()

    def merge(self, client_id: str, data: dict) -> None:
        for serialized in data.get("caucus_flood", ()):
            entry = StatsEntry.unserialize(serialized, self.stats)
            self.stats.get(entry.name, entry.method).extend(entry)

    def write(self, folder: Path) -> Path:
        """``flood_stats.csv``."""
        return write_stats(self.stats, folder / FLOOD_STATS_CSV)


def write_run_stats(environment: Environment, folder: Path) -> Path:
    """``run_stats.csv``: the run's statistics as they stand (final once Locust quits)."""
    return write_stats(environment.stats, folder / RUN_STATS_CSV)


def write_stats(stats: RequestStats, path: Path) -> Path:
    """One row per request type and name, in Locust's stats columns (response times in ms)."""
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(STATS_COLUMNS)
        for e in sorted(stats.entries.values(), key=lambda e: (e.name, e.method)):
            percentiles = [e.get_response_time_percentile(p) for p in (0.5, 0.95, 0.99)]
            writer.writerow([e.method, e.name, e.num_requests, e.num_failures, *percentiles])
    return path
