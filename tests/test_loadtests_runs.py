"""Evidence: bounded caucus-night load tests against the real reference service on loopback.

Each run starts `caucus serve` (fresh roster and database) and Locust as subprocesses through
`caucus loadtest --serve`, which stops them all before returning.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from caucus.cli import main
from loadtests.night import night_cast, plan_night
from loadtests.progress import CLASSES, PROGRESS_CSV, RUN_STATS_CSV, read_progress
from loadtests.receipts import read_receipts

DECIDED = ("REVIEW approved", "REVIEW corrected", "REVIEW rejected")

SCENARIO = str(Path(__file__).parent.parent / "scenarios" / "iowa-2020.toml")
COMPRESS = 1080
CAST = {"watchers": 8, "pranksters": 2, "operators": 1}
SMALL_NIGHT = [
    "loadtest", "--scenario", SCENARIO, "--serve", "--precincts", "40", "--compress",
    str(COMPRESS), *(f"--{kind}={n}" for kind, n in CAST.items()),
]  # fmt: skip
"""40 precincts; 6 h of Iowa 2020 in 20 s (plus a 15 s tail)."""
TICK_S = 1.0
"""Locust asks the shape for its users once a wall second."""

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def _verdict(out: Path) -> dict:
    return json.loads((out / "verdict.json").read_text())


def _stats(out: Path, name: str = RUN_STATS_CSV) -> dict[str, dict[str, str]]:
    with (out / name).open(newline="") as file:
        return {row["Name"]: row for row in csv.DictReader(file)}


def _the_verdict_counts_to_the_end(out: Path, verdict: dict) -> None:
    """Every result an operator entered has its event in the verdict, the last ones too, and the
    run's statistics never fall behind Locust's own once-a-second file."""
    entered = sum(r.entered_by.startswith("operator:") for r in read_receipts(out / "receipts"))
    assert entered > 0
    assert verdict["events"]["HOTLINE phoned result entered"] == entered
    ours, locusts = _stats(out), _stats(out, "locust_stats.csv")
    for name, row in locusts.items():
        if name != "Aggregated":
            assert int(ours[name]["Request Count"]) >= int(row["Request Count"]), name


def test_caucus_night_passes_slo_and_audit(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main([*SMALL_NIGHT, "--wrong-share", "0.3", "--out", str(tmp_path)]) == 0
    verdict = _verdict(tmp_path)
    assert verdict["passed"] and verdict["audit"]["passed"]
    assert verdict["span"]["from"] == "7:00 pm" and verdict["span"]["to"] == "1:00 am"
    assert verdict["span"]["flood"]["inside"] == "inside"
    assert {c["name"] for c in verdict["flood_slo"]} >= {"POST /api/v1/precincts/[id]/close"}
    assert verdict["audit"]["receipts"] == verdict["audit"]["stored"] > 20
    stats = _stats(tmp_path)
    assert int(stats["POST /api/v1/precincts/[id]/close"]["Request Count"]) > 5
    assert any(name.startswith("prank: ") for name in stats)
    wrong = stats["POST /api/v1/precincts/[id]/close (wrong result)"]  # each answered 422
    assert int(wrong["Request Count"]) > 0 and int(wrong["Failure Count"]) == 0
    assert (tmp_path / "locust_stats_history.csv").stat().st_size > 0
    assert (tmp_path / "locust.html").stat().st_size > 0
    assert "verdict: PASS" in capsys.readouterr().out
    _the_verdict_counts_to_the_end(tmp_path, verdict)
    _every_class_follows_its_curve(tmp_path)


def _every_class_follows_its_curve(out: Path) -> None:
    """Each second's users by class (progress.csv) are what the shape wanted at most one tick
    (and one sample) before; prank bots come within that of the compressed leak time."""
    plan = plan_night(str(out / "service" / "roster-pins.csv"), SCENARIO, 6.0, 0.2, 2020)
    rows = [r for r in read_progress(out / PROGRESS_CSV) if float(r["night_min"]) <= 360]
    assert len(rows) > 15
    for row in rows:
        t = float(row["wall_s"])
        window = [night_cast(plan, t - d / 10, COMPRESS, *CAST.values()) for d in range(21)]
        for name in CLASSES:
            wanted = {w[name] for w in window if w}
            assert int(row[name]) in wanted, (row, name, wanted)
    leak_s = plan.flood.leak_min * 60 / COMPRESS
    first = next(float(r["wall_s"]) for r in rows if int(r["PrankBot"]))
    assert leak_s <= first <= leak_s + 2 * TICK_S
    assert all(not int(r["PrankBot"]) for r in rows if float(r["wall_s"]) < leak_s)


def test_reviewers_clear_the_queue_of_results_held_for_review(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """`--hold-for-review`: wrong results are held (202) instead of refused; two reviewers on
    duty from the start decide each; the verdict states the waits and that none was public
    before its review."""
    night = [*SMALL_NIGHT, "--night-hours", "3", "--wrong-share", "0.3", "--hold-for-review"]
    assert main([*night, "--review-pace", "0.5", "--out", str(tmp_path)]) == 0
    verdict = _verdict(tmp_path)
    assert verdict["passed"], verdict["reasons"]
    review = verdict["review"]
    assert verdict["reviewers"] == 2 and review["flagged"] >= 2
    assert review["decided"] == review["flagged"] and review["still_waiting"] == []
    assert review["published_early"] == [] and review["passed"]
    assert set(review["waited"]) == {"median", "p90", "max"}
    assert 0 < review["waited"]["max"]["run_s"] < 15  # decided within the run
    events = verdict["events"]
    assert events["CHAIR result held for HQ review"] == review["flagged"]
    assert sum(n for name, n in events.items() if name in DECIDED) == review["flagged"]
    audit = verdict["audit"]  # the held results' and the reviewers' receipts, all stored
    assert audit["passed"] and audit["receipts"] == audit["stored"] and not audit["unreceipted"]
    stats = _stats(tmp_path)
    wrong = stats["POST /api/v1/precincts/[id]/close (wrong result)"]  # each held: 202
    assert int(wrong["Request Count"]) == review["flagged"] and wrong["Failure Count"] == "0"
    assert stats["GET /api/v1/admin/reviews"]["Failure Count"] == "0"
    rows = [r for r in read_progress(tmp_path / PROGRESS_CSV) if float(r["night_min"]) <= 180]
    assert len(rows) >= 9 and all(r["Reviewer"] == "2" for r in rows)  # on duty from the start
    out = capsys.readouterr().out
    assert f"review: {review['flagged']} held for review, {review['flagged']} decided" in out
    assert "  waited: median " in out and "  public before review: 0 of " in out


def test_a_run_over_before_any_result_was_due_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    args = ["loadtest", "--scenario", SCENARIO, "--serve", "--precincts", "10"]
    assert main([*args, "--run-time", "4s", "--out", str(tmp_path)]) == 1
    out = capsys.readouterr().out  # 4 s at 60x (and a last second of progress): 4 or 5 min
    assert re.search(r"night covered: 7:00 pm to 7:0[45] pm; prank flood 10:00 pm to 12:00 am: "
                     "not inside the run", out)  # fmt: skip
    assert re.search(r"  why: no result was due: the run covered 7:00 pm to 7:0[45] pm", out)
    assert "  why: no requests to POST /api/v1/precincts/[id]/close" in out


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
    with (tmp_path / "locust_failures.csv").open(newline="") as file:  # status and cause
        errors = [r["Error"] for r in csv.DictReader(file) if not r["Name"].startswith("prank: ")]
    assert errors and all(re.search(r"'\d{3} [\w-]+: \w", e) for e in errors), errors


def test_serve_on_postgresql_with_two_workers_then_refuse_it_used(
    tmp_path: Path, reporting_postgres_db: str, capsys: pytest.CaptureFixture
) -> None:
    args = [
        *SMALL_NIGHT, "--night-hours", "3", "--serve-db", reporting_postgres_db,
        "--serve-workers", "2",
    ]  # fmt: skip
    assert main([*args, "--out", str(tmp_path / "first")]) == 0
    verdict = _verdict(tmp_path / "first")
    assert verdict["audit"]["passed"] and verdict["audit"]["receipts"] > 10
    assert verdict["run"]["serve_db"].startswith("postgresql://")
    assert verdict["run"]["serve_workers"] == 2
    assert main([*args, "--out", str(tmp_path / "again")]) == 1  # the same database again
    assert "the target already held results for" in _verdict(tmp_path / "again")["reasons"][0]


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
    assert main([*base, "--shape", "spike", "--watchers", "30", "--out", str(spike)]) == 0
    with (spike / "locust_stats_history.csv").open(newline="") as file:
        users = [int(r["User Count"]) for r in csv.DictReader(file) if r["Name"] == "Aggregated"]
    assert max(users) - min(u for u in users if u) >= 20  # the storm came and went
    soak = tmp_path / "soak"
    # 10 s at --compress 720 cover the two hours asked for, time for a precinct to close
    args = [*base, "--shape", "soak", "--run-time", "10s", "--out", str(soak)]
    assert main(args) == 0
    assert _verdict(soak)["run"]["shape"] == "soak"
