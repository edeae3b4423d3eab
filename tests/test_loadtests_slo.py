"""SLO checks read Locust's stats CSV and keep hostile traffic apart."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from loadtests.progress import RUN_STATS_CSV
from loadtests.slo import DEFAULT_SLO, check_slo, load_slo, read_stats
from loadtests.verdict import events, request_counts

HEADER = (
    "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,"
    "Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,"
    "50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%"
)


def _row(kind: str, name: str, requests: int, failures: int, p95: int) -> str:
    return f"{kind},{name},{requests},{failures},5,5,1,9,10,1,0,5,6,7,8,9,{p95},{p95},{p95},9,9,9"


def _stats(tmp_path: Path, *rows: str) -> list[dict[str, str]]:
    path = tmp_path / "locust_stats.csv"
    path.write_text("\n".join([HEADER, *rows, _row("", "Aggregated", 0, 0, 0)]) + "\n")
    return read_stats(path)


def test_default_slo_file_is_shipped() -> None:
    slo = load_slo(DEFAULT_SLO)
    assert slo["defaults"]["p95_ms"] > 0
    assert slo["hostile"]["prefix"] == "prank: "


def test_latency_and_errors_by_endpoint(tmp_path: Path) -> None:
    rows = _stats(
        tmp_path,
        _row("GET", "GET /api/v1/results", 1000, 0, 600),
        _row("POST", "POST /api/v1/precincts/[id]/close", 100, 5, 40),
    )
    failed = {(c.name, c.objective) for c in check_slo(rows, load_slo()) if not c.passed}
    assert failed == {
        ("GET /api/v1/results", "p95_ms"),
        ("POST /api/v1/precincts/[id]/close", "error_rate"),
    }


def test_hostile_requests_must_all_be_refused(tmp_path: Path) -> None:
    rows = _stats(
        tmp_path,
        _row("POST", "prank: wrong PIN", 50, 0, 3000),
        _row("POST", "prank: oversized report", 50, 1, 10),
    )
    checks = check_slo(rows, load_slo())
    assert [(c.name, c.objective, c.passed) for c in checks] == [
        ("prank: *", "unrefused_rate", False)
    ]


def test_events_are_counted_apart_from_requests(tmp_path: Path) -> None:
    rows = _stats(
        tmp_path,
        _row("GET", "GET /api/v1/results", 10, 0, 5),
        _row("CHAIR", "gave up: locked out", 2, 2, 0),
    )
    assert events(rows) == {"CHAIR gave up: locked out": 2}
    assert request_counts(rows) == {"GET /api/v1/results": 10}


RUN_STATS = """
import sys
from pathlib import Path

from locust.env import Environment  # first: Locust patches the standard library for gevent

from loadtests.live import write_run_stats

environment = Environment()
runner = environment.create_local_runner()  # its listener logs the requests into the stats
request = environment.events.request
for ms in [1] * 90 + [2000] * 10:
    request.fire(request_type="POST", name="POST /close", response_time=ms,
                 response_length=0, exception=None if ms == 1 else RuntimeError("503"))
for _ in range(2):
    request.fire(request_type="HOTLINE", name="phoned result entered", response_time=0,
                 response_length=0, exception=None)
write_run_stats(environment, Path(sys.argv[1]))
runner.quit()
"""


def test_the_run_statistics_hold_every_request_logged(tmp_path: Path) -> None:
    """What the verdict reads: the statistics Locust holds at the moment of writing (at quit),
    the last requests included, in the columns of Locust's own file. In a process of its own:
    Locust must patch the standard library before anything else loads."""
    done = subprocess.run(
        [sys.executable, "-c", RUN_STATS, str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    rows = read_stats(tmp_path / RUN_STATS_CSV)
    close = next(r for r in rows if r["Name"] == "POST /close")
    assert (close["Request Count"], close["Failure Count"]) == ("100", "10")
    assert (close["50%"], close["95%"], close["99%"]) == ("1", "2000", "2000")
    assert request_counts(rows) == {"POST /close": 100}
    assert events(rows) == {"HOTLINE phoned result entered": 2}
    failed = {(c.name, c.objective) for c in check_slo(rows, load_slo()) if not c.passed}
    assert failed == {("POST /close", "p95_ms"), ("POST /close", "error_rate")}
