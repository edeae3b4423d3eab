"""Live progress of a run: one row a second in ``progress.csv``, and a line on a terminal.

The Locust master (or the only Locust process) writes the rows; `caucus loadtest` follows the
file and shows the line on its own stderr. Nothing is printed when stderr is not a terminal.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

CLASSES = {
    "PrecinctChair": "chairs",
    "Watcher": "watchers",
    "PrankBot": "prank bots",
    "HotlineOperator": "operators",
    "Reviewer": "reviewers",
}
"""User classes counted in each row, and how the line names them."""
COLUMNS = (
    "unix_s", "wall_s", "night_min", "time_of_night", *CLASSES,
    "requests_per_s", "failures", "failures_per_s",
)  # fmt: skip
PROGRESS_CSV = "progress.csv"
FLOOD_STATS_CSV = "flood_stats.csv"
"""The flood window's own statistics, in the columns of Locust's ``*_stats.csv``."""
RUN_STATS_CSV = "run_stats.csv"
"""The whole run's statistics as Locust held them when it quit, in the same columns. Locust's
own ``*_stats.csv`` is rewritten once a second and not at the end, so it misses what users
finished in the last second, while they stopped (locustio/locust#1806); the verdict reads
this file."""


def progress_line(row: Mapping[str, object]) -> str:
    """``10:42 pm  chairs 31  watchers 8  prank bots 2  operators 1  reviewers 2  |  23.0 req/s,
    0 failures``"""
    users = "  ".join(f"{label} {row[name]}" for name, label in CLASSES.items())
    rate = float(row["requests_per_s"])  # type: ignore[arg-type]
    return f"{row['time_of_night']:>8}  {users}  |  {rate:.1f} req/s, {row['failures']} failures"


class Terminal:
    """Shows the latest line in place on a terminal; silent on anything else."""

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self.stream = stream
        self.live = stream.isatty()
        self.shown = False

    def show(self, line: str) -> None:
        if self.live:
            self.stream.write(f"\r{line}\x1b[K")
            self.stream.flush()
            self.shown = True

    def done(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()
            self.shown = False


class ProgressFollower:
    """Reads the rows a run has appended to its ``progress.csv`` since the last look."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    def new_rows(self) -> list[dict[str, str]]:
        if not self.path.exists():
            return []
        with self.path.open("rb") as file:
            file.seek(self.offset)
            data = file.read()
        complete = data[: data.rfind(b"\n") + 1]
        self.offset += len(complete)
        lines = [line for line in complete.decode().splitlines() if not line.startswith("unix_s")]
        return list(csv.DictReader(lines, fieldnames=COLUMNS))


def read_progress(path: Path) -> list[dict[str, str]]:
    """Every row of a run's ``progress.csv`` (empty when there is none)."""
    return ProgressFollower(path).new_rows()
