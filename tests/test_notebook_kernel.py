"""The must-show of the notebook extension, with a real kernel: nbclient runs a notebook
(``%load_ext zuinig``, then a ``%%zuinig --job nb-cell --tag team=ruimte`` cell that
prints) in an ipykernel of this Python, the real CodeCarbon meter, and a SQLite ledger.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from zuinig.ledger import Ledger
from zuinig.ledger.model import RunFilter

KERNEL_NAME = "zuinig-test-python"

# Each test starts a kernel and CodeCarbon in it: 6 to 16 s for the two here (shared machine).
pytestmark = pytest.mark.slow


@pytest.fixture
def kernel_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A kernelspec for this very interpreter (the venv's, with PYTHONPATH inherited), and a
    fresh SQLite ledger for the kernel; returns the ledger URL."""
    spec_dir = tmp_path / "jupyter" / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "zuinig tests",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    monkeypatch.setenv("ZUINIG_LEDGER", url)  # the kernel inherits this environment
    return url


def run_notebook(cells: list[str], tmp_path: Path) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    client = NotebookClient(
        notebook,
        kernel_name=KERNEL_NAME,
        timeout=120,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    return notebook


def texts(cell: nbformat.NotebookNode) -> list[str]:
    return [output["text"] for output in cell.outputs if output["output_type"] == "stream"]


def test_a_measured_cell_prints_as_before_and_its_run_is_in_the_ledger(
    kernel_env: str, tmp_path: Path
) -> None:
    notebook = run_notebook(
        [
            "%load_ext zuinig",
            "%%zuinig --job nb-cell --tag team=ruimte\n"
            "totaal = sum(i * i for i in range(200_000))\n"
            "print('hallo uit de cel', totaal)",
        ],
        tmp_path,
    )
    measured = notebook.cells[1]

    assert texts(measured) == [f"hallo uit de cel {sum(i * i for i in range(200_000))}\n"]
    (summary,) = [out for out in measured.outputs if out["output_type"] == "display_data"]
    assert "<table" in summary["data"]["text/html"]
    assert summary["data"]["text/plain"].startswith("zuinig: job nb-cell, status ok")

    ledger = Ledger.open(kernel_env)
    try:
        runs = ledger.list_runs(RunFilter(job="nb-cell"))
    finally:
        ledger.close()
    (run,) = runs
    assert run.status == "ok"
    assert run.energy_kwh is not None and run.energy_kwh > 0
    assert dict(run.tags) == {"team": "ruimte"}


def test_a_failing_measured_cell_fails_in_the_notebook_too(kernel_env: str, tmp_path: Path) -> None:
    with pytest.raises(CellExecutionError) as raised:
        run_notebook(
            ["%load_ext zuinig", "%%zuinig --job nb-kapot\nprint('eerst')\n1 / 0"], tmp_path
        )
    shown = re.sub(r"\x1b\[[0-9;]*m", "", str(raised.value))  # without the colours
    assert "ZeroDivisionError" in shown
    assert "Cell In[2], line 2" in shown  # the cell's own number and line, as without the magic
    ledger = Ledger.open(kernel_env)
    try:
        (run,) = ledger.list_runs(RunFilter(job="nb-kapot"))
    finally:
        ledger.close()
    assert run.status == "error"
    assert run.error_type == "ZeroDivisionError"
