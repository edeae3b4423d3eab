"""`caucus validate`: check published results against the caucus rules."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import Counter
from pathlib import Path
from typing import TextIO

from caucus.checks import CHECKS, Finding, check_release
from caucus.cli import add_command
from caucus.results_csv import ResultsFileError, read_results_csv
from caucus.rules import OneDelegateRule


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(
        subparsers,
        "validate",
        "Check a results CSV against the 2020 rules (exit 0 clean, 1 findings, 2 unreadable).",
        "caucus validate examples/results-sample.csv --format json",
    )
    parser.add_argument("file", type=Path, help="results CSV, one row per precinct x candidate")
    parser.add_argument("--format", choices=("table", "json", "csv"), default="table")
    parser.add_argument(
        "--one-delegate",
        choices=[r.value for r in OneDelegateRule],
        default=OneDelegateRule.PLURALITY.value,
        help="how one-delegate precincts are decided (default: plurality)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        read = read_results_csv(args.file)
    except ResultsFileError as error:
        print(f"caucus validate: {error}", file=sys.stderr)
        return 2
    findings = read.findings + check_release(read.results, OneDelegateRule(args.one_delegate))
    units = len(read.results) + len({(f.county, f.precinct) for f in read.findings})
    write = {"table": write_table, "json": write_json, "csv": write_csv}[args.format]
    write(sys.stdout, args.file, units, findings)
    return 1 if findings else 0


def summary(findings: list[Finding]) -> list[tuple[str, str, int, int]]:
    """(rule id, rule name, units, findings) for every rule, in the order of CHECKS."""
    per_rule = Counter(f.check.id for f in findings)
    units = Counter(rule for rule, _, _ in {(f.check.id, f.county, f.precinct) for f in findings})
    return [(c.id, c.name, units[c.id], per_rule[c.id]) for c in CHECKS]


def write_table(out: TextIO, path: Path, units: int, findings: list[Finding]) -> None:
    flagged = len({(f.county, f.precinct) for f in findings})
    out.write(f"{path}: {units:,} reporting units, {flagged:,} with findings\n\n")
    out.write(f"{'rule':<28} {'name':<50} {'units':>6} {'findings':>9}\n")
    for rule_id, name, n_units, n_findings in summary(findings):
        out.write(f"{rule_id:<28} {name:<50} {n_units:>6} {n_findings:>9}\n")
    if findings:
        out.write("\n")
    for f in findings:
        out.write(f"{f.county} / {f.precinct}  [{f.check.id}]  {f.detail}\n")


def write_json(out: TextIO, path: Path, units: int, findings: list[Finding]) -> None:
    document = {
        "file": str(path),
        "units": units,
        "summary": [
            {"rule": rule_id, "name": name, "units": n_units, "findings": n_findings}
            for rule_id, name, n_units, n_findings in summary(findings)
        ],
        "findings": [
            {
                "rule": f.check.id,
                "county": f.county,
                "precinct": f.precinct,
                "line": f.line,
                "detail": f.detail,
            }
            for f in findings
        ],
    }
    json.dump(document, out, indent=2)
    out.write("\n")


def write_csv(out: TextIO, path: Path, units: int, findings: list[Finding]) -> None:
    writer = csv.writer(out)
    writer.writerow(["rule", "county", "precinct", "line", "detail"])
    for f in findings:
        writer.writerow([f.check.id, f.county, f.precinct, f.line or "", f.detail])
