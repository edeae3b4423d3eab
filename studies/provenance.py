"""How a run was made, as a report states it (STRESS-DES items 4.3, 5.1 and 5.4): the nights and
the precision they reached, the seed, where and how long the nights ran, the software and the
machine."""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass
from importlib import metadata

from studies.precision import Precision

PACKAGES = ("caucus-night", "simpy", "numpy")
"""Packages whose versions a run records, beside Python's."""


@dataclass(frozen=True, slots=True)
class RunInfo:
    """How the nights of a run were played: wall ``seconds``, ``where`` (e.g. "2 local
    processes"), and, for a run to a precision, the figure judged and what it reached."""

    seconds: float
    where: str
    metric: str | None = None
    precision: Precision | None = None
    asked: float | None = None
    """The precision asked for (half-width as a share of the mean)."""


def software() -> dict[str, str]:
    """Python's version and each of :data:`PACKAGES`'s (or "not installed")."""
    versions = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def machine() -> dict[str, str]:
    """The machine the report was written on: system, processor, cores, memory."""
    return {
        "system": platform.platform(terse=True),
        "processor": platform.machine(),
        "cores": str(os.cpu_count()),
        "memory": _memory(),
        "python executable": sys.executable,
    }


def _memory() -> str:
    """Physical memory in GiB, where the system tells it."""
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return "unknown"
    return f"{pages * size / 2**30:.1f} GiB"
