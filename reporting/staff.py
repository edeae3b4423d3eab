"""Hotline operators' and HQ reviewers' keys, from the roster's staff files, kept current.

``roster-operators.csv`` and ``roster-reviewers.csv`` (name, key hash) are read at start and
again whenever one changes: each worker looks at most once every ``every_s`` seconds. So a
name taken off a file can no longer sign in, and the tokens it holds stop working, without a
restart (:func:`reporting.dependencies.on_roster`). A file that cannot be read when it changes
leaves the names last read in force (and says so in the log); a file that is gone lists nobody.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from reporting.roster import RosterError, read_csv, sibling

log = logging.getLogger("reporting.staff")
ROLES = ("operator", "reviewer")


def read_staff(roster_path: Path, role: str) -> dict[str, str]:
    """Name → key hash from ``roster-<role>s.csv`` (none when the file is absent)."""
    path = sibling(roster_path, f"{role}s")
    if not path.exists():
        return {}
    try:
        return {row[role]: row["key_hash"] for row in read_csv(path)}
    except KeyError as error:
        raise RosterError(f"{path}: needs the columns {role},key_hash") from error


def _stamp(path: Path) -> tuple[int, int, int] | None:
    """What changes when the file does (inode, size, mtime in ns); None when it is gone."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


class StaffRoster:
    """Who may sign in as an operator or a reviewer, and with which key (hashed)."""

    def __init__(self, roster_path: Path, every_s: float = 1.0) -> None:
        self._roster_path = roster_path
        self._every_s = every_s
        self._next_look = 0.0
        self._stamps: dict[str, tuple[int, int, int] | None] = {}
        self._hashes = {role: self._read(role) for role in ROLES}  # RosterError at start

    def _read(self, role: str) -> dict[str, str]:
        self._stamps[role] = _stamp(sibling(self._roster_path, f"{role}s"))
        return read_staff(self._roster_path, role)

    def hashes(self, role: str) -> dict[str, str]:
        """Name → key hash of ``role`` (``operator`` or ``reviewer``), as the file says now."""
        now = time.monotonic()
        if now >= self._next_look:
            self._next_look = now + self._every_s
            for each in ROLES:
                if _stamp(sibling(self._roster_path, f"{each}s")) != self._stamps[each]:
                    try:
                        self._hashes[each] = self._read(each)
                    except RosterError as error:
                        log.warning("%s; the %ss read before stay in force", error, each)
        return self._hashes[role]
