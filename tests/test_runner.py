"""Replications, run folders, compare and sweep, on a small night (150 precincts)."""

import csv
import gzip
import json
from pathlib import Path

import pytest

from caucus.cli import main
from sim.scenario import load_scenario
from studies.runner import replication_seed, run_replications

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
    summary = json.loads((out / "summary.json").read_text())
    assert summary["replications"] == 3
    assert load_scenario(out / "scenario.toml").night == load_scenario(small).night


def test_seed_and_replications_from_the_command_line(small, tmp_path, capsys):
    out = tmp_path / "run"
    main(["simulate", str(small), "--out", str(out), "--replications", "2", "--seed", "5"])
    assert "small: 2 nights, seed 5" in capsys.readouterr().out


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


def test_sweep_rejects_unknown_metric(small, tmp_path, capsys):
    args = ["sweep", str(small), "--set", "hotline.operators=2", "--metric", "happiness"]
    assert main([*args, "--replications", "1", "--out", str(tmp_path / "s")]) == 2
    assert "--metric happiness: not one of" in capsys.readouterr().err
