"""atomic_path: a reader sees the old file or the whole new one, never half."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from zuinig.atomic import atomic_path


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
