"""The review audit and its place in the verdict, on hand-made records whose answer is known:
how long held results waited, and that none was public before its review."""

from __future__ import annotations

from dataclasses import replace

import pytest
from test_loadtests_verdict import _good

from loadtests.adapters import FlaggedResult
from loadtests.review_audit import percentile, review_audit
from loadtests.verdict import reasons, table, verdict

T0 = 1_800_000_000.0
COMPRESS = 240.0
"""4 night minutes a wall second."""


def _flagged(
    n: int, accepted: float, decided: float | None, published: float | None, how: str = "corrected"
) -> FlaggedResult:
    return FlaggedResult(
        f"r{n}",
        f"P{n:04d}",
        "close",
        T0 + accepted,
        None if decided is None else T0 + decided,
        how if decided is not None else None,
        None if published is None else T0 + published,
    )


def test_waits_in_seconds_of_run_and_minutes_of_night() -> None:
    rows = [
        _flagged(1, 0.0, 1.0, None),  # corrected: the held version is never public
        _flagged(2, 0.0, 2.0, 2.0, "approved"),  # public at the very moment of its approval
        _flagged(3, 1.0, 4.0, None),
        _flagged(4, 10.0, None, None),  # still waiting when the record was read, at 15 s
    ]
    audit = review_audit(rows, COMPRESS, T0 + 15.0)
    assert audit.waits_s == (1.0, 2.0, 3.0)
    assert audit.decisions == {"corrected": 2, "approved": 1}
    assert audit.waiting == ("r4",) and audit.oldest_waiting_s == 5.0
    assert audit.checked and audit.passed
    summary = audit.to_json()["waited"]
    assert summary["median"] == {"run_s": 2.0, "night_min": 8.0}
    assert summary["p90"] == summary["max"] == {"run_s": 3.0, "night_min": 12.0}


def test_published_exactly_at_the_decision_passes_a_microsecond_earlier_fails() -> None:
    at = _flagged(1, 0.0, 2.0, 2.0, "approved")
    early = _flagged(2, 0.0, 2.0, 2.0 - 1e-6, "approved")
    assert review_audit([at], COMPRESS, T0 + 3).passed
    audit = review_audit([at, early], COMPRESS, T0 + 3)
    [found] = audit.published_early
    assert found.receipt_id == "r2" and found.before_s == pytest.approx(1e-6, abs=1e-7)


def test_public_without_any_review_fails_and_names_the_receipts() -> None:
    rows = [_flagged(1, 0.0, None, 0.5), _flagged(2, 0.0, 3.0, 1.0, "approved")]
    audit = review_audit(rows, COMPRESS, T0 + 9)
    assert [p.problem for p in audit.published_early] == [
        "published without a review",
        "published 2.000 s before its review",
    ]
    evidence = replace(_good(), reviewers=2, review=audit)
    assert reasons(evidence) == ["2 results held for review were public before review: r1, r2"]
    text = table(verdict(evidence, {}))
    assert "  public before review: 2 of 2 held  FAIL" in text
    assert "  public before review: P0001 close receipt r1 (published without a review)" in text
    assert "verdict: FAIL" in text.splitlines()


def test_a_run_with_nothing_held_says_so_rather_than_passing_the_check() -> None:
    nothing = review_audit([], COMPRESS, T0)
    assert not nothing.checked and nothing.passed and nothing.to_json()["waited"] == {}
    with_reviewers = replace(_good(), reviewers=2, review=nothing)
    [why] = reasons(with_reviewers)
    assert why.startswith("no result was held for review, so the reviewers' part proved nothing")
    text = table(verdict(with_reviewers, {}))
    assert (
        "review: no result was held for review in this run: not proven that none is published"
        " before its review"
    ) in text
    assert "public before review: 0" not in text
    without = verdict(replace(_good(), review=nothing), {})  # no reviewers: nothing to say
    assert without["passed"] and "review:" not in table(without)


def test_the_verdict_lines_of_a_cleared_queue_and_of_a_skipped_review() -> None:
    rows = [_flagged(1, 0.0, 1.5, None), _flagged(2, 0.0, 0.5, 0.5, "approved")]
    evidence = replace(_good(), reviewers=2, review=review_audit(rows, COMPRESS, T0 + 2))
    result = verdict(evidence, {})
    assert result["passed"]
    lines = table(result).splitlines()
    at = lines.index(
        "review: 2 held for review, 2 decided (approved 1, corrected 1), 0 still waiting;"
        " 2 reviewers on duty"
    )
    assert lines[at + 1] == (
        "  waited: median 4.0 min of night (1.0 s of run), p90 6.0 min of night (1.5 s of run),"
        " max 6.0 min of night (1.5 s of run)"
    )
    assert lines[at + 2] == "  public before review: 0 of 2 held  ok"
    skipped = verdict(
        replace(_good(), reviewers=0, review_skipped="X has no review operations"), {}
    )
    assert skipped["passed"] and "review: skipped (X has no review operations)" in table(skipped)


def test_nearest_rank_percentiles() -> None:
    assert percentile([7.0], 0.9) == 7.0
    tenths = [float(n) for n in range(1, 11)]
    assert percentile(tenths, 0.9) == 9.0 and percentile(tenths, 0.91) == 10.0
    assert percentile(tenths, 0.5) == 5.0 and percentile(tenths, 1.0) == 10.0
    with pytest.raises(ValueError):
        percentile([], 0.9)
