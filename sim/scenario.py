"""Scenario files: TOML that configures a caucus night, validated into a :class:`NightConfig`.

A scenario's tables and keys are the fields of :class:`sim.config.NightConfig` one to one
(``[hotline] lines = 60``). Top-level keys: ``name``, ``description``, ``seed``,
``replications``, and ``extends`` (a base file, relative to this one, whose keys this file
overrides). Minute fields (``*_min``, and the app's outage windows) also take text: an offset
such as ``"+21h"``, ``"90min"`` or ``"2.5h"``, or a clock time ``"22:00"``, ``"9pm"`` or
``"9:30 PM"`` (noon on caucus day to noon the next day, so ``"18:00"`` is -60 and ``"00:30"`` is
330 minutes after 7 pm). A time that may be absent takes ``"never"``. Any problem raises
:class:`ScenarioError` naming the file, the key path and what is wrong.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.config import NightConfig

SCENARIO_KEYS = {
    "name": str,
    "description": str,
    "extends": str,
    "seed": int,
    "replications": int,
    "record": str,
}
"""Top-level keys that describe the scenario rather than the night; ``record`` names the public
record its plots are drawn against ("iowa-2020" or "iowa-2016")."""

FACTS, MEASURED, CALIBRATE, CHOICES = "facts", "measured", "calibrate", "choices"
"""Tables that say where the night's values come from, keyed by dotted night key:
``[facts] "hotline.operators" = "source"`` marks a value the public record states (set as
stated, never fitted); ``[measured] "precincts.attendance_median" = "where"`` a value measured
from the night's data (set as measured, never fitted); ``[calibrate] "hotline.lines" = {range =
[50, 1000], why = "..."}`` an unknown with its plausible range and the reasoning behind it (an
item of a list of numbers too: ``"mistakes.weights[0]"``); ``[choices] "hotline.pin_screening" =
"why"`` a switch or structural choice of the scenario, not a quantity. A value is in one of them
at most."""

CLAIMS = (FACTS, MEASURED, CALIBRATE, CHOICES)
_STATED = {
    FACTS: ("the source", "a fact is set as stated"),
    MEASURED: ("where it is measured", "a measured value is set as measured"),
    CHOICES: ("the reasoning", "a choice is set in the scenario"),
}
"""What the text of a stated table gives, and the rule it keeps."""
_KIND = {FACTS: "a fact", MEASURED: "measured", CHOICES: "a choice"}

_INDEXED = re.compile(r"^(.+)\[(\d+)\]$")
"""A dotted key naming one item of a list: ``mistakes.weights[0]``."""
_OFFSET = re.compile(r"^\+?\s*(\d+(?:\.\d+)?)\s*(h|hours?|min|minutes?|m)$")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")
_CLOCK_12H = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*([ap])\.?\s*m\.?$")


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message is one line naming file and key."""


@dataclass(frozen=True, slots=True)
class Fact:
    """A night value the public record states: ``key`` (dotted, e.g. ``hotline.operators``) is
    set as stated in the scenario's tables; ``source`` cites where it is stated."""

    key: str
    source: str


@dataclass(frozen=True, slots=True)
class Unknown:
    """A night value nobody recorded: the plausible ``low`` .. ``high`` range of ``key`` (in the
    key's own unit) and the reasoning behind it; ``integer`` for whole-number keys."""

    key: str
    low: float
    high: float
    why: str
    integer: bool = False


