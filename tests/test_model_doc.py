"""docs/model.md keeps step with the model: its parameter tables are generated from sim/config.py
and a doc that misses a parameter, or names one the model no longer has, fails."""

from dataclasses import dataclass

from studies import model_doc
from studies.model_doc import DOC, field_docstrings, parameters, problems, render


def test_the_committed_doc_is_up_to_date():
    assert list(problems(DOC.read_text(encoding="utf-8"))) == []


def test_every_parameter_has_a_docstring_and_a_row():
    doc = DOC.read_text(encoding="utf-8")
    for parameter in parameters():
        assert parameter.doc, f"{parameter.key} has no docstring in sim/config.py"
        assert f"| `{parameter.key}` |" in doc


def test_a_doc_missing_a_parameter_fails():
    doc = DOC.read_text(encoding="utf-8").replace("`hotline.lines`", "hotline lines")
    assert "docs/model.md does not describe hotline.lines" in list(problems(doc))


def test_a_doc_naming_a_parameter_the_model_lacks_fails():
    doc = DOC.read_text(encoding="utf-8") + "\nThe `hotline.phones` key sets the phones.\n"
    assert list(problems(doc)) == [
        "docs/model.md names hotline.phones, which the model does not have"
    ]


def test_a_stale_generated_block_fails():
    doc = DOC.read_text(encoding="utf-8").replace("| 1678 |", "| 1600 |", 1)
    assert any("generated blocks are stale" in p for p in problems(doc))


@dataclass
class Small:
    lines: int = 5
    """Phone lines."""
    operators: int = 2
    undocumented: float = 1.0
    """Spread
    over two lines."""


def test_field_docstrings_are_read_from_the_source():
    assert field_docstrings(Small) == {
        "lines": "Phone lines.",
        "undocumented": "Spread over two lines.",
    }


def test_render_replaces_only_the_named_block():
    begin, end = model_doc.BEGIN.format("x"), model_doc.END.format("x")
    doc = f"intro\n{begin}\nold\n{end}\noutro\n"
    assert render(doc, {"x": "new"}) == f"intro\n{begin}\nnew\n{end}\noutro\n"
