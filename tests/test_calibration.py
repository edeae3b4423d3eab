"""Calibration: the measuring code on hand-made nights, `caucus calibrate` on bad input, the
calibrator recovering known parameters from a synthetic record, and the presets' fit to the
public record (release shares at the exact times, chairs' hold reports, counted outcomes)."""

import math
import tomllib
from pathlib import Path

import numpy as np
import pytest

from caucus.cli import main
from sim.scenario import load_scenario
from studies.calibrate import (
    NO_DATA_MISS,
    NightFit,
    calibrate,
    distance,
    fit_terms,
    format_calibration,
    night_fit,
    write_calibration,
)
from studies.public_record import (
    RECORDS,
    CountTarget,
    HoldReport,
    Record,
    ReleasePoint,
)
from studies.runner import run_nights, share_by

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
FIT_NIGHTS = 20
FIRST_UNSEEN_NIGHT = 8
"""The presets were calibrated on the first nights of their seed (iowa-2020 on nights 0 .. 7,
iowa-2016 on 0 .. 5: README, "Calibration"); the fit tests play nights from this one on, which
no calibration played."""
AT = 45.6 * 60


def hand_made(published, received=None, mailed=(), inconsistent=(), holds=()) -> NightFit:
    """A night of len(published) units; NaN: never. ``holds``: (end minute, minutes held)."""
    published = np.array(published, dtype=float)
    units = len(published)
    flags = [np.isin(np.arange(units), list(marked)) for marked in (mailed, inconsistent)]
    ends, waits = np.array(holds, dtype=float).reshape(-1, 2).T
    return NightFit(
        published_min=published,
        received_min=np.array(published if received is None else received, dtype=float),
        mailed=flags[0],
        inconsistent=flags[1],
        final_above_first=flags[1],
        hold_end_min=ends,
        hold_min=waits,
    )


def record(releases=(), holds=(), counts=()) -> Record:
    return Record("hand-made", 4, tuple(releases), tuple(holds), tuple(counts))


def test_a_release_at_exactly_the_record_time_counts_there_and_not_before():
    night = hand_made([60.0, AT, AT, math.nan])
    at, before = fit_terms(
        record(
            [
                ReleasePoint(2020, 45.6, 75, "by", "hand-made"),
                ReleasePoint(2020, 45.59, 25, "exact", "hand-made"),
            ]
        ),
        [night],
    )
    assert (at.miss, at.met) == (0.0, True)
    assert (before.miss, before.met) == (0.0, True)
    (late,) = fit_terms(record([ReleasePoint(2020, 45.59, 75, "exact", "x")]), [night])
    assert late.miss == pytest.approx(50 / 5) and not late.met


def test_hold_reports_are_read_with_their_bounds():
    holds = [(240.0 + i % 10, 40.0 + i) for i in range(100)]  # holds of 40 .. 139 min at 4 h
    night = hand_made([60.0], holds=holds)
    terms = fit_terms(
        record(
            holds=[
                HoldReport(4.0, 60, "at_least", "p90 129 >= 60"),
                HoldReport(4.0, 135, "at_least", "p90 129 < 135"),
                HoldReport(4.0, 100, "about", "between p10 and the longest"),
                HoldReport(4.0, 20, "exact", "below p10 = 49.9"),
                HoldReport(4.0, 250, "about", "above the longest, 139"),
            ]
        ),
        [night],
    )
    assert [t.met for t in terms] == [True, False, True, False, False]
    assert terms[0].miss == terms[2].miss == 0.0
    assert 1 < terms[1].miss < terms[4].miss  # a bound not met misses by more than 1
    assert terms[3].miss == pytest.approx(1 + math.log(50.9 / 21) / math.log(1.5), rel=0.01)


def test_counted_outcomes_and_a_night_in_which_nothing_happened():
    counts = [
        CountTarget("late", "unpublished", 72.5, 2, "about", "x"),
        CountTarget("mailed", "unpublished_mailed", 72.5, 1, "at_least", "x"),
        CountTarget("bad", "published_inconsistent", 72.75, 1, "more_than", "x"),
    ]
    night = hand_made([60.0, 60.0, 4400.0, math.nan], mailed=[3], inconsistent=[0, 1])
    assert [(t.met, t.miss) for t in fit_terms(record(counts=counts), [night])] == [
        (True, 0.0),
        (True, 0.0),
        (True, 0.0),
    ]
    nothing = hand_made([math.nan] * 4)
    holds = [HoldReport(4.0, 60, "at_least", "x")]
    releases = [ReleasePoint(2020, 21.0, 62, "exact", "x")]
    terms = fit_terms(record(releases, holds, counts), [nothing])
    assert not any(t.met for t in terms)
    assert terms[1].miss == NO_DATA_MISS
    assert distance(terms) > 1


