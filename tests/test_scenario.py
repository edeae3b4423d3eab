"""Scenario files: merging, clock times, and one clear line for every kind of mistake."""

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from sim.config import NightConfig
from sim.scenario import ScenarioError, load_scenario, parse_minutes
from studies.run_folder import html_inputs, to_toml

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("+21h", 1260),
        ("90min", 90),
        ("2.5h", 150),
        ("22:00", 180),
        ("18:00", -60),
        ("00:30", 330),
        ("16:00", -180),  # noon to noon: the afternoon before the caucus
        ("11:59", 1019),
        ("9pm", 120),
        ("9 PM", 120),
        ("9:00 PM", 120),
        ("10:30 p.m.", 210),
        ("12am", 300),  # midnight
        ("1:15am", 375),
        ("12pm", -420),  # noon on caucus day
        ("11:59 AM", 1019),
        ("8 hours", 480),
        ("1 hour", 60),
        ("45 minutes", 45),
    ],
)
def test_parse_minutes(text, minutes):
    assert parse_minutes(text) == minutes


@pytest.mark.parametrize("text", ["soon", "25:00", "22:75", "-3h", "13pm", "0am", "9:75pm", "9"])
def test_parse_minutes_rejects(text):
    with pytest.raises(ValueError, match="not a"):
        parse_minutes(text)


def test_extends_overrides_a_few_keys(tmp_path):
    write(tmp_path, "base.toml", 'name = "base"\nseed = 3\n[hotline]\nlines = 50\noperators = 20\n')
    variant = write(
        tmp_path,
        "variant.toml",
        'extends = "base.toml"\nname = "more lines"\n[hotline]\nlines = 100\n'
        '[prank]\nleak_min = "22:00"\n[release]\nbatch_times_min = ["+21h", 1680]\n',
    )
    scenario = load_scenario(variant)
    assert scenario.name == "more lines" and scenario.seed == 3
    assert (scenario.night.hotline.lines, scenario.night.hotline.operators) == (100, 20)
    assert scenario.night.prank.leak_min == 180.0
    assert scenario.night.release.batch_times_min == (1260.0, 1680.0)
    assert scenario.night.precincts == NightConfig().precincts  # untouched keys keep defaults


def test_outage_windows_take_clock_times(tmp_path):
    path = write(tmp_path, "s.toml", '[app]\noutages = [["9pm", "22:30"], [400, "+8h"]]\n')
    assert load_scenario(path).night.app.outages == ((120.0, 210.0), (400.0, 480.0))


def test_a_missing_file_gets_the_nearest_name(tmp_path):
    write(tmp_path, "iowa-2020.toml", "")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(tmp_path / "iowa2020.toml")
    assert f"(did you mean {tmp_path / 'iowa-2020.toml'}?)" in str(caught.value)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(tmp_path / "nothing-like-it.toml")
    assert "did you mean" not in str(caught.value)


def test_a_mistyped_preset_name_gets_the_nearest_preset(tmp_path, capsys):
    from caucus.cli import main

    assert main(["simulate", "iowa2020", "--out", str(tmp_path / "run")]) == 2
    assert "scenario file iowa2020 not found (did you mean the preset iowa-2020?)" in (
        capsys.readouterr().err
    )


def test_fewer_lines_than_operators_is_a_warning(tmp_path):
    few = load_scenario(write(tmp_path, "few.toml", "[hotline]\nlines = 30\noperators = 40\n"))
    assert few.warnings() == [
        "hotline: 30 lines for 40 operators: at most 30 operators can ever be on a call"
    ]
    assert few.with_overrides({"hotline.lines": 40}).warnings() == []


