"""An HQ reviewer's second look at a held result, with the caucus rules.

The decisions a reviewer tries, in order, each with its reason (the next when the target
refuses one): approve a result that passes on a second look; correct one whose alignments hold
but whose awards are wrong or missing, with the awards the rules give for the alignments as
reported; correct it from the chair's worksheet, read over the phone, when the worksheet agrees
with the stages in force; else reject it.

In a load test the worksheet is the chair's own result, built from the run's seed as the chair
and the hotline build it (:func:`loadtests.payloads.legal_result`).
"""

from __future__ import annotations

from dataclasses import replace

from caucus.checks import DUPLICATE_REPORT, MISSING_FIELD, check_precinct
from caucus.rules import allocate_delegates
from loadtests.adapters import HeldResult, ReportingAdapter, ReviewCall
from loadtests.payloads import CaucusResult


def problems(held: HeldResult, result: CaucusResult) -> list[str]:
    """Ids of the rules ``result`` breaks as the held stage of its precinct: alone, and against
    the stages in force (empty: it passes)."""
    names = [g.name for g in result.groups]
    if len(set(names)) < len(names):
        return [DUPLICATE_REPORT.id]
    first = {g.name: g.first for g in result.groups if g.first}
    attendance = result.attendance
    why = []
    if held.stage == "open":
        first = dict(held.first or {})
    elif held.stage == "first-alignment":
        attendance = held.attendance
    else:
        if held.attendance is not None and result.attendance != held.attendance:
            why.append("attendance-changed")
        if held.first is not None and first != dict(held.first):
            why.append("first-alignment-changed")
    if attendance is not None and sum(first.values()) > attendance:
        why.append("first-above-attendance")
    if held.stage == "close":
        why += [f.check.id for f in check_precinct(result.as_precinct_result())]
        if any(g.county_delegates is None for g in result.groups):
            why.append(MISSING_FIELD.id)
    return why


def awards_recomputed(held: HeldResult) -> CaucusResult | None:
    """The held final result with the awards the rules give for its alignments as reported
    (None: not a final result, no allocation, or a coin toss would decide it)."""
    reported = held.reported
    if held.stage != "close" or reported.attendance < 1:
        return None
    final = {g.name: g.final for g in reported.groups}
    try:
        allocation = allocate_delegates(final, reported.delegates_to_elect, reported.attendance)
    except ValueError:  # too many viable groups, no majority
        return None
    if allocation.tie is not None:  # the worksheet says who won the toss
        return None
    groups = tuple(
        replace(g, county_delegates=allocation.delegates.get(g.name, 0)) for g in reported.groups
    )
    return replace(reported, groups=groups)


def calls_to_try(held: HeldResult, worksheet: CaucusResult | None) -> list[ReviewCall]:
    """The decisions to try on ``held``, in order; the last is always a rejection."""
    found = ", ".join(held.findings) or held.kind
    calls = []
    if not problems(held, held.reported):
        calls.append(ReviewCall("approve", f"second look: passes the caucus rules ({found})"))
    derived = awards_recomputed(held)
    if derived is not None and not problems(held, derived):
        reason = f"{found}: delegates recomputed with the caucus rules from the alignments reported"
        calls.append(ReviewCall("correct", reason, derived))
    if worksheet is not None and not problems(held, worksheet):
        reason = f"{found}: called the chair back, entered as the worksheet reads"
        calls.append(ReviewCall("correct", reason, worksheet))
    reason = f"{found}: cannot be established from the stages reported or the worksheet"
    calls.append(ReviewCall("reject", reason))
    return calls


def reviewers_on_duty(reviewers: int, reviewer_sheet: str, adapter: ReportingAdapter) -> int:
    """HQ reviewers a run has: ``reviewers`` when their keys are given and the adapter speaks
    for reviewers, else none."""
    return reviewers if reviewer_sheet and adapter.reviews else 0
