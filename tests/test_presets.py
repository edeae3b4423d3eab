"""Scenario presets by name: found from any folder, listed by `caucus scenarios`, and shipped in
the wheel as package data."""

import dataclasses
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path
from typing import Any

import pytest

from caucus.cli import main
from sim.night import Night
from sim.presets import FOLDER, find_scenario, first_sentence, presets
from sim.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parents[1]


class Reading:
    """A night's config (or one of its tables) that records the dotted key of every value a
    night reads from it, e.g. ``hotline.lines``."""

    def __init__(self, config: Any, seen: set[str], prefix: str = ""):
        object.__setattr__(self, "_config", config)
        object.__setattr__(self, "_seen", seen)
        object.__setattr__(self, "_prefix", prefix)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._config, name)
        key = f"{self._prefix}{name}"
        if dataclasses.is_dataclass(value):
            return Reading(value, self._seen, f"{key}.")
        self._seen.add(key)
        return value


def reads(scenario: Scenario) -> set[str]:
    """The keys of every value one night of the scenario (its seed's) reads."""
    seen: set[str] = set()
    Night(Reading(scenario.night, seen), scenario.seed).run()
    return seen


def stated(scenario: Scenario) -> set[str]:
    """The keys a scenario states in [facts], [measured], [calibrate] or [choices]; a list
    counts when each of its items is an unknown."""
    keys = {*scenario.facts, *scenario.measured, *scenario.choices}
    items: dict[str, set[str]] = {}
    for key in scenario.unknowns:
        path, _, index = key.partition("[")
        items.setdefault(path, set()).add(index)
    for path, indices in items.items():
        if "" in indices or len(indices) == len(scenario.value(path)):
            keys.add(path)
    return keys


def test_reads_records_what_a_night_reads(tmp_path):
    path = tmp_path / "small.toml"
    path.write_text(
        "[precincts]\nregular = 30\nsatellites = 0\ncounties = 3\n"
        '[prank]\nleak_min = "never"\n[release]\nmode = "continuous"\n'
    )
    small = load_scenario(path)
    plain = reads(small)
    assert {"precincts.regular", "hotline.pin_screening", "prank.leak_min"} <= plain
    assert not {"hotline.pin_screen_min", "prank.peak_per_min", "release.batch_times_min"} & plain
    screened = reads(small.with_overrides({"hotline.pin_screening": True}))
    assert "hotline.pin_screen_min" in screened
    assert reads(small.with_overrides({"prank.leak_min": "21:00"})) >= {"prank.peak_per_min"}


def test_stated_counts_a_list_only_when_every_item_is_an_unknown(tmp_path):
    path = tmp_path / "items.toml"
    lines = [f'"mistakes.weights[{i}]" = {{ range = [0.02, 1.0], why = "x" }}' for i in range(6)]
    path.write_text("[calibrate]\n" + "\n".join(lines[:5]) + "\n")
    assert stated(load_scenario(path)) == set()
    path.write_text("[calibrate]\n" + "\n".join(lines) + "\n")
    assert stated(load_scenario(path)) == {"mistakes.weights"}


REAL_NIGHTS = [
    path
    for path in sorted(FOLDER.glob("*.toml"))
    if "record" in load_scenario(path).table and load_scenario(path).base is None
]
"""Presets that stand for a night that happened: a public record, no base file."""


@pytest.mark.parametrize("preset", REAL_NIGHTS, ids=lambda p: p.stem)
def test_every_value_a_real_night_reads_is_stated(preset):
    """Each value one of its nights reads is a fact of the record, measured from data, an
    unknown with its range, or a choice: none sits unstated at a model default."""
    scenario = load_scenario(preset)
    assert reads(scenario) - stated(scenario) == set()


def test_the_real_nights_are_2020_and_2016():
    assert [p.stem for p in REAL_NIGHTS] == ["iowa-2016", "iowa-2020"]


