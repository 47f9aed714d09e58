"""The one suffix-to-format map, and the three readers of it (meter, bench, convert)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from zuinig.bench import workloads
from zuinig.errors import BenchError
from zuinig.formats import FORMAT_BY_SUFFIX, detect_format, readable


def test_map_keys_are_lower_case_suffixes() -> None:
    assert all(suffix.startswith(".") and suffix == suffix.lower() for suffix in FORMAT_BY_SUFFIX)


def test_map_is_read_only() -> None:
    with pytest.raises(TypeError):
        FORMAT_BY_SUFFIX[".csv"] = "parquet"  # type: ignore[index]


@pytest.mark.parametrize(
    ("name", "meter_format", "reader"),
    [
        ("a.csv", "csv", "csv"),
        ("a.TSV", "tsv", "csv"),
        ("a.pq", "parquet", "parquet"),
        ("a.feather", "arrow", "arrow"),
        ("a.arrows", "arrow", "arrow"),
    ],
)
def test_meter_and_readers_agree_on_the_readable_suffixes(
    tmp_path: Path, name: str, meter_format: str, reader: str
) -> None:
    # Empty files: no magic bytes, so the name alone decides for both.
    path = tmp_path / name
    path.touch()
    assert detect_format(path) == meter_format
    assert readable(path).kind == reader


@pytest.mark.parametrize(
    ("name", "meter_format", "reason"),
    [
        ("a.json", "json", "it is a json file"),
        ("a.txt", "text", "rename it .csv (comma-separated) or .tsv (tab-separated)"),
    ],
)
def test_bench_refuses_a_format_the_meter_names_but_zuinig_cannot_read(
    tmp_path: Path, name: str, meter_format: str, reason: str
) -> None:
    path = tmp_path / name
    path.write_text("a,b\n1,2\n")
    assert detect_format(path) == meter_format
    with pytest.raises(BenchError, match=re.escape(f"{reason}; zuinig reads CSV (.csv, .tsv")):
        workloads.user_workload(path, cache_dir=tmp_path / "cache")
