"""Whole nights: an Iowa-sized smoke test, conservation, determinism, and the levers staff pull."""

import dataclasses
import math
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caucus import OneDelegateRule
from caucus.checks import MISSING_FIELD
from sim import Night, NightConfig, conservation_problems, hold_by_hour, run_night, summarize
from sim.app import ACCEPTED, LOGIN_FAILED, OUTAGE, OVERLOADED, PARTIAL
from sim.chairs import CHANNEL_TRIES, WENT_HOME
from sim.config import CHANNELS, MISTAKE_KINDS, ONE_DELEGATE_RULES, HotlineShift, HQShift
from sim.hotline import BLOCKED, BUSY, DROPPED, PRANK, PUBLIC, REPORT, SCREENED, SERVED
from sim.hq import findings, incomplete
from sim.precincts import MISTAKES


def small(**changes) -> NightConfig:
    """A 200-precinct night (the hotline scaled down with it)."""
    base = NightConfig()
    config = dataclasses.replace(
        base,
        precincts=dataclasses.replace(base.precincts, regular=190, satellites=10, counties=10),
        hotline=dataclasses.replace(base.hotline, lines=30, operators=4),
        prank=dataclasses.replace(base.prank, peak_per_min=4.0, callers=80),
        public=dataclasses.replace(base.public, rate_per_min=0.1),
        hq=dataclasses.replace(base.hq, data_entry_staff=2, verifiers=2),
    )
    for key, value in changes.items():
        if isinstance(value, dict):
            value = dataclasses.replace(getattr(config, key), **value)
        config = dataclasses.replace(config, **{key: value})
    return config


def checked_night(config: NightConfig, seed: int) -> Night:
    """Run a night and check its conservation laws: every night in these tests passes them."""
    played = run_night(config, seed)
    assert conservation_problems(played) == []
    return played


@pytest.fixture(scope="module")
def iowa():
    return checked_night(NightConfig(), seed=2020)


def test_an_iowa_sized_night_runs_and_conserves(iowa):
    assert len(iowa.records) == 1765
    assert conservation_problems(iowa) == []
    assert sum(r.status == "published" for r in iowa.records) >= 1760
    summary = summarize(iowa)
    assert summary["calls_prank"] > 2000
    assert summary["peak_lines_busy"] <= iowa.config.hotline.lines
    assert 0 < summary["published_50pct_min"] <= summary["published_95pct_min"]
    assert summary["published_100pct_min"] < iowa.config.horizon_min
    assert sum(summary[f"share_{c}"] for c in CHANNELS) == pytest.approx(1.0)


def test_the_2020_defaults_publish_only_at_batch_times(iowa):
    release = iowa.config.release
    later = {release.batch_times_min[-1] + k * release.then_every_min for k in range(1, 30)}
    published = {r.published_min for r in iowa.records if r.published_min is not None}
    assert min(published) == release.batch_times_min[0]
    assert published <= set(release.batch_times_min) | later


def test_every_attempt_is_recorded_in_channel_order(iowa):
    order = {c: i for i, c in enumerate(iowa.config.chairs.channels)}
    for record in iowa.records:
        ranks = [order[a.channel] for a in record.attempts]
        assert ranks == sorted(ranks)
        assert record.attempts[-1].channel == record.channel
        assert record.first_attempt_min >= record.ready_min
        assert record.received_min == pytest.approx(record.attempts[-1].end_min)
    app_outcomes = {a.outcome for r in iowa.records for a in r.attempts if a.channel == "app"}
    assert {LOGIN_FAILED, PARTIAL} <= app_outcomes
    assert not any(
        r.attempts and r.attempts[0].channel == "app" for r in iowa.records if not r.has_app
    )


def test_hold_times_are_long_once_the_flood_starts(iowa):
    hours = {h.hour: h for h in hold_by_hour(iowa)}
    assert hours[0].p50_min < 10
    assert max(h.p90_min for h in hours.values()) > 45
    assert all(h.calls > 0 and h.p50_min <= h.p90_min <= h.max_min for h in hours.values())


