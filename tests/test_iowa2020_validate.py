"""`caucus validate` on the real 2020 releases agrees with the public record."""

from pathlib import Path

import pytest

from caucus.checks import FINAL_ABOVE_FIRST, check_release
from caucus.results_csv import read_results_csv

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "iowa2020"

pytestmark = [
    pytest.mark.iowa2020,
    pytest.mark.skipif(not DATA.is_dir(), reason=f"{DATA} is absent"),
]


def findings_of(name):
    read = read_results_csv(DATA / name)
    assert len(read.results) == 1765  # 1,678 precincts + 87 satellites, nothing dropped
    assert sum(len(r.groups) for r in read.results) == 24_710
    return read.findings + check_release(read.results)


@pytest.fixture(scope="module")
def first_release():
    return findings_of("results_feb06_100pct.csv")


@pytest.fixture(scope="module")
def final_release():
    return findings_of("results_final.csv")


def flagged(findings, check=None):
    return {(f.county, f.precinct) for f in findings if check in (None, f.check)}


def test_at_least_70_precincts_with_more_final_than_first(first_release):
    # AP and NYT: "at least 70" precincts reported more final than first-alignment supporters.
    assert len(flagged(first_release, FINAL_ABOVE_FIRST)) >= 70


def test_more_than_100_inconsistent_precincts(first_release):
    # News counts: "more than 100" precincts with inconsistent or impossible results.
    assert len(flagged(first_release)) > 100


def test_recanvass_and_recount_leave_fewer_findings(first_release, final_release):
    assert len(final_release) < len(first_release)
    assert len(flagged(final_release)) < len(flagged(first_release))
