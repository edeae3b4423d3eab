"""`caucus simulate --precision`: nights chosen by the confidence-interval method, the same
whatever the workers, and a report that says how the run was made (STRESS-DES)."""

import csv
import json
from pathlib import Path

import pytest

from caucus.cli import main
from studies.precision import half_width

pytestmark = pytest.mark.slow

METRIC = "report_hold_p90_min"
SMALL = """# A small night for tests.
name = "small"
description = "150 precincts, a small prank flood."
seed = 11
replications = 3
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


def simulate(scenario: Path, out: Path, *extra: str) -> None:
    assert main(["simulate", str(scenario), "--out", str(out), "--quiet", *extra]) == 0


def holds(folder: Path) -> list[float]:
    with (folder / "replications.csv").open() as handle:
        return [float(row[METRIC]) for row in csv.DictReader(handle)]


def test_nights_are_added_until_the_interval_is_narrow_enough(small, tmp_path, capsys):
    out = tmp_path / "run"
    precision = ["--precision", "0.05", "--metric", METRIC, "--max-nights", "60"]
    simulate(small, out, *precision, "--workers", "1")
    printed = capsys.readouterr().out
    values = holds(out)
    n = len(values)
    assert f"precision reached after {n} nights" in printed
    assert 5 <= n < 60
    mean = sum(values) / n
    assert half_width(values) <= 0.05 * mean  # reached at n ...
    assert half_width(values[:-1]) > 0.05 * sum(values[:-1]) / (n - 1) or n == 5  # ... not before
    summary = json.loads((out / "summary.json").read_text())
    assert summary["precision"]["nights"] == n and summary["precision"]["reached"]
    assert summary["precision"]["half_width"] == pytest.approx(half_width(values))
    two = tmp_path / "two"
    simulate(small, two, *precision, "--workers", "2")
    assert (two / "replications.csv").read_text() == (out / "replications.csv").read_text()


def test_a_cap_too_low_says_the_precision_was_not_reached(small, tmp_path, capsys):
    out = tmp_path / "run"
    simulate(small, out, "--precision", "0.001", "--metric", METRIC, "--max-nights", "6")
    assert "precision NOT reached: 6 nights (--max-nights)" in capsys.readouterr().out
    assert len(holds(out)) == 6
    assert not json.loads((out / "summary.json").read_text())["precision"]["reached"]


def test_an_unknown_metric_is_one_line(small, tmp_path, capsys):
    code = main(["simulate", str(small), "--precision", "0.05", "--metric", "holds"])
    assert code == 2
    assert "--metric holds: not one of" in capsys.readouterr().err


def test_the_report_says_how_the_run_was_made(small, tmp_path):
    out = tmp_path / "run"
    simulate(small, out, "--workers", "1")
    report = (out / "report.html").read_text()
    assert "How this run was made (STRESS-DES)" in report
    assert "3 nights, the number asked for" in report  # the scenario's replications
    assert "SeedSequence([11, i])" in report
    assert "1 local process in" in report
    for name in ("python", "simpy", "numpy", "caucus-night", "processor", "memory"):
        assert f"<td>{name}</td>" in report
    summary = json.loads((out / "summary.json").read_text())
    assert summary["precision"]["metric"] == "published_95pct_min"
    assert summary["precision"]["asked"] is None and summary["run_seconds"] > 0


def test_the_report_states_the_assumptions_their_ranges_and_what_differs(small, tmp_path):
    variant = tmp_path / "variant.toml"
    variant.write_text(
        '# a variant\nextends = "small.toml"\nname = "variant"\ndescription = "more lines"\n'
        '[facts]\n"hotline.operators" = "a stated source"\n'
        '[calibrate]\n"hotline.lines" = { range = [10, 40], why = "not recorded" }\n'
        "[hotline]\noperators = 4\nlines = 30\n"
    )
    out = tmp_path / "run"
    simulate(variant, out, "--workers", "1")
    report = (out / "report.html").read_text()
    assert "Assumptions (1 unknowns, fitted within their ranges; 1 inputs are facts" in report
    assert "<td>hotline.lines</td><td>30</td><td>10 to 40</td><td>not recorded</td>" in report
    assert "What differs from small (small.toml):" in report
    assert "<td>hotline.lines</td><td>20</td><td>30</td>" in report
