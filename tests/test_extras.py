"""The light core install: core commands import no extra's package, and a command whose
extra is missing says which one to install (one line, exit code 2).

This environment has every extra installed, so a missing package is simulated: each
check runs in a fresh interpreter whose import system refuses the extras' packages (a
meta-path finder put first, as a package that is not installed would answer), and that
notes who asked for each one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import tomllib
import uuid
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from zuinig.errors import MissingExtraError
from zuinig.extras import (
    COMMAND_EXTRAS,
    EXTRA_MODULES,
    install_hint,
    missing_modules,
    require_extra,
    require_for_command,
)

#: Every top-level package an extra brings.
EXTRA_PACKAGES = sorted({name for names in EXTRA_MODULES.values() for name in names})

#: Put before the code under test: refuses ``BLOCKED`` and records which module asked.
BLOCKER = textwrap.dedent(
    """
    import atexit, json, os, sys

    BLOCKED = set(json.loads(os.environ["BLOCKED"]))
    ASKED = []

    class Blocker:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] not in BLOCKED:
                return None
            frame = sys._getframe(1)
            while frame is not None and frame.f_code.co_filename.startswith("<frozen"):
                frame = frame.f_back  # skip importlib's own frames: who wrote the import?
            importer = frame.f_globals.get("__name__", "?") if frame is not None else "?"
            ASKED.append([name, importer])
            raise ModuleNotFoundError(f"No module named {name!r} (blocked)", name=name)

    sys.meta_path.insert(0, Blocker())

    @atexit.register
    def report():
        loaded = sorted({m.split(".")[0] for m in sys.modules} & BLOCKED)
        with open(os.environ["REPORT"], "w") as out:
            json.dump({"asked": ASKED, "loaded": loaded}, out)
    """
)


def run_blocked(
    code: str, blocked: list[str], folder: Path, sqlite_url: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, list[object]]]:
    """Run ``code`` after :data:`BLOCKER` in a fresh interpreter; its result and report."""
    report = folder / f"imports-{uuid.uuid4().hex}.json"
    env = {
        **os.environ,
        "BLOCKED": json.dumps(blocked),
        "REPORT": str(report),
        "ZUINIG_LEDGER": sqlite_url,
    }
    result = subprocess.run(
        [sys.executable, "-c", BLOCKER + textwrap.dedent(code)],
        env=env,
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return result, json.loads(report.read_text())


def cli_code(*args: str) -> str:
    return (
        f"from zuinig.cli import main\nimport sys\nsys.argv = ['zuinig', *{list(args)!r}]\nmain()\n"
    )


def zuinig_asked(report: dict[str, list[object]]) -> list[object]:
    """The blocked imports that zuinig's own modules asked for (not a library's optional ones)."""
    return [asked for asked in report["asked"] if str(asked[1]).split(".")[0] == "zuinig"]


# -- the check itself (in this process: every extra is installed here) ----------------------


def test_every_extra_is_installed_in_the_development_environment() -> None:
    assert {extra: missing_modules(extra) for extra in EXTRA_MODULES} == {
        extra: [] for extra in EXTRA_MODULES
    }
    for command in COMMAND_EXTRAS:
        require_for_command(command)  # nothing missing: no error


def test_the_commands_named_exist_and_the_core_commands_need_no_extra() -> None:
    from zuinig.cli import cli

    assert set(COMMAND_EXTRAS) <= set(cli.commands)
    assert {extra for extras in COMMAND_EXTRAS.values() for extra in extras} <= set(EXTRA_MODULES)
    core = {"run", "runs", "doctor", "advise", "ledger", "import"}
    assert core <= set(cli.commands)
    assert not core & set(COMMAND_EXTRAS)


def test_the_message_names_the_extras_the_missing_packages_and_the_pip_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(EXTRA_MODULES, "bench", ("duckdb", "zuinig_test_shared"))
    monkeypatch.setitem(EXTRA_MODULES, "report", ("zuinig_test_shared", "zuinig_test_absent"))
    with pytest.raises(MissingExtraError) as raised:
        require_extra(("bench", "report"), "zuinig demo")
    assert str(raised.value) == (  # a package of two extras is named once
        "zuinig demo needs the bench and report extras (zuinig_test_shared, "
        "zuinig_test_absent not installed): pip install 'zuinig[bench,report]'"
    )
    assert raised.value.bad_input
    assert install_hint(["dask"]) == "pip install 'zuinig[dask]'"


def test_only_the_modules_asked_for_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(EXTRA_MODULES, "bench", ("duckdb", "zuinig_test_absent"))
    require_extra(("bench",), "Parquet export", modules=("duckdb",))  # there: no error
    with pytest.raises(MissingExtraError, match=r"^x needs the bench extra \(zuinig_test_absent"):
        require_extra(("bench",), "x", modules=("zuinig_test_absent",))


def test_the_extras_are_the_ones_pyproject_declares() -> None:
    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
    optional = {
        extra: [Requirement(text) for text in requirements]
        for extra, requirements in project["optional-dependencies"].items()
    }
    core = {Requirement(text).name for text in project["dependencies"]}
    for extra, modules in EXTRA_MODULES.items():
        # Each module checked is installed by its extra (distribution name = module name).
        assert set(modules) <= {requirement.name for requirement in optional[extra]}, extra
        assert not set(modules) & core, extra  # and is not in the core install
    [everything] = optional["all"]
    assert (everything.name, everything.extras) == ("zuinig", set(EXTRA_MODULES))
    assert any(r.name == "zuinig" and r.extras == {"all"} for r in optional["dev"])
    # The charter's required dependencies all stay in the project: in the core or an extra.
    declared = core | {r.name for requirements in optional.values() for r in requirements}
    charter = {"codecarbon", "polars", "pyarrow", "pandas", "duckdb", "psutil", "click", "pytest"}
    assert charter <= declared


# -- a command whose extra is missing (simulated in a subprocess) ---------------------------


@pytest.mark.parametrize(
    ("args", "blocked", "line"),
    [
        (
            ["bench"],
            ["duckdb"],
            "zuinig: zuinig bench needs the bench extra (duckdb not installed): "
            "pip install 'zuinig[bench]'",
        ),
        (
            ["bench", "--help"],
            ["duckdb", "polars", "pyarrow"],
            "zuinig: zuinig bench needs the bench extra (duckdb, polars, pyarrow not "
            "installed): pip install 'zuinig[bench]'",
        ),
        (
            ["convert", "x.csv", "--to", "parquet"],
            ["pyarrow"],
            "zuinig: zuinig convert needs the bench extra (pyarrow not installed): "
            "pip install 'zuinig[bench]'",
        ),
        (
            ["report", "--month", "2026-11"],
            ["weasyprint"],
            "zuinig: zuinig report needs the report extra (weasyprint not installed): "
            "pip install 'zuinig[report]'",
        ),
        (
            ["demo"],
            ["polars", "jinja2"],
            "zuinig: zuinig demo needs the bench and report extras (polars, jinja2 not "
            "installed): pip install 'zuinig[bench,report]'",
        ),
    ],
)
def test_a_command_whose_extra_is_missing_says_which_in_one_line(
    args: list[str], blocked: list[str], line: str, tmp_path: Path, sqlite_url: str
) -> None:
    result, report = run_blocked(cli_code(*args), blocked, tmp_path, sqlite_url)
    assert (result.returncode, result.stdout, result.stderr) == (2, "", line + "\n")
    assert report["loaded"] == []
    assert not (tmp_path / "ledger.sqlite").exists()  # stopped before it touched anything


# -- the core imports none of the extras' packages ------------------------------------------


def test_import_zuinig_loads_no_extra_package() -> None:
    code = (
        "import json, sys, zuinig\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & {set(EXTRA_PACKAGES)!r})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(result.stdout) == []


def test_the_decorator_and_the_pytest_plugin_work_without_the_extras(
    tmp_path: Path, sqlite_url: str
) -> None:
    code = """
        import zuinig
        import zuinig.measure.notebook
        import zuinig.measure.pytest_plugin

        @zuinig.measure(job="kern")
        def double(x):
            return 2 * x

        assert double(21) == 42
        from zuinig.ledger import Ledger
        with Ledger.open(__import__("os").environ["ZUINIG_LEDGER"]) as ledger:
            runs = ledger.list_runs(zuinig.RunFilter(job="kern"))
        assert [run.status for run in runs] == ["ok"], runs
        """
    result, report = run_blocked(code, EXTRA_PACKAGES, tmp_path, sqlite_url)
    assert result.returncode == 0, result.stderr
    assert zuinig_asked(report) == []
    assert report["loaded"] == []


CORE_COMMANDS = [
    ["--help"],
    ["--version"],
    ["runs", "list"],
    ["runs", "list", "--month", "2026-11", "--json"],
    ["runs", "show", "--json", "RUN"],
    ["runs", "export", "--out", "runs.csv"],
    ["runs", "export", "--out", "runs.json"],
    ["doctor"],
    ["doctor", "--json"],
    ["advise"],
    ["advise", "--since", "2026-01-01", "--json"],
    ["ledger", "sync", "--help"],
    ["import", "codecarbon", "emissions.csv"],
]


@pytest.fixture(scope="module")
def core_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A folder with a CodeCarbon CSV and a ledger holding one run (made with the extras
    blocked too): its path, its ledger URL and the run's id."""
    folder = tmp_path_factory.mktemp("core")
    url = f"sqlite:///{folder / 'ledger.sqlite'}"
    (folder / "emissions.csv").write_text(
        "timestamp,project_name,run_id,duration,emissions,energy_consumed\n"
        "2026-11-02T10:00:00,oud,6b9f0f0e-0000-4000-8000-000000000001,10.0,0.001,0.002\n"
    )
    seed, report = run_blocked(
        cli_code("run", "--job", "kern", "--", sys.executable, "-c", "pass"),
        EXTRA_PACKAGES,
        folder,
        url,
    )
    # zuinig run (CodeCarbon, pandas, psutil) is itself a core command.
    assert seed.returncode == 0, seed.stderr
    assert zuinig_asked(report) == []
    assert report["loaded"] == []
    listed = run_blocked(cli_code("runs", "list", "--json"), [], folder, url)[0]
    return folder, url, json.loads(listed.stdout)[0]["run_id"]


