"""The process sampler: CPU time, memory, I/O, files read and engines of a process tree."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
import types
from datetime import UTC, datetime
from pathlib import Path

import psutil
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

from zuinig.formats import detect_format
from zuinig.meter.base import Measurement
from zuinig.meter.process import (
    ProcessSampler,
    engines_loaded,
    fold_rusage,
    usage_from_rusage,
)

BUSY_CHILD = (
    "import time\nend = time.process_time() + {seconds}\nwhile time.process_time() < end: pass\n"
)


def _spin(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


# -- formats ------------------------------------------------------------------------------


@pytest.fixture
def data_files(tmp_path: Path) -> dict[str, Path]:
    table = pa.table({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    files = {
        "csv": tmp_path / "t.csv",
        "csv.gz": tmp_path / "t.csv.gz",
        "parquet": tmp_path / "t.parquet",
        "arrow": tmp_path / "t.feather",
        "json": tmp_path / "t.json",
        "jsonl": tmp_path / "t.jsonl",
        "tsv": tmp_path / "t.tsv",
    }
    files["csv"].write_text("a,b\n1,x\n")
    with gzip.open(files["csv.gz"], "wt") as handle:
        handle.write("a,b\n1,x\n")
    pq.write_table(table, files["parquet"])
    feather.write_feather(table, files["arrow"])
    files["json"].write_text(json.dumps([{"a": 1}]))
    files["jsonl"].write_text('{"a": 1}\n{"a": 2}\n')
    files["tsv"].write_text("a\tb\n1\tx\n")
    return files


def test_detect_format_by_extension_and_magic(data_files: dict[str, Path]) -> None:
    for expected, path in data_files.items():
        assert detect_format(path) == expected, path.name


def test_magic_bytes_win_over_a_misleading_extension(
    data_files: dict[str, Path], tmp_path: Path
) -> None:
    disguised = tmp_path / "really_parquet.csv"
    disguised.write_bytes(data_files["parquet"].read_bytes())
    gzipped_csv = tmp_path / "export.gz"
    gzipped_csv.write_bytes(data_files["csv.gz"].read_bytes())
    anonymous_json = tmp_path / "payload"
    anonymous_json.write_text('  {"a": 1}')
    assert detect_format(disguised) == "parquet"
    assert detect_format(gzipped_csv) == "csv.gz"
    assert detect_format(anonymous_json) == "json"


def test_unknown_and_missing_files(tmp_path: Path) -> None:
    blob = tmp_path / "blob.bin"
    blob.write_bytes(b"\x00\x01\x02")
    assert detect_format(blob) == "unknown"
    assert detect_format(tmp_path / "absent.bin") == "unknown"
    assert detect_format(tmp_path / "absent.csv") == "csv"


# -- cpu, memory, io ----------------------------------------------------------------------


def test_cpu_time_of_busy_work_in_this_process() -> None:
    window = ProcessSampler().begin()
    _spin(0.2)
    stats = window.end()
    assert stats.cpu_s is not None
    assert 0.18 <= stats.cpu_s <= 0.5
    assert stats.peak_rss_bytes is not None and stats.peak_rss_bytes > 10_000_000


def test_cpu_time_includes_a_child_that_ended_in_the_window() -> None:
    window = ProcessSampler().begin()
    subprocess.run([sys.executable, "-c", BUSY_CHILD.format(seconds=0.3)], check=True)
    stats = window.end()
    assert stats.cpu_s is not None
    assert stats.cpu_s >= 0.3  # the child's 0.3 s plus its interpreter start


def _wait_for_cpu(pid: int, seconds: float) -> None:
    """Return once process ``pid`` has used ``seconds`` more CPU time (20 s at most).

    Waits for CPU time, not wall time: on a loaded machine a child may get little of
    the CPU for a while, and a fixed sleep then measured next to nothing.
    """
    observed = psutil.Process(pid)
    at_begin = sum(observed.cpu_times()[:2])
    deadline = time.monotonic() + 20
    while sum(observed.cpu_times()[:2]) - at_begin < seconds and time.monotonic() < deadline:
        time.sleep(0.02)


def test_cpu_time_includes_a_live_child() -> None:
    child = subprocess.Popen([sys.executable, "-c", BUSY_CHILD.format(seconds=30)])
    try:
        window = ProcessSampler().begin()
        _wait_for_cpu(child.pid, 0.3)
        stats = window.end()
    finally:
        child.kill()
        child.wait()
    assert stats.cpu_s is not None
    assert stats.cpu_s >= 0.2


def test_peak_memory_is_sampled_in_the_background() -> None:
    window = ProcessSampler(interval_s=0.02).begin()
    block = bytearray(150 * 1024 * 1024)
    block[::4096] = b"\x01" * len(block[::4096])  # touch every page so it is resident
    time.sleep(0.1)
    del block
    stats = window.end()
    assert stats.peak_rss_bytes is not None
    assert stats.peak_rss_bytes >= 150 * 1024 * 1024


def test_short_window_still_has_figures() -> None:
    stats = ProcessSampler().begin().end()
    assert stats.cpu_s is not None and stats.cpu_s >= 0
    assert stats.peak_rss_bytes is not None and stats.peak_rss_bytes > 0


def test_io_counters_see_written_bytes(tmp_path: Path) -> None:
    window = ProcessSampler().begin()
    target = tmp_path / "out.bin"
    with target.open("wb") as handle:
        handle.write(os.urandom(4 * 1024 * 1024))
        handle.flush()
        os.fsync(handle.fileno())
    stats = window.end()
    if stats.written_bytes is None:
        pytest.skip("this system does not report per-process I/O")
    # tmpfs has no block device behind it and counts nothing; a disk counts the write.
    assert stats.written_bytes >= 0
    assert stats.read_bytes is not None and stats.read_bytes >= 0


def test_end_is_idempotent() -> None:
    window = ProcessSampler().begin()
    assert window.end() is window.end()


def test_another_process_tree() -> None:
    child = subprocess.Popen([sys.executable, "-c", BUSY_CHILD.format(seconds=30)])
    try:
        window = ProcessSampler(pid=child.pid, interval_s=0.02).begin()
        _wait_for_cpu(child.pid, 0.1)
        stats = window.end()
    finally:
        child.kill()
        child.wait()
    assert stats.cpu_s is not None and stats.cpu_s > 0.05
    assert stats.peak_rss_bytes is not None and stats.peak_rss_bytes > 1_000_000
    assert stats.engines == {}  # another interpreter's modules are not ours to read


def test_a_tree_whose_root_is_gone_gives_no_figures_rather_than_raising() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    stats = ProcessSampler(pid=child.pid).begin().end()
    assert stats.cpu_s is None


# -- files read and engines ---------------------------------------------------------------


def test_files_read_through_python_are_inputs(data_files: dict[str, Path], tmp_path: Path) -> None:
    written = tmp_path / "written.csv"
    window = ProcessSampler().begin()
    with data_files["csv"].open() as handle:
        handle.read()
    with gzip.open(data_files["csv.gz"], "rt") as handle:
        handle.read()
    written.write_text("a\n1\n")  # written, not read: not an input
    stats = window.end()
    found = {item.path: item for item in stats.inputs}
    assert str(data_files["csv"]) in found
    assert found[str(data_files["csv"])].format == "csv"
    assert found[str(data_files["csv"])].size_bytes == data_files["csv"].stat().st_size
    assert found[str(data_files["csv.gz"])].format == "csv.gz"
    assert str(written) not in found


def test_files_read_outside_a_window_are_not_recorded(data_files: dict[str, Path]) -> None:
    data_files["json"].read_text()
    stats = ProcessSampler().begin().end()
    assert str(data_files["json"]) not in {item.path for item in stats.inputs}


def test_paths_given_in_the_context_are_inputs_whatever_their_format(tmp_path: Path) -> None:
    blob = tmp_path / "blob.bin"
    blob.write_bytes(b"\x00" * 10)
    stats = ProcessSampler().begin({"paths": [str(blob), tmp_path / "absent.csv"]}).end()
    assert [(item.path, item.format, item.size_bytes) for item in stats.inputs] == [
        (str(blob), "unknown", 10)
    ]


def test_a_file_held_open_by_native_code_is_seen_by_the_background_sampler(
    data_files: dict[str, Path],
) -> None:
    # os.open is seen by the audit hook too; to test the open_files path alone, open
    # the file before the window, keep it open, and read it inside.
    descriptor = os.open(data_files["parquet"], os.O_RDONLY)
    try:
        window = ProcessSampler(interval_s=0.02).begin()
        os.read(descriptor, 100)
        time.sleep(0.1)
        stats = window.end()
    finally:
        os.close(descriptor)
    assert (str(data_files["parquet"]), "parquet") in {(i.path, i.format) for i in stats.inputs}


def test_installed_packages_and_code_are_not_inputs() -> None:
    window = ProcessSampler().begin()
    Path(json.__file__).read_text()  # the standard library's own source
    stats = window.end()
    assert all(not item.path.endswith(".py") for item in stats.inputs)


def test_engines_loaded_with_versions(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("polars")
    fake.__version__ = "9.9.9"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "polars", fake)
    monkeypatch.delitem(sys.modules, "dask", raising=False)
    engines = engines_loaded()
    assert engines["polars"] == "9.9.9"
    assert engines["pyarrow"] == pa.__version__  # imported for real by this module
    assert "dask" not in engines


def test_a_real_engine_loaded_by_the_job_is_recorded(data_files: dict[str, Path]) -> None:
    import duckdb

    window = ProcessSampler().begin()
    duckdb.sql(f"select count(*) from read_csv('{data_files['csv']}')").fetchall()
    stats = window.end()
    assert stats.engines["duckdb"] == duckdb.__version__


# -- concurrency --------------------------------------------------------------------------


def test_windows_in_several_threads_at_once(data_files: dict[str, Path]) -> None:
    results: list[object] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            window = ProcessSampler(interval_s=0.01).begin()
            data_files["csv"].read_text()
            _spin(0.05)
            results.append(window.end())
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(results) == 8


def test_no_children_shortcut_in_a_clean_interpreter() -> None:
    script = textwrap.dedent(
        """
        import subprocess, sys
        from zuinig.meter.process import has_no_children
        print(has_no_children())
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.3)"])
        print(has_no_children())
        child.wait()
        print(has_no_children())
        """
    )
    output = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split()
    assert output == ["True", "False", "True"]


# -- a waited-for child -------------------------------------------------------------------


def test_rusage_of_a_waited_child() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", BUSY_CHILD.format(seconds=0.2) + "x = bytearray(80_000_000)\n"]
    )
    _, status, rusage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped: tell Popen
    usage = usage_from_rusage(rusage)
    assert usage.cpu_s >= 0.2
    assert usage.peak_rss_bytes >= 80_000_000

    now = datetime.now(UTC)
    sampled = Measurement(
        started_at=now, ended_at=now, duration_s=0.3, cpu_s=0.01, peak_rss_bytes=1
    )
    folded = fold_rusage(sampled, rusage)
    assert folded.cpu_s == usage.cpu_s
    assert folded.peak_rss_bytes == usage.peak_rss_bytes
    assert folded.duration_s == 0.3
