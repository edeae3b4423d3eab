"""One reporting unit's caucus result: the numbers a chair reports and the party publishes."""

from __future__ import annotations

from dataclasses import dataclass

from caucus.rules import satellite_delegates


@dataclass(frozen=True, slots=True)
class GroupResult:
    """One preference group (candidate, Uncommitted, Other) in one reporting unit.

    ``first`` and ``final`` are supporters in the first alignment and after realignment;
    ``county_delegates`` and ``sde`` are what was awarded (None when not reported).
    """

    name: str
    first: int
    final: int
    county_delegates: int | None = None
    sde: float | None = None


@dataclass(frozen=True, slots=True)
class PrecinctResult:
    """A reporting unit's full result: a precinct, or a satellite caucus.

    ``delegates_to_elect`` is the county delegates the unit elects (for satellites it follows
    from attendance when not given); ``attendance`` is the sign-in headcount when known;
    ``sde_per_delegate`` is the county's fixed SDE-per-county-delegate ratio.
    """

    county: str
    precinct: str
    groups: tuple[GroupResult, ...]
    delegates_to_elect: int | None = None
    is_satellite: bool = False
    attendance: int | None = None
    sde_per_delegate: float | None = None

    @property
    def key(self) -> tuple[str, str]:
        """(county, precinct): what identifies a reporting unit."""
        return (self.county, self.precinct)

    @property
    def first_total(self) -> int:
        return sum(g.first for g in self.groups)

    @property
    def final_total(self) -> int:
        return sum(g.final for g in self.groups)

    @property
    def headcount(self) -> int:
        """Attendance N of the delegate formula; the first-alignment total stands in if unknown."""
        return self.attendance if self.attendance is not None else self.first_total

    @property
    def electing(self) -> int | None:
        """County delegates this unit elects; for a satellite, from its attendance if not given."""
        if self.delegates_to_elect is not None:
            return self.delegates_to_elect
        if self.is_satellite and self.headcount > 0:
            return satellite_delegates(self.headcount)
        return None

    def first_alignment(self) -> dict[str, int]:
        return {g.name: g.first for g in self.groups}

    def final_alignment(self) -> dict[str, int]:
        return {g.name: g.final for g in self.groups}

    def awarded(self) -> dict[str, int] | None:
        """County delegates awarded per group with any, or None when awards were not reported."""
        awards: dict[str, int] = {}
        for g in self.groups:
            if g.county_delegates is None:
                return None
            if g.county_delegates:
                awards[g.name] = g.county_delegates
        return awards
