"""The one suffix-to-format map, and the two readers of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from zuinig.bench import workloads
from zuinig.errors import BenchError
from zuinig.formats_by_suffix import FORMAT_BY_SUFFIX
from zuinig.meter.process import detect_format


def test_map_keys_are_lower_case_suffixes() -> None:
    assert all(suffix.startswith(".") and suffix == suffix.lower() for suffix in FORMAT_BY_SUFFIX)


def test_map_is_read_only() -> None:
    with pytest.raises(TypeError):
        FORMAT_BY_SUFFIX[".csv"] = "parquet"  # type: ignore[index]


@pytest.mark.parametrize(
    ("name", "meter_format", "bench_reader"),
    [
        ("a.csv", "csv", "csv"),
        ("a.TSV", "tsv", "csv"),
        ("a.txt", "text", "csv"),
        ("a.pq", "parquet", "parquet"),
        ("a.feather", "arrow", "arrow"),
        ("a.arrows", "arrow", "arrow"),
    ],
)
def test_meter_and_bench_agree_on_the_readable_suffixes(
    tmp_path: Path, name: str, meter_format: str, bench_reader: str
) -> None:
    # Empty files: no magic bytes, so the name alone decides for both.
    path = tmp_path / name
    path.touch()
    assert detect_format(path) == meter_format
    assert workloads._user_file_kind(path) == bench_reader


def test_bench_refuses_a_format_the_meter_names_but_cannot_read(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.touch()
    assert detect_format(path) == "json"
    with pytest.raises(BenchError, match=r"known endings: \.arrow, \.arrows, \.csv"):
        workloads._user_file_kind(path)
