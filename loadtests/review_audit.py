"""The review audit: how long the results held for review waited, and whether any was public
before its review, from the target's own record (:meth:`ReportingAdapter.review_ledger`).

A held result's wait is from when it was accepted to when a reviewer decided on it, in wall
seconds of the run and in minutes of night (seconds x compress / 60). It was published before
review when the public saw it before the decision, or saw it with no decision at all; seen at
the very moment of the decision is not before it. Times are Unix seconds as floats, which
near today resolve a quarter of a microsecond: times stated to the microsecond keep their order.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from loadtests.adapters import FlaggedResult


@dataclass(frozen=True, slots=True)
class PublishedEarly:
    """A held result the public saw before its review: how long before (None: never reviewed)."""

    receipt_id: str
    precinct_id: str
    stage: str
    before_s: float | None

    @property
    def problem(self) -> str:
        if self.before_s is None:
            return "published without a review"
        return f"published {self.before_s:.3f} s before its review"


@dataclass(frozen=True, slots=True)
class ReviewAudit:
    """What the target's record says of the results it held for review."""

    flagged: int
    decisions: dict[str, int]
    """Decided results by decision (``approved``, ``corrected``, ``rejected``)."""
    waits_s: tuple[float, ...]
    """Wall seconds each decided result waited, shortest first."""
    waiting: tuple[str, ...]
    """Receipts still waiting for a decision when the record was read."""
    oldest_waiting_s: float | None
    """How long the oldest of those had waited then (wall seconds)."""
    published_early: tuple[PublishedEarly, ...]
    compress: float
    """Night minutes per wall minute, to state waits in minutes of night."""

    @property
    def checked(self) -> bool:
        """Whether the check proved anything: at least one result was held."""
        return self.flagged > 0

    @property
    def passed(self) -> bool:
        return not self.published_early

    def night_min(self, seconds: float) -> float:
        return seconds * self.compress / 60

    def to_json(self) -> dict:
        waits = self.waits_s
        summary = {
            name: {"run_s": round(s, 3), "night_min": round(self.night_min(s), 2)}
            for name, s in (
                ("median", statistics.median(waits) if waits else None),
                ("p90", percentile(waits, 0.9) if waits else None),
                ("max", waits[-1] if waits else None),
            )
            if s is not None
        }
        return {
            "flagged": self.flagged,
            "checked": self.checked,
            "passed": self.passed,
            "decisions": dict(self.decisions),
            "decided": len(waits),
            "waited": summary,
            "waits_s": [round(s, 3) for s in waits],
            "still_waiting": list(self.waiting),
            "oldest_waiting_s": self.oldest_waiting_s,
            "published_early": [
                {
                    "receipt_id": p.receipt_id,
                    "precinct_id": p.precinct_id,
                    "stage": p.stage,
                    "problem": p.problem,
                }
                for p in self.published_early
            ],
        }


def percentile(ordered: Sequence[float], share: float) -> float:
    """The nearest-rank percentile of values sorted ascending: the smallest value with at
    least ``share`` of the values at or below it."""
    if not ordered:
        raise ValueError("no values")
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def review_audit(flagged: Sequence[FlaggedResult], compress: float, read_s: float) -> ReviewAudit:
    """Judge the held results of a run; ``read_s``: when the record was read (Unix seconds)."""
    early, waits, waiting = [], [], []
    for row in flagged:
        if row.decided_s is None:
            waiting.append(row)
            if row.published_s is not None:
                early.append(PublishedEarly(row.receipt_id, row.precinct_id, row.stage, None))
            continue
        waits.append(row.decided_s - row.accepted_s)
        if row.published_s is not None and row.published_s < row.decided_s:
            before = row.decided_s - row.published_s
            early.append(PublishedEarly(row.receipt_id, row.precinct_id, row.stage, before))
    oldest = min((row.accepted_s for row in waiting), default=None)
    return ReviewAudit(
        flagged=len(flagged),
        decisions=dict(Counter(row.decision for row in flagged if row.decision)),
        waits_s=tuple(sorted(waits)),
        waiting=tuple(row.receipt_id for row in waiting),
        oldest_waiting_s=None if oldest is None else round(read_s - oldest, 1),
        published_early=tuple(early),
        compress=compress,
    )
