"""Caucus night against a reporting endpoint, as plain Locust.

    locust -f loadtests/locustfile.py --host http://127.0.0.1:8000 --pin-sheet roster-pins.csv

Add a shape to play a scripted night instead of the web UI's user count, e.g.
``-f loadtests/locustfile.py,loadtests/shapes/caucus_night.py --scenario scenarios/iowa-2020.toml``.
Distributed: ``--master --expect-workers N`` and N times ``--worker`` (each worker takes its
slice of the precincts by worker index).
"""

from __future__ import annotations

from pathlib import Path

from locust import events
from locust.env import Environment
from locust.runners import WorkerRunner

from loadtests.night import Night, plan_night
from loadtests.options import add_options
from loadtests.receipts import ReceiptLog
from loadtests.users import HotlineOperator, PrankBot, PrecinctChair, Watcher

__all__ = ["HotlineOperator", "PrankBot", "PrecinctChair", "Watcher"]

events.init_command_line_parser.add_listener(add_options)


@events.test_start.add_listener
def start_the_night(environment: Environment, **_: object) -> None:
    """Plan the night from the options and start its clock (on workers: their slice)."""
    options = environment.parsed_options
    if not options.pin_sheet:
        raise SystemExit("caucus night: --pin-sheet (the chairs' PINs) is required")
    plan = plan_night(
        options.pin_sheet,
        options.scenario,
        options.night_hours,
        options.hotline_share,
        options.seed,
    )
    runner = environment.runner
    share, shares = 0, 1
    if isinstance(runner, WorkerRunner):
        share, shares = max(runner.worker_index, 0), max(options.expect_workers, 1)
    environment.caucus_night = Night(
        plan, options.compress, share, shares, ReceiptLog(Path(options.receipts))
    )