@pytest.mark.parametrize("args", CORE_COMMANDS, ids=" ".join)
def test_core_commands_work_and_import_no_extra_package(
    args: list[str], core_folder: tuple[Path, str, str]
) -> None:
    folder, url, run_id = core_folder
    args = [run_id if arg == "RUN" else arg for arg in args]

    result, report = run_blocked(cli_code(*args), EXTRA_PACKAGES, folder, url)

    assert result.returncode == 0, result.stderr
    assert zuinig_asked(report) == []
    # A library may look for an optional package (pandas for pyarrow), find none, and go on.
    assert report["loaded"] == []


def test_parquet_export_without_pyarrow_names_the_extra(tmp_path: Path, sqlite_url: str) -> None:
    result, _ = run_blocked(
        cli_code("runs", "export", "--out", "runs.parquet"), ["pyarrow"], tmp_path, sqlite_url
    )
    assert (result.returncode, result.stderr) == (
        2,
        "zuinig: Parquet export needs the bench extra (pyarrow not installed): "
        "pip install 'zuinig[bench]'\n",
    )
    assert not (tmp_path / "runs.parquet").exists()


def test_convert_needs_pyarrow_and_xxhash_alone(tmp_path: Path, sqlite_url: str) -> None:
    (tmp_path / "permits.csv").write_text("id,kind\n1,woning\n2,kantoor\n")
    others = [name for name in EXTRA_PACKAGES if name not in {"pyarrow", "xxhash"}]
    result, report = run_blocked(
        cli_code("convert", "permits.csv", "--to", "parquet"), others, tmp_path, sqlite_url
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "permits.parquet").is_file()
    assert zuinig_asked(report) == []
