"""The reference service benchmark's verdict on issue 14's speed targets (the measuring code)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_reporting.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_reporting", PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def met(line: str) -> list[bool]:
    return [not part.endswith("NOT MET") for part in line.removeprefix("  targets: ").split("; ")]


def test_targets_exactly_at_the_line(bench):
    at_the_line = bench.Speed(submissions=0.35, submission_p99_ms=50.0, reads=0.9)
    assert met(bench.verdict("SQLite", at_the_line)) == [True, False, True]
    assert met(bench.verdict("PostgreSQL", bench.Speed(0.2, 49.99, 0.9))) == [True, True, True]


def test_targets_just_short(bench):
    line = bench.verdict("SQLite", bench.Speed(0.3499, 50.01, 0.8999))
    assert met(line) == [False, False, False]
    assert "submissions 0.350x >= 0.35x NOT MET" in line  # the figure, to three places
    assert met(bench.verdict("PostgreSQL", bench.Speed(0.198, 25.0, 2.3))) == [False, True, True]


def test_a_run_that_stored_nothing_does_not_pass(bench):
    assert met(bench.verdict("SQLite", bench.Speed(0.0, 0.0, 0.0))) == [False, True, False]