def test_a_night_reduces_to_what_the_fit_reads():
    scenario = load_scenario(SCENARIOS / "iowa-2020.toml")
    small = scenario.with_overrides({"precincts.regular": 150, "precincts.satellites": 8})
    (fit,) = run_nights(small.night, 1, 1, night_fit)
    assert fit.units == 158
    assert np.all(
        fit.received_min[~np.isnan(fit.published_min)]
        <= fit.published_min[~np.isnan(fit.published_min)]
    )
    assert fit.hold_min.shape == fit.hold_end_min.shape and len(fit.hold_min) > 50
    assert fit.inconsistent.sum() >= fit.final_above_first.sum()


BAD_RANGE = """# bad range
name = "bad"
description = "a range the wrong way round"
record = "iowa-2020"
[calibrate]
"hotline.lines" = { range = [500, 50], why = "reversed" }
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (BAD_RANGE, "calibrate.hotline.lines: range: expected [low, high] numbers with low < high"),
        ('# none\ndescription = "x"\nrecord = "iowa-2020"\n', "no unknowns to fit"),
        (
            '# no record\ndescription = "x"\n[calibrate]\n'
            '"hotline.lines" = { range = [50, 500], why = "x" }\n',
            "record: name the public record to fit",
        ),
    ],
)
def test_calibrate_refuses_bad_input_in_one_line(tmp_path, capsys, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    assert main(["calibrate", str(path), "--budget", "2", "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1
    assert not (tmp_path / "out").exists()


SYNTHETIC = """# A small night for the calibrator to prove itself on.
name = "synthetic"
description = "160 precincts, continuous release, a hotline and the mail."
seed = 5
[precincts]
regular = 160
satellites = 0
counties = 8
[app]
installed_share = 0.0
[hotline]
lines = 12
operators = 3
[prank]
leak_min = "never"
[hq]
verifiers = 1
[release]
mode = "continuous"
[calibrate]
"hotline.operators" = { range = [1, 12], why = "synthetic" }
"mail.delay_median_min" = { range = [200.0, 4000.0], why = "synthetic" }
"hq.verify_median_min" = { range = [1.0, 20.0], why = "synthetic" }
"""
TRUTH = {"hotline.operators": 4, "mail.delay_median_min": 1200.0, "hq.verify_median_min": 5.0}
RECOVERY = {"hotline.operators": 1, "mail.delay_median_min": 0.2, "hq.verify_median_min": 0.3}
"""Recovered within: +-1 operator; 20% of the mail delay; 30% of the verification time."""
RECOVERY_BUDGET = 200
"""Candidates the calibrator tries. The search must find a fit at least as close as the truth's
own on its nights before the values it finds can be held to the truth: with a chair's own
stream (:mod:`sim.luck`) the best of 60 candidates was 8 operators at distance 0.44, of 120 6 at
0.22, both above the truth's 0.21, and of 200 4 at 0.16."""
RECORD_SEED = 6
"""The synthetic record's nights are this seed's, not the calibrator's (the scenario's, 5)."""


def percent_published(fits: list[NightFit], hours: float) -> float:
    return float(
        np.mean([100 * share_by(np.sort(f.published_min), f.units, hours * 60) for f in fits])
    )


def test_calibrate_only_fits_the_keys_named_and_holds_the_others(tmp_path):
    path = tmp_path / "synthetic.toml"
    path.write_text(SYNTHETIC)
    scenario = load_scenario(path)
    record = Record("synthetic", 160, (ReleasePoint(0, 12, 50.0, "exact", "made"),))
    calibration = calibrate(scenario, 3, 1, record=record, only=["hq.verify_median_min"])
    assert {tuple(t.values) for t in calibration.trials} == {("hq.verify_median_min",)}
    assert len({t.values["hq.verify_median_min"] for t in calibration.trials}) == 3
    assert calibration.held == ["hotline.operators", "mail.delay_median_min"]
    assert [s.unknown.key for s in calibration.spreads()] == ["hq.verify_median_min"]
    assert "; 2 more held at their values" in format_calibration(calibration)
    written = load_scenario(write_calibration(calibration, tmp_path / "out"))
    for key in calibration.held:
        assert written.value(key) == scenario.value(key)
    assert written.value("hq.verify_median_min") == calibration.best.values["hq.verify_median_min"]
    header = (tmp_path / "out" / "trials.csv").read_text().splitlines()[0]
    assert header == "trial,hq.verify_median_min,distance,figures_missed"


