"""The night plan follows the scenario's arrival curve; the caucus-night shape casts users."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from loadtests.night import Flood, Night, clock, coverage, night_cast, plan_night
from loadtests.receipts import ReceiptLog

SCENARIO = Path(__file__).parent.parent / "scenarios" / "iowa-2020.toml"


def _pin_sheet(tmp_path: Path, precincts: int) -> str:
    path = tmp_path / "roster-pins.csv"
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["precinct_id", "county", "chair_name", "chair_phone", "pin"])
        for i in range(1, precincts + 1):
            writer.writerow([f"P{i:04d}", "Polk", "Ann Chair", "515-555-0100", "123456"])
    return str(path)


def test_plan_follows_the_arrival_curve(tmp_path: Path) -> None:
    from sim.arrivals import arrival_curve

    sheet = _pin_sheet(tmp_path, 400)
    plan = plan_night(sheet, str(SCENARIO), 6.0, 0.2, 2020)
    curve = arrival_curve(SCENARIO, 2020)
    expected = curve.share_received_by(360)
    assert len(plan.slots) / 400 == pytest.approx(expected, abs=0.02)
    early = sum(s.close_min <= 120 for s in plan.slots) / 400
    assert early == pytest.approx(curve.share_received_by(120), abs=0.02)
    assert all(s.open_min <= s.first_min <= s.close_min <= 360 for s in plan.slots)
    assert 0.1 < sum(s.by_phone for s in plan.slots) / len(plan.slots) < 0.3
    assert plan.flood.leak_min == curve.prank_leak_min


def test_flood_starts_at_the_leak_and_halves() -> None:
    flood = Flood(leak_min=180.0, half_life_min=120.0)
    assert flood.intensity(179) == 0
    assert flood.intensity(180) == 1
    assert flood.intensity(300) == pytest.approx(0.5)
    assert Flood(None, 1.0).intensity(0) == 1


def test_workers_split_the_precincts(tmp_path: Path) -> None:
    plan = plan_night(_pin_sheet(tmp_path, 50), "", 6.0, 0.0, 1)
    log = ReceiptLog(tmp_path / "receipts")
    nights = [Night(plan, 60, share, 3, log) for share in range(3)]
    taken = [[s.precinct_id for s in iter(night.next_chair, None)] for night in nights]
    assert sorted(p for t in taken for p in t) == sorted(s.precinct_id for s in plan.slots)
    assert all(abs(len(t) - 50 / 3) <= 1 for t in taken)


def test_caucus_night_cast_grows_with_the_curve(tmp_path: Path) -> None:
    plan = plan_night(_pin_sheet(tmp_path, 300), str(SCENARIO), 6.0, 0.2, 2020)
    casts = [night_cast(plan, s, 60.0, 40, 5, 2) for s in range(0, 361, 30)]
    chairs = [c["PrecinctChair"] for c in casts]
    assert chairs == sorted(chairs) and 0 < chairs[-1] <= 300
    assert casts[-1]["Watcher"] == 40
    assert [c["PrankBot"] for c in casts][:6] == [0] * 6  # leak at 10 pm = 180 s at compress 60
    assert casts[7]["PrankBot"] == 5
    assert all(c["HotlineOperator"] == 2 and c["Reviewer"] == 0 for c in casts)
    assert night_cast(plan, 360 + 16, 60.0, 40, 5, 2) is None
    reviewers = [night_cast(plan, s, 60.0, 40, 5, 2, 3)["Reviewer"] for s in (0, 1, 180, 360)]
    assert reviewers == [3] * 4  # HQ reviewers on duty from the start


def test_coverage_names_the_precincts_not_in(tmp_path: Path) -> None:
    plan = plan_night(_pin_sheet(tmp_path, 10), "", 1.0, 0.0, 1)
    due = sorted(s.precinct_id for s in plan.slots if s.close_min <= 30)
    report = coverage(plan, 30.0, {due[0]})
    assert report["due"] == len(due) == 5  # evenly spread over 60 minutes: 3, 9, ..., 27
    assert report["closed"] == 1
    assert report["not_closed"] == due[1:]


def test_clock_reads_the_time_of_night() -> None:
    assert [clock(m) for m in (0, 59.6, 150, 300, 330, 345, 1020)] == [
        "7:00 pm", "8:00 pm", "9:30 pm", "12:00 am", "12:30 am", "12:45 am", "12:00 pm",
    ]  # fmt: skip


def test_flood_window_is_the_leak_until_it_has_halved() -> None:
    assert Flood(180.0, 120.0).window == (180.0, 300.0)
    assert Flood(None, 1.0).window is None


SHAPE_CLOCKS = """
import sys
import time
from pathlib import Path

from locust.env import Environment  # first: Locust patches the standard library for gevent

from loadtests.locustfile import stop_the_night
from loadtests.night import Night, plan_night
from loadtests.receipts import ReceiptLog
from loadtests.shapes.soak import Soak
from loadtests.users import PrecinctChair

pins, receipts = sys.argv[1:]
shape = Soak()
environment = Environment(user_classes=[PrecinctChair], shape_class=shape)
runner = environment.create_local_runner()
shape.reset_time()  # as Locust does when the test starts
time.sleep(1.0)  # the test-start preflight and plan
readings = [shape.get_run_time(), shape.run_s()]  # Locust's clock, and no night yet
night = Night(plan_night(pins, "", 6.0, 0.0, 1), 60, 0, 1, ReceiptLog(Path(receipts)))
environment.caucus_night = night  # as locustfile.start_the_night does, after the preflight
shape.reset_time()  # as a distributed master does after the test-start listeners
time.sleep(0.5)
readings.append(shape.run_s())
stop_the_night(environment)  # the test stops; a new one in the web UI ...
shape.reset_time()  # ... starts the shape's clock, and its night is not planned yet
readings.append(shape.run_s())
runner.quit()
print(" ".join(f"{r:.2f}" for r in readings))
"""


def test_the_shapes_keep_the_nights_time(tmp_path: Path) -> None:
    """A shape's clock starts before the test-start preflight and plan; the chairs and the
    progress log keep the night's clock. Read before the night, the shape's clock ran ahead
    and the chairs it asked for were stopped when the night's took over (a run on a busy
    machine lost two precincts so), so the shapes read the night's clock: 0 until this test's
    night starts. In a process of its own: Locust must patch the standard library before
    anything else loads."""
    args = [_pin_sheet(tmp_path, 5), str(tmp_path / "receipts")]
    done = subprocess.run(
        [sys.executable, "-c", SHAPE_CLOCKS, *args], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    locust, before, started, restarted = map(float, done.stdout.split())
    assert locust >= 1.0  # Locust's clock runs through the preflight ...
    assert before == 0.0  # ... the night's has not started
    assert 0.5 <= started < locust  # then the night's, from its own start
    assert restarted == 0.0  # and not a night that is over
