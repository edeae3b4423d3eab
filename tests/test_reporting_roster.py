"""The roster: hashed PINs bound to their precinct, strict loading, and CLI refusals."""

from __future__ import annotations

import csv
import dataclasses

import pytest

from caucus.cli import main
from reporting.roster import (
    ROSTER_FIELDS,
    RosterError,
    generate,
    load_roster,
    pin_sheet_path,
    verify_pin,
    write_roster,
)


@pytest.fixture(scope="module")
def chairs():
    return generate(5, seed=11, cost=(1024, 8, 1))


def test_pins_verify_only_for_their_precinct(chairs):
    one, two = chairs[0], chairs[1]
    assert verify_pin(one.precinct, one.pin)
    assert not verify_pin(one.precinct, two.pin if two.pin != one.pin else "000000")
    # The hash binds the PIN to its precinct: copied to another precinct, it verifies nothing.
    assert not verify_pin(dataclasses.replace(one.precinct, precinct_id="P9999"), one.pin)


def test_the_roster_keeps_no_plain_pin(chairs, tmp_path):
    path = tmp_path / "roster.csv"
    write_roster(chairs, path, pin_sheet_path(path))
    text = path.read_text()
    assert all(c.pin not in text for c in chairs)
    assert load_roster(path).get(chairs[0].precinct.precinct_id) == chairs[0].precinct


@pytest.mark.parametrize(
    "rows, message",
    [
        ([], "lists no precincts"),
        ([["P1", "C", "N", "Chair", "555", "3", "scrypt$1$8$1$00$00"]] * 2, "listed twice"),
        ([["P1", "C", "N", "Chair", "555", "three", "scrypt$1$8$1$00$00"]], "bad roster row"),
        ([["P1", "C", "N", "Chair", "555", "3", "plain-pin"]], "bad pin_hash"),
    ],
)
def test_bad_rosters_are_refused(tmp_path, rows, message):
    path = tmp_path / "roster.csv"
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(ROSTER_FIELDS)
        writer.writerows(rows)
    with pytest.raises(RosterError, match=message):
        load_roster(path)


def test_serve_refuses_a_missing_roster(tmp_path, capsys):
    assert main(["serve", "--roster", str(tmp_path / "nope.csv")]) == 2
    assert "cannot read roster" in capsys.readouterr().err


def test_serve_refuses_a_bad_fault_window(reporting_roster, capsys):
    argv = ["serve", "--roster", str(reporting_roster.path), "--fault-outage", "later"]
    assert main(argv) == 2
    assert "START+DURATION" in capsys.readouterr().err
