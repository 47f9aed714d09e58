"""The data format a file name's ending names: one map for every module that asks.

The meter names the formats of a job's input files with it
(:func:`zuinig.meter.process.detect_format`), and ``zuinig bench`` chooses how to read
a user's file with it (:mod:`zuinig.bench.workloads`). It imports nothing, so the
meter can use it without importing the bench (measurement knows nothing of the bench).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

#: Per lower-case file suffix, the data format it names. Formats are named by what the
#: file holds: ``.tsv`` is ``tsv`` and ``.txt`` is ``text`` (a reader may treat both as
#: delimited text); Feather v2 and the Arrow IPC file and stream endings are ``arrow``.
#: A compression suffix names its compression here (``.gz`` is ``gzip``): what it holds
#: is named by the suffix before it (``data.csv.gz``).
FORMAT_BY_SUFFIX: Mapping[str, str] = MappingProxyType(
    {
        ".csv": "csv",
        ".tsv": "tsv",
        ".txt": "text",
        ".parquet": "parquet",
        ".pq": "parquet",
        ".arrow": "arrow",
        ".feather": "arrow",
        ".ipc": "arrow",
        ".arrows": "arrow",
        ".json": "json",
        ".jsonl": "jsonl",
        ".ndjson": "jsonl",
        ".xlsx": "xlsx",
        ".xls": "xls",
        ".orc": "orc",
        ".avro": "avro",
        ".duckdb": "duckdb",
        ".sqlite": "sqlite",
        ".db": "sqlite",
        ".gz": "gzip",
        ".zst": "zstd",
        ".bz2": "bzip2",
        ".xz": "xz",
    }
)