@pytest.mark.parametrize(
    ("only", "message"),
    [
        ("hq.verifiers", "--only: hq.verifiers is not a key of its [calibrate] table"),
        (" , ", "--only: name at least one key"),
    ],
)
def test_calibrate_only_refuses_a_key_it_cannot_fit(tmp_path, capsys, only, message):
    path = tmp_path / "synthetic.toml"
    path.write_text(SYNTHETIC.replace('name = "synthetic"', 'name = "s"\nrecord = "iowa-2016"'))
    args = ["calibrate", str(path), "--budget", "2", "--only", only, "--out", str(tmp_path / "o")]
    try:
        code = main(args)
    except SystemExit as exit:  # argparse refuses a bad value itself
        code = exit.code
    assert code == 2
    error = capsys.readouterr().err
    assert message in error and not (tmp_path / "o").exists()


@pytest.mark.slow
def test_the_calibrator_recovers_known_parameters_from_a_synthetic_record(tmp_path):
    """A record made by the model at known values (:data:`TRUTH`) on nights of
    :data:`RECORD_SEED`, fitted from wide ranges on other nights: the values are recovered
    within :data:`RECOVERY`."""
    path = tmp_path / "synthetic.toml"
    path.write_text(SYNTHETIC)
    scenario = load_scenario(path)
    truth = scenario.with_overrides(TRUTH)
    nights = 4
    # The record comes from nights of another seed than the calibrator's nights 0 .. 3 of seed
    # 5, as a real record comes from a night the model never played: recovery cannot lean on
    # the candidates sharing the record's noise.
    observed = run_nights(truth.night, RECORD_SEED, nights, night_fit)
    hours = (1, 2, 3, 4, 6, 8, 12, 16, 20, 24, 30, 36, 48)
    synthetic = Record(
        "synthetic",
        160,
        tuple(ReleasePoint(0, h, percent_published(observed, h), "exact", "made") for h in hours),
    )
    assert distance(fit_terms(synthetic, observed)) == 0.0  # its own nights fit it exactly
    played = run_nights(truth.night, scenario.seed, nights, night_fit)
    truth_distance = distance(fit_terms(synthetic, played))
    assert 0 < truth_distance < 0.5  # the truth on the calibrator's nights: near, not exact
    told = []
    calibration = calibrate(
        scenario,
        RECOVERY_BUDGET,
        nights,
        record=synthetic,
        progress=lambda *done: told.append(done),
    )
    total = RECOVERY_BUDGET * nights
    assert told == [(n, total) for n in range(1, total + 1)]  # night by night
    best = calibration.best.values
    assert calibration.best.distance <= truth_distance  # the search found the truth's fit
    assert abs(best["hotline.operators"] - 4) <= RECOVERY["hotline.operators"], best
    for key in ("mail.delay_median_min", "hq.verify_median_min"):
        assert abs(best[key] / TRUTH[key] - 1) <= RECOVERY[key], (key, best)
    assert calibration.best.distance < 0.5  # releases within 2.5 points, root mean square
    written = write_calibration(calibration, tmp_path / "out")
    text = written.read_text()
    assert text.startswith("# Calibrated to the public record of synthetic")
    assert f"distance {calibration.best.distance:.4f}" in text
    again = load_scenario(written)
    assert {k: again.value(k) for k in TRUTH} == best
    assert "near-best" in format_calibration(calibration)
    assert (tmp_path / "out" / "trials.csv").read_text().count("\n") == RECOVERY_BUDGET + 1


