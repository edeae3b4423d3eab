"""`locust -f loadtests/locustfile.py --host URL` works as plain Locust, web UI included."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from loadtests.options import OPTIONS
from loadtests.service import free_port, reference_service, stop

LOCUSTFILE = Path(__file__).parent.parent / "loadtests" / "locustfile.py"


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_web_ui_swarm_reports_to_the_reference_service(tmp_path: Path) -> None:
    with reference_service(tmp_path / "service", 20, 7, []) as service:
        port = free_port()
        command = [
            sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--host", service.url,
            "--web-host", "127.0.0.1", "--web-port", str(port),
        ]  # fmt: skip
        env = {  # the caucus-night options as `caucus loadtest` reads them too
            "CAUCUS_PIN_SHEET": str(service.pin_sheet),
            "CAUCUS_OPERATOR_SHEET": str(service.operator_sheet),
            "CAUCUS_RUN_FOLDER": str(tmp_path / "run"),
            "CAUCUS_COMPRESS": "3600",
        }
        ui = f"http://127.0.0.1:{port}"
        with (tmp_path / "locust.log").open("wb") as log:
            locust = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **env}
            )
        try:
            _wait_for(lambda: httpx.get(ui, timeout=1).status_code == 200)
            swarm = httpx.post(f"{ui}/swarm", data={"user_count": 12, "spawn_rate": 12})
            assert swarm.json()["success"]
            _wait_for(lambda: _requests(ui).get("POST /api/v1/precincts/[id]/close", 0) >= 3)
            stats = _requests(ui)
            assert stats["POST /api/v1/sessions"] >= 3
            assert any(name.startswith("prank: ") for name in stats)
        finally:
            stop(locust)
    assert list((tmp_path / "run" / "receipts").glob("receipts-*.jsonl"))
    assert len((tmp_path / "run" / "progress.csv").read_text().splitlines()) > 2


def test_help_lists_every_caucus_option_and_its_variable() -> None:
    help_text = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--help-caucus"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    for option in OPTIONS:
        assert option.flag in help_text and option.env in help_text, option.flag


def _requests(ui: str) -> dict[str, int]:
    stats = httpx.get(f"{ui}/stats/requests", timeout=5).json()["stats"]
    return {s["name"]: s["num_requests"] for s in stats}


def _wait_for(condition, timeout_s: float = 45.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise AssertionError("Locust did not get there in time")
