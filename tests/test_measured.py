"""`caucus measure` and studies/measured.py: every figure on hand-made results worked out by
hand; the 2020 data against iowa-2020's [measured] notes; the command's output and bad input."""

import math
import re
import tomllib
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from statistics import NormalDist

import pytest

from caucus.cli import main
from caucus.results_csv import read_results_csv
from sim.scenario import load_scenario
from studies.measured import (
    Measure,
    first_alignment_by_name,
    main_groups,
    measure_precincts,
    mix_concentrations,
    percentile,
    realignment,
)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "iowa2020"
PRESET = ROOT / "scenarios" / "iowa-2020.toml"
HEADER = "county,precinct,is_satellite,candidate,first_alignment,final_alignment,precinct_delegates"
Z = NormalDist().inv_cdf(0.9)


def results_file(tmp_path, units, name="results.csv"):
    """A results CSV of ``units``: (county, precinct, delegates or None for a satellite,
    {candidate: (first, final)})."""
    lines = [HEADER]
    for county, precinct, delegates, groups in units:
        satellite = delegates is None
        for candidate, (first, final) in groups.items():
            lines.append(
                f"{county},{precinct},{int(satellite)},{candidate},{first},{final},"
                f"{'' if satellite else delegates}"
            )
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def measured(tmp_path, units):
    read = read_results_csv(results_file(tmp_path, units))
    assert read.findings == []
    return {m.key: m for m in measure_precincts(read.results)}


def steady(**first):
    """Groups whose final count is their first."""
    return {name: (n, n) for name, n in first.items()}


# Four precincts in two counties, of 16, 16, 256 and 256, electing 2, 4, 8 and 16 delegates;
# three satellites of 0, 10 and 20.
SIZES = [
    ("Ames", "P1", 2, steady(A=10, B=6)),
    ("Ames", "P2", 4, steady(A=8, B=8)),
    ("Boone", "P3", 8, steady(A=200, B=56)),
    ("Boone", "P4", 16, steady(A=128, B=128)),
    ("Satellite", "S1", None, steady(A=0, B=0)),
    ("Satellite", "S2", None, steady(A=10)),
    ("Satellite", "S3", None, steady(A=5, B=15)),
]


def test_counts_and_sizes_of_precincts_and_satellites(tmp_path):
    m = measured(tmp_path, SIZES)
    assert (m["regular"].value, m["satellites"].value, m["counties"].value) == (4, 3, 2)
    # totals 16, 16, 256, 256: median halfway between the middle two; the 10th percentile
    # lies 0.3 of the way from the first to the second (both 16), the 90th 0.7 of the way
    # from the third to the fourth (both 256)
    assert m["attendance_median"].value == 136
    assert m["attendance_sigma"].value == pytest.approx(math.log(256 / 16) / (2 * Z))
    assert round(m["attendance_sigma"].value, 2) == 1.08
    assert m["attendance_max"].value == 256
    # satellites of 0, 10, 20: the empty one counts; p10 = 0.2 x 10 = 2, p90 = 10 + 0.8 x 10
    assert m["satellite_attendance_median"].value == 10
    assert "(1 had none)" in m["satellite_attendance_median"].how
    assert m["satellite_attendance_sigma"].value == pytest.approx(math.log(18 / 2) / (2 * Z))
    assert "satellite_attendance_max" not in m  # the model has no such key


def test_delegates_median_max_and_their_regression_on_size(tmp_path):
    m = measured(tmp_path, SIZES)
    assert m["delegates_median"].value == 6  # halfway between 4 and 8
    assert m["delegates_max"].value == 16
    # log d on log n: at ln 16 the mean of ln 2 and ln 4, at ln 256 of ln 8 and ln 16; the
    # slope is (3.5 - 1.5) ln 2 / (8 - 4) ln 2 = 0.5, every residual is ln 2 / 2, and four
    # points leave two degrees of freedom: sd = sqrt(4 (ln 2 / 2)^2 / 2) = ln 2 / sqrt 2
    assert m["delegates_attendance_elasticity"].value == pytest.approx(0.5)
    assert m["delegates_sigma"].value == pytest.approx(math.log(2) / math.sqrt(2))