def test_differences_from_the_base_file_and_from_overrides(tmp_path):
    write(tmp_path, "base.toml", 'name = "base"\n[hotline]\nlines = 50\noperators = 20\n')
    variant = write(
        tmp_path, "variant.toml", 'extends = "base.toml"\n[hotline]\nlines = 100\noperators = 20\n'
    )
    scenario = load_scenario(variant)
    assert scenario.base.name == "base"
    assert scenario.differences() == [("hotline.lines", 50, 100)]
    swept = scenario.with_overrides({"prank.leak_min": "never"})
    assert swept.differences() == [("hotline.lines", 50, 100), ("prank.leak_min", 180.0, None)]
    plain = load_scenario(tmp_path / "base.toml")
    assert plain.base is None and plain.differences() == []
    assert plain.with_overrides({"hotline.lines": 70}).differences() == [("hotline.lines", 50, 70)]


SHIFTS = """[hotline]
operators = 24
lines = 100
[[hotline.shifts]]
from_min = "9pm"
operators = 60
[[hotline.shifts]]
from_min = "2:00 AM"
operators = 12
lines = 30
[hq]
verifiers = 10
[[hq.shifts]]
from_min = "+6h"
verifiers = 4
data_entry_staff = 2
"""


def test_staff_by_shift(tmp_path):
    scenario = load_scenario(write(tmp_path, "shifts.toml", SHIFTS))
    first, second = scenario.night.hotline.shifts
    assert (first.from_min, first.operators, first.lines) == (120.0, 60, None)
    assert (second.from_min, second.operators, second.lines) == (420.0, 12, 30)
    (hq,) = scenario.night.hq.shifts
    assert (hq.from_min, hq.verifiers, hq.data_entry_staff) == (360.0, 4, 2)
    again = load_scenario(write(tmp_path, "again.toml", to_toml(scenario.table)))
    assert again.night == scenario.night
    assert scenario.warnings() == []
    few = SHIFTS.replace("lines = 30", "lines = 10")
    assert load_scenario(write(tmp_path, "few.toml", few)).warnings() == [
        "hotline from 420 min: 10 lines for 12 operators: at most 10 operators can ever be on "
        "a call"
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[[hotline.shifts]]\nfrom_min = "23:00"\n[[hotline.shifts]]\nfrom_min = "22:00"\n',
            "hotline: shifts must start in time order",
        ),
        ("[[hotline.shifts]]\noperators = 3\n", "hotline.shifts[0]: "),
        ('[[hq.shifts]]\nfrom_min = "9pm"\nverifers = 3\n', "did you mean hq.shifts[0].verifiers?"),
        (
            '[[hq.shifts]]\nfrom_min = "9pm"\nverifiers = -3\n',
            "hq.shifts[0].verifiers: must not be",
        ),
    ],
)
def test_bad_shifts_name_the_key(tmp_path, text, message):
    with pytest.raises(ScenarioError) as caught:
        load_scenario(write(tmp_path, "bad.toml", text))
    assert message in str(caught.value)


def test_never_leaks(tmp_path):
    path = write(tmp_path, "s.toml", '[prank]\nleak_min = "never"\n')
    assert load_scenario(path).night.prank.leak_min is None


def test_overrides_revalidate(tmp_path):
    scenario = load_scenario(write(tmp_path, "s.toml", "[hotline]\nlines = 50\n"))
    assert scenario.with_overrides({"hotline.lines": 90}).night.hotline.lines == 90
    with pytest.raises(ScenarioError, match=r"hotline\.lines: must not be negative"):
        scenario.with_overrides({"hotline.lines": -1})


