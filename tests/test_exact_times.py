"""Figures read at a time are read exactly: a release at t counts at t, not only after it."""

import math
from types import SimpleNamespace

import numpy as np
import pytest

from sim.arrivals import ArrivalCurve
from sim.config import NightConfig, PrecinctsConfig, ReleaseConfig
from sim.night import run_night
from studies.public_record import ReleasePoint
from studies.run_folder import record_fit
from studies.runner import grid, replicate, share_by
from studies.targets import parse_target

AT = 45.6 * 60  # 2736 minutes: between two 10-minute grid points of old
POINT = ReleasePoint(2020, 45.6, 86, "by", "hand-made")


def test_a_release_at_exactly_t_counts_at_t_and_not_before():
    published = np.array([60.0, AT, AT, AT + 30])
    assert share_by(published, 5, AT) == 3 / 5
    assert share_by(published, 5, AT - 0.01) == 1 / 5
    assert share_by(published, 5, math.nextafter(AT, 0)) == 3 / 5  # the clock's last digit
    assert share_by(published, 5, [0.0, 60.0, AT + 30]).tolist() == [0.0, 1 / 5, 4 / 5]


def test_a_night_in_which_nothing_was_published_reads_zero():
    assert share_by(np.array([]), 10, AT) == 0.0
    assert share_by(np.array([]), 0, AT) == 0.0


@pytest.fixture(scope="module")
def batch_night():
    """A small night published in one batch at 45.6 h (nothing before it)."""
    config = NightConfig(
        precincts=PrecinctsConfig(regular=40, satellites=0, counties=4),
        release=ReleaseConfig(mode="batches", batch_times_min=(AT,), then_every_min=10000.0),
        horizon_min=4000.0,
    )
    return replicate(run_night(config, seed=3), 0)


def test_record_fit_counts_the_batch_released_at_the_record_time(batch_night):
    published = len(batch_night.published_min)
    assert published > 30 and np.all(batch_night.published_min == AT)
    ((point, at), (_, before)) = record_fit(
        [batch_night], (POINT, ReleasePoint(2020, 45.59, 0, "exact", "hand-made"))
    )
    assert point is POINT
    assert at.mean == pytest.approx(100 * published / 40)
    assert before.mean == 0.0


def test_the_curve_grid_holds_each_batch_time_so_plots_step_there(batch_night):
    config = NightConfig(release=ReleaseConfig(batch_times_min=(AT, 4365.0)))
    minutes = grid(config)
    assert AT in minutes and 4365.0 in minutes and np.all(np.diff(minutes) > 0)
    small = grid(NightConfig(horizon_min=4000.0, release=ReleaseConfig(batch_times_min=(AT,))))
    at = int(np.searchsorted(small, AT))
    assert batch_night.published[at] == len(batch_night.published_min) / 40
    assert batch_night.published[at - 1] == 0.0


def test_the_hotline_is_sampled_at_whole_multiples_of_its_step():
    precincts = PrecinctsConfig(regular=40, satellites=5, counties=4, satellite_start_min=-200)
    night = run_night(NightConfig(precincts=precincts), seed=5)
    minutes = [minute for minute, _, _ in night.series]
    step = night.config.sample_every_min
    assert night.env.now and minutes[0] < 0  # the night starts when a satellite's caucus ends
    assert all(m == round(m / step) * step for m in minutes)
    assert np.allclose(np.diff(minutes), step)


def test_a_planners_target_counts_a_release_the_clock_lands_a_digit_after():
    """`caucus plan` targets read the same way: the clock's last digit does not move a batch
    released at 7.7 h past "by 7.7h", nor past "at most 7.7h"."""
    late_digit = math.nextafter(7.7 * 60, math.inf)
    night = SimpleNamespace(
        records=[SimpleNamespace(published_min=t) for t in (60.0, late_digit, late_digit, None)]
    )
    assert parse_target("75% published by 7.7h")(night, 0) == 0.75
    assert parse_target("75% published by 7.69h")(night, 0) == 0.25
    assert parse_target("95% published at most 7.7h").met(late_digit)
    assert not parse_target("95% published under 7.7h").met(late_digit)
    assert not parse_target("95% published at most 7.69h").met(late_digit)


def test_a_target_reads_a_real_batch_as_the_record_fit_does():
    """A night that starts before 7 pm (a satellite caucus ends early) lands its 7.7 h batch
    on the clock's sum, which may be a digit past 462 minutes."""
    at = 7.7 * 60
    config = NightConfig(
        precincts=PrecinctsConfig(regular=20, satellites=6, counties=4, satellite_start_min=-200),
        release=ReleaseConfig(mode="batches", batch_times_min=(at,), then_every_min=10000.0),
        horizon_min=1000.0,
    )
    night = run_night(config, seed=1)
    fit = replicate(night, 0)
    share = parse_target("1% published by 7.7h")(night, 0)
    assert share == share_by(fit.published_min, fit.units, at) > 0.5


def test_an_arrival_curve_counts_a_receipt_at_exactly_t_at_t():
    """The load tests' arrival curve reads as share_by does: a result received at exactly t
    (or a clock digit past it) has arrived by t, and not a moment before."""
    late_digit = math.nextafter(AT, math.inf)
    received = (60.0, AT, late_digit, AT + 30)
    curve = ArrivalCurve(received, 5, None, 0.0, 60.0)
    assert curve.share_received_by(AT) == 3 / 5
    assert curve.share_received_by(AT - 0.01) == 1 / 5
    assert curve.share_received_by(59.99) == 0.0
    for minute in (0.0, 60.0, AT, AT - 0.01, AT + 30, 1e9):
        assert curve.share_received_by(minute) == share_by(np.array(received), 5, minute)
    assert ArrivalCurve((), 4, None, 0.0, 60.0).share_received_by(1e9) == 0.0
