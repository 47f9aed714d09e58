"""The registry: one rule of what a file is and whether zuinig reads it."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pytest

from zuinig.formats import (
    COMPRESSIONS,
    DATA_FORMATS,
    FORMAT_BY_SUFFIX,
    FORMATS,
    READABLE_FORMATS,
    READABLE_IN_WORDS,
    TABLE_FORMATS,
    WRITABLE_KINDS,
    detect_format,
    readable,
)


def test_every_storage_format_is_one_zuinig_also_reads_by_its_name(tmp_path: Path) -> None:
    for fmt in FORMATS.values():
        assert fmt.kind in WRITABLE_KINDS
        path = tmp_path / f"x{fmt.suffix}"
        path.touch()
        assert readable(path).kind == fmt.kind, fmt.name


def test_table_formats_are_data_formats_the_map_or_magic_names() -> None:
    assert TABLE_FORMATS <= DATA_FORMATS
    named = set(FORMAT_BY_SUFFIX.values()) | {"feather-v1"}  # Feather v1 by magic only
    assert named >= DATA_FORMATS
    assert set(READABLE_FORMATS) <= TABLE_FORMATS


@pytest.mark.parametrize(
    ("name", "fmt", "kind", "codec", "delimiter"),
    [
        ("a.csv.gz", "csv.gz", "csv", "gzip", ","),
        ("a.tsv.zst", "tsv.zst", "csv", "zstd", "\t"),
        ("a.csv.bz2", "csv.bz2", "csv", "bz2", ","),
        ("a.csv.lz4", "csv.lz4", "csv", "lz4", ","),
        ("a.csv.xz", "csv.xz", None, None, ","),
        ("a.txt", "text", None, None, ","),
        ("a.parquet.gz", "gzip", None, None, ","),
    ],
)
def test_whole_file_compression_is_read_for_csv_only_and_where_pyarrow_streams_it(
    tmp_path: Path, name: str, fmt: str, kind: str | None, codec: str | None, delimiter: str
) -> None:
    path = tmp_path / name
    path.touch()
    how = readable(path)
    assert (how.format, how.kind, how.stream_codec, how.delimiter) == (fmt, kind, codec, delimiter)
    assert (how.refusal is None) == (kind is not None)


def test_refusals_say_why_and_what_to_do(tmp_path: Path) -> None:
    reasons = {}
    for name in ("a.csv.xz", "a.txt", "a.parquet.gz", "a.docx"):
        path = tmp_path / name
        path.touch()
        reasons[name] = readable(path).refusal
    assert reasons["a.csv.xz"] == "xz compression cannot be read; recompress it with gzip or zstd"
    assert "rename it .csv (comma-separated) or .tsv" in str(reasons["a.txt"])
    assert "only CSV files may be compressed as a whole" in str(reasons["a.parquet.gz"])
    assert reasons["a.docx"] == "its format cannot be told from its name or content"


def test_content_wins_over_the_name(tmp_path: Path) -> None:
    # An LZ4 frame and a gzip stream are told by their magic bytes, whatever the name.
    lz4 = tmp_path / "data.csv"
    sink = pa.BufferOutputStream()
    with pa.CompressedOutputStream(sink, "lz4") as stream:
        pa_csv.write_csv(pa.table({"a": [1]}), stream)
    lz4.write_bytes(sink.getvalue().to_pybytes())
    assert detect_format(lz4) == "csv.lz4"
    assert readable(lz4).stream_codec == "lz4"
    gz = tmp_path / "data"
    gz.write_bytes(gzip.compress(b"a,b\n1,2\n"))
    assert detect_format(gz) == "csv.gz"


def test_the_words_name_every_compression_zuinig_reads() -> None:
    for compression in COMPRESSIONS:
        assert (compression.suffix in READABLE_IN_WORDS) == (compression.stream_codec is not None)


def test_importing_the_registry_loads_no_data_library() -> None:
    # The meter imports it in every measured process; pyarrow costs ~0.1 s to import.
    code = "import sys, zuinig.formats; print(sorted(m for m in ('pyarrow', 'numpy') if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout.strip()
    assert loaded == "[]"


def test_format_families_name_the_storage_formats_a_detected_file_may_be_in() -> None:
    from zuinig.formats import FORMAT_FAMILIES

    # The same mapping advise/rules.py writes out by hand today (FORMAT_FAMILIES there).
    assert dict(FORMAT_FAMILIES) == {
        "csv": ("csv",),
        "csv.gz": ("csv.gz",),
        "parquet": ("parquet-snappy", "parquet-zstd", "parquet-none"),
        "arrow": ("arrow-lz4", "arrow-zstd"),
    }