@pytest.mark.slow
def test_calibrate_command_writes_its_results(tmp_path, capsys):
    out = tmp_path / "cal"
    path = tmp_path / "synthetic.toml"
    path.write_text(SYNTHETIC.replace('name = "synthetic"', 'name = "s"\nrecord = "iowa-2016"'))
    args = ["calibrate", str(path), "--budget", "3", "--replications", "1", "--workers", "1"]
    assert main([*args, "--out", str(out)]) == 0
    printed = capsys.readouterr()  # (the progress bar stays silent off a terminal)
    assert "% published at 4.00 h" in printed.out and "calibrated scenario:" in printed.out
    calibrated = tomllib.loads((out / "synthetic-calibrated.toml").read_text())
    assert calibrated["calibrate"].keys() == TRUTH.keys()
    assert {(out / name).exists() for name in ("fit.txt", "trials.csv")} == {True}


@pytest.fixture(scope="module")
def iowa_2020():
    scenario = load_scenario(SCENARIOS / "iowa-2020.toml")
    return run_nights(
        scenario.night, scenario.seed, FIT_NIGHTS, night_fit, workers=2, first=FIRST_UNSEEN_NIGHT
    )


@pytest.mark.slow
def test_iowa_2020_meets_every_figure_of_the_record(iowa_2020):
    """Out of sample: on nights 8 .. 27 of the preset's seed, none of which its calibration
    played, release shares at the exact record times within 5 points, chairs' hold reports
    within their bounds, and the counted outcomes of facts.csv."""
    terms = fit_terms(RECORDS["iowa-2020"], iowa_2020)
    assert len(terms) == 6 + 5 + 5
    missed = [f"{t.label}: record {t.record}, simulated {t.simulated}" for t in terms if not t.met]
    assert missed == []


@pytest.mark.slow
def test_iowa_2020_keeps_the_facts_as_stated():
    scenario = load_scenario(SCENARIOS / "iowa-2020.toml")
    stated = {
        "precincts.regular": 1678,
        "precincts.satellites": 87,
        "hotline.operators": 45,
        "app.partial_data_prob": 1.0,
        "prank.leak_min": 180.0,
    }
    assert {key: scenario.value(key) for key in stated} == stated
    assert scenario.value("hotline.block_after_prank_calls") > 0  # repeat callers blocked
    assert set(stated) | {"hotline.block_after_prank_calls"} <= set(scenario.facts)
    assert not set(scenario.facts) & set(scenario.unknowns)
    assert len(scenario.unknowns) >= 6


LEAK_NIGHTS = 60
"""Nights of each variant the leak test plays: over 60 the paired difference of a night's mean
arrival has a standard error of about 1.1 minutes (3.1 when every chair, the pranks and the
public drew from one stream, before :mod:`sim.luck`)."""


@pytest.mark.slow
def test_the_leaked_number_delayed_collecting_results():
    """IDP: the hostile calls contributed to the delay in collecting results. Paired night by
    night on the same seeds (out of sample), results reach HQ later on average with the leak
    than without it, by more than twice the standard error of the paired difference.

    Over nights 8 .. 67: 3.8 min later, standard error 1.1 (t = 3.5). With one stream for the
    whole night the same comparison read 3.8 min, standard error 3.1 (t = 1.2): the effect was
    there, the shared stream's noise hid it, and this test was an expected failure."""
    scenario = load_scenario(SCENARIOS / "iowa-2020.toml")
    no_leak = load_scenario(SCENARIOS / "iowa-2020-no-leak.toml")
    mean_received = [
        [
            np.nanmean(f.received_min)
            for f in run_nights(
                v.night, scenario.seed, LEAK_NIGHTS, night_fit, 2, first=FIRST_UNSEEN_NIGHT
            )
        ]
        for v in (scenario, no_leak)
    ]
    later = np.subtract(*mean_received)
    error = later.std(ddof=1) / np.sqrt(len(later))
    assert later.mean() > 2 * error, f"later by {later.mean():.1f} min, standard error {error:.1f}"


@pytest.mark.slow
def test_iowa_2016_publishes_95_percent_at_about_four_hours():
    """Out of sample, as for 2020: nights 8 .. 27, none of which the calibration played."""
    scenario = load_scenario(SCENARIOS / "iowa-2016.toml")
    fits = run_nights(
        scenario.night, scenario.seed, FIT_NIGHTS, night_fit, workers=2, first=FIRST_UNSEEN_NIGHT
    )
    (term,) = fit_terms(RECORDS["iowa-2016"], fits)
    assert term.met, term
