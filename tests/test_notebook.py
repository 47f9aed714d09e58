"""``%%zuinig`` / ``%zuinig`` in IPython's own shell, in this process: the cell behaves as
without the magic (output, ``Out[]``, exceptions, failure), and its run is in the ledger.

The real kernel (ipykernel run by nbclient) is tested in ``test_notebook_kernel.py``.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from zuinig import Settings
from zuinig.ledger import Ledger
from zuinig.ledger.model import Run, RunFilter
from zuinig.measure import Recorder, measure
from zuinig.measure.notebook import AUTO_MAGIC_NAME, MAGIC_NAME, AutoMeasure, NotebookMagic
from zuinig.meter.replay import ReplayMeter

ENERGY_KWH = 3e-6


@pytest.fixture
def shell() -> Iterator[InteractiveShell]:
    shell = InteractiveShell.instance()
    shell.colors = "nocolor"  # plain tracebacks, comparable as text
    yield shell
    for kind in ("line", "cell"):
        shell.magics_manager.magics[kind].pop(MAGIC_NAME, None)
    shell.user_ns.pop("__vsc_ipynb_file__", None)


@pytest.fixture
def recorder(sqlite_url: str) -> Recorder:
    return Recorder(
        Settings(),
        ledger_url=sqlite_url,
        meter=ReplayMeter(energy_kwh=ENERGY_KWH, intensity_g_per_kwh=250.0),
    )


@pytest.fixture
def magic(shell: InteractiveShell, recorder: Recorder) -> NotebookMagic:
    magic = NotebookMagic(shell, recorder)
    shell.register_magic_function(magic, magic_kind="line_cell", magic_name=MAGIC_NAME)
    return magic


def run_cell(shell: InteractiveShell, code: str) -> Any:
    """Run ``code`` as a notebook does: a new cell with its own number."""
    return shell.run_cell(code, store_history=True)


def stored(recorder: Recorder, **filters: Any) -> list[Run]:
    assert recorder.flush()
    ledger = Ledger.open(recorder.ledger_url())
    try:
        return ledger.list_runs(RunFilter(**filters))
    finally:
        ledger.close()


def test_output_and_out_value_are_as_without_the_magic(
    shell: InteractiveShell, magic: NotebookMagic, recorder: Recorder, capsys: Any
) -> None:
    result = run_cell(
        shell, "%%zuinig --job laden --tag team=ruimte\nprint('hallo')\nwaarde = 40 + 2\nwaarde"
    )
    out = capsys.readouterr().out
    count = result.execution_count

    assert result.success
    assert result.result == 42
    assert out.startswith(f"hallo\nOut[{count}]: 42\n")
    assert shell.user_ns["Out"][count] == 42
    assert shell.user_ns["_"] == 42
    assert shell.user_ns["waarde"] == 42
    assert re.search(
        r"^zuinig: job laden, status ok, duration [0-9.]+ s, energy 3 mWh, CO₂e 750 µg CO₂e, "
        r"method estimated$",
        out,
        re.MULTILINE,
    )
    (run,) = stored(recorder, job="laden")
    assert run.status == "ok"
    assert dict(run.tags) == {"team": "ruimte"}
    assert run.energy_kwh == pytest.approx(ENERGY_KWH)


def test_an_exception_shows_and_fails_the_cell_as_without_the_magic(
    shell: InteractiveShell, magic: NotebookMagic, recorder: Recorder, capsys: Any
) -> None:
    body = "print('voor')\nraise ValueError('kapot')\n"
    plain = run_cell(shell, body)
    plain_out = capsys.readouterr().out

    measured = run_cell(shell, "%%zuinig --job breekt\n" + body)
    measured_out = capsys.readouterr().out

    assert type(measured.error_in_exec) is ValueError
    assert str(measured.error_in_exec) == "kapot"
    assert not measured.success  # the kernel answers "error" for the cell, as without the magic
    traceback_shown, summary = measured_out.rsplit("zuinig: ", 1)
    # The same traceback, frame for frame, but for the cell's own number.
    assert traceback_shown == plain_out.replace(
        f"In[{plain.execution_count}]", f"In[{measured.execution_count}]"
    )
    assert f"Cell In[{measured.execution_count}], line 2" in traceback_shown
    assert "ValueError: kapot" in traceback_shown
    assert plain.error_in_exec is not None
    assert summary.startswith("job breekt, status error")
    (run,) = stored(recorder, job="breekt")
    assert run.status == "error"
    assert run.error_type == "ValueError"
    assert run.error_message == "kapot"


def test_a_syntax_error_in_the_cell_fails_it_and_is_recorded(
    shell: InteractiveShell, magic: NotebookMagic, recorder: Recorder, capsys: Any
) -> None:
    result = run_cell(shell, "%%zuinig --job fout\nx = (\n")
    assert isinstance(result.error_in_exec, SyntaxError)
    assert "SyntaxError" in capsys.readouterr().out
    (run,) = stored(recorder, job="fout")
    assert run.status == "error"


def test_the_line_magic_runs_the_statement_in_the_user_namespace(
    shell: InteractiveShell, magic: NotebookMagic, recorder: Recorder, capsys: Any
) -> None:
    result = run_cell(shell, "%zuinig --job=regel --tag 'team=ruimte west' y = 6 * 7")
    assert result.success
    assert shell.user_ns["y"] == 42
    assert run_cell(shell, "%zuinig --job=min -y").result == -42  # "-y" is Python, no option
    (run,) = stored(recorder, job="regel")
    assert dict(run.tags) == {"team": "ruimte west"}
    assert len(stored(recorder, job="min")) == 1


def test_runs_measured_inside_the_cell_are_its_children(
    shell: InteractiveShell, magic: NotebookMagic, recorder: Recorder
) -> None:
    shell.user_ns.update(measure=measure, recorder=recorder)
    run_cell(
        shell,
        "%%zuinig --job ouder\n"
        "with measure(job='kind', recorder=recorder):\n"
        "    sum(range(1000))\n",
    )
    (parent,) = stored(recorder, job="ouder")
    (child,) = stored(recorder, job="kind")
    assert child.parent_run_id == parent.run_id


def test_a_failing_meter_never_changes_the_cell(
    shell: InteractiveShell, sqlite_url: str, capsys: Any
) -> None:
    recorder = Recorder(Settings(), ledger_url=sqlite_url, meter=ReplayMeter(energy_kwh=1e-6))
    recorder.meter.fail = "the meter broke"  # type: ignore[attr-defined]
    shell.register_magic_function(
        NotebookMagic(shell, recorder), magic_kind="line_cell", magic_name=MAGIC_NAME
    )
    result = run_cell(shell, "%%zuinig --job los\nprint('gewoon')\n7")
    out = capsys.readouterr().out

    assert result.success
    assert result.result == 7
    assert out.startswith("gewoon\nOut[")
    assert "not measured (the meter broke)" in out
    (run,) = stored(recorder, job="los")
    assert run.energy_kwh is None
    assert run.status == "ok"


def test_an_unwritable_ledger_never_changes_the_cell(
    shell: InteractiveShell, tmp_path: Any, capsys: Any
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    recorder = Recorder(
        Settings(),
        ledger_url=f"sqlite:///{blocked}/ledger.sqlite",
        meter=ReplayMeter(energy_kwh=1e-6),
    )
    shell.register_magic_function(
        NotebookMagic(shell, recorder), magic_kind="line_cell", magic_name=MAGIC_NAME
    )
    result = run_cell(shell, "%%zuinig --job nergens\nprint('door')\n8")
    assert result.success
    assert result.result == 8
    assert capsys.readouterr().out.startswith("door\nOut[")


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("%%zuinig --bogus x\n1", "unknown option --bogus"),
        ("%%zuinig --tag team\n1", "'team' is not key=value"),
        ("%%zuinig --job\n1", "--job is not an option here or lacks its value"),
        ("%%zuinig --job a extra\n1", "unexpected 'extra' after the options"),
        ("%zuinig", "%zuinig needs a statement to measure"),
        ("%zuinig --job a", "%zuinig needs a statement"),
        ("%%zuinig --job ''\n1", "--job needs a name"),
    ],
)
def test_bad_arguments_give_one_line_and_run_nothing(
    shell: InteractiveShell,
    magic: NotebookMagic,
    recorder: Recorder,
    capsys: Any,
    cell: str,
    message: str,
) -> None:
    result = run_cell(shell, cell)
    captured = capsys.readouterr()
    shown = captured.out + captured.err
    assert isinstance(result.error_in_exec, UsageError)
    assert message in shown
    assert "Traceback" not in shown
    assert stored(recorder) == []


def test_the_job_defaults_to_the_notebook_and_cell_number(
    shell: InteractiveShell, magic: NotebookMagic, recorder: Recorder, monkeypatch: Any
) -> None:
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    first = run_cell(shell, "%%zuinig\n1")
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/analist/woningbouw.ipynb")
    second = run_cell(shell, "%%zuinig\n2")
    monkeypatch.delenv("JPY_SESSION_NAME")
    shell.user_ns["__vsc_ipynb_file__"] = "/werk/vscode-analyse.ipynb"
    third = run_cell(shell, "%%zuinig\n3")

    jobs = {run.job for run in stored(recorder)}
    assert jobs == {
        f"notebook:{first.execution_count}",
        f"woningbouw.ipynb:{second.execution_count}",
        f"vscode-analyse.ipynb:{third.execution_count}",
    }


def test_load_and_unload_ext_register_and_remove_the_magic(
    shell: InteractiveShell, monkeypatch: Any, sqlite_url: str, capsys: Any
) -> None:
    monkeypatch.setenv("ZUINIG_LEDGER", sqlite_url)
    assert run_cell(shell, "%load_ext zuinig").success
    assert MAGIC_NAME in shell.magics_manager.magics["cell"]
    assert MAGIC_NAME in shell.magics_manager.magics["line"]
    assert run_cell(shell, "%unload_ext zuinig").success
    assert MAGIC_NAME not in shell.magics_manager.magics["cell"]
    assert MAGIC_NAME not in shell.magics_manager.magics["line"]


def test_importing_zuinig_does_not_import_ipython() -> None:
    code = "import sys, zuinig; print('IPython' in sys.modules)"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "False"


@pytest.fixture
def auto(shell: InteractiveShell, recorder: Recorder) -> Iterator[AutoMeasure]:
    auto = AutoMeasure(shell, recorder)
    shell.register_magic_function(auto, magic_kind="line", magic_name=AUTO_MAGIC_NAME)
    yield auto
    auto.stop()
    shell.magics_manager.magics["line"].pop(AUTO_MAGIC_NAME, None)


def test_auto_measures_each_cell_under_one_session_run(
    shell: InteractiveShell, auto: AutoMeasure, magic: NotebookMagic, recorder: Recorder
) -> None:
    run_cell(shell, "%zuinig_auto on --job sessie --tag team=ruimte")
    first = run_cell(shell, "a = 1")
    run_cell(shell, "")  # an empty cell: IPython fires post_run_cell only; no run
    nested = run_cell(shell, "%%zuinig --job binnen\nprint('x')")
    failing = run_cell(shell, "raise KeyError('weg')")
    assert isinstance(failing.error_in_exec, KeyError)
    run_cell(shell, "%zuinig_auto off")
    run_cell(shell, "b = 2")  # after "off": not measured

    (session,) = stored(recorder, job="sessie")
    assert session.status == "ok"
    assert session.parent_run_id is None
    cells = {run.job: run for run in stored(recorder, parent_run_id=session.run_id)}
    # The "off" cell is measured up to the moment it ends the session.
    off_count = failing.execution_count + 1
    assert set(cells) == {
        f"notebook:{first.execution_count}",
        f"notebook:{nested.execution_count}",
        f"notebook:{failing.execution_count}",
        f"notebook:{off_count}",
    }
    assert all(dict(run.tags) == {"team": "ruimte"} for run in cells.values())
    assert cells[f"notebook:{failing.execution_count}"].status == "error"
    assert cells[f"notebook:{failing.execution_count}"].error_type == "KeyError"
    # A cell measured with %%zuinig inside the automatic session is that cell's child,
    # once: the cell it runs inside is not counted twice.
    (inner,) = stored(recorder, job="binnen")
    assert inner.parent_run_id == cells[f"notebook:{nested.execution_count}"].run_id
    assert len(stored(recorder)) == 1 + 4 + 1


def test_auto_needs_on_or_off(
    shell: InteractiveShell, auto: AutoMeasure, recorder: Recorder, capsys: Any
) -> None:
    result = run_cell(shell, "%zuinig_auto aan")
    assert isinstance(result.error_in_exec, UsageError)
    captured = capsys.readouterr()
    assert "UsageError: usage: %zuinig_auto on|off" in captured.out + captured.err
    assert stored(recorder) == []


def test_a_cell_with_top_level_await_in_a_running_loop_is_refused_before_it_runs(
    shell: InteractiveShell, magic: NotebookMagic, recorder: Recorder, capsys: Any
) -> None:
    # ipykernel runs cells inside its event loop; asyncio.run stands in for it here.
    async def in_a_kernel() -> Any:
        return run_cell(shell, "%%zuinig --job wacht\nimport asyncio\nawait asyncio.sleep(0)")

    result = asyncio.run(in_a_kernel())
    captured = capsys.readouterr()
    assert isinstance(result.error_in_exec, UsageError)
    assert "cannot measure a cell with top-level await" in captured.out + captured.err
    assert stored(recorder) == []


def test_the_line_magic_gives_its_value_and_its_exception_stops_the_cell(
    shell: InteractiveShell, magic: NotebookMagic, recorder: Recorder, capsys: Any
) -> None:
    kept = run_cell(shell, "x = %zuinig --job waarde 6 * 7\nx + 0")
    assert kept.result == 42
    assert shell.user_ns["x"] == 42
    capsys.readouterr()

    failed = run_cell(
        shell, "na = 'niet'\n%zuinig --job stopt int('twaalf')\nna = 'wel'  # never reached"
    )
    out = capsys.readouterr().out
    assert type(failed.error_in_exec) is ValueError
    assert shell.user_ns["na"] == "niet"  # the exception stopped the cell, as without the magic
    assert "ValueError: invalid literal for int() with base 10: 'twaalf'" in out
    assert "int('twaalf')" in out  # the line's own source is shown
    assert "notebook.py" not in out  # zuinig's frames are hidden from the user
    assert {run.job: run.status for run in stored(recorder)} == {"waarde": "ok", "stopt": "error"}


def test_a_silent_cell_stays_silent_inside(
    shell: InteractiveShell, magic: NotebookMagic, recorder: Recorder, capsys: Any
) -> None:
    result = shell.run_cell("%%zuinig --job stil\n40 + 2", silent=True)
    assert result.success
    assert capsys.readouterr().out == ""  # no Out[] value (as without the magic), no summary
    (run,) = stored(recorder, job="stil")
    assert run.status == "ok"
