"""``zuinig convert`` and the file system (issue 10): permissions kept, devices and pipes
refused, and temporary files of killed conversions swept without touching live ones."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from zuinig.atomic import STALE_AFTER_S
from zuinig.cli import AppState, cli
from zuinig.convert import convert_file
from zuinig.errors import ConversionError
from zuinig.measure import Recorder
from zuinig.meter import ReplayMeter


@pytest.fixture
def recorder(sqlite_url: str) -> Recorder:
    return Recorder(ledger_url=sqlite_url, meter=ReplayMeter(energy_kwh=2e-6))


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "data.csv"
    path.write_text("k,v\na,1\nb,2\n", encoding="utf-8")
    return path


@pytest.fixture
def umask_022() -> object:
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def invoke(args: Sequence[str], sqlite_url: str) -> Result:
    state = AppState(ledger=sqlite_url, meter=ReplayMeter(energy_kwh=2e-6))
    return CliRunner().invoke(cli, list(args), obj=state)


# -- permissions ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("umask_022")
@pytest.mark.parametrize(("source_mode", "target_mode"), [(0o600, 0o600), (0o640, 0o640),
                                                          (0o644, 0o644), (0o666, 0o644),
                                                          (0o755, 0o644)])  # fmt: skip
def test_the_target_is_as_private_as_the_source(
    source: Path, recorder: Recorder, source_mode: int, target_mode: int
) -> None:
    source.chmod(source_mode)
    result = convert_file(source, "parquet", recorder=recorder)
    assert mode_of(result.target) == target_mode


@pytest.mark.usefixtures("umask_022")
def test_force_over_an_open_target_still_gives_the_sources_permissions(
    source: Path, recorder: Recorder, tmp_path: Path
) -> None:
    target = tmp_path / "data.parquet"
    target.write_bytes(b"old")
    target.chmod(0o644)
    source.chmod(0o600)
    convert_file(source, "parquet", force=True, recorder=recorder)
    assert mode_of(target) == 0o600


# -- devices and pipes --------------------------------------------------------------------------------

needs_root = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="mknod of a device node needs root"
)


@needs_root
def test_convert_force_onto_a_device_node_is_refused_and_the_node_stays(
    source: Path, sqlite_url: str, tmp_path: Path
) -> None:
    node = tmp_path / "null.parquet"
    os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    result = invoke(["convert", str(source), "--to", "parquet", "--out", str(node), "--force"],
                    sqlite_url)  # fmt: skip
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "not a regular file" in lines[0], result.stderr
    assert stat.S_ISCHR(node.lstat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_convert_onto_a_fifo_is_refused(source: Path, recorder: Recorder, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.parquet"
    os.mkfifo(fifo)
    with pytest.raises(ConversionError, match="not a regular file") as caught:
        convert_file(source, "parquet", out=fifo, force=True, recorder=recorder)
    assert caught.value.bad_input
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_force_onto_a_link_keeps_the_link_and_replaces_the_file_it_names(
    source: Path, recorder: Recorder, tmp_path: Path
) -> None:
    # One rule for every file zuinig writes (zuinig.atomic): a link is followed.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    real = elsewhere / "data.parquet"
    real.write_text("old")
    link = tmp_path / "link.parquet"
    link.symlink_to(real)
    convert_file(source, "parquet", out=link, force=True, recorder=recorder)
    assert link.is_symlink() and link.resolve() == real
    assert real.read_bytes()[:4] == b"PAR1"


def test_a_folder_that_cannot_be_written_is_bad_input(
    source: Path, recorder: Recorder, tmp_path: Path
) -> None:
    # Root writes into any folder but /proc, where no file can be made.
    locked = Path("/proc") if os.geteuid() == 0 else tmp_path / "locked"
    if locked != Path("/proc"):
        locked.mkdir(mode=0o500)
    with pytest.raises(ConversionError, match="give --out a place you can write") as caught:
        convert_file(source, "parquet", out=locked, recorder=recorder)
    assert caught.value.bad_input and not (locked / "data.parquet").exists()


# -- temporary files of killed conversions ----------------------------------------------------------

HOLD_A_TEMPORARY = """
import sys, time
from pathlib import Path
from zuinig.atomic import Temporary
temporary = Temporary.beside(Path(sys.argv[1]))
temporary.path.write_bytes(b"x" * 100_000)
print(temporary.path, flush=True)
time.sleep(600)
"""


def test_the_next_convert_sweeps_a_killed_conversions_file_and_never_a_live_one(
    source: Path, recorder: Recorder, tmp_path: Path
) -> None:
    def writer() -> tuple[subprocess.Popen[str], Path]:
        process = subprocess.Popen(
            [sys.executable, "-c", HOLD_A_TEMPORARY, str(tmp_path / "big.parquet")],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        path = Path(process.stdout.readline().strip())
        old = time.time() - STALE_AFTER_S - 60
        os.utime(path, (old, old))
        return process, path

    killed, killed_file = writer()
    killed.kill()
    killed.communicate()
    live, live_file = writer()
    try:
        convert_file(source, "parquet", recorder=recorder)
        assert not killed_file.exists()  # SIGKILLed: nothing held its lock
        assert live_file.exists()  # as old, but its writer is alive
    finally:
        live.kill()
        live.communicate()
    hidden = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".zuinig") or
                    ".zuinig-" in p.name)  # fmt: skip
    assert hidden == [live_file.name]
