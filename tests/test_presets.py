"""Scenario presets by name: found from any folder, listed by `caucus scenarios`, and shipped in
the wheel as package data."""

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from caucus.cli import main
from sim.presets import FOLDER, find_scenario, first_sentence, presets

ROOT = Path(__file__).resolve().parents[1]


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
