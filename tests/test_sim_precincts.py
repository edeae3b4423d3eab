"""Precincts drawn for a night: plausible Iowa figures, legal caucus results, chair mistakes."""

import random
import statistics
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caucus import check_precinct, is_legal_realignment, viable_groups
from sim.config import MistakesConfig, PrecinctsConfig
from sim.precincts import MISTAKES, caucus, draw_precincts

IOWA2020 = Path(__file__).resolve().parents[2] / "shared" / "data" / "iowa2020"


@pytest.fixture(scope="module")
def precincts():
    return draw_precincts(
        PrecinctsConfig(), MistakesConfig(), np.random.default_rng(4), random.Random(4)
    )


def test_an_iowa_night_has_the_2020_reporting_units(precincts):
    assert len(precincts) == 1765
    assert sum(p.is_satellite for p in precincts) == 87
    assert len({p.name for p in precincts}) == 1765


def test_attendance_and_delegates_look_like_iowa_2020(precincts):
    regular = [p for p in precincts if not p.is_satellite]
    attendance = [p.attendance for p in regular]
    p10, p50, p90 = np.percentile(attendance, [10, 50, 90])
    assert 50 <= p50 <= 72 and 10 <= p10 <= 20 and 200 <= p90 <= 300
    assert max(attendance) <= 860
    delegates = [p.delegates for p in regular]
    assert statistics.median(delegates) == pytest.approx(6, abs=1)
    assert min(delegates) >= 1 and max(delegates) <= 36
    assert 10_000 <= sum(delegates) <= 13_000  # 2020: 11,402
    satellites = [p.attendance for p in precincts if p.is_satellite]
    assert 12 <= statistics.median(satellites) <= 30


def test_bigger_caucuses_take_longer(precincts):
    regular = [p for p in precincts if not p.is_satellite]
    small = [p.caucus_end_min for p in regular if p.attendance < 30]
    large = [p.caucus_end_min for p in regular if p.attendance > 200]
    assert statistics.median(large) > statistics.median(small) + 15


def test_every_true_result_passes_every_check(precincts):
    assert [p.name for p in precincts if check_precinct(p.result)] == []


def test_mistakes_come_at_the_configured_rate_and_are_mostly_caught(precincts):
    mistaken = [p for p in precincts if p.mistake]
    assert 0.07 <= len(mistaken) / len(precincts) <= 0.13
    assert all(p.reported != p.result for p in mistaken)
    assert all(p.reported == p.result for p in precincts if not p.mistake)
    caught = [p for p in mistaken if check_precinct(p.reported)]
    assert 0.6 <= len(caught) / len(mistaken) < 1.0  # some slip through, as in 2020
    assert set(Counter(p.mistake for p in mistaken)) <= set(MISTAKES)


@pytest.mark.parametrize("kind", sorted(MISTAKES))
def test_each_mistake_kind_changes_the_result(precincts, kind):
    rng = random.Random(kind)
    changed = [MISTAKES[kind](p.result, rng) for p in precincts[:200]]
    applied = [(p, r) for p, r in zip(precincts, changed, strict=False) if r is not None]
    assert len(applied) > 50
    assert all(r != p.result for p, r in applied)


def test_the_same_generators_give_the_same_precincts():
    def draw(seed):
        return draw_precincts(
            PrecinctsConfig(regular=50, satellites=5),
            MistakesConfig(rate=0.5),
            np.random.default_rng(seed),
            random.Random(seed),
        )

    assert draw(9) == draw(9)
    assert draw(9) != draw(10)


@settings(max_examples=150, deadline=None)
@given(
    counts=st.lists(st.integers(0, 120), min_size=1, max_size=8),
    delegates=st.integers(1, 12),
    join_share=st.floats(0, 1),
    seed=st.integers(0, 10**6),
)
def test_any_caucus_follows_the_rules(counts, delegates, join_share, seed):
    first = {f"G{i}": n for i, n in enumerate(counts)}
    attendance = sum(counts)
    if attendance == 0:
        return
    result = caucus("C", "P", False, attendance, delegates, first, join_share, random.Random(seed))
    assert check_precinct(result) == []
    assert sum(result.awarded().values()) == delegates
    assert result.final_total <= result.first_total == attendance
    assert is_legal_realignment(
        result.first_alignment(), result.final_alignment(), delegates, attendance
    )
    assert {g: n for g, n in result.first_alignment().items() if n} == {
        g: n for g, n in first.items() if n
    }  # the first alignment is reported as it stood, rule 6 or not
    final = result.final_alignment()
    present = {g: n for g, n in first.items() if n}
    holding = {g for g, n in present.items() if final[g] >= n}
    if delegates == 1:  # no threshold: the others realign to the two largest groups
        assert len(holding) >= min(2, len(present))
        assert min(present[g] for g in holding) >= sorted(present.values())[-2:][0]
    else:  # at most D groups hold their members (rule 6); only they can end viable
        assert len(viable_groups(final, delegates, attendance)) <= delegates
        if viable_groups(present, delegates, attendance):
            assert viable_groups(final, delegates, attendance) <= holding


@pytest.mark.iowa2020
def test_drawn_attendance_spreads_like_the_real_first_alignment_totals(precincts):
    """Attendance was not published: the first-alignment total stands in (SOURCE.md)."""
    path = IOWA2020 / "results_final.csv"
    if not path.exists():
        pytest.skip("../shared/data/iowa2020 is absent")
    import csv

    totals: Counter[tuple[str, str]] = Counter()
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            if row["is_satellite"] != "1":
                totals[row["county"], row["precinct"]] += int(row["first_alignment"] or 0)
    real = np.percentile(list(totals.values()), [10, 25, 50, 75, 90])
    drawn = np.percentile(
        [p.attendance for p in precincts if not p.is_satellite], [10, 25, 50, 75, 90]
    )
    assert np.all(np.abs(np.log(drawn / np.maximum(real, 1))) < 0.35), (real, drawn)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10**6),
    join_share=st.floats(0, 1),
    concentration=st.floats(0.5, 50),
    rate=st.floats(0, 1),
)
def test_a_simulated_result_passes_the_checks_unless_a_mistake_was_injected(
    seed, join_share, concentration, rate
):
    config = PrecinctsConfig(
        regular=40,
        satellites=4,
        counties=4,
        realign_join_share=join_share,
        mix_concentration=concentration,
    )
    drawn = draw_precincts(
        config, MistakesConfig(rate=rate), np.random.default_rng(seed), random.Random(seed)
    )
    for p in drawn:
        if p.mistake is None:
            assert p.reported == p.result and check_precinct(p.reported) == [], p.name
        else:
            assert p.reported != p.result


def test_rule_6_and_one_delegate_realignments_happen_in_an_iowa_night(precincts):
    def too_many_viable(p):
        first = p.result.first_alignment()
        return p.delegates > 1 and len(viable_groups(first, p.delegates, p.attendance)) > (
            p.delegates
        )

    rule_6 = [p for p in precincts if too_many_viable(p)]
    one_seat = [
        p
        for p in precincts
        if p.delegates == 1 and p.result.final_alignment() != p.result.first_alignment()
    ]
    assert len(rule_6) >= 5 and len(one_seat) >= 5, (len(rule_6), len(one_seat))
    assert all(check_precinct(p.result) == [] for p in rule_6 + one_seat)
