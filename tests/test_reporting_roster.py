"""The roster: hashed PINs bound to their precinct, strict loading, and CLI refusals."""

from __future__ import annotations

import csv
import dataclasses
import re

import pytest

from caucus.cli import main
from reporting.roster import (
    CANDIDATES_2020,
    ROSTER_FIELDS,
    RosterError,
    generate,
    load_roster,
    normalize_code,
    pin_sheet_path,
    verify_pin,
    write_roster,
)
from reporting.staff import StaffRoster


@pytest.fixture(scope="module")
def roster():
    return generate(5, seed=11)


@pytest.fixture(scope="module")
def chairs(roster):
    return roster.chairs


def test_pins_verify_only_for_their_precinct(chairs):
    one, two = chairs[0], chairs[1]
    assert verify_pin(one.precinct, one.pin)
    assert not verify_pin(one.precinct, two.pin)
    # The hash binds the PIN to its precinct: copied to another precinct, it verifies nothing.
    assert not verify_pin(dataclasses.replace(one.precinct, precinct_id="P9999"), one.pin)


def test_the_roster_keeps_no_plain_code_or_key(roster, chairs, tmp_path):
    path = tmp_path / "roster.csv"
    write_roster(roster, path, pin_sheet_path(path))
    text = path.read_text() + (tmp_path / "roster-operators.csv").read_text()
    assert all(c.pin not in text for c in chairs)
    assert all(key not in text for key in roster.operators.values())
    loaded = load_roster(path)
    assert loaded.get(chairs[0].precinct.precinct_id) == chairs[0].precinct
    assert loaded.test_roster and loaded.candidates.names == CANDIDATES_2020
    assert set(StaffRoster(path).hashes("operator")) == set(roster.operators)


def test_codes_are_long_unambiguous_and_from_secrets():
    drawn = [c.pin for c in generate(200).chairs]
    assert all(re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}", c) for c in drawn)
    assert len(set(drawn)) == 200
    assert normalize_code("7kq2m x9fhd") == "7KQ2MX9FHD"
    assert normalize_code("O1L23-45678") == "01123456" + "78"
    assert normalize_code("U0000-00000") is None and normalize_code("12345") is None


def test_seeded_rosters_are_refused_unless_marked_for_tests(tmp_path, capsys):
    out = str(tmp_path / "r.csv")
    assert main(["roster", "generate", "--precincts", "3", "--seed", "7", "--out", out]) == 2
    assert "--test-roster" in capsys.readouterr().err
    argv = ["roster", "generate", "--precincts", "3", "--out", out, "--operators", "1"]
    assert main([*argv, "--seed", "7", "--test-roster"]) == 0
    assert "TEST ROSTER" in capsys.readouterr().out
    assert load_roster(tmp_path / "r.csv").test_roster
    assert main(argv) == 0
    assert not load_roster(tmp_path / "r.csv").test_roster


def test_a_candidate_list_with_look_alikes_is_refused(tmp_path, capsys):
    argv = ["roster", "generate", "--precincts", "2", "--out", str(tmp_path / "r.csv")]
    assert main([*argv, "--candidates", "Biden,B\u0456den"]) == 2
    assert "look alike" in capsys.readouterr().err


@pytest.mark.parametrize(
    "rows, message",
    [
        ([], "lists no precincts"),
        ([["P1", "C", "N", "Chair", "555", "3", "scrypt$1$8$1$00$00", "secrets"]] * 2, "twice"),
        (
            [["P1", "C", "N", "Chair", "555", "three", "scrypt$1$8$1$00$00", "secrets"]],
            "bad roster row",
        ),
        ([["P1", "C", "N", "Chair", "555", "3", "plain-pin", "secrets"]], "bad pin_hash"),
        ([["P1", "C", "N", "Chair", "555", "3", "scrypt$1$8$1$00$00", "made up"]], "code_source"),
    ],
)
def test_bad_rosters_are_refused(tmp_path, rows, message):
    path = tmp_path / "roster.csv"
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(ROSTER_FIELDS)
        writer.writerows(rows)
    (tmp_path / "roster-candidates.txt").write_text("Biden\nWarren\n")
    with pytest.raises(RosterError, match=message):
        load_roster(path)


def test_serve_refuses_a_missing_roster(tmp_path, capsys):
    assert main(["serve", "--roster", str(tmp_path / "nope.csv")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_serve_refuses_a_bad_fault_window(reporting_roster, capsys):
    argv = ["serve", "--roster", str(reporting_roster.path), "--fault-outage", "later"]
    assert main(argv) == 2
    assert "START+DURATION" in capsys.readouterr().err
