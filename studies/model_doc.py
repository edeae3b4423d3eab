"""The generated parts of docs/model.md: the model's input parameters, read from
:mod:`sim.config` (names, defaults, docstrings), and the presets' facts and assumptions, read
from their ``[facts]`` and ``[calibrate]`` tables.

    python -m studies.model_doc          # rewrite the generated blocks of docs/model.md
    python -m studies.model_doc --check  # exit 1 when they are stale or the doc names a key
                                         # the model no longer has
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import itertools
import re
import sys
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.config import NightConfig
from sim.scenario import Scenario, load_scenario, night_values

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "model.md"
PRESETS = ROOT / "scenarios"

BEGIN, END = "<!-- generated: {} (python -m studies.model_doc) -->", "<!-- end generated: {} -->"
KEY = re.compile(r"`([a-z_]+)\.([a-z_]+)`")
"""A night key named in the doc's text, e.g. `hotline.lines`."""


@dataclass(frozen=True, slots=True)
class Parameter:
    """One input of the model: its dotted scenario key, default, unit and docstring."""

    key: str
    default: Any
    unit: str
    doc: str


def unit_of(name: str, kind: Any) -> str:
    """The unit a key's name states (the naming rules of scenario files)."""
    if name.endswith("_per_min"):
        return "per minute"
    if name.endswith("_min") or name == "outages":
        return "minutes"
    if name.endswith(("_prob", "_share", "_shares")):
        return "0..1"
    if name.endswith("_sigma"):
        return "log-sd"
    if kind is int:
        return "count"
    return ""


def parameters(config: type = NightConfig, prefix: str = "") -> list[Parameter]:
    """Every field of the night's config tree, in declaration order, with its docstring; the
    fields of a list of tables (``[[hotline.shifts]]``) as ``hotline.shifts[].from_min``."""
    hints = typing.get_type_hints(config)
    docs = field_docstrings(config)
    found = []
    for field in dataclasses.fields(config):
        hint = hints[field.name]
        if dataclasses.is_dataclass(hint):
            found += parameters(hint, f"{prefix}{field.name}.")
            continue
        found.append(
            Parameter(
                f"{prefix}{field.name}",
                _default(field),
                unit_of(field.name, _scalar(hint)),
                docs.get(field.name, ""),
            )
        )
        items = typing.get_args(hint)
        if typing.get_origin(hint) is tuple and items and dataclasses.is_dataclass(items[0]):
            found += parameters(items[0], f"{prefix}{field.name}[].")
    return found


def _default(field: dataclasses.Field) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return "required"