@dataclass(frozen=True)
class Scenario:
    """A validated scenario: what to run, how often, and where it came from."""

    name: str
    night: NightConfig
    description: str = ""
    seed: int = 0
    replications: int = 20
    path: Path | None = None
    table: dict[str, Any] = field(default_factory=dict, repr=False)
    """The resolved TOML table (base files merged in), as written to a run folder."""
    facts: dict[str, Fact] = field(default_factory=dict)
    """Night values the public record states, by dotted key (the ``[facts]`` table)."""
    unknowns: dict[str, Unknown] = field(default_factory=dict)
    """Night values nobody recorded, with their ranges (the ``[calibrate]`` table)."""
    measured: dict[str, str] = field(default_factory=dict)
    """Night values measured from the night's data, with where (the ``[measured]`` table)."""
    choices: dict[str, str] = field(default_factory=dict)
    """Switches and structural choices, with why (the ``[choices]`` table)."""
    base: Scenario | None = field(default=None, repr=False, compare=False)
    """What this scenario was made from: its ``extends`` file, or the scenario it overrides."""

    def value(self, key: str) -> Any:
        """The night's value of a dotted key, e.g. ``value("hotline.operators")`` or
        ``value("mistakes.weights[0]")``."""
        path, index = _indexed(key)
        node: Any = self.night
        for part in path.split("."):
            node = getattr(node, part)
        return node if index is None else node[index]

    def with_overrides(self, overrides: dict[str, Any]) -> Scenario:
        """This scenario with dotted keys replaced, e.g. ``{"hotline.lines": 60}``. A value
        set over a fact (or a measured value, or a choice) makes the scenario a what-if: it is no
        longer claimed. A key may name one item of a list (``"mistakes.weights[0]"``)."""
        table = _deep_copy(self.table)
        overridden = {_indexed(dotted)[0] for dotted in overrides}
        for claims in (FACTS, MEASURED, CHOICES):
            if table.get(claims):
                table[claims] = {k: v for k, v in table[claims].items() if k not in overridden}
        for dotted, value in overrides.items():
            path, index = _indexed(dotted)
            *sections, key = path.split(".")
            node = table
            for section in sections:
                node = node.setdefault(section, {})
                if not isinstance(node, dict):
                    raise ScenarioError(f"--set {dotted}: {section} is not a table")
            if index is not None:
                items = list(node.get(key) or self.value(path))
                if index >= len(items):
                    raise ScenarioError(f"--set {dotted}: {path} has {len(items)} items")
                items[index] = value
                value = items
            node[key] = value
        made = scenario_from_table(table, self.path or Path("<overrides>"))
        return dataclasses.replace(made, base=self.base or self)

    def differences(self) -> list[tuple[str, Any, Any]]:
        """(dotted key, base value, this value) for each night value that differs from
        :attr:`base`'s (empty without a base)."""
        if self.base is None:
            return []
        mine, theirs = night_values(self.night), night_values(self.base.night)
        return [(key, theirs[key], value) for key, value in mine.items() if theirs[key] != value]

    def warnings(self) -> list[str]:
        """Settings that are legal but probably not what the planner meant."""
        hotline = self.night.hotline
        lines, operators = hotline.lines, hotline.operators
        warnings = []
        for shift in (None, *hotline.shifts):
            if shift is not None:
                lines = shift.lines if shift.lines is not None else lines
                operators = shift.operators if shift.operators is not None else operators
            if lines < operators:
                when = f" from {shift.from_min:g} min" if shift else ""
                warnings.append(
                    f"hotline{when}: {lines} lines for {operators} operators: at most {lines} "
                    "operators can ever be on a call"
                )
        return warnings