def test_the_same_seed_gives_the_same_night_number_for_number():
    config = small()
    a, b = checked_night(config, seed=5), checked_night(config, seed=5)
    assert summarize(a) == summarize(b)
    assert [(c.kind, c.placed_min, c.wait_min, c.outcome) for c in a.calls] == [
        (c.kind, c.placed_min, c.wait_min, c.outcome) for c in b.calls
    ]
    assert [(r.published_min, r.published) for r in a.records] == [
        (r.published_min, r.published) for r in b.records
    ]
    assert a.series == b.series
    assert summarize(checked_night(config, seed=6)) != summarize(a)


@pytest.mark.parametrize("seed", range(4))
def test_small_nights_conserve_under_many_settings(seed):
    variants = [
        small(),
        small(release={"mode": "continuous"}),
        small(hotline={"pin_screening": True, "block_after_prank_calls": 3}),
        small(app={"installed_share": 1.0, "partial_data_prob": 0.0, "outages": ((0, 120),)}),
        small(chairs={"channels": ("hotline", "mail")}, prank={"leak_min": None}),
        small(hotline={"lines": 4, "operators": 4}, horizon_min=600.0),
        small(public={"rate_per_min": 0.0}, prank={"peak_per_min": 0.0}),
    ]
    for config in variants:
        night = checked_night(config, seed)
        assert conservation_problems(night) == [], config
        assert all(c.outcome is not None for c in night.calls)


def test_a_short_night_reports_precincts_that_never_arrived():
    night = checked_night(small(horizon_min=240.0), seed=1)
    statuses = {r.status for r in night.records}
    assert "never-arrived" in statuses
    assert summarize(night)["never_arrived"] > 0
    assert math.isnan(summarize(night)["published_100pct_min"])
    assert conservation_problems(night) == []


def test_a_working_app_and_continuous_release_publish_within_hours():
    night = checked_night(
        small(
            app={"installed_share": 1.0, "login_failure_prob": 0.02, "partial_data_prob": 0.0},
            mistakes={"rate": 0.02},
            release={"mode": "continuous"},
            prank={"leak_min": None},
        ),
        seed=3,
    )
    summary = summarize(night)
    assert summary["share_app"] > 0.85
    assert summary["published_95pct_min"] < 8 * 60
    assert {a.outcome for r in night.records for a in r.attempts if a.channel == "app"} >= {
        ACCEPTED
    }


def test_an_app_outage_sends_chairs_to_the_hotline():
    up = summarize(checked_night(small(app={"installed_share": 1.0}), seed=2))
    down = checked_night(small(app={"installed_share": 1.0, "outages": ((-600.0, 900.0),)}), seed=2)
    assert {a.outcome for r in down.records for a in r.attempts if a.channel == "app"} <= {
        OUTAGE,
        LOGIN_FAILED,
    }
    assert summarize(down)["share_hotline"] > up["share_hotline"]


def test_pin_screening_frees_operators_and_lines_from_pranks():
    flood = {"peak_per_min": 10.0, "leak_min": 60.0}
    leaked = summarize(checked_night(small(prank=flood, hotline={"operators": 6}), seed=4))
    screened_night = checked_night(
        small(prank=flood, hotline={"operators": 6, "pin_screening": True}), seed=4
    )
    screened = summarize(screened_night)
    assert leaked["prank_operator_share"] > 0.1
    assert screened["prank_operator_share"] == 0
    outcomes = {c.outcome for c in screened_night.calls if c.kind in (PRANK, PUBLIC)}
    assert SCREENED in outcomes and outcomes <= {SCREENED, BUSY}
    assert screened["busy_share"] < leaked["busy_share"] - 0.03