def _scalar(hint: Any) -> Any:
    """``int | None`` read as int."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    return args[0] if typing.get_origin(hint) in (types.UnionType, typing.Union) else hint


def field_docstrings(config: type) -> dict[str, str]:
    """The string literal under each field of a dataclass's source (attribute docstrings)."""
    tree = ast.parse(inspect.getsource(config))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs = {}
    for field, after in itertools.pairwise(body):
        if (
            isinstance(field, ast.AnnAssign)
            and isinstance(field.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            docs[field.target.id] = " ".join(after.value.value.split())
    return docs


def parameter_table() -> str:
    """Markdown tables of the inputs, one per scenario table."""
    sections: dict[str, list[Parameter]] = {}
    for p in parameters():
        section = p.key.split(".")[0] if "." in p.key else "night"
        sections.setdefault(section, []).append(p)
    text = []
    for section, params in sections.items():
        title = "top level" if section == "night" else f"`[{section}]`"
        text += [f"#### {title}", "", "| key | default | unit | meaning |", "|---|---|---|---|"]
        text += [f"| `{p.key}` | {_cell(p.default)} | {p.unit} | {_cell(p.doc)} |" for p in params]
        text.append("")
    return "\n".join(text).rstrip()


def presets() -> list[Scenario]:
    return [load_scenario(path) for path in sorted(PRESETS.glob("*.toml"))]


def facts_and_assumptions(scenarios: list[Scenario]) -> str:
    """Per preset that stands for a real night, every value it states, by where it comes from:
    its facts (with sources), what it measures from data (with where), its unknowns (with
    ranges and reasoning) and its choices (with why); then the keys it leaves at the model's
    defaults. Variants of another preset (``extends``) are left out: they state their base's
    values except what they change (section 2.3)."""
    text = []
    for scenario in scenarios:
        stated = (scenario.facts, scenario.measured, scenario.unknowns, scenario.choices)
        if scenario.base is not None or not any(stated):
            continue
        text += [f"#### {scenario.name} (`scenarios/{scenario.path.name}`)", ""]
        text += [
            f"{len(scenario.facts)} facts, {len(scenario.measured)} values measured from data, "
            f"{len(scenario.unknowns)} unknowns and {len(scenario.choices)} choices.",
            "",
        ]
        tables = (
            (
                "Facts (set as stated, never fitted):",
                ("source",),
                {key: (fact.source,) for key, fact in scenario.facts.items()},
            ),
            (
                "Measured from data (set as measured, never fitted):",
                ("where",),
                {key: (where,) for key, where in scenario.measured.items()},
            ),
            (
                "Assumptions (unknowns, fitted within their range):",
                ("range", "why"),
                {
                    key: (f"{_number(u.low)} to {_number(u.high)}", u.why)
                    for key, u in scenario.unknowns.items()
                },
            ),
            (
                "Choices (switches and structure, not quantities):",
                ("why",),
                {key: (why,) for key, why in scenario.choices.items()},
            ),
        )
        for title, columns, rows in tables:
            if rows:
                text += _claims(title, columns, scenario, rows)
        claimed = {key.split("[")[0] for claims in stated for key in claims}
        if unstated := [key for key in night_values(scenario.night) if key not in claimed]:
            keys = ", ".join(f"`{key}`" for key in unstated)
            text += [
                f"Not stated, at the model's defaults (its nights do not read them): {keys}.",
                "",
            ]
    return "\n".join(text).rstrip() or "No preset states where its values come from yet."


def _claims(
    title: str, columns: tuple[str, ...], scenario: Scenario, rows: dict[str, tuple[str, ...]]
) -> list[str]:
    """One table of a preset's stated values: key, value, then ``columns``."""
    header = ("key", "value", *columns)
    return [
        title,
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *(
            "| "
            + " | ".join((f"`{key}`", _cell(scenario.value(key)), *(_cell(c) for c in cells)))
            + " |"
            for key, cells in rows.items()
        ),
        "",
    ]


def generated_blocks() -> dict[str, str]:
    """Each generated block of the doc, by name."""
    return {
        "parameters": parameter_table(),
        "facts-and-assumptions": facts_and_assumptions(presets()),
    }


def render(doc: str, blocks: dict[str, str]) -> str:
    """The doc with each generated block's content replaced; a missing marker is an error."""
    for name, content in blocks.items():
        begin, end = BEGIN.format(name), END.format(name)
        if begin not in doc or end not in doc:
            raise ValueError(f"docs/model.md: no '{begin}' ... '{end}' block")
        head, rest = doc.split(begin, 1)
        _, tail = rest.split(end, 1)
        doc = f"{head}{begin}\n{content}\n{end}{tail}"
    return doc


def unknown_keys(doc: str) -> list[str]:
    """Keys of the form `table.key` the doc names that the model does not have."""
    known = {p.key for p in parameters()}
    tables = {f.name for f in dataclasses.fields(NightConfig)}
    named = (f"{t}.{k}" for t, k in KEY.findall(doc) if t in tables)
    return sorted({key for key in named if key not in known})


def missing_keys(doc: str) -> list[str]:
    """Keys of the model the doc does not name."""
    return [p.key for p in parameters() if f"`{p.key}`" not in doc]


def problems(doc: str) -> Iterator[str]:
    """Why the doc is out of step with the model (nothing: it is up to date)."""
    for key in missing_keys(doc):
        yield f"docs/model.md does not describe {key}"
    for key in unknown_keys(doc):
        yield f"docs/model.md names {key}, which the model does not have"
    if render(doc, generated_blocks()) != doc:
        yield "docs/model.md's generated blocks are stale: run python -m studies.model_doc"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return _number(value)
    if value is None:
        return "left out"
    if isinstance(value, tuple):
        return ", ".join(_cell(v) for v in value) if value else "none"
    return str(value).replace("|", "\\|").replace("\n", " ")


def _number(value: float) -> str:
    return f"{value:g}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m studies.model_doc", description=__doc__)
    parser.add_argument("--check", action="store_true", help="only check; exit 1 when stale")
    args = parser.parse_args(argv)
    doc = DOC.read_text(encoding="utf-8")
    if args.check:
        found = list(problems(doc))
        for problem in found:
            print(problem, file=sys.stderr)
        return 1 if found else 0
    DOC.write_text(render(doc, generated_blocks()), encoding="utf-8")
    for problem in problems(DOC.read_text(encoding="utf-8")):
        print(problem, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
