"""`caucus sensitivity`: an assumption the model never reads ranks last with an index of 0, on
a small night, with both methods."""

import csv

import numpy as np
import pytest

from caucus.cli import main
from sim.presets import find_scenario
from sim.scenario import ScenarioError, Unknown, load_scenario
from studies.sensitivity import ranges, study

SMALL = """name = "small"
seed = 11
[precincts]
regular = 60
satellites = 3
counties = 5
[hotline]
lines = 12
operators = 3
[prank]
peak_per_min = 1.0
callers = 30
[calibrate]
"hotline.operators" = { range = [1, 10], why = "nobody knows how many will show up" }
"hq.verifiers" = { range = [1, 8], why = "volunteers" }
# PIN screening is off, so the model never reads how long the screen takes:
"hotline.pin_screen_min" = { range = [0.1, 5.0], why = "a dummy: never read here" }
"""


@pytest.fixture
def small(tmp_path):
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    return load_scenario(path)


@pytest.mark.parametrize(("method", "size"), [("morris", 4), ("sobol", 8)])
def test_a_parameter_the_model_never_reads_ranks_last_at_zero(small, method, size):
    result = study(small, "received_95pct_min", ranges(small), method, nights=2, size=size)
    last = result.indices[-1]
    assert last.unknown.key == "hotline.pin_screen_min"
    assert last.value == pytest.approx(0.0, abs=1e-12)
    assert last.conf == pytest.approx(0.0, abs=1e-12)
    top = result.indices[0]
    assert top.unknown.key == "hotline.operators" and top.value > result.noise > 0
    points = (size * 4) if method == "morris" else size * 5
    assert result.figures.shape == (points, 2)
    assert np.array_equal(result.outputs, result.figures.mean(axis=1))
    assert "hotline.pin_screen_min" in result.text()


def test_ranges_come_from_the_calibrate_table_or_vary(small, tmp_path):
    assert [u.key for u in ranges(small)] == [
        "hotline.operators",
        "hq.verifiers",
        "hotline.pin_screen_min",
    ]
    varied = ranges(small, ["hotline.lines=5..50", "hq.verifiers=2..4"])
    assert [(u.key, u.low, u.high, u.integer) for u in varied] == [
        ("hotline.operators", 1, 10, True),
        ("hq.verifiers", 2, 4, True),  # the table's range, replaced
        ("hotline.pin_screen_min", 0.1, 5.0, False),
        ("hotline.lines", 5, 50, True),
    ]
    with pytest.raises(ScenarioError, match=r"release\.mode is not a number"):
        ranges(small, ["release.mode=0..1"])
    with pytest.raises(ScenarioError, match=r"hotline\.lnes is not a key"):
        ranges(small, ["hotline.lnes=0..1"])
    with pytest.raises(ScenarioError, match="LOW < HIGH"):
        ranges(small, ["hotline.lines=9..2"])
    bare = tmp_path / "bare.toml"
    bare.write_text("[hotline]\nlines = 5\n")
    with pytest.raises(ScenarioError, match=r"bare.toml: no \[calibrate\] table"):
        ranges(load_scenario(bare))
    assert [u.key for u in ranges(load_scenario(bare), ["prank.peak_per_min=0..2"])] == [
        "prank.peak_per_min"
    ]


def test_a_fact_is_never_varied(tmp_path, capsys):
    stated = tmp_path / "stated.toml"
    stated.write_text(
        SMALL + '[facts]\n"hotline.lines" = "the phone company\'s invoice: 12 lines"\n'
    )
    scenario = load_scenario(stated)
    with pytest.raises(ScenarioError, match=r"--vary hotline\.lines=5\.\.50: .* is a fact"):
        ranges(scenario, ["hotline.lines=5..50"])
    fact = Unknown("hotline.lines", 5, 50, "a hand-made range", integer=True)
    with pytest.raises(ScenarioError, match=r"hotline\.lines is a fact of small"):
        study(scenario, "received_95pct_min", [*ranges(scenario), fact], nights=1, size=2)
    out = tmp_path / "sens"
    args = ["sensitivity", str(stated), "--vary", "hotline.lines=5..50", "--out", str(out)]
    assert main(args) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert error.startswith("caucus sensitivity: --vary hotline.lines=5..50: hotline.lines is ")
    assert "a fact of small (the phone company's invoice: 12 lines)" in error
    assert not out.exists()


def test_the_calibrated_preset_is_ranked_by_name_on_its_own_unknowns(tmp_path, capsys):
    iowa = load_scenario(find_scenario("iowa-2020"))
    assert iowa.facts and [u.key for u in ranges(iowa)] == list(iowa.unknowns)
    assert main(["sensitivity", "iowa-2020", "--vary", "hotline.operators=24..96"]) == 2
    assert "hotline.operators is a fact of Iowa 2020 (IDP statement" in capsys.readouterr().err


def test_a_figure_that_never_moves_has_nothing_to_rank(small):
    varied = ranges(small, ["hotline.pin_screen_min=0.1..5", "prank.call_mean_min=1..3"])
    quiet = small.with_overrides({"prank.leak_min": "never"})
    with pytest.raises(ValueError, match="nothing to rank"):
        study(quiet, "calls_prank", varied, "morris", nights=1, size=2)


def test_sensitivity_command_writes_its_run_folder(small, tmp_path, capsys):
    out = tmp_path / "sens"
    args = ["sensitivity", str(small.path), "--metric", "received_95pct_min", "--size", "2"]
    assert main([*args, "--nights", "1", "--workers", "1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "sensitivity of 95% received (hours after 7 pm) in small: morris" in printed
    assert "not estimated with one night" in printed
    files = {p.name for p in out.iterdir()}
    assert files == {
        "scenario.toml",
        "sensitivity.txt",
        "sensitivity.csv",
        "design.csv",
        "tornado.png",
        "report.html",
    }
    with (out / "sensitivity.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["rank"] for r in rows] == ["1", "2", "3"]
    assert rows[-1]["key"] == "hotline.pin_screen_min" and float(rows[-1]["mu_star"]) == 0
    report = (out / "report.html").read_text()
    assert "<h2>Sensitivity</h2>" in report and "a dummy: never read here" in report
    assert main([*args, "--metric", "happiness", "--out", str(tmp_path / "x")]) == 2
    assert "--metric happiness: not one of" in capsys.readouterr().err
