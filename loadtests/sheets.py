"""The roster's sheets as the users read them: chairs' PINs, operators' and reviewers' own keys
(CSV)."""

from __future__ import annotations

import csv
from pathlib import Path


def _rows(sheet: str | Path) -> list[dict[str, str]]:
    with Path(sheet).open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def chair_login(pin_sheet: str | Path) -> dict[str, str] | None:
    """The sign-in of the first chair on the PIN sheet (None: the sheet is empty)."""
    rows = _rows(pin_sheet)
    return {"precinct_id": rows[0]["precinct_id"], "pin": rows[0]["pin"]} if rows else None


def staff_login(sheet: str | Path, role: str, serial: int) -> dict[str, str] | None:
    """The sign-in of one of the staff on a keys sheet (CSV ``role,key``: ``operator`` or
    ``reviewer``), picked by ``serial`` (None: no sheet)."""
    if not sheet:
        return None
    rows = _rows(sheet)
    row = rows[serial % len(rows)]
    return {role: row[role], "key": row["key"]}


def operator_login(sheet: str | Path, serial: int) -> dict[str, str] | None:
    """A hotline operator's sign-in (see :func:`staff_login`)."""
    return staff_login(sheet, "operator", serial)


def reviewer_login(sheet: str | Path, serial: int) -> dict[str, str] | None:
    """An HQ reviewer's sign-in (see :func:`staff_login`)."""
    return staff_login(sheet, "reviewer", serial)
