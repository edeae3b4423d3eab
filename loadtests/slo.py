"""Service-level objectives: a small TOML file, checked against Locust's ``*_stats.csv``."""

from __future__ import annotations

import csv
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

DEFAULT_SLO = Path(__file__).with_name("slo.toml")
PERCENTILES = {"p50_ms": "50%", "p95_ms": "95%", "p99_ms": "99%"}
"""SLO keys and the Locust stats column each is read from."""
HOSTILE_DEFAULTS = {"prefix": "prank: ", "max_unrefused_rate": 0.0}
HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Check:
    """One objective for one request name: the limit, what was measured and whether it held."""

    name: str
    objective: str
    limit: float
    measured: float
    passed: bool


def load_slo(path: Path = DEFAULT_SLO) -> dict:
    """The SLO file as a dict with ``defaults``, ``endpoints`` and ``hostile``."""
    with path.open("rb") as file:
        slo = tomllib.load(file)
    slo.setdefault("defaults", {})
    slo.setdefault("endpoints", {})
    slo["hostile"] = {**HOSTILE_DEFAULTS, **slo.get("hostile", {})}
    return slo


def read_stats(stats_csv: Path) -> list[dict[str, str]]:
    """Rows of a stats file in Locust's ``*_stats.csv`` columns (``run_stats.csv``,
    ``flood_stats.csv``, or Locust's own): one per request type and name."""
    with stats_csv.open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def check_slo(rows: list[dict[str, str]], slo: dict) -> list[Check]:
    """Latency and error-rate checks for legitimate requests, one refusal check for hostile ones."""
    prefix = slo["hostile"]["prefix"]
    checks = []
    hostile_requests = hostile_failures = 0
    for row in rows:
        name, requests = row["Name"], int(row["Request Count"])
        if row["Type"] not in HTTP_METHODS or not requests:
            continue
        failures = int(row["Failure Count"])
        if name.startswith(prefix):
            hostile_requests += requests
            hostile_failures += failures
            continue
        limits = {**slo["defaults"], **slo["endpoints"].get(name, {})}
        for key, column in PERCENTILES.items():
            if key in limits and row.get(column, "N/A") != "N/A":
                measured = float(row[column])
                checks.append(Check(name, key, limits[key], measured, measured <= limits[key]))
        if "max_error_rate" in limits:
            rate = failures / requests
            limit = limits["max_error_rate"]
            checks.append(Check(name, "error_rate", limit, round(rate, 4), rate <= limit))
    if hostile_requests:
        rate = hostile_failures / hostile_requests
        limit = slo["hostile"]["max_unrefused_rate"]
        checks.append(Check(f"{prefix}*", "unrefused_rate", limit, round(rate, 4), rate <= limit))
    return checks


def as_json(checks: list[Check]) -> list[dict]:
    return [asdict(c) for c in checks]
