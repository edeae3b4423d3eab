"""The plan: a `caucus simulate` run folder's expected band, and where the night stands against it.

A run folder's ``curves.csv`` has, every 10 minutes after 7 pm (and at each batch release),
the share of precincts received and published: the mean over the simulated nights and the
5th and 95th percentiles. It is read here as steps (the value at the last row at or before a
minute), which is exact for batches. Read as files, not through the model: `reporting` and
`caucus watch` never import `sim` or `studies`.
"""

from __future__ import annotations

import bisect
import csv
import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path

from reporting.models import PlanStanding

KINDS = ("received", "published")
COLUMNS = ("minute", *(f"{k}_{s}" for k in KINDS for s in ("mean", "p5", "p95")))


class PlanError(ValueError):
    """The run folder cannot be read as a plan (the message names the file and the problem)."""


@dataclass(frozen=True, slots=True)
class Curve:
    """Shares of precincts (0-1) by minute after 7 pm: mean and 90% band."""

    minutes: tuple[float, ...]
    mean: tuple[float, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]

    def at(self, minute: float) -> tuple[float, float, float]:
        """(low, mean, high) at ``minute``: the last row at or before it (zeros before the
        first)."""
        i = bisect.bisect_right(self.minutes, minute) - 1
        if i < 0:
            return 0.0, 0.0, 0.0
        return self.low[i], self.mean[i], self.high[i]


@dataclass(frozen=True, slots=True)
class Plan:
    """What a run folder expects: received and published curves; its name and nights."""

    name: str
    nights: int | None
    received: Curve
    published: Curve

    def curve(self, kind: str) -> Curve:
        return self.received if kind == "received" else self.published


def read_plan(folder: Path) -> Plan:
    """The plan in ``folder`` (its ``curves.csv``; name and nights from ``summary.json``)."""
    path = folder / "curves.csv"
    try:
        with path.open(newline="", encoding="utf-8") as file:
            rows = list(csv.DictReader(file))
    except OSError as error:
        raise PlanError(f"{path}: cannot read the run folder's curves ({error})") from error
    if not rows or set(COLUMNS) - set(rows[0]):
        missing = sorted(set(COLUMNS) - set(rows[0])) if rows else list(COLUMNS)
        raise PlanError(f"{path}: not a run folder's curves (missing {', '.join(missing)})")
    values: dict[str, list[float]] = {c: [] for c in COLUMNS}
    for line, row in enumerate(rows, start=2):
        for column in COLUMNS:
            try:
                value = float(row[column])
            except (TypeError, ValueError) as error:
                raise PlanError(
                    f"{path}:{line}: {column} {row[column]!r} is not a number"
                ) from error
            if column != "minute" and not (0 <= value <= 1 or math.isnan(value)):
                raise PlanError(f"{path}:{line}: {column} {value} is not a share (0 to 1)")
            values[column].append(0.0 if math.isnan(value) else value)
    minutes = values["minute"]
    if any(b <= a for a, b in itertools.pairwise(minutes)):
        raise PlanError(f"{path}: minutes are not increasing")
    name, nights = folder.name, None
    summary = folder / "summary.json"
    if summary.exists():
        try:
            facts = json.loads(summary.read_text(encoding="utf-8"))
            name, nights = str(facts.get("scenario", name)), facts.get("replications")
        except (OSError, ValueError) as error:
            raise PlanError(f"{summary}: unreadable ({error})") from error
    curves = {
        kind: Curve(
            tuple(minutes),
            tuple(values[f"{kind}_mean"]),
            tuple(values[f"{kind}_p5"]),
            tuple(values[f"{kind}_p95"]),
        )
        for kind in KINDS
    }
    return Plan(name, nights, curves["received"], curves["published"])


def standing(curve: Curve, total: int, kind: str, minute: float, actual: int) -> PlanStanding:
    """``actual`` precincts at ``minute`` against the plan for ``total`` precincts: behind
    below the band's low edge, ahead above its high edge, on plan within it. The shortfall is
    measured against the mean: in precincts, and in minutes since the plan's mean first
    expected more than ``actual`` (whole precincts, rounded)."""
    low, mean, high = (round(share * total) for share in curve.at(minute))
    status = "behind" if actual < low else "ahead" if actual > high else "on plan"
    behind_minutes = 0.0
    if actual < mean:
        passed = next(
            m
            for m, share in zip(curve.minutes, curve.mean, strict=True)
            if round(share * total) > actual
        )
        behind_minutes = max(0.0, minute - passed)
    return PlanStanding(
        kind=kind,
        minute=round(minute, 2),
        actual=actual,
        low=low,
        mean=mean,
        high=high,
        status=status,
        behind_precincts=max(0, mean - actual),
        behind_minutes=round(behind_minutes, 1),
    )


def standing_text(s: PlanStanding) -> str:
    """``plan 120 [110, 131]: on plan`` or ``...: BEHIND plan by 14 precincts, 9 min``."""
    band = f"plan {s.mean} [{s.low}, {s.high}]"
    if s.status == "behind":
        return f"{band}: BEHIND plan by {s.behind_precincts} precincts, {s.behind_minutes:.0f} min"
    return f"{band}: {s.status}"
