"""What the public record says about caucus night: the targets scenario presets are checked on.

Times are hours after 7 pm CT on caucus night. Each figure carries its source as published.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Bound = Literal["exact", "by", "at_least", "about"]


@dataclass(frozen=True, slots=True)
class ReleasePoint:
    """Share of reporting units published by a time; ``bound`` says how exact the report is."""

    year: int
    hours: float
    percent_published: float
    bound: Bound
    source: str


@dataclass(frozen=True, slots=True)
class HoldReport:
    """A hold time a chair reported on the hotline (minutes), around a time of the night."""

    hours: float
    hold_minutes: float
    bound: Bound
    source: str


IOWA_2020_UNITS = 1765
"""Reporting units in 2020: 1,678 precincts and 87 satellite caucuses."""

IOWA_2020_RELEASES = (
    ReleasePoint(2020, 21.0, 62, "exact", "Gazette / AP: first release, 1,099 of 1,765"),
    ReleasePoint(2020, 28.0, 71, "by", "AP 'The Latest', 11 pm CT Tue 4 Feb"),
    ReleasePoint(2020, 45.6, 86, "by", "DDHQ / Townhall, 4:35 pm CT Wed 5 Feb"),
    ReleasePoint(2020, 50.0, 96, "by", "KWQC / Detroit News, Wed night (hour approximate)"),
    ReleasePoint(2020, 53.4, 97, "exact", "Radio Iowa, announced 12:25 am CT Thu 6 Feb"),
    ReleasePoint(2020, 72.75, 100, "exact", "Telegraph Herald, about 7:45 pm CT Thu 6 Feb"),
)

IOWA_2016_RELEASES = (
    ReleasePoint(2016, 4.0, 95, "exact", "Microsoft: 95% reported, validated and published"),
)

IOWA_2020_HOLDS = (
    HoldReport(1.08, 5, "exact", "NYT 'A Systemwide Disaster': Pocahontas County chair, 8:05 pm"),
    HoldReport(1.5, 30, "at_least", "Bloomberg: Polk County chair, early evening"),
    HoldReport(4.0, 60, "at_least", "BuzzFeed / CNN: Story County secretary, 11 pm"),
    HoldReport(4.5, 90, "at_least", "NYT: Polk hold times, late evening"),
    HoldReport(5.0, 180, "about", "Cedar Rapids Gazette: Linn County chair, around midnight"),
)
