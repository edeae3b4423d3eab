"""Scenario presets shipped with the package (the TOML files of ``scenarios/``), by name."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

import scenarios
from sim.scenario import load_scenario

FOLDER = Path(scenarios.__file__).parent
"""Where the presets are installed."""


@dataclass(frozen=True, slots=True)
class Preset:
    """A preset's name (its file name without ``.toml``), title and one-line description."""

    name: str
    title: str
    summary: str
    path: Path


def presets() -> list[Preset]:
    """Every preset, by name."""
    found = []
    for path in sorted(FOLDER.glob("*.toml")):
        scenario = load_scenario(path)
        found.append(Preset(path.stem, scenario.name, first_sentence(scenario.description), path))
    return found


def find_scenario(text: str | Path) -> Path:
    """A scenario file: ``text`` itself when it exists, else the preset of that name
    (``iowa-2020``, ``iowa-2020.toml`` or ``scenarios/iowa-2020.toml``); else ``text``, so
    that reading it names the missing file. A path in any other folder is never a preset."""
    path = Path(text)
    if path.exists() or path.suffix not in ("", ".toml"):
        return path
    if path.parent not in (Path("."), Path(FOLDER.name)):
        return path
    preset = FOLDER / f"{path.stem}.toml"
    return preset if preset.exists() else path


def nearest_preset(text: str | Path) -> str | None:
    """The preset name closest to ``text`` (a mistyped name such as ``iowa2020``), if any."""
    names = [path.stem for path in FOLDER.glob("*.toml")]
    close = difflib.get_close_matches(Path(text).stem, names, n=1, cutoff=0.6)
    return close[0] if close else None


def first_sentence(description: str) -> str:
    """The description up to its first full stop, on one line."""
    text = " ".join(description.split())
    return re.split(r"(?<=\.)\s", text, maxsplit=1)[0]
