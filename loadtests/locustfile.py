"""Caucus night against a reporting endpoint, as plain Locust.

    locust -f loadtests/locustfile.py --host http://127.0.0.1:8000 --pin-sheet roster-pins.csv

Add a shape to play a scripted night instead of the web UI's user count, e.g.
``-f loadtests/locustfile.py,loadtests/shapes/caucus_night.py --scenario scenarios/iowa-2020.toml``.
Distributed: ``--master --expect-workers N`` and N times ``--worker`` (each worker takes its
slice of the precincts by worker index). ``--help-caucus`` lists the caucus-night options
(each also ``CAUCUS_*`` in the environment); receipts, ``progress.csv``, ``run_stats.csv``
and ``flood_stats.csv`` go to ``--run-folder``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import gevent
from locust import events
from locust.env import Environment
from locust.runners import WorkerRunner

from loadtests.adapters import load_adapter
from loadtests.live import FloodStats, ProgressLog, write_run_stats
from loadtests.night import Night, plan_night
from loadtests.options import add_options, settle
from loadtests.preflight import PreflightFailed, preflight
from loadtests.receipts import ReceiptLog
from loadtests.reviews import reviewers_on_duty
from loadtests.sheets import chair_login, operator_login, reviewer_login
from loadtests.users import HotlineOperator, PrankBot, PrecinctChair, Reviewer, Watcher

__all__ = ["HotlineOperator", "PrankBot", "PrecinctChair", "Reviewer", "Watcher"]
PREFLIGHT_EXIT = 2
log = logging.getLogger("caucus-night")

events.init_command_line_parser.add_listener(add_options)


@events.init.add_listener
def set_up(environment: Environment, **_: object) -> None:
    """Settle the run's id and folder, and how many reviewers are on duty, on the master
    (workers get the options from it; the master dispatches the users)."""
    if not isinstance(environment.runner, WorkerRunner):
        options = environment.parsed_options
        settle(options)
        reviewers = reviewers_on_duty(
            options.reviewers, options.reviewer_sheet, load_adapter(options.adapter)
        )
        environment.caucus_reviewers = reviewers
        if reviewers:
            Reviewer.fixed_count = reviewers  # so without a shape too
        elif Reviewer in environment.user_classes:
            environment.user_classes.remove(Reviewer)
    environment.caucus_flood = FloodStats(environment)


@events.test_start.add_listener
def start_the_night(environment: Environment, **_: object) -> None:
    """Check the target, plan the night from the options, start its clock (workers: their
    slice), and on the master the progress log."""
    options = environment.parsed_options
    if not options.pin_sheet:
        raise SystemExit("caucus night: --pin-sheet (the chairs' PINs) is required")
    environment.caucus_adapter = load_adapter(options.adapter)
    runner = environment.runner
    worker = isinstance(runner, WorkerRunner)
    if not worker and not _answers_as_expected(environment):
        return
    plan = plan_night(
        options.pin_sheet,
        options.scenario,
        options.night_hours,
        options.hotline_share,
        options.seed,
    )
    share, shares = 0, 1
    if worker:
        share, shares = max(runner.worker_index, 0), max(options.expect_workers, 1)
    folder = Path(options.run_folder)
    night = Night(plan, options.compress, share, shares, ReceiptLog(folder / "receipts"))
    environment.caucus_night = night
    if not worker:
        environment.caucus_progress = ProgressLog(environment, night, folder)


def _answers_as_expected(environment: Environment) -> bool:
    """The preflight; when it fails, one line in the log and the run stops (exit code 2)."""
    options = environment.parsed_options
    operator = operator_login(options.operator_sheet, 0) if options.operators else None
    reviewer = reviewer_login(options.reviewer_sheet, 0) if environment.caucus_reviewers else None
    chair = chair_login(options.pin_sheet)
    try:
        preflight(environment.host or "", environment.caucus_adapter, chair, operator, reviewer)
    except PreflightFailed as failed:
        log.error("preflight: %s", failed)
        environment.process_exit_code = PREFLIGHT_EXIT
        runner = environment.runner
        gevent.spawn(runner.quit if options.headless else runner.stop)
        return False
    return True


@events.test_stop.add_listener
def stop_the_night(environment: Environment, **_: object) -> None:
    night = getattr(environment, "caucus_night", None)
    if night is not None:
        night.over = True
    progress = getattr(environment, "caucus_progress", None)
    if progress is not None:
        progress.stop()


@events.quitting.add_listener
def write_the_stats(environment: Environment, **_: object) -> None:
    """The run's statistics and the flood window's, merged from every worker, into the run
    folder (the users have stopped: Locust quits once they have)."""
    if not isinstance(environment.runner, WorkerRunner) and hasattr(environment, "caucus_night"):
        folder = Path(environment.parsed_options.run_folder)
        write_run_stats(environment, folder)
        environment.caucus_flood.write(folder)
