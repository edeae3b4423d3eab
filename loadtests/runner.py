"""Running Locust headless for `caucus loadtest`: one process, or a master and N workers.

Locust runs as subprocesses (``python -m locust``), not through its library API: it
monkey-patches the interpreter with gevent at import, distributed mode needs separate processes
anyway, and the CSV and HTML reports come out exactly as plain Locust writes them.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from loadtests.progress import PROGRESS_CSV, ProgressFollower, Terminal, progress_line
from loadtests.service import free_port, stop

LOADTESTS = Path(__file__).parent
SHAPES = {
    "caucus-night": LOADTESTS / "shapes" / "caucus_night.py",
    "spike": LOADTESTS / "shapes" / "spike.py",
    "soak": LOADTESTS / "shapes" / "soak.py",
}
STOP_GRACE_S = 60.0
"""Wall seconds allowed beyond the planned run before Locust is stopped by force."""
FOLLOW_S = 0.5
"""Wall seconds between looks at the run's progress."""


@dataclass(frozen=True, slots=True)
class LocustPlan:
    """What to run: target, shape, caucus-night options and where the reports go."""

    host: str
    shape: str
    night_options: list[str]
    out: Path
    run_time: str | None
    workers: int
    planned_s: float
    """Wall seconds the shape plays (or the run time), to bound the run."""

    @property
    def csv_prefix(self) -> Path:
        return self.out / "locust"


def _locustfiles(shape: str) -> str:
    return f"{LOADTESTS / 'locustfile.py'},{SHAPES[shape]}"


def master_command(plan: LocustPlan, master_port: int | None) -> list[str]:
    command = [
        sys.executable, "-m", "locust", "-f", _locustfiles(plan.shape), "--headless",
        "--host", plan.host, "--csv", str(plan.csv_prefix), "--csv-full-history",
        "--html", str(plan.out / "locust.html"), "--only-summary", "--stop-timeout", "5",
        "--exit-code-on-error", "0", *plan.night_options,
    ]  # fmt: skip
    if plan.run_time:
        command += ["--run-time", plan.run_time]
    if master_port is not None:
        command += [
            "--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(master_port),
            "--expect-workers", str(plan.workers),
        ]  # fmt: skip
    return command


def worker_command(plan: LocustPlan, master_port: int) -> list[str]:
    return [
        sys.executable, "-m", "locust", "-f", _locustfiles(plan.shape), "--worker",
        "--master-host", "127.0.0.1", "--master-port", str(master_port),
    ]  # fmt: skip


def run_locust(plan: LocustPlan) -> int:
    """Run Locust to the end of the shape or run time, showing its progress on a terminal;
    every process is stopped on return (:class:`subprocess.TimeoutExpired` if it overran)."""
    plan.out.mkdir(parents=True, exist_ok=True)
    port = free_port() if plan.workers else None
    processes: list[subprocess.Popen] = []
    follower, terminal = ProgressFollower(plan.out / PROGRESS_CSV), Terminal()
    deadline = time.monotonic() + plan.planned_s + STOP_GRACE_S
    with (plan.out / "locust.log").open("ab") as log:
        try:
            master = subprocess.Popen(
                master_command(plan, port), stdout=log, stderr=subprocess.STDOUT
            )
            processes.append(master)
            if port is not None:
                processes += [
                    subprocess.Popen(
                        worker_command(plan, port), stdout=log, stderr=subprocess.STDOUT
                    )
                    for _ in range(plan.workers)
                ]
            while master.poll() is None:
                if time.monotonic() > deadline:
                    raise subprocess.TimeoutExpired(master.args, plan.planned_s + STOP_GRACE_S)
                time.sleep(FOLLOW_S)
                for row in follower.new_rows():
                    terminal.show(progress_line(row))
            return master.returncode
        finally:
            terminal.done()
            for process in reversed(processes):
                stop(process)
