"""What the public record says about caucus night: the facts a preset sets as stated, and the
targets it is fitted to and checked on.

Times are hours after 7 pm CT on caucus night. Each figure carries its source as published. The
figures are restated here from the compiled record (news reports of February 2020) so that the
product needs nothing outside itself at run time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Bound = Literal["exact", "by", "at_least", "about", "more_than"]


@dataclass(frozen=True, slots=True)
class ReleasePoint:
    """Share of reporting units published by a time; ``bound`` says how exact the report is."""

    year: int
    hours: float
    percent_published: float
    bound: Bound
    source: str

    @property
    def minute(self) -> float:
        """The report's time in minutes after 7 pm."""
        return self.hours * 60


@dataclass(frozen=True, slots=True)
class HoldReport:
    """A hold time a chair reported on the hotline (minutes), around a time of the night."""

    hours: float
    hold_minutes: float
    bound: Bound
    source: str

    @property
    def minute(self) -> float:
        """The report's time in minutes after 7 pm."""
        return self.hours * 60


@dataclass(frozen=True, slots=True)
class StatedFact:
    """A fact of the night as a news report stated it. ``use`` says how a model may use it:
    ``input`` is set as stated in a preset (never fitted); ``target`` is an outcome to
    reproduce."""

    name: str
    value: str
    use: Literal["input", "target"]
    source: str


@dataclass(frozen=True, slots=True)
class CountTarget:
    """A count of reporting units the record states, as a calibration target.

    ``measure`` names what is counted in a simulated night (:mod:`studies.calibrate` defines
    each), ``hours`` when it is counted (hours after 7 pm), ``bound`` how exact the report is.
    """

    name: str
    measure: str
    hours: float
    count: float
    bound: Bound
    source: str

    @property
    def minute(self) -> float:
        return self.hours * 60


@dataclass(frozen=True, slots=True)
class Record:
    """One night's public record: release shares, chairs' hold reports, counted outcomes."""

    name: str
    units: int
    releases: tuple[ReleasePoint, ...]
    holds: tuple[HoldReport, ...] = ()
    counts: tuple[CountTarget, ...] = ()


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

IOWA_2020_FACTS = (
    StatedFact(
        "reporting_units",
        "1,765 units: 1,678 precincts and 87 satellite caucuses",
        "input",
        "IDP (AP, Des Moines Register, 6-7 Feb 2020)",
    ),
    StatedFact(
        "hotline_phones",
        "45 phones taking calls",
        "input",
        "IDP statement reported by AP / Des Moines Register, 6 Feb 2020",
    ),
    StatedFact(
        "repeat_callers_blocked",
        "the party blocked the numbers of repeat callers",
        "input",
        "IDP statement reported by AP / Des Moines Register, 6 Feb 2020",
    ),
    StatedFact(
        "hotline_number_posted_online",
        "the hotline number was posted online; calls came from people asking for results and "
        "from hostile callers",
        "input",
        "IDP confirmed, first reported by Bloomberg",
    ),
    StatedFact(
        "app_failure_cause",
        "a coding error: the app's back end passed on partial data",
        "input",
        "IDP officials (Al Jazeera / AP, 7 Feb 2020)",
    ),
    StatedFact(
        "hotline_calls_delayed_collection",
        "the unexplained, at times hostile, calls contributed to the delay in collecting results",
        "target",
        "IDP spokeswoman",
    ),
    StatedFact(
        "precincts_unreported_late_thursday",
        "54 of 1,765 unreported between the 53.4 h and 72.75 h releases",
        "target",
        "AP / Des Moines Register, 6 Feb 2020",
    ),
    StatedFact(
        "late_precincts_retrieved",
        "results of 53 of those 54 retrieved; the last one in transit",
        "target",
        "AP / Des Moines Register, 6 Feb 2020",
    ),
    StatedFact(
        "late_precincts_reason",
        "some chairs, unable to connect on caucus night, gave up and mailed their results",
        "target",
        "AP / Des Moines Register, 6 Feb 2020",
    ),
    StatedFact(
        "precincts_inconsistent_nyt",
        "more than 100 precincts published internally inconsistent, missing data or impossible",
        "target",
        "New York Times analysis, 6 Feb 2020",
    ),
    StatedFact(
        "precincts_final_above_first_cbs",
        "more than 70 precincts with more participants in the final alignment than the first",
        "target",
        "CBS News analysis, 6 Feb 2020",
    ),
    StatedFact(
        "sde_margin_points",
        "Buttigieg led Sanders by 0.09 percentage points of about 2,152 SDEs",
        "target",
        "AP, 7 Feb 2020",
    ),
)
"""The facts of 2020 caucus night with their sources (``input``: set in the preset as stated;
``target``: an outcome the calibrated preset reproduces)."""

LATE_THURSDAY_H = 72.5
"""'As of late Thursday' (6 Feb), before the 100% release at 72.75 h: hours after 7 pm."""

IOWA_2020_COUNTS = (
    CountTarget(
        "precincts_unreported_late_thursday",
        "unpublished",
        LATE_THURSDAY_H,
        54,
        "about",
        "AP / Des Moines Register, 6 Feb 2020: about 97% reported; 54 of 1,765 unreported",
    ),
    CountTarget(
        "late_precincts_retrieved",
        "unpublished_received",
        LATE_THURSDAY_H,
        53,
        "about",
        "same report: results retrieved from 53 of those 54; the last one was in transit",
    ),
    CountTarget(
        "late_precincts_reason",
        "unpublished_mailed",
        LATE_THURSDAY_H,
        1,
        "at_least",
        "same report: some precinct leaders gave up on caucus night and mailed their results",
    ),
    CountTarget(
        "precincts_inconsistent_nyt",
        "published_inconsistent",
        72.75,
        100,
        "more_than",
        "NYT analysis: more than 100 precincts inconsistent, missing data or impossible",
    ),
    CountTarget(
        "precincts_final_above_first_cbs",
        "published_final_above_first",
        72.75,
        70,
        "more_than",
        "CBS News analysis: more than 70 precincts with more final than first supporters",
    ),
)
"""The use=target facts a simulated night can count (the SDE margin is about the candidates'
race, which the model draws at random, and the hostile calls' part in the delay is checked by
comparing the preset with its no-leak variant)."""

RECORDS = {
    "iowa-2020": Record(
        "Iowa 2020", IOWA_2020_UNITS, IOWA_2020_RELEASES, IOWA_2020_HOLDS, IOWA_2020_COUNTS
    ),
    "iowa-2016": Record("Iowa 2016", IOWA_2020_UNITS, IOWA_2016_RELEASES),
}
"""Public records a scenario can be drawn against and fitted to (its ``record`` key)."""