def test_no_leak_means_no_pranks_and_the_same_summary_keys():
    night = checked_night(small(prank={"leak_min": None}), seed=1)
    assert not any(c.kind == PRANK for c in night.calls)
    assert any(c.kind == REPORT for c in night.calls)
    summary = summarize(night)
    assert summary["calls_prank"] == 0
    assert summary.keys() == summarize(checked_night(small(), seed=1)).keys()


def test_a_leak_leaves_every_chairs_own_draws_alone():
    """Common random numbers: the prank flood draws from its own stream, so a chair meets the
    same luck with and without it. The app knows nothing of the hotline: every app attempt is
    the same, to the last digit; a chair's first attempt starts at the same minute whatever
    channel it is; what differs is on the hotline."""
    leaked, quiet = (checked_night(small(prank={"leak_min": at}), seed=3) for at in (60.0, None))
    assert any(c.kind == PRANK for c in leaked.calls)
    for loud, calm in zip(leaked.records, quiet.records, strict=True):
        assert loud.has_app == calm.has_app
        assert loud.attempts[0].start_min == calm.attempts[0].start_min
        app = [a for a in loud.attempts if a.channel == "app"]
        assert app == [a for a in calm.attempts if a.channel == "app"]
    assert [r.attempts for r in leaked.records] != [r.attempts for r in quiet.records]


def test_errors_are_counted_injected_caught_and_published(iowa):
    summary = summarize(iowa)
    injected, caught = summary["errors_injected"], summary["errors_caught"]
    assert 0 < injected - caught < caught  # most mistakes are caught, a few slip through
    assert injected - caught <= summary["errors_published"] < injected
    for record in iowa.records:
        assert record.published in (record.precinct.result, record.precinct.reported)
        if not record.findings:
            assert record.published == record.precinct.reported


def test_hq_corrects_flagged_mistakes_at_the_configured_rate():
    always = summarize(checked_night(small(hq={"correction_prob": 1.0}), seed=3))
    never = summarize(checked_night(small(hq={"correction_prob": 0.0}), seed=3))
    assert always["errors_published"] == always["errors_injected"] - always["errors_caught"]
    assert never["errors_published"] == never["errors_injected"] > 0


def test_every_channel_and_mistake_name_has_a_behaviour():
    assert set(CHANNEL_TRIES) == set(CHANNELS)
    assert set(MISTAKES) == set(MISTAKE_KINDS)


@pytest.mark.parametrize(
    ("section", "values", "message"),
    [
        ("release", {"mode": "weekly"}, "release.mode 'weekly'"),
        ("chairs", {"channels": ("app", "pigeon")}, "chairs.channels: unknown ['pigeon']"),
        ("mistakes", {"kinds": ("typo",), "weights": (1.0,)}, "mistakes.kinds: unknown"),
        ("mistakes", {"weights": (1.0,)}, "6 kinds but weights 1"),
        ("precincts", {"group_shares": (0.5, 0.5)}, "8 names but group_shares 2"),
        ("hq", {"one_delegate_rule": "loudest"}, "hq.one_delegate_rule 'loudest'"),
    ],
)
def test_inconsistent_settings_are_refused_with_the_key_named(section, values, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        small(**{section: values})


def test_a_saturated_app_back_end_turns_chairs_away():
    config = small(
        app={"installed_share": 1.0, "backend_capacity": 2, "backend_submit_min": 30.0},
        precincts={"caucus_sigma": 0.01, "satellite_start_min": 0.0},
    )
    played = checked_night(config, seed=1)
    outcomes = Counter(a.outcome for r in played.records for a in r.attempts if a.channel == "app")
    assert outcomes[OVERLOADED] > 20
    assert summarize(played)["share_app"] < 0.8


def test_conservation_problems_are_found_when_they_happen():
    played = checked_night(small(), seed=8)
    played.records[0].publications = 2
    played.records[1].received_min = None
    played.records[2].verified_min = played.records[2].published_min + 1
    played.calls[0].outcome = None
    played.calls.append(dataclasses.replace(played.calls[-1], kind=REPORT, caller=10**6))
    played.hotline.peak_lines_busy = played.config.hotline.lines + 1
    problems = "\n".join(conservation_problems(played))
    assert "published 2 times" in problems
    assert "published without arriving" in problems
    assert "times out of order" in problems
    assert "has no outcome" in problems
    assert "attempts do not match" in problems
    assert "lines busy of" in problems


def test_a_night_does_not_depend_on_string_hashing():
    """Worker processes hash strings differently; the night must not notice."""
    script = (
        "import hashlib; from sim import run_night, summarize; n = run_night(seed=7); "
        "print(hashlib.sha256(repr((sorted(summarize(n).items()), "
        "[(r.published_min, r.published) for r in n.records], "
        "[(c.placed_min, c.wait_min, c.outcome) for c in n.calls])).encode()).hexdigest())"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": str(hash_seed)},
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parents[1],
        ).stdout
        for hash_seed in (1, 2)
    }
    assert len(digests) == 1
    assert len(digests.pop().strip()) == 64


