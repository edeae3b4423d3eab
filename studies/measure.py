"""`caucus measure`: the [precincts] figures a results file measures, as a TOML block to paste.

Light at import: the measures (numpy) and the scenario reader are imported when it runs.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from caucus.cli import add_command

if TYPE_CHECKING:
    from caucus.results import PrecinctResult
    from sim.config import PrecinctsConfig
    from studies.measured import Measure

NOT_IN_RESULTS = (
    "caucus_base_min",
    "caucus_per_attendee_min",
    "caucus_sigma",
    "satellite_start_min",
)
"""[precincts] keys results cannot measure: when caucuses met and how long they took."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(
        subparsers,
        "measure",
        "Measure the [precincts] figures of a results CSV: a TOML block with how each was "
        "measured (exit 0, or 2 unreadable).",
        "caucus measure results.csv --scenario scenarios/iowa-2020.toml",
    )
    parser.add_argument("file", type=Path, help="results CSV, as caucus validate reads it")
    parser.add_argument(
        "--scenario",
        type=Path,
        metavar="FILE",
        help="scenario file or preset name: show its value on each line, flag those that differ",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from caucus.results_csv import ResultsFileError, read_results_csv
    from studies.measured import measure_precincts

    scenario = None
    if args.scenario is not None:
        from sim.presets import find_scenario
        from sim.scenario import ScenarioError, load_scenario

        try:
            scenario = load_scenario(find_scenario(args.scenario)).night.precincts
        except (ScenarioError, OSError) as error:
            print(f"caucus measure: {error}", file=sys.stderr)
            return 2
    try:
        read = read_results_csv(args.file)
    except ResultsFileError as error:
        print(f"caucus measure: {error}", file=sys.stderr)
        return 2
    if read.findings:
        more = len(read.findings) - 1
        also = f" (and {more} more bad row{'s' * (more > 1)})" if more else ""
        print(f"caucus measure: {read.findings[0].detail}{also}", file=sys.stderr)
        return 2
    write_block(sys.stdout, args.file, read.results, measure_precincts(read.results), scenario)
    return 0


def write_block(
    out: TextIO,
    path: Path,
    results: list[PrecinctResult],
    measures: list[Measure],
    scenario: PrecinctsConfig | None,
) -> None:
    """The [precincts] table: each key under a comment saying how it was measured; with a
    scenario, its value after each key and whether it differs."""
    satellites = sum(1 for u in results if u.is_satellite)
    stand_in = (
        "a unit's first-alignment total stands in for attendance (the file's attendance column "
        "is not used)"
        if _has_attendance(results)
        else "attendance was not published: a unit's first-alignment total stands in for it"
    )
    out.write(
        f"# caucus measure {path}: {len(results):,} reporting units "
        f"({len(results) - satellites:,} precincts, {satellites:,} satellites)\n"
        f"# {stand_in[0].upper()}{stand_in[1:]}.\n"
        f"# Not measured (not in results): {', '.join(NOT_IN_RESULTS)}.\n"
        "[precincts]\n"
    )
    differ = 0
    for m in measures:
        if m.value is None:
            out.write(_comment(f"{m.key}: {m.how}"))
            continue
        line = f"{m.key} = {_toml(m.value, m.decimals)}"
        if scenario is not None:
            theirs = _scenario_value(scenario, m.key)
            same = m.agrees(theirs)
            differ += not same
            shown = (
                _by_name(theirs, m.value)
                if isinstance(theirs, dict) and isinstance(m.value, dict)
                else _toml(theirs, None)
            )
            line += f"  # scenario {shown}: {'same' if same else 'DIFFERS'}"
        out.write(f"{_comment(m.how)}{line}\n")
    if scenario is not None:
        out.write(f"# {differ} of {sum(m.value is not None for m in measures)} differ\n")


def _comment(text: str) -> str:
    """TOML comment lines of at most 100 characters."""
    return "".join(f"# {part}\n" for part in textwrap.wrap(text, 98))


def _has_attendance(results: list[PrecinctResult]) -> bool:
    return any(u.attendance is not None for u in results)


def _scenario_value(scenario: PrecinctsConfig, key: str) -> object:
    """A scenario's value of a key; its group shares by group name."""
    if key == "group_shares":
        return dict(zip(scenario.groups, scenario.group_shares, strict=True))
    return getattr(scenario, key)


def _by_name(theirs: dict[str, float], ours: dict[str, float]) -> str:
    """A scenario's shares by name, in the order of the measured groups (then its others)."""
    names = [*ours, *(n for n in theirs if n not in ours)]
    return (
        "[" + ", ".join(f"{n} {theirs[n]:g}" if n in theirs else f"{n} none" for n in names) + "]"
    )


def _toml(value: object, decimals: int | None) -> str:
    """A TOML value: a count, a number at ``decimals``, a list of names or of shares."""
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml(v, decimals) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, float):
        return f"{value:.{decimals}f}" if decimals is not None else f"{value:g}"
    return str(value)