def night_values(config: Any) -> dict[str, Any]:
    """Every value of a night (or one of its tables) by dotted key (``{"hotline.lines": 600}``)."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value):
            values.update({f"{f.name}.{k}": v for k, v in night_values(value).items()})
        else:
            values[f.name] = value
    return values


def load_scenario(path: Path | str) -> Scenario:
    """Read, merge (``extends``) and validate a scenario file; its base file becomes
    :attr:`Scenario.base`."""
    path = Path(path)
    scenario = scenario_from_table(_resolve(path, ()), path)
    extends = tomllib.loads(path.read_text(encoding="utf-8")).get("extends")
    return (
        dataclasses.replace(scenario, base=load_scenario(path.parent / extends))
        if extends
        else scenario
    )


def scenario_from_table(table: dict[str, Any], path: Path) -> Scenario:
    """Validate a resolved table into a Scenario; raises ScenarioError naming the key."""
    where = str(path)
    night_table = {k: v for k, v in table.items() if k not in (*SCENARIO_KEYS, *CLAIMS)}
    meta = {}
    for key, kind in SCENARIO_KEYS.items():
        if key in table:
            meta[key] = _check_scalar(where, key, table[key], kind)
    if meta.get("replications", 1) < 1:
        raise ScenarioError(
            f"{where}: replications: must be at least 1, got {meta['replications']}"
        )
    night = _build(where, NightConfig, night_table, "")
    stated = {name: _stated(where, name, table.get(name, {}), night_table) for name in _STATED}
    unknowns = _unknowns(where, table.get(CALIBRATE, {}), night)
    _once(where, {**stated, CALIBRATE: {key: u.why for key, u in unknowns.items()}})
    return Scenario(
        name=meta.get("name", path.stem),
        night=night,
        description=meta.get("description", ""),
        seed=meta.get("seed", 0),
        replications=meta.get("replications", 20),
        path=path,
        table=table,
        facts={key: Fact(key, source) for key, source in stated[FACTS].items()},
        unknowns=unknowns,
        measured=stated[MEASURED],
        choices=stated[CHOICES],
    )


def _stated(where: str, name: str, table: Any, night_table: dict[str, Any]) -> dict[str, str]:
    """A ``[facts]``, ``[measured]`` or ``[choices]`` table: each key must be set in the
    night's tables, beside its text (the source, where it is measured, or why)."""
    gives, rule = _STATED[name]
    if not isinstance(table, dict):
        raise ScenarioError(f"{where}: {name}: expected a table of key = {gives}")
    texts = {}
    for key, text in table.items():
        if not isinstance(text, str) or not text.strip():
            raise ScenarioError(f"{where}: {name}.{key}: expected {gives} as text")
        if not _sets(night_table, key):
            section, _, field_name = key.rpartition(".")
            setting = f"[{section}] {field_name} = ..." if section else f"{field_name} = ..."
            raise ScenarioError(
                f"{where}: {name}.{key}: not set in the scenario; {rule} ({setting})"
            )
        texts[key] = text.strip()
    return texts


def _once(where: str, claims: dict[str, dict[str, str]]) -> None:
    """Each value in one table at most: a fact, measured, an unknown or a choice."""
    seen: dict[str, tuple[str, str]] = {}
    for name, texts in claims.items():
        for key, text in texts.items():
            path = _indexed(key)[0]
            first, said = seen.setdefault(path, (name, text))
            if first == name:
                continue
            rule = (
                f"{_STATED[first][1]}, never fitted"
                if name == CALIBRATE
                else "a value is stated in one table only"
            )
            raise ScenarioError(f"{where}: {name}.{key}: is {_KIND[first]} ({said}); {rule}")


def _unknowns(where: str, table: Any, night: NightConfig) -> dict[str, Unknown]:
    """The ``[calibrate]`` table: a numeric night key, a range low < high, and why."""
    if not isinstance(table, dict):
        raise ScenarioError(f"{where}: {CALIBRATE}: expected a table of key = {{range, why}}")
    unknowns = {}
    for key, spec in table.items():
        at = f"{where}: {CALIBRATE}.{key}"
        path, index = _indexed(key)
        value: Any = night
        for part in path.split("."):
            if not dataclasses.is_dataclass(value) or not hasattr(value, part):
                raise ScenarioError(f"{at}: not a key of the night")
            value = getattr(value, part)
        if index is not None:
            if not isinstance(value, tuple):
                raise ScenarioError(f"{at}: {path} is not a list")
            if index >= len(value):
                raise ScenarioError(f"{at}: {path} has {len(value)} items")
            value = value[index]
        name = path.rsplit(".", 1)[-1]
        kind = type(value)
        if kind not in (int, float):
            raise ScenarioError(f"{at}: only numbers can be fitted, this is {value!r}")
        if not isinstance(spec, dict) or set(spec) != {"range", "why"}:
            raise ScenarioError(f'{at}: expected {{range = [low, high], why = "..."}}')
        bounds, why = spec["range"], spec["why"]
        if (
            not isinstance(bounds, list)
            or len(bounds) != 2
            or not all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in bounds)
            or not all(math.isfinite(b) for b in bounds)
            or not bounds[0] < bounds[1]
        ):
            raise ScenarioError(f"{at}: range: expected [low, high] numbers with low < high")
        if min(bounds) < 0 and not _may_be_negative(name):
            raise ScenarioError(f"{at}: range: must not be negative, got {bounds}")
        if _is_probability(name) and max(bounds) > 1:
            raise ScenarioError(f"{at}: range: is a probability or share, so at most 1")
        if not isinstance(why, str) or not why.strip():
            raise ScenarioError(f"{at}: why: give the reasoning behind the range")
        unknowns[key] = Unknown(key, float(bounds[0]), float(bounds[1]), why.strip(), kind is int)
    return unknowns


