"""The service's clock of caucus night, and the release schedule read on it.

Times of night are minutes after 7 pm, as in the model. On the night itself the clock starts at
a wall-clock time (``--night-start 2020-02-03T19:00-06:00``) and runs at 1 minute a minute; in a
rehearsal it starts when ``caucus serve`` starts (``serve``) or at the first chair or operator
sign-in any worker sees (``first-sign-in``, kept in the database), and runs ``compress`` times
as fast, to match ``caucus loadtest --compress``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime

START_MODES = ("serve", "first-sign-in")
_OFFSET = re.compile(r"^\+?(\d+(?:\.\d+)?)\s*(h|hours?|m|min|minutes?)?$")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")


def night_minute(text: str) -> float:
    """Minutes after 7 pm from ``"21:00"`` (noon to noon: ``"01:30"`` is 390), ``"+2h"``,
    ``"90min"`` or ``"90"``; a ValueError names the text otherwise."""
    text = text.strip().lower()
    if match := _CLOCK.match(text):
        hour, minute = int(match[1]), int(match[2])
        if hour > 23 or minute > 59:
            raise ValueError(f"{text!r} is not a clock time")
        minutes = (hour - 19) * 60 + minute
        return float(minutes + 1440 if hour < 12 else minutes)
    if match := _OFFSET.match(text):
        amount, unit = float(match[1]), match[2] or "min"
        return amount * 60 if unit.startswith("h") else amount
    raise ValueError(f"{text!r} is not a time of night: write '21:00', '+2h', '90min' or '90'")


def clock_text(minute: float) -> str:
    """``125`` → ``"21:05"``, ``390`` → ``"01:30 +1d"`` (the day after caucus day)."""
    days, of_day = divmod(19 * 60 + math.floor(minute), 1440)
    return f"{of_day // 60:02d}:{of_day % 60:02d}" + (f" +{days}d" if days else "")


def check_start(start: str) -> str:
    """``serve``, ``first-sign-in`` or an ISO 8601 time with its UTC offset."""
    if start in START_MODES:
        return start
    try:
        when = datetime.fromisoformat(start)
    except ValueError as error:
        raise ValueError(
            f"night start {start!r} is not serve, first-sign-in or an ISO 8601 time"
        ) from error
    if when.tzinfo is None:
        raise ValueError(f"night start {start!r} needs its UTC offset (e.g. 19:00-06:00)")
    return start


@dataclass(slots=True)
class NightClock:
    """Minutes after 7 pm, ``compress`` night minutes to a wall minute from ``started``
    (epoch seconds; None while a ``first-sign-in`` clock waits for its first sign-in)."""

    start: str
    started: float | None
    compress: float = 1.0

    @classmethod
    def of(cls, start: str, serve_started: float, compress: float) -> NightClock:
        if start == "serve":
            return cls(start, serve_started, compress)
        if start == "first-sign-in":
            return cls(start, None, compress)
        return cls(start, datetime.fromisoformat(start).timestamp(), compress)

    def minute(self, epoch: float) -> float | None:
        if self.started is None:
            return None
        return (epoch - self.started) / 60 * self.compress

    def minute_of(self, iso: str) -> float | None:
        """The night minute of an ISO 8601 time stored by the ledger."""
        return self.minute(datetime.fromisoformat(iso).timestamp())

    def epoch(self, minute: float) -> float | None:
        if self.started is None:
            return None
        return self.started + minute * 60 / self.compress

    def started_iso(self) -> str | None:
        if self.started is None:
            return None
        return datetime.fromtimestamp(self.started, UTC).isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True)
class Schedule:
    """Batch release times (minutes after 7 pm, sorted), then one every ``every_min``."""

    at_min: tuple[float, ...] = ()
    every_min: float | None = None

    def last_due(self, minute: float) -> float | None:
        """The latest scheduled time at or before ``minute`` (None: none yet)."""
        due = [t for t in self.at_min if t <= minute]
        if self.every_min:
            first = self.at_min[-1] + self.every_min if self.at_min else self.every_min
            if minute >= first:
                due.append(first + (minute - first) // self.every_min * self.every_min)
        return max(due) if due else None

    def next_after(self, minute: float) -> float | None:
        """The first scheduled time after ``minute`` (None: no more)."""
        later = [t for t in self.at_min if t > minute]
        if later:
            return later[0]
        if not self.every_min:
            return None
        first = self.at_min[-1] + self.every_min if self.at_min else self.every_min
        if minute < first:
            return first
        return first + ((minute - first) // self.every_min + 1) * self.every_min