def test_a_preset_is_found_by_name_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    expected = FOLDER / "iowa-2020.toml"
    assert find_scenario("iowa-2020") == expected
    assert find_scenario("iowa-2020.toml") == expected
    assert find_scenario("scenarios/iowa-2020.toml") == expected


def test_a_file_wins_over_a_preset_and_a_missing_path_stays_missing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "iowa-2020.toml").write_text('name = "mine"\n')
    assert find_scenario("iowa-2020.toml") == Path("iowa-2020.toml")
    elsewhere = tmp_path / "plans" / "iowa-2016.toml"  # not there: never silently a preset
    assert find_scenario(elsewhere) == elsewhere
    assert find_scenario("no-such-preset") == Path("no-such-preset")


def test_every_preset_is_listed_with_one_sentence(capsys, monkeypatch):
    names = {p.name for p in presets()}
    assert names == {path.stem for path in FOLDER.glob("*.toml")}
    monkeypatch.delenv("COLUMNS", raising=False)  # not a terminal: whole lines
    assert main(["scenarios"]) == 0
    lines = capsys.readouterr().out.splitlines()
    for preset in presets():
        (line,) = [line for line in lines if line.split()[:1] == [preset.name]]
        assert preset.summary and line.endswith(preset.summary) and "\n" not in preset.summary


def test_a_narrow_terminal_cuts_each_line_at_its_width(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    assert main(["scenarios"]) == 0
    lines = capsys.readouterr().out.splitlines()[: len(presets())]
    assert all(len(line) <= 60 for line in lines)
    assert any(line.endswith("…") for line in lines)  # iowa-2020's sentence is longer


def test_first_sentence():
    assert first_sentence("One. Two.") == "One."
    assert first_sentence("A 2.5-hour\n  wait: long") == "A 2.5-hour wait: long"
    assert first_sentence("") == ""


def test_simulate_names_a_missing_scenario(tmp_path, capsys):
    assert main(["simulate", str(tmp_path / "nowhere.toml"), "--quiet"]) == 2
    assert "nowhere.toml" in capsys.readouterr().err


@pytest.mark.slow
def test_an_installed_wheel_runs_a_preset_by_name(tmp_path):
    """Build the wheel from a copy of the source, install it alone into a fresh virtualenv (the
    third-party dependencies borrowed from this one, so nothing is downloaded) and run
    `caucus scenarios` and `caucus simulate iowa-2020` from an empty folder."""
    source = tmp_path / "source"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "runs", "build", "*.egg-info", "__pycache__", ".*_cache", "*.partial"
        ),
    )
    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", wheels, source],
        check=True,
        timeout=300,
    )
    (wheel,) = wheels.glob("caucus_night-*.whl")
    shipped = zipfile.ZipFile(wheel).namelist()
    assert {f"scenarios/{p.name}" for p in FOLDER.glob("*.toml")} <= set(shipped)

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    # Dependencies from this environment; its .pth files (our editable install) are not read.
    (site / "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [*pip, "--python", python, "install", "--no-deps", "--no-index", wheel],
        check=True,
        timeout=300,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    caucus = venv / "bin" / "caucus"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CAUCUS_DASK_SCHEDULER")}
    where = subprocess.run(
        [python, "-c", "import sim, scenarios; print(sim.__file__, scenarios.__file__)"],
        cwd=elsewhere,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert where.count(str(site)) == 2, where  # the code comes from the wheel
    listed = subprocess.run(
        [caucus, "scenarios"], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=60
    )
    assert listed.returncode == 0, listed.stderr
    assert "iowa-2020 " in listed.stdout and "phone-first" in listed.stdout
    run = subprocess.run(
        [caucus, "simulate", "iowa-2020", "--replications", "1", "--workers", "1", "--quiet"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert "Iowa 2020: 1 nights" in run.stdout
    assert (elsewhere / "runs" / "iowa-2020" / "report.html").exists()
