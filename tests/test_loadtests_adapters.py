"""Adapters: `caucus loadtest --adapter` against a real server of another shape, the preflight,
and the check that a run starts on precincts nobody has reported."""

from __future__ import annotations

import csv
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from caucus.cli import main
from loadtests.adapters import load_adapter
from loadtests.progress import PROGRESS_CSV, read_progress
from loadtests.service import free_port, stop

TESTS = Path(__file__).parent
SCENARIO = str(TESTS.parent / "scenarios" / "iowa-2020.toml")
APP2020 = "loadtests.adapters.app2020:App2020"


@dataclass(frozen=True)
class App2020Server:
    url: str
    pins: Path
    operators: Path


@pytest.fixture(scope="module")
def app2020(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App2020Server]:
    """The 2020-shaped API (tests/app2020_server.py) under uvicorn on 127.0.0.1."""
    folder = tmp_path_factory.mktemp("app2020")
    rng = random.Random(2020)
    pins, operators = folder / "pins.csv", folder / "operators.csv"
    with pins.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["precinct_id", "pin", "delegates"])
        for i in range(1, 31):
            writer.writerow([f"P{i:04d}", f"{rng.randrange(10**6):06d}", rng.choice([1, 2, 4, 7])])
    operators.write_text("operator,key\nHotline 01,key-one\n")
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", "--app-dir", str(TESTS), "app2020_server:create_app",
        "--factory", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
    ]  # fmt: skip
    env = {"APP2020_PINS": str(pins), "APP2020_OPERATORS": str(operators)}
    with (folder / "server.log").open("wb") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **env}
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{url}/results", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline, "no server"
                time.sleep(0.1)
        yield App2020Server(url, pins, operators)
    finally:
        stop(process)


def _loadtest(server: App2020Server, out: Path, *extra: str) -> int:
    return main(
        [
            "loadtest", "--host", server.url, "--pin-sheet", str(server.pins),
            "--operator-sheet", str(server.operators), "--scenario", SCENARIO,
            "--out", str(out), *extra,
        ]
    )  # fmt: skip


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_app2020_adapter_plays_the_night_then_refuses_a_used_target(
    app2020: App2020Server, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    reviewers = tmp_path / "reviewer-keys.csv"
    reviewers.write_text("reviewer,key\nHQ 01,key-of-hq-01\n")
    night = [
        "--adapter", APP2020, "--compress", "2160", "--night-hours", "4", "--watchers", "4",
        "--pranksters", "2", "--operators", "1", "--wrong-share", "0.3",
        "--reviewers", "2", "--reviewer-sheet", str(reviewers),  # it cannot speak for them
    ]  # fmt: skip
    assert _loadtest(app2020, tmp_path / "first", *night) == 0
    verdict = json.loads((tmp_path / "first" / "verdict.json").read_text())
    assert verdict["passed"], verdict["reasons"]
    assert verdict["audit"] is None and "has no export" in verdict["audit_skipped"]
    assert verdict["reviewers"] == 0 and verdict["review"] is None
    assert verdict["review_skipped"] == f"{APP2020} has no review operations: no reviewers"
    progress = read_progress(tmp_path / "first" / PROGRESS_CSV)
    assert progress and all(row["Reviewer"] == "0" for row in progress)  # no reviewer users
    assert verdict["precincts"]["closed"] == verdict["precincts"]["due"] > 5
    with (tmp_path / "first" / "locust_stats.csv").open(newline="") as file:
        stats = {row["Name"]: row for row in csv.DictReader(file)}
    for name in ("POST /login", "POST /precincts/[id]/open", "POST /precincts/[id]/close"):
        assert int(stats[name]["Request Count"]) > 5 and stats[name]["Failure Count"] == "0"
    wrong = stats["POST /precincts/[id]/close (wrong result)"]  # each refused with a 422
    assert int(wrong["Request Count"]) > 0 and wrong["Failure Count"] == "0"
    assert any(n.startswith("prank: ") for n in stats)
    out = capsys.readouterr().out
    assert "audit: skipped (loadtests.adapters.app2020:App2020 has no export)" in out
    assert f"review: skipped ({APP2020} has no review operations: no reviewers)" in out

    assert _loadtest(app2020, tmp_path / "again", *night) == 1
    again = json.loads((tmp_path / "again" / "verdict.json").read_text())
    [reason] = again["reasons"]
    assert reason.startswith("the target already held results for")
    assert not (tmp_path / "again" / "locust_stats.csv").exists()  # no load was sent


def test_preflight_stops_in_one_line_when_the_target_speaks_another_api(
    app2020: App2020Server, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert _loadtest(app2020, tmp_path) == 2  # the default adapter speaks our v1 API
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    assert err.startswith("caucus loadtest: preflight: results (adapter ")
    assert "GET /api/v1/results answered 404" in err
    assert not (tmp_path / "locust_stats.csv").exists()


def test_preflight_names_a_pin_sheet_of_another_target(
    app2020: App2020Server, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    other = tmp_path / "pins.csv"
    other.write_text(app2020.pins.read_text().replace("P0001,", "P0001,9", 1))
    server = App2020Server(app2020.url, other, app2020.operators)
    assert _loadtest(server, tmp_path / "run", "--adapter", APP2020) == 2
    err = capsys.readouterr().err
    assert "the chair of P0001 (is the PIN sheet this target's?)" in err
    assert "answered 401 wrong precinct or PIN" in err


def test_nothing_listening_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    server = App2020Server(f"http://127.0.0.1:{free_port()}", tmp_path / "p.csv", Path("o.csv"))
    server.pins.write_text("precinct_id,pin\nP0001,1\n")
    assert _loadtest(server, tmp_path / "run", "--operators", "0") == 2
    assert "preflight: nothing answers at http://127.0.0.1:" in capsys.readouterr().err


def test_user_adapter_from_a_file_and_bad_specs(tmp_path: Path) -> None:
    mine = tmp_path / "my_api.py"
    mine.write_text(
        "from loadtests.adapters.app2020 import App2020\n"
        "from loadtests.adapters.contract import ContractV1\n\n"
        "class Mine(ContractV1):\n    RULES_REFUSED = frozenset({400})\n\n"
        "class Half(App2020):\n    def review_queue(self, limit):\n        return None\n"
    )
    assert {400} == load_adapter(f"{mine}:Mine").RULES_REFUSED
    with pytest.raises(ValueError, match="NAMES lacks review-decision, review-queue, reviewer-"):
        load_adapter(f"{mine}:Half")  # speaks for reviewers: it must name their requests
    for spec, says in (
        ("loadtests.adapters.contract", "expected module:Class"),
        ("no_such_module:X", "No module named"),
        ("loadtests.adapters.contract:API", "not a ReportingAdapter subclass"),
        ("loadtests.adapters:ReportingAdapter", "NAMES lacks"),
    ):
        with pytest.raises(ValueError, match=says):
            load_adapter(spec)