def test_resolved_table_round_trips_through_toml(tmp_path):
    text = '[prank]\nleak_min = "22:00"\n[app]\noutages = [[60, 120.5]]\n'
    scenario = load_scenario(write(tmp_path, "s.toml", 'name = "x"\n' + text))
    assert tomllib.loads(to_toml(scenario.table)) == scenario.table


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[hotline]\nlnes = 3\n", "hotline.lnes: unknown key (did you mean hotline.lines?)"),
        ("[hotlin]\nlines = 3\n", "hotlin: unknown key (did you mean hotline?)"),
        ('[hotline]\nlines = "many"\n', "hotline.lines: expected a whole number, got 'many'"),
        ("[public]\nrate_per_min = -1\n", "public.rate_per_min: must not be negative"),
        ("[app]\ninstalled_share = 1.5\n", "app.installed_share: is a probability or share"),
        ('[prank]\nleak_min = "soon"\n', "prank.leak_min: 'soon' is not a time"),
        ("[app]\noutages = [[60]]\n", "app.outages[0]: expected 2 items"),
        ("hotline = 3\n", "hotline: expected a table"),
        ("replications = 0\n", "replications: must be at least 1"),
        ("[hotline\n", "not valid TOML"),
        ('extends = "nowhere.toml"\n', "extends: scenario file"),
        ('[facts]\n"hotline.lines" = "AP"\n', "facts.hotline.lines: not set in the scenario"),
        ('[hotline]\nlines = 5\n[facts]\n"hotline.lines" = 5\n', "expected the source as text"),
        (
            '[calibrate]\n"hotline.lnes" = {range = [1, 2], why = "x"}\n',
            "calibrate.hotline.lnes: not a key of the night",
        ),
        (
            '[calibrate]\n"hotline.lines" = {range = [9, 2], why = "x"}\n',
            "calibrate.hotline.lines: range: expected [low, high] numbers with low < high",
        ),
        (
            '[calibrate]\n"hotline.lines" = {range = [1, 9]}\n',
            "calibrate.hotline.lines: expected {range = [low, high], why",
        ),
        (
            '[calibrate]\n"hotline.lines" = {range = [1, 9], why = " "}\n',
            "calibrate.hotline.lines: why: give the reasoning",
        ),
        (
            '[calibrate]\n"app.installed_share" = {range = [0, 2], why = "x"}\n',
            "calibrate.app.installed_share: range: is a probability or share",
        ),
        (
            '[calibrate]\n"release.mode" = {range = [0, 1], why = "x"}\n',
            "calibrate.release.mode: only numbers can be fitted",
        ),
        (
            '[hotline]\noperators = 45\n[facts]\n"hotline.operators" = "IDP: 45 phones"\n'
            '[calibrate]\n"hotline.operators" = {range = [20, 90], why = "x"}\n',
            "calibrate.hotline.operators: is a fact (IDP: 45 phones); a fact is set as stated",
        ),
        (
            '[measured]\n"precincts.counties" = "2020 results"\n',
            "measured.precincts.counties: not set in the scenario; a measured value is set as "
            "measured ([precincts] counties = ...)",
        ),
        ('[choices]\n"horizon_min" = "a week"\n', "choices.horizon_min: not set in the scenario"),
        ("horizon_min = 60.0\n[choices]\nhorizon_min = 1\n", "expected the reasoning as text"),
        (
            '[precincts]\ncounties = 99\n[measured]\n"precincts.counties" = "2020 results"\n'
            '[calibrate]\n"precincts.counties" = {range = [90, 99], why = "x"}\n',
            "calibrate.precincts.counties: is measured (2020 results); a measured value is set "
            "as measured, never fitted",
        ),
        (
            '[hotline]\npin_screening = false\n[facts]\n"hotline.pin_screening" = "AP"\n'
            '[choices]\n"hotline.pin_screening" = "off"\n',
            "choices.hotline.pin_screening: is a fact (AP); a value is stated in one table only",
        ),
        (
            '[mistakes]\nweights = [1, 1, 1, 1, 1, 1]\n[measured]\n"mistakes.weights" = "x"\n'
            '[calibrate]\n"mistakes.weights[2]" = {range = [0.1, 2], why = "y"}\n',
            "calibrate.mistakes.weights[2]: is measured (x)",
        ),
        (
            '[calibrate]\n"mistakes.weights[6]" = {range = [0, 1], why = "x"}\n',
            "calibrate.mistakes.weights[6]: mistakes.weights has 6 items",
        ),
        (
            '[calibrate]\n"hotline.lines[0]" = {range = [1, 9], why = "x"}\n',
            "calibrate.hotline.lines[0]: hotline.lines is not a list",
        ),
        (
            '[calibrate]\n"precincts.groups[0]" = {range = [0, 1], why = "x"}\n',
            "calibrate.precincts.groups[0]: only numbers can be fitted, this is 'Buttigieg'",
        ),
    ],
)
def test_bad_scenarios_name_file_and_key(tmp_path, text, message):
    path = write(tmp_path, "bad.toml", text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert str(caught.value).startswith(str(path))
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


RECORDED = """name = "recorded"
[hotline]
operators = 45
lines = 600
[facts]
"hotline.operators" = "IDP statement (AP, 6 Feb 2020): 45 phones taking calls"
[calibrate]
"hotline.lines" = { range = [50, 1000], why = "nobody recorded how many callers it queued" }
"""


def test_facts_and_unknowns_are_kept_apart(tmp_path):
    scenario = load_scenario(write(tmp_path, "recorded.toml", RECORDED))
    assert scenario.value("hotline.operators") == 45
    assert scenario.facts["hotline.operators"].source.startswith("IDP statement")
    lines = scenario.unknowns["hotline.lines"]
    assert (lines.low, lines.high, lines.integer) == (50.0, 1000.0, True)
    assert "queued" in lines.why
    assert tomllib.loads(to_toml(scenario.table)) == scenario.table


def test_a_value_set_over_a_fact_makes_a_what_if(tmp_path):
    write(tmp_path, "recorded.toml", RECORDED)
    variant = write(tmp_path, "more.toml", 'extends = "recorded.toml"\n[hotline]\noperators = 90\n')
    what_if = load_scenario(variant)
    assert what_if.value("hotline.operators") == 90
    assert "hotline.operators" not in what_if.facts
    assert "hotline.lines" in what_if.unknowns  # still not known
    kept = load_scenario(tmp_path / "recorded.toml")
    assert "hotline.operators" in kept.facts
    swept = kept.with_overrides({"hotline.operators": 10})
    assert swept.value("hotline.operators") == 10 and not swept.facts
    assert kept.with_overrides({"hotline.lines": 70}).facts.keys() == {"hotline.operators"}


def test_a_value_set_over_an_unknown_is_a_decision(tmp_path):
    write(tmp_path, "recorded.toml", RECORDED)
    variant = write(tmp_path, "plan.toml", 'extends = "recorded.toml"\n[hotline]\nlines = 90\n')
    decided = load_scenario(variant)
    assert decided.value("hotline.lines") == 90 and "hotline.lines" not in decided.unknowns
    assert "hotline.operators" in decided.facts
    again = write(
        tmp_path,
        "again.toml",
        'extends = "recorded.toml"\n[hotline]\nlines = 90\n'
        '[calibrate]\n"hotline.lines" = { range = [60, 120], why = "still unsure" }\n',
    )
    assert load_scenario(again).unknowns["hotline.lines"].low == 60


def test_extends_cycle(tmp_path):
    write(tmp_path, "a.toml", 'extends = "b.toml"\n')
    write(tmp_path, "b.toml", 'extends = "a.toml"\n')
    with pytest.raises(ScenarioError, match="cycle"):
        load_scenario(tmp_path / "a.toml")


def test_simulate_refuses_a_bad_scenario_without_a_traceback(tmp_path):
    path = write(tmp_path, "bad.toml", "[hotline]\nlnes = 3\n")
    out = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-m", "caucus.cli", "simulate", str(path), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "did you mean hotline.lines?" in done.stderr
    assert not out.exists()


@pytest.mark.parametrize("preset", sorted(SCENARIOS.glob("*.toml")), ids=lambda p: p.name)
def test_every_preset_loads_and_says_what_it_is(preset):
    scenario = load_scenario(preset)
    assert scenario.description.strip()
    assert preset.read_text().startswith("#")  # documented at its top


STATED = """name = "stated"
horizon_min = 4320.0
[precincts]
counties = 99
[mistakes]
weights = [0.35, 0.15, 0.15, 0.1, 0.15, 0.1]
[hotline]
pin_screening = false
[measured]
"precincts.counties" = "2020 results: 99 counties"
[choices]
"horizon_min" = "three days"
"hotline.pin_screening" = "no screen"
[calibrate]
"mistakes.weights[0]" = { range = [0.02, 1.0], why = "not recorded" }
"mistakes.weights[5]" = { range = [0.02, 1.0], why = "not recorded either" }
"""


def test_measured_values_and_choices_are_stated_apart(tmp_path):
    scenario = load_scenario(write(tmp_path, "stated.toml", STATED))
    assert scenario.measured == {"precincts.counties": "2020 results: 99 counties"}
    assert scenario.choices == {"horizon_min": "three days", "hotline.pin_screening": "no screen"}
    assert scenario.value("horizon_min") == 4320.0 and not scenario.facts
    first = scenario.unknowns["mistakes.weights[0]"]
    assert (first.low, first.high, first.integer) == (0.02, 1.0, False)
    assert scenario.value("mistakes.weights[5]") == 0.1
    assert tomllib.loads(to_toml(scenario.table)) == scenario.table


def test_an_item_of_a_list_is_fitted_on_its_own(tmp_path):
    scenario = load_scenario(write(tmp_path, "stated.toml", STATED))
    fitted = scenario.with_overrides({"mistakes.weights[0]": 0.9, "mistakes.weights[5]": 0.5})
    assert fitted.night.mistakes.weights == (0.9, 0.15, 0.15, 0.1, 0.15, 0.5)
    assert fitted.unknowns.keys() == scenario.unknowns.keys()
    assert fitted.measured == scenario.measured and fitted.choices == scenario.choices
    unset = load_scenario(write(tmp_path, "unset.toml", 'name = "unset"\n'))  # the defaults'
    assert unset.with_overrides({"mistakes.weights[1]": 0.5}).night.mistakes.weights == (
        0.35,
        0.5,
        0.15,
        0.1,
        0.15,
        0.1,
    )
    with pytest.raises(ScenarioError, match=r"--set mistakes.weights\[6\]: .* has 6 items"):
        scenario.with_overrides({"mistakes.weights[6]": 0.5})


def test_a_value_set_over_a_measured_value_or_a_choice_is_a_what_if(tmp_path):
    write(tmp_path, "stated.toml", STATED)
    variant = write(
        tmp_path,
        "variant.toml",
        'extends = "stated.toml"\n[precincts]\ncounties = 20\n[hotline]\npin_screening = true\n',
    )
    what_if = load_scenario(variant)
    assert what_if.measured == {} and what_if.choices == {"horizon_min": "three days"}
    assert what_if.unknowns.keys() == {"mistakes.weights[0]", "mistakes.weights[5]"}
    kept = load_scenario(tmp_path / "stated.toml")
    assert kept.with_overrides({"horizon_min": 600.0}).choices == {
        "hotline.pin_screening": "no screen"
    }
    # a variant that sets the list decides its items: they are no longer unknown
    decided = write(
        tmp_path,
        "decided.toml",
        'extends = "stated.toml"\n[mistakes]\nweights = [1, 1, 1, 1, 1, 1]\n',
    )
    assert load_scenario(decided).unknowns == {}


def test_the_inputs_table_says_where_each_value_comes_from(tmp_path):
    html = html_inputs(load_scenario(write(tmp_path, "stated.toml", STATED)))
    assert "measured: 2020 results: 99 counties" in html
    assert "choice: no screen" in html and "choice: three days" in html
    assert "assumptions: [0] in [0.02, 1]: not recorded; [5] in [0.02, 1]: not recorded either" in (
        html
    )
