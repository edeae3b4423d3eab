"""The `caucus` command line: one thin layer; each subcommand's module imports its work lazily."""

from __future__ import annotations

import argparse
import importlib
import sys

COMMAND_MODULES = (
    "caucus.validate",
    "studies.measure",
    "studies.cli",
    "reporting.cli",
    "loadtests.cli",
)
"""Modules with ``register(subparsers)``; each adds its subcommands and sets ``run``."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="caucus",
        description="Rehearse and stress-test the night a party collects caucus results.",
    )
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def add_command(
    subparsers: argparse._SubParsersAction, name: str, summary: str, example: str
) -> argparse.ArgumentParser:
    """A subcommand whose --help ends with an example."""
    return subparsers.add_parser(
        name,
        help=summary,
        description=summary,
        epilog=f"example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
