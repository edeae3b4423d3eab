"""The caucus-night options, one table for plain Locust and `caucus loadtest`.

Each option is ``--flag`` on either command line and ``CAUCUS_<FLAG>`` in the environment
(the command line wins). Locust forwards them from master to workers and shows them in the
web UI. Locust prints ``--help`` before it imports a locustfile (locustio/locust#2917), so
``locust -f loadtests/locustfile.py --help-caucus`` is the help that lists them.
"""

from __future__ import annotations

import argparse
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from loadtests.night import HOTLINE_SHARE

DEFAULT_ADAPTER = "loadtests.adapters.contract:ContractV1"


@dataclass(frozen=True, slots=True)
class Option:
    """One caucus-night option: its flag, type, default and help."""

    flag: str
    kind: Callable[[str], Any]
    default: Any
    help: str
    cli_aliases: tuple[str, ...] = ()
    """Further flags `caucus loadtest` accepts for it (its other commands' spelling)."""

    @property
    def env(self) -> str:
        return "CAUCUS_" + self.flag.removeprefix("--").replace("-", "_").upper()

    @property
    def dest(self) -> str:
        return self.flag.removeprefix("--").replace("-", "_")

    def described(self) -> str:
        shown = "" if self.default == "" else f"; default {self.default}"
        return f"{self.help} (env {self.env}{shown})"


OPTIONS = (
    Option("--pin-sheet", str, "", "chairs' PIN sheet CSV: precinct_id,pin (roster-pins.csv)"),
    Option("--operator-sheet", str, "", "hotline operators' own keys: CSV operator,key"),
    Option(
        "--reviewer-sheet",
        str,
        "",
        "HQ reviewers' own keys: CSV reviewer,key (roster-reviewer-keys.csv)",
    ),
    Option("--scenario", str, "", "scenario TOML: the arrival curve and the prank leak"),
    Option("--adapter", str, DEFAULT_ADAPTER, "how users speak the target's API: module:Class"),
    Option("--compress", float, 60.0, "night minutes played per wall minute"),
    Option("--night-hours", float, 6.0, "hours of the night to play, from 7 pm"),
    Option("--seed", int, 2020, "seed of the results and of every user's behaviour"),
    Option("--run-id", str, "", "prefix of idempotency keys (default: random per run)"),
    Option(
        "--run-folder",
        str,
        "",
        "where receipts, progress and the flood's stats go (default runs/locust-RUN_ID)",
        ("--out",),
    ),
    Option("--hotline-share", float, HOTLINE_SHARE, "share of precincts phoned in"),
    Option("--wrong-share", float, 0.05, "share of chairs first sending a result breaking a rule"),
    Option("--max-attempts", int, 6, "tries per submission before a chair gives up"),
    Option("--watchers", int, 50, "watchers polling results at the end of the night"),
    Option("--pranksters", int, 5, "prank bots once the hotline number leaks"),
    Option("--operators", int, 2, "hotline operators entering phoned results"),
    Option("--reviewers", int, 0, "HQ reviewers working the review queue (need --reviewer-sheet)"),
    Option("--review-pace", float, 2.0, "wall seconds a reviewer takes over each held result"),
    Option("--poll-s", float, 5.0, "watchers' poll interval, wall seconds"),
)


def add_options(parser: Any) -> None:
    """Register the options with Locust's parser (``init_command_line_parser``)."""
    group = parser.add_argument_group("caucus night (each also CAUCUS_* in the environment)")
    for o in OPTIONS:
        action = group.add_argument(
            o.flag, type=o.kind, default=o.default, env_var=o.env, help=o.described()
        )
        # what Locust's own add_argument sets, so that the web UI shows the option
        action.include_in_web_ui, action.is_secret = True, False
        action.is_required, action.is_multiple = False, False
    group.add_argument(
        "--help-caucus",
        action=_PrintHelp,
        nargs=0,
        help="this help, with the caucus-night options (Locust's --help cannot list them)",
    )


def add_to_cli(parser: argparse.ArgumentParser) -> None:
    """Register the same options with `caucus loadtest` (environment read the same way)."""
    group = parser.add_argument_group("caucus night (the same flags and CAUCUS_* as plain Locust)")
    for o in OPTIONS:
        raw = os.environ.get(o.env)
        group.add_argument(
            o.flag,
            *o.cli_aliases,
            type=o.kind,
            default=o.kind(raw) if raw else o.default,
            help=o.described(),
        )


def locust_flags(args: argparse.Namespace) -> list[str]:
    """The options as Locust flags, to run Locust with what `caucus loadtest` was given."""
    return [f"{o.flag}={getattr(args, o.dest)}" for o in OPTIONS]


def settle(options: Any) -> None:
    """Fill the defaults that depend on the run: its id and its folder."""
    if not options.run_id:
        options.run_id = secrets.token_hex(4)
    if not options.run_folder:
        options.run_folder = os.path.join("runs", f"locust-{options.run_id}")


class _PrintHelp(argparse.Action):
    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        parser.print_help()
        parser.exit()
