"""A `caucus loadtest` run folder, read back: the verdict, Locust's history, the progress log.

Times are put on the night's clock: night minutes after 7 pm (:func:`loadtests.night.clock`
names them).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from loadtests.progress import PROGRESS_CSV, read_progress

EXAMPLE = "caucus loadtest --scenario scenarios/iowa-2020.toml --serve --compress 240"


class NoRunFolder(FileNotFoundError):
    """There is no run folder (or no verdict in it); a notebook shows this as one line."""

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]


@dataclass(frozen=True)
class LoadTestRun:
    """What a run left: its verdict, Locust's per-name history rows, its progress rows."""

    folder: Path
    verdict: dict
    history: list[dict[str, str]]
    progress: list[dict[str, str]]

    def night_minute(self, unix_s: float) -> float:
        """The night minute at a wall-clock time of the run (Unix seconds)."""
        compress = float(self.verdict["run"]["compress"])
        if self.progress:
            first = self.progress[0]
            start = float(first["unix_s"]) - float(first["wall_s"])
        else:
            start = min(float(r["Timestamp"]) for r in self.history)
        return (unix_s - start) * compress / 60


def read_run(folder: str | Path) -> LoadTestRun:
    """The run in ``folder``; :class:`NoRunFolder` saying how to make one if there is none."""
    folder = Path(folder)
    verdict = folder / "verdict.json"
    if not verdict.is_file():
        raise NoRunFolder(f"no load-test run in {folder} (no verdict.json); make one: {EXAMPLE}")
    history_csv = folder / "locust_stats_history.csv"
    history = []
    if history_csv.is_file():
        with history_csv.open(newline="", encoding="utf-8") as file:
            history = [r for r in csv.DictReader(file) if r["Name"] != "Aggregated"]
    return LoadTestRun(
        folder, json.loads(verdict.read_text()), history, read_progress(folder / PROGRESS_CSV)
    )
