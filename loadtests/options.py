"""Locust command-line options for the caucus-night users and shapes (also in the web UI)."""

from __future__ import annotations

import secrets

from locust.argument_parser import LocustArgumentParser

from loadtests.night import HOTLINE_SHARE


def add_options(parser: LocustArgumentParser) -> None:
    """Register the options; Locust forwards them from master to workers."""
    parser.add_argument("--pin-sheet", default="", help="chairs' PIN sheet CSV (roster-pins.csv)")
    parser.add_argument("--scenario", default="", help="scenario TOML: arrival curve, prank leak")
    parser.add_argument(
        "--compress", type=float, default=60.0, help="night minutes per wall minute (default 60)"
    )
    parser.add_argument(
        "--night-hours", type=float, default=6.0, help="hours of the night to play (default 6)"
    )
    parser.add_argument("--seed", type=int, default=2020, help="seed for results and behaviour")
    parser.add_argument(
        "--run-id",
        default=secrets.token_hex(4),
        help="prefix of idempotency keys (default: random per run)",
    )
    parser.add_argument("--receipts", default="loadtest-receipts", help="folder for receipt logs")
    parser.add_argument(
        "--operator-sheet",
        default="",
        help="hotline operators' own keys: CSV with operator,key (roster-operator-keys.csv)",
    )
    parser.add_argument(
        "--hotline-share", type=float, default=HOTLINE_SHARE, help="share of precincts phoned in"
    )
    parser.add_argument(
        "--wrong-share",
        type=float,
        default=0.05,
        help="share of chairs first sending a wrong result",
    )
    parser.add_argument(
        "--max-attempts", type=int, default=6, help="tries per submission before giving up"
    )
    parser.add_argument("--watchers", type=int, default=50, help="watchers at the end of the night")
    parser.add_argument("--pranksters", type=int, default=5, help="prank bots after the leak")
    parser.add_argument("--operators", type=int, default=2, help="hotline operators")
    parser.add_argument(
        "--poll-s", type=float, default=5.0, help="watchers' poll interval, wall seconds"
    )
