"""The caucus domain: results, the 2020 Iowa Democratic rules, and integrity checks."""

from caucus.checks import CHECKS, Check, Finding, check_precinct, check_release
from caucus.results import GroupResult, PrecinctResult
from caucus.rules import (
    Allocation,
    NoMajority,
    OneDelegateRule,
    Tie,
    TooManyViableGroups,
    allocate_delegates,
    is_legal_realignment,
    locked_groups,
    realignment_problems,
    satellite_delegates,
    state_delegate_equivalents,
    viability_number,
    viability_threshold,
    viable_groups,
)

__all__ = [
    "CHECKS",
    "Allocation",
    "Check",
    "Finding",
    "GroupResult",
    "NoMajority",
    "OneDelegateRule",
    "PrecinctResult",
    "Tie",
    "TooManyViableGroups",
    "allocate_delegates",
    "check_precinct",
    "check_release",
    "is_legal_realignment",
    "locked_groups",
    "realignment_problems",
    "satellite_delegates",
    "state_delegate_equivalents",
    "viability_number",
    "viability_threshold",
    "viable_groups",
]
