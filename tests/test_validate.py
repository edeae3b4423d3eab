"""`caucus validate` end to end: outputs, exit codes and bad input."""

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from caucus.cli import main

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "results-sample.csv"
HEADER = "county,precinct,candidate,first_alignment,final_alignment\n"


def validate(capsys, *args):
    code = main(["validate", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_sample_table(capsys):
    code, out, _ = validate(capsys, SAMPLE)
    assert code == 1
    assert out.startswith(f"{SAMPLE}: 5 reporting units, 3 with findings")
    assert "Example / Growing Township  [final-above-first]  final total 21 > first total 18" in out
    row = next(line for line in out.splitlines() if line.startswith("nonviable-awarded"))
    assert row.split()[-2:] == ["1", "1"]


def test_sample_json(capsys):
    code, out, _ = validate(capsys, SAMPLE, "--format", "json")
    document = json.loads(out)
    assert code == 1
    assert document["units"] == 5
    assert {f["rule"] for f in document["findings"]} == {
        "final-above-first",
        "one-delegate-not-plurality",
        "nonviable-awarded",
        "delegates-off-formula",
    }


def test_sample_csv(capsys):
    _, out, _ = validate(capsys, SAMPLE, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 4
    assert rows[0].keys() == {"rule", "county", "precinct", "line", "detail"}


def test_clean_file_exits_zero(tmp_path, capsys):
    clean = tmp_path / "clean.csv"
    clean.write_text(HEADER + "C,P,A,10,10\nC,P,B,5,5\n")
    assert validate(capsys, clean)[0] == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty file: expected a header row"),
        ("county,precinct,candidate,first_alignment\nC,P,A,1\n", "1: missing column(s)"),
        (HEADER, "2: no result rows after the header"),
        (HEADER + "C,P,A,1,1,extra\n", "2: more fields than the header has"),
    ],
)
def test_unreadable_file_exits_two_with_one_line(tmp_path, capsys, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    code, out, err = validate(capsys, path)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert str(path) in err and message in err


def test_missing_file(tmp_path, capsys):
    code, _, err = validate(capsys, tmp_path / "nowhere.csv")
    assert code == 2 and "cannot open" in err


@pytest.mark.parametrize(
    ("row", "rule", "message"),
    [
        ("C,P,B,abc,5", "bad-count", ":3: first_alignment is 'abc', not a number"),
        ("C,P,B,-4,0", "bad-count", ":3: first_alignment is -4, not a count of zero or more"),
        ("C,P,B,2.5,0", "bad-count", ":3: first_alignment is 2.5, not a whole number"),
        ("C,P,B,,5", "missing-field", ":3: empty first_alignment"),
        ("C,P,A,3,3", "duplicate-report", ":3: A reported twice for this precinct"),
    ],
)
def test_bad_values_are_findings_with_their_line(tmp_path, capsys, row, rule, message):
    path = tmp_path / "values.csv"
    path.write_text(HEADER + "C,P,A,10,10\n" + row + "\nC,Q,A,4,4\n")
    code, out, _ = validate(capsys, path, "--format", "json")
    document = json.loads(out)
    assert code == 1
    assert document["units"] == 2  # nothing lost: the broken unit is still counted
    (finding,) = document["findings"]
    assert finding["rule"] == rule and finding["line"] == 3
    assert finding["detail"] == f"{path}{message}"


def test_no_traceback_from_the_installed_command(tmp_path):
    path = tmp_path / "binary.csv"
    path.write_bytes(b"\xff\xfe\x00garbage")
    done = subprocess.run(
        [sys.executable, "-m", "caucus.cli", "validate", str(path)], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and str(path) in done.stderr


def test_every_command_has_help_with_an_example(capsys):
    from caucus.cli import build_parser

    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    assert "validate" in commands
    for name, sub in commands.items():
        assert "example:" in sub.format_help(), name
        assert f"caucus {name}" in sub.format_help(), name
