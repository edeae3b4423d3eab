"""What a planner may change in a scenario, as written on the command line.

``hotline.operators=10..200`` (every whole number; ``10..200/5`` every fifth),
``hq.verify_median_min=4..2/0.5`` (from high to low), or a list
``hotline.pin_screening=false,true`` (TOML literals; bare words such as ``never`` are text). A
lever's values are written from the least to the most capable plan; its cost per unit is set
with ``--cost KEY=W`` (default 1).
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass
from typing import Any

from sim.scenario import Scenario, ScenarioError

_RANGE = re.compile(r"^(?P<low>-?[\d.]+)\s*\.\.\s*(?P<high>-?[\d.]+)(?:\s*/\s*(?P<step>[\d.]+))?$")

FLOAT_STEPS = 20
"""Steps a range of a fractional key is cut into when no step is given."""


@dataclass(frozen=True, slots=True)
class Lever:
    """A scenario key and the values a plan may give it, least capable first."""

    key: str
    values: tuple[Any, ...]
    weight: float = 1.0
    """Cost of one unit of the value (of one step along ``values`` for values that are not
    numbers)."""

    def cost(self, index: int) -> float:
        """Cost of the ``index``-th value: weight x value (true counts as 1); for values
        written from high to low (a shorter verification time), weight x how far below the
        first; weight x index for values that are not numbers."""
        value, first = self.values[index], self.values[0]
        if not all(isinstance(v, (int, float)) for v in self.values):
            return self.weight * index
        return self.weight * (value if self.values[-1] >= first else first - value)


def value_text(value: Any) -> str:
    """A value as written in a scenario file: true, 1260, "22:00", never."""
    if value is None:
        return "never"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def point_label(keys: list[str], values: tuple[Any, ...]) -> str:
    """``hotline.operators=48, hotline.pin_screening=true``."""
    return ", ".join(f"{k}={value_text(v)}" for k, v in zip(keys, values, strict=True))


def parse_range(spec: str, option: str = "--vary") -> tuple[str, float, float, float | None]:
    """``KEY=LOW..HIGH[/STEP]`` -> (key, low, high, step or None)."""
    key, _, text = spec.partition("=")
    match = _RANGE.match(text.strip())
    if not key.strip() or not match:
        raise ValueError(f"{option} {spec}: expected KEY=LOW..HIGH or KEY=LOW..HIGH/STEP")
    try:
        low, high = float(match["low"]), float(match["high"])
        step = float(match["step"]) if match["step"] else None
    except ValueError:
        raise ValueError(f"{option} {spec}: LOW, HIGH and STEP must be numbers") from None
    if step is not None and step <= 0:
        raise ValueError(f"{option} {spec}: STEP must be positive")
    return key.strip(), low, high, step


def parse_values(spec: str, scenario: Scenario, option: str = "--vary") -> tuple[str, list[Any]]:
    """``KEY=LOW..HIGH[/STEP]`` or ``KEY=V1,V2,...`` -> (key, values in the order written).

    A range takes the key's type from the scenario: whole numbers for whole-number keys,
    :data:`FLOAT_STEPS` steps for fractional ones unless a step is given.
    """
    key, sep, text = spec.partition("=")
    key = key.strip()
    if not sep or not key or not text.strip():
        raise ValueError(f"{option} {spec}: expected KEY=V1,V2,... or KEY=LOW..HIGH")
    if ".." not in text:
        return key, [_literal(item) for item in text.split(",")]
    key, low, high, step = parse_range(spec, option)
    try:
        current = scenario.value(key)
    except AttributeError:
        raise ScenarioError(f"{option} {spec}: {key} is not a key of the night") from None
    whole = isinstance(current, int) and not isinstance(current, bool)
    if whole and not (low.is_integer() and high.is_integer()):
        raise ValueError(f"{option} {spec}: {key} takes whole numbers")
    step = step or (1.0 if whole else abs(high - low) / FLOAT_STEPS)
    count = math.floor(abs(high - low) / step + 1e-9) + 1
    direction = 1 if high >= low else -1
    values = [low + direction * i * step for i in range(count)]
    return key, [round(v) for v in values] if whole else [round(v, 10) for v in values]


def parse_costs(specs: list[str]) -> dict[str, float]:
    """``["hotline.operators=1,hotline.lines=0.1"]`` -> {key: cost per unit}."""
    costs = {}
    for spec in specs:
        for item in spec.split(","):
            key, _, text = item.partition("=")
            try:
                costs[key.strip()] = float(text)
            except ValueError:
                raise ValueError(
                    f"--cost {item}: expected KEY=COST, e.g. hotline.lines=0.1"
                ) from None
    return costs


def _literal(text: str) -> Any:
    """A TOML literal (``48``, ``true``, ``"22:00"``), or the bare word itself."""
    try:
        return tomllib.loads(f"v = {text.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        return text.strip()