def parse_minutes(text: str) -> float:
    """Minutes after 7 pm (or a duration) from ``"+21h"``, ``"90min"``, ``"22:00"``, ``"9pm"``
    or ``"9:30 PM"``; clock times run from noon on caucus day to noon the next day."""
    text = text.strip().lower()
    if match := _OFFSET.match(text):
        amount, unit = float(match[1]), match[2]
        return amount * 60 if unit.startswith("h") else amount
    if match := _CLOCK.match(text):
        hour, minute = int(match[1]), int(match[2])
        if hour > 23 or minute > 59:
            raise ValueError(f"{text!r} is not a clock time")
        return _after_7pm(hour, minute)
    if match := _CLOCK_12H.match(text):
        hour, minute = int(match[1]), int(match[2] or 0)
        if not 1 <= hour <= 12 or minute > 59:
            raise ValueError(f"{text!r} is not a clock time")
        return _after_7pm(hour % 12 + (12 if match[3] == "p" else 0), minute)
    raise ValueError(f"{text!r} is not a time: write minutes, '+21h', '90min', '22:00' or '10pm'")


def _after_7pm(hour: int, minute: int) -> float:
    """Minutes after 7 pm of a 24-hour clock time between noon and the next noon."""
    minutes = (hour - 19) * 60 + minute
    return minutes + 1440 if hour < 12 else minutes


