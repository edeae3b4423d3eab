"""Read published results: one CSV row per reporting unit x group, as the IDP published them.

Required columns: county, precinct, candidate, first_alignment, final_alignment. Optional:
is_satellite, attendance, precinct_delegates, county_delegates, sde, county_sde_per_delegate.
A file that cannot be read as results raises :class:`ResultsFileError`; a bad value in a row
becomes a :class:`~caucus.checks.Finding` with its line, and that unit's arithmetic is not
checked (it is never silently repaired).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

from caucus.checks import (
    BAD_COUNT,
    CONFLICTING_FIELDS,
    DUPLICATE_REPORT,
    MISSING_FIELD,
    Check,
    Finding,
)
from caucus.results import GroupResult, PrecinctResult

REQUIRED_COLUMNS = ("county", "precinct", "candidate", "first_alignment", "final_alignment")
UNIT_COLUMNS = ("is_satellite", "attendance", "precinct_delegates", "county_sde_per_delegate")
"""Per-unit values, repeated on each of the unit's rows; they must agree."""
SATELLITE_BLANKS = {"precinct_delegates", "county_delegates", "county_sde_per_delegate"}
"""Columns the IDP leaves empty for satellite caucuses."""


class ResultsFileError(Exception):
    """A results file that cannot be read at all; the message names the file, line and problem."""

    def __init__(self, path: Path | str, line: int | None, problem: str) -> None:
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {problem}")


@dataclass
class ResultsFile:
    """The units read from a file, and the row-level findings met while reading it."""

    results: list[PrecinctResult] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


class _BadValue(Exception):
    """A value that breaks a rule of the format; becomes a finding for that row."""

    def __init__(self, check: Check, problem: str) -> None:
        super().__init__(problem)
        self.check = check


@dataclass
class _Unit:
    """A reporting unit being assembled from its rows."""

    county: str
    precinct: str
    first_line: int
    values: dict[str, str]
    groups: list[GroupResult] = field(default_factory=list)
    broken: bool = False


def read_results_csv(path: Path | str) -> ResultsFile:
    """Read a results CSV; raises ResultsFileError when it is not a readable results file."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return _read(path, csv.DictReader(handle))
    except OSError as error:
        raise ResultsFileError(path, None, f"cannot open: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise ResultsFileError(path, None, f"not UTF-8 text ({error.reason})") from None
    except csv.Error as error:
        raise ResultsFileError(path, None, f"not valid CSV: {error}") from None


def _read(path: Path, reader: csv.DictReader) -> ResultsFile:
    if not reader.fieldnames:
        raise ResultsFileError(path, 1, "empty file: expected a header row")
    reader.fieldnames = columns = [c.strip() for c in reader.fieldnames]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise ResultsFileError(path, 1, f"missing column(s): {', '.join(missing)}")
    units: dict[tuple[str, str], _Unit] = {}
    out = ResultsFile()
    for raw in reader:
        line = reader.line_num
        if None in raw:
            raise ResultsFileError(path, line, "more fields than the header has")
        row = {k: (v or "").strip() for k, v in raw.items()}
        key = (row["county"], row["precinct"])
        unit = units.setdefault(key, _Unit(key[0], key[1], line, row))
        try:
            _add_row(unit, row, columns)
        except _BadValue as bad:
            out.findings.append(Finding(bad.check, key[0], key[1], f"{path}:{line}: {bad}", line))
            unit.broken = True
    if not units:
        raise ResultsFileError(path, 2, "no result rows after the header")
    for unit in units.values():
        if not unit.broken:
            out.results.append(_unit_result(unit))
    return out


def _add_row(unit: _Unit, row: dict[str, str], columns: list[str]) -> None:
    for column in ("county", "precinct", "candidate"):
        if not row[column]:
            raise _BadValue(MISSING_FIELD, f"empty {column}")
    for column in UNIT_COLUMNS:
        if column in columns and row[column] != unit.values[column]:
            raise _BadValue(
                CONFLICTING_FIELDS,
                f"{column} is {row[column]!r} here but {unit.values[column]!r} on line "
                f"{unit.first_line}",
            )
    name = row["candidate"]
    if any(g.name == name for g in unit.groups):
        raise _BadValue(DUPLICATE_REPORT, f"{name} reported twice for this precinct")
    satellite = _flag(row, "is_satellite")
    _count(row, "precinct_delegates", required=not satellite)  # the unit's rows must carry it
    _count(row, "attendance", required=False)
    _number(row, "county_sde_per_delegate")
    unit.groups.append(
        GroupResult(
            name=name,
            first=_count(row, "first_alignment", required=True),
            final=_count(row, "final_alignment", required=True),
            county_delegates=_count(row, "county_delegates", required=not satellite),
            sde=_number(row, "sde"),
        )
    )


def _unit_result(unit: _Unit) -> PrecinctResult:
    """The unit's result; its per-unit values were validated on its first row."""
    satellite = _flag(unit.values, "is_satellite")
    return PrecinctResult(
        county=unit.county,
        precinct=unit.precinct,
        groups=tuple(unit.groups),
        delegates_to_elect=_count(unit.values, "precinct_delegates", required=not satellite),
        is_satellite=satellite,
        attendance=_count(unit.values, "attendance", required=False),
        sde_per_delegate=_number(unit.values, "county_sde_per_delegate"),
    )


def _count(row: dict[str, str], column: str, *, required: bool) -> int | None:
    """A whole number >= 0; None when the column is absent, or empty and not required here."""
    value = _number(row, column, required=required)
    if value is None:
        return None
    if not value.is_integer():
        raise _BadValue(BAD_COUNT, f"{column} is {row[column]}, not a whole number")
    return int(value)


def _number(row: dict[str, str], column: str, *, required: bool = False) -> float | None:
    """A finite number >= 0; None when the column is absent, or empty and not required."""
    text = row.get(column)
    if text is None or (not text and not required):
        return None
    if not text:
        raise _BadValue(MISSING_FIELD, f"empty {column}")
    try:
        value = float(text)
    except ValueError:
        raise _BadValue(BAD_COUNT, f"{column} is {text!r}, not a number") from None
    if not math.isfinite(value) or value < 0:
        raise _BadValue(BAD_COUNT, f"{column} is {text}, not a count of zero or more")
    return value


def _flag(row: dict[str, str], column: str) -> bool:
    text = row.get(column) or "0"
    if text not in ("0", "1"):
        raise _BadValue(BAD_COUNT, f"{column} is {text!r}, expected 0 or 1")
    return text == "1"