def test_satellites_mostly_empty_have_no_log_sd(tmp_path):
    units = [
        ("Ames", "P1", 3, steady(A=10)),
        *[("Satellite", f"S{i}", None, steady(A=0)) for i in range(3)],
        ("Satellite", "S9", None, steady(A=5)),
    ]
    m = measured(tmp_path, units)
    assert m["satellite_attendance_median"].value == 0
    assert m["satellite_attendance_sigma"].value is None
    assert "10th percentile 0" in m["satellite_attendance_sigma"].how
    # one precinct: no percentile spread to speak of, no regression
    assert m["attendance_sigma"].value == 0
    assert m["delegates_sigma"].value is None and m["delegates_attendance_elasticity"].value is None


def test_no_satellites_and_no_delegates_are_said_not_measured(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text(
        "county,precinct,candidate,first_alignment,final_alignment\nC,P,A,5,5\nC,Q,A,7,7\n"
    )
    m = {x.key: x for x in measure_precincts(read_results_csv(path).results)}
    assert m["satellites"].value == 0
    assert m["satellite_attendance_median"].value is None
    assert m["delegates_median"].value is None and m["delegates_max"].value is None
    assert "no precinct_delegates" in m["delegates_sigma"].how


def test_groups_are_the_names_of_half_a_percent_or_more_largest_first_ties_by_name(tmp_path):
    units = [
        ("Ames", "P1", 5, steady(Zed=300, Abe=200, Cy=391)),
        ("Satellite", "S1", None, steady(Abe=100, Di=5, Ed=4)),  # satellites count too
    ]
    m = measured(tmp_path, units)
    assert m["groups"].value == ("Cy", "Abe", "Zed", "Di")  # Di has 5 of 1,000: just in
    assert m["group_shares"].value == {"Cy": 0.391, "Abe": 0.3, "Zed": 0.3, "Di": 0.005}
    assert "99.60% of it; the rest (0.40%): Ed 0.40%" in m["groups"].how


# Two precincts of 100 and one of 10 (too small for the mix, but its supporters count in the
# shares), and a satellite (never in the mix).
MIX = [
    ("Ames", "M1", 5, steady(A=70, B=20, C=10)),
    ("Ames", "M2", 5, steady(A=50, B=30, C=20)),
    ("Ames", "M3", 1, steady(C=10)),
    ("Satellite", "MS1", None, steady(A=19)),
]


def test_mix_concentration_per_group_and_weighted_by_share(tmp_path):
    m = measured(tmp_path, MIX)
    results = read_results_csv(results_file(tmp_path, MIX)).results
    each = mix_concentrations(results, ["A", "B", "C"])
    # A's shares 0.7 and 0.5: mean p 0.6, variance 0.02 (n - 1), p(1 - p) 0.24; 1/N averages
    # 0.01, 1 - 1/N 0.99: 1 + a = 0.99 / (0.02 / 0.24 - 0.01) = 13.5
    assert each["A"] == pytest.approx(12.5)
    # B: 0.2 and 0.3, p 0.25, variance 0.005: 1 + a = 0.99 / (0.005 / 0.1875 - 0.01) = 59.4
    assert each["B"] == pytest.approx(58.4)
    # C: 0.1 and 0.2, p 0.15, variance 0.005: 1 + a = 0.99 / (0.005 / 0.1275 - 0.01)
    assert each["C"] == pytest.approx(0.99 * 5100 / 149 - 1)
    # statewide A 139, B 50, C 40 of 229 supporters
    weighted = (139 * 12.5 + 50 * 58.4 + 40 * (0.99 * 5100 / 149 - 1)) / 229
    assert m["mix_concentration"].value == pytest.approx(weighted)
    assert m["group_shares"].value == pytest.approx({"A": 139 / 229, "B": 50 / 229, "C": 40 / 229})


def test_a_mix_no_more_varied_than_counting_noise_is_not_measured(tmp_path):
    units = [("Ames", f"P{i}", 3, steady(A=25, B=25)) for i in range(3)]
    m = measured(tmp_path, units)
    assert m["mix_concentration"].value is None
    assert "A, B vary over the precincts of 20 or more no more than counting" in (
        m["mix_concentration"].how
    )
    few = measured(tmp_path, [("Ames", "P1", 3, steady(A=25, B=5)), ("Ames", "P2", 1, steady(A=9))])
    assert few["mix_concentration"].value is None


HOME = ("Ames", "home", 3, {"A": (20, 20), "B": (5, 0)})  # B went home: 25 -> 20
JOINED = ("Ames", "joined", 3, {"A": (20, 25), "B": (5, 0)})  # B joined A
ABOVE = ("Ames", "above", 3, {"A": (10, 25), "C": (10, 0)})  # final above first: a mistake
# 8 left, more than C's 4: at most C's 4 count as C's leavers; B's 2 still stand
BOTH = ("Boone", "both", 3, {"A": (20, 20), "B": (6, 2), "C": (4, 0), "D": (0, 0)})


@pytest.mark.parametrize(
    ("units", "share"),
    [([HOME], 0.0), ([JOINED], 1.0), ([HOME, JOINED], 0.5), ([HOME, JOINED, ABOVE, BOTH], 5 / 14)],
)
def test_realign_join_share(tmp_path, units, share):
    assert measured(tmp_path, units)["realign_join_share"].value == pytest.approx(share)


def test_realignment_counts_and_the_units_left_out(tmp_path):
    units = [HOME, JOINED, ABOVE, BOTH]
    moved = realignment(read_results_csv(results_file(tmp_path, units)).results)
    assert (moved.vanished_all, moved.units_left_out, moved.vanished, moved.left) == (24, 1, 14, 9)
    m = measured(tmp_path, [("Ames", "P", 3, steady(A=9))])
    assert m["realign_join_share"].value is None


def test_measure_agrees_at_its_rounding():
    sigma = Measure("attendance_sigma", 1.1214, 2, "")
    assert sigma.agrees(1.12) and sigma.agrees(1.125) and not sigma.agrees(1.09)
    assert Measure("counties", 99, None, "").agrees(99)
    assert not Measure("counties", 99, None, "").agrees(98)
    groups = Measure("groups", ("A", "B"), None, "")
    assert groups.agrees(("B", "A")) and not groups.agrees(("A",))
    shares = Measure("group_shares", {"A": 0.25, "B": 0.7}, 3, "")
    assert shares.agrees({"B": 0.7004, "A": 0.25, "C": 0.05})
    assert not shares.agrees({"A": 0.25}) and not shares.agrees({"A": 0.25, "B": 0.71})
    assert not Measure("mix_concentration", None, None, "").agrees(20.0)


# --- the command


def measure(capsys, *args):
    code = main(["measure", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_block_pastes_into_a_scenario(tmp_path, capsys):
    code, out, err = measure(capsys, results_file(tmp_path, SIZES + MIX[:2]))
    assert code == 0 and err == ""
    assert "a unit's first-alignment total stands in for it" in out
    table = tomllib.loads(out)["precincts"]
    assert table["attendance_median"] == 100.0 and table["groups"] == ["A", "B", "C"]
    assert all(line.startswith("# ") for line in out.splitlines() if "not measur" in line)
    scenario = tmp_path / "pasted.toml"
    scenario.write_text(out)
    assert load_scenario(scenario).night.precincts.counties == 2


def test_scenario_values_are_shown_and_differences_flagged(tmp_path, capsys):
    scenario = tmp_path / "mine.toml"
    scenario.write_text(
        "[precincts]\nregular = 4\nsatellites = 3\ncounties = 2\nattendance_median = 136.0\n"
        "attendance_sigma = 1.09\ngroups = ['B', 'A']\ngroup_shares = [0.46, 0.54]\n"
    )
    code, out, _ = measure(capsys, results_file(tmp_path, SIZES), "--scenario", scenario)
    assert code == 0
    lines = {line.split(" = ")[0]: line for line in out.splitlines() if " = " in line}
    assert lines["counties"].endswith("# scenario 2: same")
    assert lines["attendance_median"].endswith("# scenario 136: same")
    assert lines["attendance_sigma"].startswith("attendance_sigma = 1.08  # scenario 1.09")
    assert lines["attendance_sigma"].endswith("DIFFERS")
    assert lines["groups"].endswith('# scenario ["B", "A"]: same')
    # A has 361 of the 574 supporters (0.629), B 213 (0.371)
    assert lines["group_shares"].startswith("group_shares = [0.629, 0.371]")
    assert lines["group_shares"].endswith("# scenario [A 0.54, B 0.46]: DIFFERS")
    differ = sum(line.endswith("DIFFERS") for line in lines.values())
    assert f"# {differ} of {len(lines)} differ" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", ":1: empty file: expected a header row"),
        ("county,precinct,candidate,first_alignment\nC,P,A,1\n", ":1: missing column(s): final"),
        (HEADER + "\n", ":2: no result rows after the header"),
        (HEADER + "\nC,P,0,A,3,3,2\nC,P,0,B,x,2,2\n", ":3: first_alignment is 'x', not a number"),
        (HEADER + "\nC,P,0,A,3,3,\n", ":2: empty precinct_delegates"),
        (HEADER + "\nC,P,0,A,3,-1,2\n", ":2: final_alignment is -1, not a count of zero or more"),
    ],
)
def test_a_bad_file_is_one_line_naming_file_row_and_column(tmp_path, capsys, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    code, out, err = measure(capsys, path)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"caucus measure: {path}{message}")


def test_more_bad_rows_are_counted_on_the_same_line(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text(f"{HEADER}\nC,P,0,A,x,3,2\nC,Q,0,A,4,y,2\nC,R,0,A,4,z,2\n")
    code, _, err = measure(capsys, path)
    assert code == 2 and err.count("\n") == 1
    assert err.rstrip().endswith("first_alignment is 'x', not a number (and 2 more bad rows)")


def test_a_missing_file_or_scenario_exits_two(tmp_path, capsys):
    code, _, err = measure(capsys, tmp_path / "nowhere.csv")
    assert code == 2 and "nowhere.csv: cannot open" in err
    good = results_file(tmp_path, SIZES)
    code, out, err = measure(capsys, good, "--scenario", tmp_path / "nowhere.toml")
    assert code == 2 and out == "" and "nowhere.toml" in err and err.count("\n") == 1


# --- the 2020 data and iowa-2020's [measured] notes

NOTES = {
    key.removeprefix("precincts."): note
    for key, note in load_scenario(PRESET).measured.items()
    if key.startswith("precincts.")
}
iowa2020 = pytest.mark.iowa2020


@pytest.fixture(scope="module")
def real():
    path = DATA / "results_feb06_100pct.csv"
    if not path.exists():
        pytest.skip("../shared/data/iowa2020 is absent")
    results = read_results_csv(path).results
    return results, {m.key: m for m in measure_precincts(results)}


def _totals(results, satellite):
    return [u.first_total for u in results if u.is_satellite == satellite]


def _shares(results):
    totals = first_alignment_by_name(results)
    whole = sum(totals.values())
    return {name: 100 * n / whole for name, n in totals.items()}


def _mix(results):
    return mix_concentrations(results, main_groups(first_alignment_by_name(results)))


def _number(text):
    return text.replace(",", "")


def _value(key):
    """Our figure for a note: the measure of ``key``."""
    return lambda r, m: m[key].value


WORDS = {"four": "4", "eight": "8"}
FIGURES = {
    # (key, figure): (the note's pattern, our figure from (results, measures))
    ("counties", "precincts"): (r"the ([\d,]+) precincts", _value("regular")),
    ("counties", "counties"): (r"in (\d+) counties", _value("counties")),
    ("attendance_median", "median"): (
        r"median ([\d.]+)",
        _value("attendance_median"),
    ),
    ("attendance_sigma", "log-sd"): (
        r"log-sd of ([\d.]+)",
        _value("attendance_sigma"),
    ),
    ("attendance_sigma", "p10"): (
        r"percentiles, (\d+) and",
        lambda r, m: percentile(_totals(r, False), 10),
    ),
    ("attendance_sigma", "p90"): (
        r"percentiles, \d+ and (\d+)",
        lambda r, m: percentile(_totals(r, False), 90),
    ),
    ("attendance_max", "max"): (
        r"the largest precinct, (\d+)",
        lambda r, m: max(_totals(r, False)),
    ),
    ("satellite_attendance_median", "satellites"): (
        r"the ([\d,]+) satellite",
        _value("satellites"),
    ),
    ("satellite_attendance_median", "median"): (
        r"median (\d+)",
        _value("satellite_attendance_median"),
    ),
    ("satellite_attendance_median", "none"): (
        r"\((\w+) had none\)",
        lambda r, m: _totals(r, True).count(0),
    ),
    ("satellite_attendance_sigma", "p10"): (
        r"10th percentile (\d+)",
        lambda r, m: percentile(_totals(r, True), 10),
    ),
    ("satellite_attendance_sigma", "p90"): (
        r"90th ([\d.]+)",
        lambda r, m: percentile(_totals(r, True), 90),
    ),
    ("satellite_attendance_sigma", "log-sd"): (
        r"log-sd of ([\d.]+)",
        _value("satellite_attendance_sigma"),
    ),
    ("delegates_median", "median"): (r"median (\d+)", _value("delegates_median")),
    ("delegates_sigma", "log-sd"): (r"log-sd of ([\d.]+)", _value("delegates_sigma")),
    ("delegates_attendance_elasticity", "slope"): (
        r"slope is ([\d.]+)",
        _value("delegates_attendance_elasticity"),
    ),
    ("delegates_max", "min"): (
        r"(\d+) to \d+ county",
        lambda r, m: min(u.delegates_to_elect for u in r if not u.is_satellite),
    ),
    ("delegates_max", "max"): (r"\d+ to (\d+) county", _value("delegates_max")),
    ("groups", "names"): (r"its (\w+) largest names", lambda r, m: len(m["groups"].value)),
    ("groups", "covered"): (
        r"names, ([\d.]+)% of it",
        lambda r, m: sum(_shares(r)[g] for g in m["groups"].value),
    ),
    ("groups", "rest"): (
        r"had ([\d.]+)% together",
        lambda r, m: 100 - sum(_shares(r)[g] for g in m["groups"].value),
    ),
    **{
        ("group_shares", name): (
            rf"gives(?: [^;]*)? {name} ([\d.]+)%",
            lambda r, m, name=name: _shares(r)[name],
        )
        for name in ("Sanders", "Buttigieg", "Warren", "Biden", "Klobuchar", "Yang", "Steyer")
    },
    ("group_shares", "Uncommitted"): (
        r"Uncommitted ([\d.]+)%;",
        lambda r, m: _shares(r)["Uncommitted"],
    ),
    ("mix_concentration", "Sanders"): (r"gives (\d+) \(Sanders\)", lambda r, m: _mix(r)["Sanders"]),
    ("mix_concentration", "Warren"): (r"to (\d+) \(Warren\)", lambda r, m: _mix(r)["Warren"]),
    ("mix_concentration", "weighted"): (
        r"(\d+) weighted",
        _value("mix_concentration"),
    ),
    ("realign_join_share", "vanished"): (
        r"of the ([\d,]+) first-alignment supporters",
        lambda r, m: realignment(r).vanished_all,
    ),
    ("realign_join_share", "units left out"): (
        r"those of the (\d+) units",
        lambda r, m: realignment(r).units_left_out,
    ),
    ("realign_join_share", "counted"): (
        r"of the ([\d,]+) counted",
        lambda r, m: realignment(r).vanished,
    ),
    ("realign_join_share", "left"): (r"([\d,]+) left the count", lambda r, m: realignment(r).left),
    ("realign_join_share", "joined"): (
        r"(\d+)% joined",
        lambda r, m: 100 * m["realign_join_share"].value,
    ),
}


def _case(key, figure):
    return pytest.param(key, figure, marks=iowa2020, id=f"{key}:{figure}")


@pytest.mark.parametrize(("key", "figure"), [_case(*k) for k in FIGURES])
def test_each_figure_a_note_states_is_the_datas(real, key, figure):
    pattern, ours = FIGURES[key, figure]
    found = re.search(pattern, NOTES[key])
    assert found, f"the note of {key} no longer states its {figure}: {NOTES[key]}"
    stated = Decimal(_number(WORDS.get(found[1], found[1])))
    value = Decimal(str(ours(*real))).quantize(stated, rounding=ROUND_HALF_UP)
    assert value == stated, f"{key}: the note states {stated}, the data give {ours(*real)}"


def test_every_precincts_note_is_checked():
    assert {key for key, _ in FIGURES} == set(NOTES)


@pytest.mark.parametrize(
    ("preset", "key"),
    [
        pytest.param(preset, key, marks=iowa2020, id=f"{preset}:{key}")
        for preset in ("iowa-2020", "iowa-2016")
        for key in NOTES
    ],
)
def test_each_preset_value_is_the_datas(real, preset, key):
    """At the measurement's rounding, as ``caucus measure --scenario`` reads it (2016 borrows
    2020's figures); the groups in the data's order, largest first."""
    precincts = load_scenario(ROOT / "scenarios" / f"{preset}.toml").night.precincts
    measured = real[1][key]
    value = getattr(precincts, key)
    if key == "group_shares":
        value = dict(zip(precincts.groups, value, strict=True))
    if key == "groups":
        assert value == measured.value
    assert measured.agrees(value), f"{preset} sets {key} = {value}, the data give {measured.value}"


@iowa2020
def test_the_preset_mix_concentration_lies_in_the_groups_span(real):
    """Its note: one concentration cannot match every group; the weighted one lies in their
    span."""
    each = _mix(real[0])
    assert (
        min(each.values())
        < load_scenario(PRESET).night.precincts.mix_concentration
        < max(each.values())
    )
