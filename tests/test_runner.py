"""Replications, run folders, compare and sweep, on a small night (150 precincts)."""

import csv
import gzip
import json
from pathlib import Path

import pytest

from caucus.cli import main
from sim.scenario import load_scenario
from studies.runner import replicate, replication_seed, run_nights, run_replications

SMALL = """# A small night for tests.
name = "small"
description = "150 precincts, a small prank flood."
seed = 11
replications = 3
record = "iowa-2020"
[precincts]
regular = 150
satellites = 8
counties = 10
[hotline]
lines = 20
operators = 4
[prank]
peak_per_min = 2.0
callers = 50
"""


@pytest.fixture
def small(tmp_path) -> Path:
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    return path


def test_seeds_depend_on_scenario_seed_and_index_only():
    assert replication_seed(11, 2) == replication_seed(11, 2)
    assert len({replication_seed(11, i) for i in range(100)}) == 100
    assert replication_seed(11, 0) != replication_seed(12, 0)


def test_nights_can_be_added_later(small):
    scenario = load_scenario(small)
    first_three = run_replications(scenario.night, scenario.seed, 3)
    later = run_nights(scenario.night, scenario.seed, 2, replicate, workers=2, first=1)
    assert [r.summary for r in later] == [r.summary for r in first_three[1:]]
    assert [r.index for r in later] == [1, 2]


def test_results_do_not_depend_on_workers(small):
    scenario = load_scenario(small)
    one = run_replications(scenario.night, scenario.seed, 3, workers=1)
    two = run_replications(scenario.night, scenario.seed, 3, workers=2)
    assert [r.summary for r in one] == [r.summary for r in two]
    assert [r.precincts for r in one] == [r.precincts for r in two]
    assert one[0].summary != one[1].summary  # nights differ from each other


