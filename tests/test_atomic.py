"""atomic_path: a reader sees the old file or the whole new one, never half; streams are
written into, never replaced; temporary files of killed writers are swept, live ones never."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from zuinig.atomic import (
    STALE_AFTER_S,
    TargetNotWritableError,
    atomic_path,
    sweep_stale_temporaries,
    write_file,
)


def test_the_file_appears_whole_with_the_permissions_of_a_new_file(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    old_umask = os.umask(0o022)
    try:
        with atomic_path(target) as temporary:
            assert temporary.parent == tmp_path and temporary.name.startswith(".report.html.")
            temporary.write_text("whole")
            assert not target.exists()
    finally:
        os.umask(old_umask)
    assert target.read_text() == "whole"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644  # readable by others, as reports are
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_a_failing_block_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "appendix.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as temporary:
        temporary.write_text("half")
        raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["appendix.csv"]


def test_a_missing_folder_is_an_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError), atomic_path(tmp_path / "no" / "such.csv"):
        pass


def test_write_file_writes_text_or_bytes_whole(tmp_path: Path) -> None:
    target = tmp_path / "runs.json"
    assert write_file(target, "één\n") == target
    assert target.read_bytes() == "één\n".encode()
    write_file(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert [p.name for p in tmp_path.iterdir()] == ["runs.json"]


def test_a_given_mode_never_opens_a_file_beyond_the_umask(tmp_path: Path) -> None:
    old_umask = os.umask(0o027)
    try:
        write_file(tmp_path / "shared.csv", "x", mode=0o666)
        write_file(tmp_path / "private.json", "x", mode=0o600)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE((tmp_path / "shared.csv").stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "private.json").stat().st_mode) == 0o600


def test_without_replace_a_target_made_meanwhile_is_kept(tmp_path: Path) -> None:
    target = tmp_path / "data.parquet"
    with pytest.raises(FileExistsError), atomic_path(target, replace=False) as temporary:
        temporary.write_text("ours")
        target.write_text("theirs")  # someone else was first
    assert target.read_text() == "theirs"
    assert [p.name for p in tmp_path.iterdir()] == ["data.parquet"]
    with atomic_path(tmp_path / "new.parquet", replace=False) as temporary:
        temporary.write_text("ours")
    assert (tmp_path / "new.parquet").read_text() == "ours"


def test_a_writer_that_reads_back_refuses_a_stream(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with (
        pytest.raises(TargetNotWritableError, match="device or named pipe"),
        atomic_path(fifo, streams=False),
    ):
        pass
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


# -- what a target may be: streams are written into, never replaced --------------------------

needs_root = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="mknod of a device node needs root"
)


def make_null_device(path: Path) -> Path:
    """A character device node with the numbers of /dev/null (1, 3), in a tmp folder."""
    os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    return path


@needs_root
def test_a_character_device_is_written_into_and_stays_a_device(tmp_path: Path) -> None:
    node = make_null_device(tmp_path / "null")
    with atomic_path(node) as path:
        assert path == node  # no temporary: written straight into the device
        path.write_text("discarded by the device")
    assert stat.S_ISCHR(node.lstat().st_mode)
    assert node.lstat().st_rdev == os.makedev(1, 3)
    assert [p.name for p in tmp_path.iterdir()] == ["null"]


def test_a_fifo_is_written_into_and_stays_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    with atomic_path(fifo) as path:
        path.write_text("through the pipe")
    reader.join(timeout=10)
    assert received == ["through the pipe"]
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_a_directory_or_socket_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TargetNotWritableError, match="is a directory"), atomic_path(tmp_path):
        pass
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "sock"))
        with (
            pytest.raises(TargetNotWritableError, match="is a socket"),
            atomic_path(tmp_path / "sock"),
        ):
            pass
    assert TargetNotWritableError("x").bad_input  # the CLI exits 2


def test_a_link_is_kept_and_the_file_it_names_replaced(tmp_path: Path) -> None:
    real = tmp_path / "real.csv"
    real.write_text("old")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    with atomic_path(link) as path:
        path.write_text("new")
    assert link.is_symlink() and real.read_text() == "new"


def test_a_replaced_file_keeps_its_permissions(tmp_path: Path) -> None:
    target = tmp_path / "private.csv"
    target.write_text("old")
    target.chmod(0o600)
    with atomic_path(target) as path:
        path.write_text("new")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    with atomic_path(target, mode=0o640) as path:  # a writer may say otherwise
        path.write_text("newer")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


# -- temporary files of killed writers ---------------------------------------------------------

HOLD_A_TEMPORARY = """
import sys, time
from pathlib import Path
from zuinig.atomic import Temporary
temporary = Temporary.beside(Path(sys.argv[1]))
temporary.path.write_bytes(b"x" * 1000)
print(temporary.path, flush=True)
time.sleep(600)
"""


def start_writer(target: Path) -> tuple[subprocess.Popen[str], Path]:
    """A real process that holds a temporary file beside ``target``, as a convert does."""
    writer = subprocess.Popen(
        [sys.executable, "-c", HOLD_A_TEMPORARY, str(target)], stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout is not None
    return writer, Path(writer.stdout.readline().strip())


def age(path: Path, seconds: float) -> None:
    moment = time.time() - seconds
    os.utime(path, (moment, moment))


def test_the_temporary_of_a_killed_writer_is_swept_and_a_live_ones_never(tmp_path: Path) -> None:
    writer, temporary = start_writer(tmp_path / "big.parquet")
    try:
        age(temporary, STALE_AFTER_S + 60)
        assert sweep_stale_temporaries(tmp_path) == []  # old, but its writer is alive
        assert temporary.exists()
    finally:
        writer.kill()
        writer.communicate()
    assert sweep_stale_temporaries(tmp_path) == [temporary]  # killed: unlocked and old
    assert not temporary.exists()


def test_only_old_files_with_zuinigs_names_are_swept(tmp_path: Path) -> None:
    recent = tmp_path / ".a.csv.zuinig-0123456789ab.tmp"
    others = [tmp_path / ".a.csv.0123456789ab.tmp", tmp_path / "a.csv.zuinig-0123456789ab.tmp"]
    others += [tmp_path / ".a.csv.zuinig-notahexnumber.tmp", tmp_path / "data.csv"]
    for path in (recent, *others):
        path.write_text("x")
    for path in others:
        age(path, 10 * STALE_AFTER_S)
    assert sweep_stale_temporaries(tmp_path) == []
    assert all(path.exists() for path in (recent, *others))


def test_the_next_write_into_the_folder_sweeps(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    left = tmp_path / ".report.html.zuinig-0123456789ab.tmp"
    left.write_bytes(b"x" * 2048)
    age(left, STALE_AFTER_S + 1)
    with atomic_path(tmp_path / "other.csv") as path:
        path.write_text("new")
    assert not left.exists()
    assert "removed 1 temporary file (2,048 bytes)" in caplog.text
