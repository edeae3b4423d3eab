"""Checks on a submission: the caucus rules, and agreement with the precinct's other stages."""

from __future__ import annotations

from caucus.checks import DUPLICATE_REPORT, MISSING_FIELD, Check, check_precinct
from caucus.results import GroupResult, PrecinctResult
from caucus.rules import OneDelegateRule
from reporting.models import RuleBroken, Stage
from reporting.roster import RosterPrecinct

ATTENDANCE_CHANGED = Check(
    "attendance-changed",
    "Attendance differs between stages",
    "The final report's attendance is not the attendance reported when the caucus opened.",
)
FIRST_ALIGNMENT_CHANGED = Check(
    "first-alignment-changed",
    "First alignment differs between stages",
    "The final report's first alignment is not the first alignment reported before.",
)
FIRST_ABOVE_ATTENDANCE = Check(
    "first-above-attendance",
    "First alignment above attendance",
    "More people stood in preference groups than were counted in the room.",
)
STAGE_CHECKS = (ATTENDANCE_CHANGED, FIRST_ALIGNMENT_CHANGED, FIRST_ABOVE_ATTENDANCE)
"""Rules about stages; the rules about one result are :data:`caucus.checks.CHECKS`."""


def _broken(check: Check, detail: str) -> RuleBroken:
    return RuleBroken(id=check.id, name=check.name, detail=detail)


def _first(body: dict) -> dict[str, int]:
    """First alignment by group, groups with nobody left out."""
    return {g["name"]: g["first"] for g in body["groups"] if g["first"]}


def check_stage(
    precinct: RosterPrecinct,
    stage: Stage,
    body: dict,
    others: dict[Stage, dict],
    one_delegate: OneDelegateRule = OneDelegateRule.PLURALITY,
) -> list[RuleBroken]:
    """Rules ``body`` breaks, alone and against the current versions of the other stages."""
    names = [g["name"] for g in body.get("groups", ())]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:  # nothing else can be judged with a group counted twice
        return [_broken(DUPLICATE_REPORT, f"groups listed more than once: {', '.join(twice)}")]
    merged = {**others, stage: body}
    broken = []
    opened, aligned, closed = (merged.get(s) for s in Stage)
    if opened and closed and opened["attendance"] != closed["attendance"]:
        broken.append(
            _broken(
                ATTENDANCE_CHANGED,
                f"open reported {opened['attendance']}, close reports {closed['attendance']}",
            )
        )
    if aligned and closed and _first(aligned) != _first(closed):
        broken.append(
            _broken(
                FIRST_ALIGNMENT_CHANGED,
                f"first alignment was {_first(aligned)}, close reports {_first(closed)}",
            )
        )
    attendance = (closed or opened or {}).get("attendance")
    first_total = sum(_first(aligned or closed or {"groups": []}).values())
    if attendance is not None and first_total > attendance:
        broken.append(
            _broken(FIRST_ABOVE_ATTENDANCE, f"{first_total} aligned, attendance {attendance}")
        )
    if stage is Stage.CLOSE:
        result = PrecinctResult(
            county=precinct.county,
            precinct=precinct.precinct_id,
            groups=tuple(
                GroupResult(g["name"], g["first"], g["final"], g.get("delegates"))
                for g in body["groups"]
            ),
            delegates_to_elect=precinct.delegates_to_elect,
            attendance=body["attendance"],
        )
        broken += [_broken(f.check, f.detail) for f in check_precinct(result, one_delegate)]
        unawarded = [g["name"] for g in body["groups"] if "delegates" not in g]
        if unawarded:  # the 2020 app's coding error: the result arrives without its awards
            broken.append(_broken(MISSING_FIELD, f"no delegates given for {', '.join(unawarded)}"))
    return broken