def test_chairs_who_cannot_get_through_fall_back_to_photo_and_mail():
    played = checked_night(small(hotline={"lines": 1, "operators": 1}), seed=2)
    summary = summarize(played)
    assert summary["share_photo"] + summary["share_mail"] > 0.5
    for record in played.records:
        channels = [a.channel for a in record.attempts]
        if record.channel in ("photo", "mail") and "hotline" in channels:
            assert channels.index("hotline") < channels.index(record.channel)
        if record.channel == "mail" and "photo" in channels:
            assert record.attempts[channels.index("photo")].outcome == WENT_HOME


def test_no_app_report_gets_through_during_an_outage():
    outages = ((60.0, 150.0), (200.0, 260.0))
    played = checked_night(small(app={"installed_share": 1.0, "outages": outages}), seed=5)
    attempt_min = played.config.app.attempt_min
    app = [a for r in played.records for a in r.attempts if a.channel == "app"]
    for attempt in app:
        inside = any(start <= attempt.start_min + attempt_min < end for start, end in outages)
        if attempt.outcome in (ACCEPTED, PARTIAL):
            assert not inside
        if inside and attempt.outcome != LOGIN_FAILED:
            assert attempt.outcome == OUTAGE
    assert sum(a.outcome == OUTAGE for a in app) > 20


def test_hq_reading_the_one_delegate_rule_as_majority_flags_plurality_wins():
    """Small precincts electing one delegate, complete reports, no mistakes."""
    settings = {
        "precincts": {"delegates_median": 1.0},
        "app": {"installed_share": 0.0},
        "mistakes": {"rate": 0.0},
    }
    plurality = checked_night(small(**settings), seed=6)
    majority = checked_night(small(**settings, hq={"one_delegate_rule": "majority"}), seed=6)

    def flagged(night):
        return {r.precinct.name for r in night.records if "one-delegate-no-majority" in r.findings}

    assert not flagged(plurality)
    assert len(flagged(majority)) > 5
    for record in majority.records:
        if record.precinct.name in flagged(majority):
            (winner,) = record.precinct.result.awarded()
            final = record.precinct.result.final_alignment()
            assert record.precinct.delegates == 1
            assert 2 * final[winner] <= record.precinct.attendance


