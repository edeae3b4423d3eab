"""Targets as planners write them, the units figures are shown in, and whether a night met a
target, edges included."""

import math
from types import SimpleNamespace

import pytest

from sim.config import NightConfig, PrecinctsConfig
from sim.metrics import summarize
from sim.night import run_night
from studies.targets import Target, TargetError, parse_target
from studies.units import LABELS, shown


@pytest.mark.parametrize(
    ("text", "key", "symbol", "bound", "by_min"),
    [
        ("95% published by 6h", "published", ">=", 0.95, 360.0),
        ("90% received by 11pm", "received", ">=", 0.9, 240.0),
        ("62.5% of precincts published within 21 hours", "published", ">=", 0.625, 1260.0),
        ("chairs' 90th-percentile hold under 30 min", "report_hold_p90_min", "<", 30.0, None),
        ("chairs' hold, 90th percentile under 1h", "report_hold_p90_min", "<", 60.0, None),
        ("errors published at most 10", "errors_published", "<=", 10.0, None),
        ("busy_share below 20%", "busy_share", "<", 0.2, None),
        ("calls put on hold at most 0.2", "wait_share", "<=", 0.2, None),
        ("95% published under 8h", "published_95pct_min", "<", 480.0, None),
        ("100% published at most 2am", "published_100pct_min", "<=", 420.0, None),
        ("received by app at least 50%", "share_app", ">=", 0.5, None),
        ("most lines busy at most 100", "peak_lines_busy", "<=", 100.0, None),
        ("prank calls >= 1", "calls_prank", ">=", 1.0, None),
    ],
)
def test_targets_read_as_written(text, key, symbol, bound, by_min):
    target = parse_target(text)
    assert (target.key, target.symbol, target.bound, target.by_min) == (key, symbol, bound, by_min)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("happiness under 3", "'happiness' is not a per-night figure"),
        ("errors publishd at most 10", "did you mean 'errors published'?"),
        ("95% published under 8", "give the time a unit"),
        ("150% published by 6h", "at most 100%"),
        ("95% published by soon", "'soon' is not a time"),
        ("errors published at most ten", "'ten' is not a number"),
        ("busy_share below 150%", "between 0% and 100%"),
        ("publish everything fast", "expected e.g."),
    ],
)
def test_bad_targets_say_what_is_wrong(text, message):
    with pytest.raises(TargetError, match=message.replace("?", r"\?").replace("(", r"\(")):
        parse_target(text)


def test_bounds_at_the_edge():
    at_most = parse_target("errors published at most 10")
    assert at_most.met(10) and not at_most.met(11)
    under = parse_target("chairs' hold, 90th percentile under 30 min")
    assert not under.met(30.0) and under.met(29.9)


def test_a_time_that_never_came_misses_a_deadline_and_nothing_else_passes_when_missing():
    assert not parse_target("95% published under 8h").met(math.nan)
    assert parse_target("95% published over 8h").met(math.nan)  # never is later than 8 h
    assert not parse_target("chairs' hold, 90th percentile under 30 min").met(math.nan)
    assert not parse_target("95% published by 6h").met(math.nan)


def records(*published):
    return [SimpleNamespace(published_min=t, received_min=t) for t in published]


def test_share_by_a_time_counts_a_release_at_exactly_that_time():
    target = parse_target("75% published by 6h")
    night = SimpleNamespace(records=records(100.0, 360.0, 360.0, 361.0))
    assert target(night, 0) == 0.75 and target.met(0.75)
    later = SimpleNamespace(records=records(100.0, 360.0, 361.0, None))
    assert target(later, 0) == 0.5 and not target.met(0.5)


def test_a_night_in_which_nothing_happened_does_not_pass():
    target = parse_target("95% published by 6h")
    assert math.isnan(target(SimpleNamespace(records=[]), 0))
    assert not target.met(target(SimpleNamespace(records=[]), 0))
    assert not target.met(target(SimpleNamespace(records=records(None, None)), 0))


def test_share_by_a_time_and_time_to_a_share_agree_on_a_real_night():
    config = NightConfig(precincts=PrecinctsConfig(regular=60, satellites=3, counties=5))
    night = run_night(config, seed=3)
    when = summarize(night)["published_95pct_min"]
    by = parse_target(f"95% published by {when!r}min")
    at_most = parse_target(f"95% published at most {when!r}min")
    assert by.met(by(night, 0)) and at_most.met(at_most(night, 0))
    earlier = parse_target(f"95% published by {when - 0.01!r}min")
    assert not earlier.met(earlier(night, 0))
    assert not parse_target(f"95% published under {when!r}min").met(when)


def test_every_per_night_figure_has_a_label_and_a_unit_from_its_name():
    night = run_night(NightConfig(precincts=PrecinctsConfig(regular=20, satellites=0)), seed=1)
    assert set(summarize(night)) == set(LABELS)
    assert (shown("published_95pct_min").scale, shown("published_95pct_min").unit) == (60, "h")
    assert (shown("report_hold_p90_min").scale, shown("report_hold_p90_min").unit) == (1, "min")
    assert (shown("share_mail").scale, shown("share_mail").unit) == (0.01, "%")
    assert (shown("calls_prank").scale, shown("calls_prank").unit) == (1, "calls")
    assert shown("calls_prank").format(5225) == "5225.0 calls"
    assert shown("share_mail").format(0.25) == "25.0 %"
    assert shown("some_new_count").axis == "some_new_count"


def test_a_target_is_a_reduce_that_travels_to_workers():
    import pickle

    target = parse_target("95% published by 6h")
    assert pickle.loads(pickle.dumps(target)) == target
    assert isinstance(target, Target)