def _resolve(path: Path, chain: tuple[Path, ...]) -> dict[str, Any]:
    """The file's table with its base files merged in (this file's keys win)."""
    resolved = path.resolve()
    if resolved in chain:
        cycle = " -> ".join(p.name for p in (*chain, resolved))
        raise ScenarioError(f"{path}: extends: files extend each other in a cycle ({cycle})")
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        where = f"{chain[-1]}: extends" if chain else str(path)
        raise ScenarioError(f"{where}: scenario file {path} not found{_nearest(path)}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ScenarioError(f"{path}: cannot read: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(f"{path}: not valid TOML: {error}") from None
    base = table.pop("extends", None)
    if base is None:
        return table
    if not isinstance(base, str):
        raise ScenarioError(f"{path}: extends: expected a file name, got {base!r}")
    merged = _merge(_resolve(path.parent / base, (*chain, resolved)), table)
    # A value set over a base's fact, measured value or choice makes a what-if; over a base's
    # unknown, a decision (a plan with no app has no unknown app adoption): neither is claimed
    # unless this file says so.
    for claims in CLAIMS:
        if isinstance(merged.get(claims), dict):
            own = table.get(claims, {})
            merged[claims] = {
                key: claim
                for key, claim in merged[claims].items()
                if key in own or not _sets(table, key)
            }
    return merged


def _nearest(path: Path) -> str:
    """`` (did you mean ...?)`` naming the closest scenario file beside a missing one."""
    if not path.parent.is_dir():
        return ""
    names = [p.name for p in path.parent.glob("*.toml")]
    close = difflib.get_close_matches(path.name, names, n=1, cutoff=0.6)
    return f" (did you mean {path.with_name(close[0])}?)" if close else ""


def _indexed(key: str) -> tuple[str, int | None]:
    """A dotted key and the list item it names: ``("mistakes.weights", 0)`` from
    ``"mistakes.weights[0]"``, ``("hotline.lines", None)`` from ``"hotline.lines"``."""
    if match := _INDEXED.match(key):
        return match[1], int(match[2])
    return key, None


def _sets(table: dict[str, Any], dotted: str) -> bool:
    """Whether ``table`` itself sets the dotted night key (a list item: the list)."""
    *sections, name = _indexed(dotted)[0].split(".")
    node: Any = table
    for section in sections:
        node = node.get(section) if isinstance(node, dict) else None
    return isinstance(node, dict) and name in node


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _deep_copy(table: dict[str, Any]) -> dict[str, Any]:
    return {k: _deep_copy(v) if isinstance(v, dict) else v for k, v in table.items()}


def _build(where: str, cls: type, table: Any, prefix: str) -> Any:
    """An instance of dataclass ``cls`` from ``table``; unknown keys get a suggestion."""
    if not isinstance(table, dict):
        raise ScenarioError(f"{where}: {prefix.rstrip('.')}: expected a table, got {table!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}
    for key in table:
        if key not in fields:
            known = sorted(fields) + ([] if prefix else sorted(SCENARIO_KEYS))
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {prefix}{close[0]}?)" if close else ""
            raise ScenarioError(f"{where}: {prefix}{key}: unknown key{hint}")
    values = {
        key: _value(where, f"{prefix}{key}", hints[key], value) for key, value in table.items()
    }
    try:
        return cls(**values)
    except (TypeError, ValueError) as error:
        raise ScenarioError(f"{where}: {prefix.rstrip('.') or 'scenario'}: {error}") from None


def _value(where: str, key: str, hint: Any, value: Any) -> Any:
    """``value`` checked (and converted) against the field's type ``hint``."""
    if dataclasses.is_dataclass(hint):
        return _build(where, hint, value, f"{key}.")
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (types.UnionType, typing.Union) and type(None) in args:
        if isinstance(value, str) and value.strip().lower() == "never":
            return None
        (inner,) = (a for a in args if a is not type(None))
        return _value(where, key, inner, value)
    if origin is tuple:
        if not isinstance(value, list):
            raise ScenarioError(f"{where}: {key}: expected a list, got {value!r}")
        if args[-1] is not Ellipsis and len(value) != len(args):
            raise ScenarioError(f"{where}: {key}: expected {len(args)} items, got {value!r}")
        kinds = [args[0]] * len(value) if args[-1] is Ellipsis else list(args)
        return tuple(
            _value(where, f"{key}[{i}]", kind, item)
            for i, (kind, item) in enumerate(zip(kinds, value, strict=True))
        )
    return _check_scalar(where, key, value, hint)


def _check_scalar(where: str, key: str, value: Any, kind: type) -> Any:
    name = key.rsplit(".", 1)[-1].split("[", 1)[0]
    if kind is float and isinstance(value, str) and _is_time(name):
        try:
            value = parse_minutes(value)
        except ValueError as error:
            raise ScenarioError(f"{where}: {key}: {error}") from None
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        expected = {float: "a number", int: "a whole number", bool: "true or false"}
        raise ScenarioError(
            f"{where}: {key}: expected {expected.get(kind, kind.__name__)}, got {value!r}"
        )
    if kind in (int, float) and not math.isfinite(value):
        raise ScenarioError(f"{where}: {key}: must be a finite number, got {value!r}")
    if kind in (int, float) and value < 0 and not _may_be_negative(name):
        raise ScenarioError(f"{where}: {key}: must not be negative, got {value!r}")
    if kind is float and _is_probability(name) and value > 1:
        raise ScenarioError(f"{where}: {key}: is a probability or share, so at most 1: {value!r}")
    return value


def _is_time(name: str) -> bool:
    """Minute fields, which also take "+21h", "22:00" or "10pm"."""
    return name.endswith("_min") or name == "outages"


def _is_probability(name: str) -> bool:
    return name.endswith(("_prob", "_share", "_shares"))


def _may_be_negative(name: str) -> bool:
    """Times of night before 7 pm are negative (satellites start earlier, a shift may)."""
    return name.endswith("_start_min") or name == "from_min"