def test_simulate_writes_a_complete_run_folder(small, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["simulate", str(small), "--out", str(out), "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    assert "50% published" in printed and f"report: {out / 'report.html'}" in printed
    expected = {
        "scenario.toml",
        "replications.csv",
        "precincts.csv.gz",
        "calls.csv.gz",
        "series.csv.gz",
        "curves.csv",
        "summary.json",
        "report.html",
        "reporting-curve.png",
        "hold-times.png",
        "hotline-load.png",
        "channels.png",
        "delay-sources.png",
    }
    assert {p.name for p in out.iterdir()} == expected
    with (out / "replications.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == 3
    with gzip.open(out / "precincts.csv.gz", "rt") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 3 * 158
    published = [r for r in rows if r["published_min"]]
    assert all(float(r["received_min"]) <= float(r["published_min"]) for r in published)
    report = (out / "report.html").read_text()
    assert report.count("data:image/png;base64,") == 5
    assert "src='http" not in report and 'src="http' not in report
    assert "<h2>Inputs</h2>" in report and "Every input of the night" in report
    assert "<td>hotline.lines</td><td>20</td><td>set by the scenario</td>" in report
    assert "3 nights: a 90% band needs at least 20" in report
    summary = json.loads((out / "summary.json").read_text())
    assert summary["replications"] == 3
    assert load_scenario(out / "scenario.toml").night == load_scenario(small).night


def test_seed_and_replications_from_the_command_line(small, tmp_path, capsys):
    out = tmp_path / "run"
    main(["simulate", str(small), "--out", str(out), "--replications", "2", "--seed", "5"])
    assert "small: 2 nights, seed 5" in capsys.readouterr().out


def test_an_existing_run_folder_is_kept_unless_forced(small, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["simulate", str(small), "--out", str(out), "--replications", "1", "--workers", "1"]
    assert main(args) == 0
    (out / "mine.txt").write_text("notes")
    assert main(args) == 0
    assert f"{out} exists: writing {out}-2 (--force replaces it)" in capsys.readouterr().err
    assert (out / "mine.txt").exists() and (tmp_path / "run-2" / "report.html").exists()
    assert main([*args, "--force"]) == 0
    assert not (out / "mine.txt").exists() and (out / "report.html").exists()


def test_report_lists_what_differs_from_the_base(small, tmp_path):
    variant = tmp_path / "variant.toml"
    variant.write_text('extends = "small.toml"\nname = "variant"\n[hotline]\nlines = 3\n')
    out = tmp_path / "run"
    assert main(["simulate", str(variant), "--out", str(out), "--replications", "1"]) == 0
    report = (out / "report.html").read_text()
    assert "What differs from small (small.toml):" in report
    assert "<tr><td>hotline.lines</td><td>20</td><td>3</td></tr>" in report
    assert "3 lines for 4 operators" in report  # the warning, in the report too


def test_compare_and_sweep(small, tmp_path, capsys):
    more = tmp_path / "more-operators.toml"
    more.write_text('extends = "small.toml"\nname = "more operators"\n[hotline]\noperators = 12\n')
    out = tmp_path / "compare"
    assert main(["compare", str(small), str(more), "--out", str(out), "--workers", "1"]) == 0
    table = capsys.readouterr().out
    assert "more operators" in table and "diff" in table
    assert (out / "comparison.png").exists()

    out = tmp_path / "sweep"
    args = ["sweep", str(small), "--set", "hotline.operators=2,8", "--out", str(out)]
    assert main([*args, "--replications", "2", "--workers", "1"]) == 0
    table = capsys.readouterr().out
    assert "hotline.operators=2" in table and "hotline.operators=8" in table
    assert (out / "sweep.png").exists()


def test_sweep_in_the_metric_unit_with_each_point_kept(small, tmp_path, capsys):
    out = tmp_path / "sweep"
    args = ["sweep", str(small), "--set", "hotline.operators=2..8/6", "--out", str(out)]
    args += ["--set", "hotline.pin_screening=false,true", "--metric", "calls_prank"]
    args += ["--target", "50% received by 6h", "--replications", "2", "--workers", "1"]
    assert main(args) == 0
    table = capsys.readouterr().out
    assert table.startswith("prank calls (calls): mean [90% band] over nights")
    with (out / "sweep.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["hotline.operators"], r["hotline.pin_screening"]) for r in rows] == [
        ("2", "false"),
        ("2", "true"),
        ("8", "false"),
        ("8", "true"),
    ]
    points = sorted((out / "points").iterdir())
    assert (
        len(points) == 4 and points[0].name == "01-hotline.operators=2,_hotline.pin_screening=false"
    )
    for row, point in zip(rows, points, strict=True):
        with (point / "replications.csv").open() as handle:
            nights = list(csv.DictReader(handle))
        assert len(nights) == 2
        calls = [float(n["calls_prank"]) for n in nights]
        assert float(row["mean"]) == pytest.approx(sum(calls) / 2)  # counts, not hours
        assert f"{sum(calls) / 2:.1f} [" in table
        met = sum(float(n["received_50pct_min"]) <= 360 for n in nights)
        assert int(row["met"]) == met
    assert "hotline.operators=8, hotline.pin_screening=true" in table and "met in " in table
    assert "with 2 nights a share's interval is up to " in table
    assert (out / "target.png").exists()


def test_sweep_plot_draws_one_line_per_value_of_the_second_key():
    from studies.bands import Band
    from studies.plots import metric_sweep
    from studies.units import shown

    points = [(24, False), (48, False), (24, True), (48, True)]
    bands = [Band(v, v - 1, v + 1) for v in (600.0, 300.0, 420.0, 240.0)]
    figure = metric_sweep(
        ["hotline.operators", "hotline.pin_screening"], points, bands, shown("published_95pct_min")
    )
    lines = figure.axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["false", "true"]
    assert [list(line.get_xdata()) for line in lines] == [[24, 48], [24, 48]]
    assert [list(line.get_ydata()) for line in lines] == [[10.0, 5.0], [7.0, 4.0]]  # hours
    assert figure.axes[0].get_ylabel() == "95% published (hours after 7 pm)"


def test_share_met_names_the_second_key_beside_the_share_asked():
    from studies.plots import share_met

    points = [(24, False), (48, False), (24, True), (48, True)]
    shares = [(0.0, 0.0, 0.8), (0.5, 0.2, 0.8), (0.25, 0.0, 0.7), (1.0, 0.7, 1.0)]
    figure = share_met(
        ["hotline.operators", "hotline.pin_screening"], points, shares, "x", 0.95, 0.9
    )
    legend = figure.axes[0].get_legend()
    assert legend.get_title().get_text() == "hotline.pin_screening"
    assert [t.get_text() for t in legend.get_texts()] == ["90% asked", "false", "true"]


def test_reporting_curve_shows_the_first_hours_beside_the_night(small):
    from studies.plots import ZOOM_HOURS, reporting_curve
    from studies.runner import grid

    scenario = load_scenario(small)
    reps = run_replications(scenario.night, scenario.seed, 2)
    whole, first = reporting_curve({"small": reps}, grid(scenario.night)).axes
    assert first.get_xlim() == (0, ZOOM_HOURS) and whole.get_xlim()[1] != ZOOM_HOURS


def test_sweep_rejects_unknown_metric(small, tmp_path, capsys):
    args = ["sweep", str(small), "--set", "hotline.operators=2", "--metric", "happiness"]
    assert main([*args, "--replications", "1", "--out", str(tmp_path / "s")]) == 2
    assert "--metric happiness: not one of" in capsys.readouterr().err
