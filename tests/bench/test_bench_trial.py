"""The trial's import path: the working folder never on it; the user's job found by path."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from zuinig.bench.trial import find_job_file, load_user_job, safe_import_path
from zuinig.errors import BenchError


def test_the_trial_import_path_leaves_out_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "path", ["", str(tmp_path), str(tmp_path / "lib"), *sys.path[-2:]])
    path = safe_import_path(tmp_path)
    assert "" not in path and str(tmp_path) not in path
    assert str(tmp_path / "lib") in path


def test_a_job_module_is_found_in_the_working_folder_by_path(tmp_path: Path) -> None:
    (tmp_path / "jobs.py").write_text("def run(engine, path):\n    return engine\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "mod.py").write_text("def run(engine, path):\n    return path\n")
    assert find_job_file("jobs:run", tmp_path) == (tmp_path / "jobs.py").resolve()
    assert find_job_file("pkg.mod:run", tmp_path) == (tmp_path / "pkg" / "mod.py").resolve()
    assert find_job_file("./jobs.py:run", tmp_path) == (tmp_path / "jobs.py").resolve()
    # An installed module is imported by name in the trial (no file to give).
    assert find_job_file("json:dumps", tmp_path) is None


@pytest.mark.parametrize(
    ("job", "says"),
    [
        ("jobs", "a job looks like module:function"),
        ("jobs:", "a job looks like module:function"),
        ("no_such_module_here:run", "cannot find the job's module"),
        ("missing.py:run", "does not exist"),
        ("a-b:run", "is not a module name"),
    ],
)
def test_a_job_that_cannot_be_found_says_why(job: str, says: str, tmp_path: Path) -> None:
    with pytest.raises(BenchError, match=says):
        find_job_file(job, tmp_path)


def test_a_job_file_is_loaded_with_its_folder_last_on_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(sys, "modules", dict(sys.modules))
    (tmp_path / "zuinig_test_job.py").write_text(
        "import zuinig_test_helper\n\ndef run(engine, path):\n"
        "    return zuinig_test_helper.twice(engine)\n"
    )
    (tmp_path / "zuinig_test_helper.py").write_text("def twice(x):\n    return x * 2\n")
    job = "zuinig_test_job:run"
    function = load_user_job(job, str(find_job_file(job, tmp_path)))
    assert function("ab", "") == "abab"
    assert sys.path[-1] == str(tmp_path)


def test_answers_become_tables_when_they_are_tables_and_none_otherwise() -> None:
    import duckdb
    import pandas as pd
    import polars as pl
    import pyarrow as pa

    from zuinig.bench.trial import user_answer_to_arrow

    expected = pa.table({"k": ["a", "b"], "v": [1, 2]})
    relation = duckdb.sql("select * from (values ('a', 1), ('b', 2)) t(k, v)")
    for answer in (
        expected,
        pa.RecordBatchReader.from_batches(expected.schema, expected.to_batches()),
        pd.DataFrame({"k": ["a", "b"], "v": [1, 2]}),
        pl.DataFrame({"k": ["a", "b"], "v": [1, 2]}),
        relation,
    ):
        table = user_answer_to_arrow(answer)
        assert table.column("k").to_pylist() == ["a", "b"], type(answer)
        assert table.column("v").to_pylist() == [1, 2], type(answer)
    # Nothing to compare: these answers are "not checked".
    for answer in (3, None, "path.csv", pl.Series([1, 2]), pl.LazyFrame({"k": [1]})):
        assert user_answer_to_arrow(answer) is None, type(answer)
