"""The planners' notebooks run top to bottom, and are committed without outputs."""

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
ROOT = NOTEBOOKS.parent
SMALL_DELAYS = "NIGHTS = 2\nWORKERS = 1\nTRAJECTORIES = 2\nPOINT_NIGHTS = 1"
FAST = {
    "expected-delays.ipynb": (SMALL_DELAYS, 4, "ranked: the 53 unknowns of its [calibrate] table"),
    "expected-delays.ipynb, no [calibrate] table": (
        SMALL_DELAYS + '\nSCENARIO = "../scenarios/phone-first.toml"',
        4,
        "no [calibrate] table: ranked on ['hq.verifiers=4..40'",
    ),
    "staffing.ipynb": ("MAX_NIGHTS = 2\nWORKERS = 1\nOPERATORS = [96, 192]", 1, None),
    "load-test-results.ipynb": ("RUN = {loadtest_run!r}", 3, "night covered: 7:00 pm to"),
}
"""Per run of a notebook (named by the notebook, then what differs): test parameters appended to
its parameter cell (to keep the run short), the plots it draws, and a text it must print."""


@pytest.fixture(scope="module")
def loadtest_run(tmp_path_factory) -> str:
    """A short real `caucus loadtest` against the reference service on 127.0.0.1 (7 pm to
    about 11:45 pm of the night, the prank flood's start included)."""
    out = tmp_path_factory.mktemp("loadtest") / "run"
    command = [sys.executable, "-m", "caucus.cli", "loadtest", "--serve", "--out", str(out)]
    command += ["--scenario", str(ROOT / "scenarios" / "iowa-2020.toml")]
    command += ["--compress", "1080", "--run-time", "16s", "--precincts", "40"]
    subprocess.run(command, cwd=ROOT, timeout=180, capture_output=True, check=False)
    assert (out / "verdict.json").exists(), "the load test wrote no verdict"
    return str(out)


def notebooks():
    return sorted(NOTEBOOKS.glob("*.ipynb"))


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: p.name)
def test_committed_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, path.name


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: p.name)
def test_has_a_parameter_cell_first(path):
    notebook = nbformat.read(path, as_version=4)
    first_code = next(c for c in notebook.cells if c.cell_type == "code")
    assert "parameters" in first_code.metadata.get("tags", [])


@pytest.mark.slow
@pytest.mark.parametrize("run", FAST)
def test_runs_top_to_bottom(run, request):
    path = NOTEBOOKS / run.split(",")[0]
    notebook = nbformat.read(path, as_version=4)
    parameters = next(c for c in notebook.cells if "parameters" in c.metadata.get("tags", []))
    fast, plots, printed = FAST[run]
    if "loadtest_run" in fast:
        fast = fast.format(loadtest_run=request.getfixturevalue("loadtest_run"))
    parameters.source += "\n" + fast
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": NOTEBOOKS}}
    ).execute()
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == plots, "the notebook's plots did not render"
    if printed:
        text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
        assert printed in text


@pytest.mark.slow
def test_load_test_results_without_a_run_folder_says_so_in_one_line(tmp_path):
    notebook = nbformat.read(NOTEBOOKS / "load-test-results.ipynb", as_version=4)
    parameters = next(c for c in notebook.cells if "parameters" in c.metadata.get("tags", []))
    parameters.source += f"\nRUN = {str(tmp_path / 'no-such-run')!r}"
    client = NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": NOTEBOOKS}}
    )
    with pytest.raises(CellExecutionError):  # as Run All does, it stops at that cell
        client.execute()
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    [error] = [o for o in outputs if o.output_type == "error"]
    assert error.traceback == [
        f"NoRunFolder: no load-test run in {tmp_path / 'no-such-run'} (no verdict.json); make"
        " one: caucus loadtest --scenario scenarios/iowa-2020.toml --serve --compress 240"
    ]