def test_the_apps_incomplete_result_lacks_the_awards_and_nothing_else(iowa):
    for record in iowa.records[:50]:
        result = record.precinct.reported
        lacking = dataclasses.replace(
            result,
            groups=tuple(dataclasses.replace(g, county_delegates=None) for g in result.groups),
        )
        assert incomplete(result) == lacking and lacking.awarded() is None


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 10**6),
    rate=st.floats(0, 1),
    reading=st.sampled_from(ONE_DELEGATE_RULES),
    delegates_median=st.floats(1, 8),
)
def test_hq_finds_what_the_checks_find(seed, rate, reading, delegates_median):
    """HQ does not re-check a result received exactly as the caucus decided it (plurality
    reading), nor the app's incomplete copy of it (either reading): on every result of the
    night its findings are still those of every check."""
    night = run_night(
        small(
            precincts={"delegates_median": delegates_median},
            mistakes={"rate": rate},
            hq={"one_delegate_rule": reading, "verifiers": 20},
        ),
        seed,
    )
    verified = [r for r in night.records if r.verified_min is not None]
    assert len(verified) > 150
    assert any(r.received == r.precinct.result for r in verified)
    for record in verified:
        assert record.findings == findings(record.received, OneDelegateRule(reading))


@pytest.mark.parametrize("reading", ONE_DELEGATE_RULES)
def test_hq_finds_what_the_checks_find_on_the_apps_incomplete_results(reading):
    """The app's incomplete copies of results received as the caucus decided them, which HQ
    does not check again, fail the full checks for their missing awards and nothing else."""
    night = run_night(small(hq={"one_delegate_rule": reading, "verifiers": 20}), seed=3)
    lacking = [
        r
        for r in night.records
        if r.verified_min is not None and r.received.awarded() is None and not r.precinct.mistake
    ]
    assert len(lacking) > 10
    for record in lacking:
        assert record.findings == findings(record.received, OneDelegateRule(reading))
        assert record.findings == (MISSING_FIELD.id,)


def test_shifts_change_staff_at_their_times():
    """No operator before 8 pm, six from 8 pm, one and three lines from 5 am; no verifier until
    midnight."""
    hotline_shifts = (HotlineShift(60.0, operators=6), HotlineShift(600.0, operators=1, lines=3))
    config = small(
        hotline={"operators": 0, "shifts": hotline_shifts},
        hq={"verifiers": 0, "shifts": (HQShift(300.0, verifiers=4),)},
    )
    played = checked_night(config, seed=4)
    talked = [c for c in played.calls if c.outcome in (SERVED, DROPPED)]
    answered = {id(c): c.placed_min + c.wait_min for c in talked}
    assert talked and min(answered.values()) >= 60 - 1e-9
    for call in talked:
        at = answered[id(call)] + 1e-9
        if at > 600:
            assert sum(answered[id(o)] <= at < o.ended_min for o in talked) <= 1
    with_line = [c for c in played.calls if c.placed_min > 600 and c.outcome not in (BUSY, BLOCKED)]
    assert with_line
    for call in with_line:
        assert sum(o.placed_min <= call.placed_min < o.ended_min for o in with_line) <= 3
    verified = [r.verified_min for r in played.records if r.verified_min is not None]
    assert verified and min(verified) >= 300
    unshifted = checked_night(small(hotline={"operators": 6}, hq={"verifiers": 4}), seed=4)
    assert min(r.verified_min for r in unshifted.records if r.verified_min) < 300


@settings(max_examples=8, deadline=None)
@given(
    changes=st.lists(
        st.tuples(
            st.floats(-60.0, 900.0),
            st.integers(0, 8),
            st.integers(0, 40),
            st.integers(0, 4),
            st.integers(0, 4),
        ),
        min_size=1,
        max_size=4,
        unique_by=lambda change: change[0],
    ),
    seed=st.integers(0, 1000),
)
def test_any_night_with_shifts_conserves(changes, seed):
    """Whatever the shifts of operators, lines, verifiers and typists, each precinct is
    published at most once and after it arrived and was verified, and each call ends once
    (checked_night's conservation check)."""
    changes = sorted(changes)
    config = small(
        hotline={"shifts": tuple(HotlineShift(t, ops, lines) for t, ops, lines, _, _ in changes)},
        hq={"shifts": tuple(HQShift(t, v, typists) for t, _, _, v, typists in changes)},
    )
    checked_night(config, seed)
