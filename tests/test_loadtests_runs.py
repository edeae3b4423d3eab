"""Evidence: bounded caucus-night load tests against the real reference service on loopback.

Each run starts `caucus serve` (fresh roster and database) and Locust as subprocesses through
`caucus loadtest --serve`, which stops them all before returning.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from caucus.cli import main

SCENARIO = str(Path(__file__).parent.parent / "scenarios" / "iowa-2020.toml")
SMALL_NIGHT = [
    "loadtest", "--scenario", SCENARIO, "--serve", "--precincts", "40", "--compress", "1080",
    "--users", "watchers=8,pranksters=2,operators=1",
]  # fmt: skip
"""40 precincts; 6 h of Iowa 2020 in 20 s (plus a 15 s tail)."""

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def _verdict(out: Path) -> dict:
    return json.loads((out / "verdict.json").read_text())


def _stats(out: Path) -> dict[str, dict[str, str]]:
    with (out / "locust_stats.csv").open(newline="") as file:
        return {row["Name"]: row for row in csv.DictReader(file)}


def test_caucus_night_passes_slo_and_audit(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main([*SMALL_NIGHT, "--wrong-share", "0.3", "--out", str(tmp_path)]) == 0
    verdict = _verdict(tmp_path)
    assert verdict["passed"] and verdict["audit"]["passed"]
    assert verdict["audit"]["receipts"] == verdict["audit"]["stored"] > 20
    stats = _stats(tmp_path)
    assert int(stats["POST /api/v1/precincts/[id]/close"]["Request Count"]) > 5
    assert any(name.startswith("prank: ") for name in stats)
    wrong = stats["POST /api/v1/precincts/[id]/close (wrong result)"]  # each answered 422
    assert int(wrong["Request Count"]) > 0 and int(wrong["Failure Count"]) == 0
    assert (tmp_path / "locust_stats_history.csv").stat().st_size > 0
    assert (tmp_path / "locust.html").stat().st_size > 0
    assert "verdict: PASS" in capsys.readouterr().out


def test_impossibly_tight_slo_exits_nonzero(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    slo = tmp_path / "tight.toml"
    slo.write_text('[defaults]\np50_ms = 0.001\n\n[hostile]\nprefix = "prank: "\n')
    out = tmp_path / "run"
    code = main([*SMALL_NIGHT, "--run-time", "10s", "--slo", str(slo), "--out", str(out)])
    assert code == 1
    verdict = _verdict(out)
    assert not verdict["passed"] and verdict["audit"]["passed"]
    assert any(c["objective"] == "p50_ms" and not c["passed"] for c in verdict["slo"])
    assert "verdict: FAIL" in capsys.readouterr().out


def test_service_dropping_writes_fails_the_audit(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    args = [*SMALL_NIGHT, "--night-hours", "3", "--fault-drop-rate", "0.5", "--out", str(tmp_path)]
    assert main(args) == 1
    audit = _verdict(tmp_path)["audit"]
    assert not audit["passed"] and audit["lost"]
    assert audit["receipts"] - len(audit["lost"]) == audit["stored"]
    lost = audit["lost"][0]
    assert f"lost: {lost['precinct_id']} {lost['stage']} receipt {lost['receipt_id']}" in (
        capsys.readouterr().out
    )


def test_fault_drill_retries_get_every_report_in(tmp_path: Path) -> None:
    args = [*SMALL_NIGHT, "--drill", "--fault-error-rate", "0.2", "--out", str(tmp_path)]
    assert main(args) == 1  # the error spike breaks the SLO
    verdict = _verdict(tmp_path)
    assert verdict["audit"]["passed"], verdict["audit"]
    assert "--fault-outage" in verdict["run"]["faults"]
    failing = {
        c["name"] for c in verdict["slo"] if c["objective"] == "error_rate" and not c["passed"]
    }
    assert "POST /api/v1/precincts/[id]/open" in failing  # the spike shows
    with (tmp_path / "locust_stats_history.csv").open(newline="") as file:
        history = [r for r in csv.DictReader(file) if r["Name"] == "Aggregated"]
    assert max(float(r["Total Failure Count"]) for r in history) > 0


def test_master_and_worker_merge_stats_and_audit(tmp_path: Path) -> None:
    args = [*SMALL_NIGHT, "--night-hours", "3", "--workers", "1", "--out", str(tmp_path)]
    assert main(args) == 0
    verdict = _verdict(tmp_path)
    assert verdict["audit"]["passed"] and verdict["run"]["workers"] == 1
    stats = _stats(tmp_path)
    reports = sum(
        int(stats[f"POST /api/v1/precincts/[id]/{stage}"]["Request Count"])
        for stage in ("open", "first-alignment", "close")
    )
    assert reports == verdict["audit"]["receipts"] > 10
    assert list((tmp_path / "receipts").glob("receipts-*.jsonl"))


def test_spike_and_soak_shapes(tmp_path: Path) -> None:
    base = [
        "loadtest", "--scenario", SCENARIO, "--serve", "--precincts", "20", "--compress", "720",
        "--night-hours", "2",
    ]  # fmt: skip
    spike = tmp_path / "spike"
    assert main([*base, "--shape", "spike", "--users", "watchers=30", "--out", str(spike)]) == 0
    with (spike / "locust_stats_history.csv").open(newline="") as file:
        users = [int(r["User Count"]) for r in csv.DictReader(file) if r["Name"] == "Aggregated"]
    assert max(users) - min(u for u in users if u) >= 20  # the storm came and went
    soak = tmp_path / "soak"
    args = [*base, "--shape", "soak", "--run-time", "6s", "--out", str(soak)]
    assert main(args) == 0
    assert _verdict(soak)["run"]["shape"] == "soak"
