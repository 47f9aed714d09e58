"""Benchmark workloads: the data a benchmark reads, generated locally and cached.

A :class:`Workload` names *canonical tables*: one Parquet file per table, from
which every storage format is written (:mod:`zuinig.bench.formats`). Nothing is
downloaded; generators run on this machine and their output is kept in the user
cache directory (``platformdirs``, app ``zuinig``) so that the next run reuses it.

Canonical types are the same for every engine and format: decimal columns become
``float64`` (the nearest double to each decimal value), ``string_view`` and
``large_string`` become ``string``, dictionary columns are decoded, and dates are
``date32``. Decimals would otherwise be fast in one engine and a slow object
column in another (pandas reads ``decimal128`` as Python objects), which would
measure the type rather than the engine or format.

Workloads:

- :func:`tpch`: TPC-H-derived tables from the ``tpchgen-cli`` executable.
- :func:`groupby`: h2oai db-benchmark-style group-by data from a seeded numpy generator.
- :func:`user_workload`: the user's own CSV, Parquet or Arrow file.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from zuinig.bench._cache import building, read_manifest, write_manifest
from zuinig.bench._cache import default_cache_dir as default_cache_dir  # public here
from zuinig.bench.batching import BATCH_ROWS, READ_BATCH_ROWS, rechunk
from zuinig.bench.queries import catalog
from zuinig.bench.sizing import DataTooLargeError, Need, arrow_bytes_per_row, check_fits
from zuinig.errors import BenchError, DataFileError
from zuinig.formats import SourceFile, inspect_source, read_source

#: The TPC-H scale factor when none is given: about 100 MB of CSV, seconds per query.
DEFAULT_TPCH_SCALE = 0.1
#: Rows of group-by data when none is given (h2oai's smallest size is 1e7).
DEFAULT_GROUPBY_ROWS = 1_000_000
#: Groups per large-group key; h2oai's groupby-datagen.R calls it K and uses 100.
DEFAULT_GROUPBY_GROUPS = 100
#: Seed of the group-by generator; h2oai's groupby-datagen.R seeds R with 108. The
#: numbers differ from h2oai's (numpy, not R), the distributions are the same.
DEFAULT_GROUPBY_SEED = 108

#: What TPC-H-derived results are, in the words the TPC fair-use policy asks for.
TPCH_LABEL = "TPC-H derived; not comparable to official TPC-H results"
#: How canonical tables differ from their source, said with every result.
NORMALISATION_NOTE = (
    "decimal columns are cast to float64 (nearest double), string_view to string and "
    "dictionary columns decoded, dates kept as date32, for all engines and formats alike"
)

#: The executable of the ``tpchgen-cli`` package.
TPCHGEN_EXECUTABLE = "tpchgen-cli"

#: Compression of canonical files: they are only read to prepare formats, so small wins.
CANONICAL_COMPRESSION = "zstd"
#: How a user's file is read: part of its cache key, so that a copy read another way is
#: read again (1: pyarrow's defaults, an empty CSV text field as ''; 2: as zuinig convert
#: reads it, an empty field as null; 3: by zuinig.formats, which also refuses CSV text
#: that is not UTF-8 where 2 kept it as bytes).
_USER_READER_VERSION = 3
#: Decimal precision up to which every unscaled value is an integer a double holds
#: exactly (10**15 < 2**53), so the fast conversion is correctly rounded.
_EXACT_DECIMAL_DIGITS = 15
#: Largest power of ten a double holds exactly.
_EXACT_POWER_OF_TEN = 22
#: The largest TPC-H scale factor the specification defines (TPC-H 3.0.1, clause 4.1.3:
#: 1 to 100000); anything above is no TPC-H-derived data any more.
MAX_TPCH_SCALE = 100_000
#: Bytes of TPC-H data per scale factor: the specification sizes its database at about
#: 1 GB per unit of scale (clause 4.1.3). The generator's raw output and the canonical
#: copy are both on disk until the raw one is deleted, hence twice that at most.
TPCH_BYTES_PER_SCALE = 10**9
#: Rows of the largest TPC-H table (lineitem) per unit of scale (TPC-H clause 4.2.5).
_TPCH_LINEITEM_ROWS_PER_SCALE = 6_000_000
#: Bytes of a lineitem row in memory, rounded up: its text form averages about 125
#: bytes (760 MB for 6 million rows at scale 1); Arrow adds offsets for its text columns.
_TPCH_WIDEST_ROW_BYTES = 256
#: Memory of a generator beyond its arrays of ids, in batches of rows: one batch, the
#: codes and decoded columns it is made from, and the Parquet writer's row group.
#: Measured for group-by data: 300 MB of peak growth with 82 MB batches (20 million
#: rows), so 4 batches is an upper bound.
_BATCHES_HELD = 4

_USER_TABLE = "data"


class UserDataError(BenchError):
    """The user's file cannot be read: bad input (exit code 2)."""

    bad_input = True


@dataclass(frozen=True)
class Workload:
    """The data of a benchmark: canonical tables and the queries over them.

    Attributes:
        name: the workload family: ``tpch``, ``groupby`` or ``user``.
        key: identifies this data among cached data, e.g. ``tpch-sf0.1``; prepared
            formats are stored under it.
        tables: per table name, the canonical Parquet file.
        table_rows: per table name, its number of rows.
        queries: the names of the workload's queries (empty for ``user``: the user's
            job is the work).
        label: what the data is, shown with every result.
        fingerprint: identifies the canonical files' content; prepared formats made
            from other content are rebuilt.
        scale: the TPC-H scale factor (``tpch`` only).
        notes: further sentences to show with results (normalisation, generator version).
    """

    name: str
    key: str
    tables: Mapping[str, Path]
    table_rows: Mapping[str, int]
    queries: tuple[str, ...]
    label: str
    fingerprint: str
    scale: float | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def rows(self) -> int:
        """Rows over all tables."""
        return sum(self.table_rows.values())

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready description, for provenance records."""
        return {
            "name": self.name,
            "key": self.key,
            "tables": {name: str(path) for name, path in self.tables.items()},
            "table_rows": dict(self.table_rows),
            "queries": list(self.queries),
            "label": self.label,
            "fingerprint": self.fingerprint,
            "scale": self.scale,
            "notes": list(self.notes),
        }


def workload_names() -> tuple[str, ...]:
    """The workload families :func:`get_workload` knows."""
    return (catalog.TPCH, catalog.GROUPBY, catalog.USER)


def get_workload(
    name: str,
    *,
    scale: float | None = None,
    rows: int | None = None,
    data: Path | None = None,
    cache_dir: Path | None = None,
    memory_limit_bytes: int | None = None,
) -> Workload:
    """The workload ``name`` with its size, generating its data when not cached.

    Args:
        name: ``tpch``, ``groupby`` or ``user``.
        scale: TPC-H scale factor (``tpch``); :data:`DEFAULT_TPCH_SCALE` when ``None``.
        rows: rows of group-by data (``groupby``); :data:`DEFAULT_GROUPBY_ROWS` when ``None``.
        data: the user's file (``user``; required).
        cache_dir: where generated data is kept; :func:`default_cache_dir` when ``None``.
        memory_limit_bytes: generating data must stay under this much memory (bytes).

    Raises:
        BenchError: the name is unknown, a size does not fit the workload, or the data
            cannot be generated.
        DataTooLargeError: the data would not fit this machine or the memory limit.
    """
    if name == catalog.TPCH:
        _refuse(name, rows=rows, data=data)
        return tpch(
            DEFAULT_TPCH_SCALE if scale is None else scale,
            cache_dir=cache_dir,
            memory_limit_bytes=memory_limit_bytes,
        )
    if name == catalog.GROUPBY:
        _refuse(name, scale=scale, data=data)
        return groupby(
            DEFAULT_GROUPBY_ROWS if rows is None else rows,
            cache_dir=cache_dir,
            memory_limit_bytes=memory_limit_bytes,
        )
    if name == catalog.USER:
        _refuse(name, scale=scale, rows=rows)
        if data is None:
            raise BenchError("the user workload needs a data file; give one with --data FILE")
        return user_workload(data, cache_dir=cache_dir)
    raise BenchError(f"unknown workload {name!r}; known workloads: {', '.join(workload_names())}")


def _refuse(name: str, **given: object) -> None:
    for option, value in given.items():
        if value is not None:
            raise BenchError(f"the {name} workload takes no --{option}")


# --- TPC-H ----------------------------------------------------------------------------


def tpch_tables() -> tuple[str, ...]:
    """The TPC-H tables the benchmark queries read, in TPC-H's order."""
    order = ("lineitem", "orders", "customer", "part", "partsupp", "supplier", "nation", "region")
    needed = {
        table
        for name in catalog.query_names(catalog.TPCH)
        for table in catalog.get_query(catalog.TPCH, name).tables
    }
    return tuple(table for table in order if table in needed)


def tpch(
    scale: float = DEFAULT_TPCH_SCALE,
    *,
    cache_dir: Path | None = None,
    memory_limit_bytes: int | None = None,
) -> Workload:
    """TPC-H-derived tables at ``scale``, generated once by ``tpchgen-cli`` and cached.

    Only the tables the queries read are generated. They are written to a temporary
    directory, normalised (see the module docstring), and renamed into
    ``<cache>/tpch/sf<scale>`` only when complete; later calls reuse that directory.

    Args:
        scale: TPC-H scale factor (1 is about 1 GB of text; fractions are allowed, up to
            :data:`MAX_TPCH_SCALE`).
        cache_dir: the cache root; :func:`default_cache_dir` when ``None``.
        memory_limit_bytes: generation must stay under this much memory (bytes).

    Raises:
        BenchError: ``tpchgen-cli`` is missing, or it failed.
        DataTooLargeError: the scale is not a number in (0, :data:`MAX_TPCH_SCALE`], or
            its data would not fit in free disk; checked before anything is generated.
    """
    if not 0 < scale <= MAX_TPCH_SCALE:  # also refuses nan
        raise DataTooLargeError(
            f"the TPC-H scale factor must be above 0 and at most {MAX_TPCH_SCALE}, got {scale}"
        )
    scale_text = _number_text(scale)
    tables = tpch_tables()
    final = (cache_dir or default_cache_dir()) / "tpch" / f"sf{scale_text}"

    def complete(manifest: Mapping[str, Any]) -> bool:
        return set(tables) <= set(manifest.get("table_rows", {}))

    manifest = read_manifest(final)
    if manifest is None or not complete(manifest):
        check_fits(tpch_need(scale), final, memory_limit_bytes)
        executable = find_tpchgen()
        with building(final, accept=complete) as temp:
            raw = temp / "raw"
            version = _run_tpchgen(executable, scale_text, tables, raw)
            table_rows = {
                table: _normalise_parquet(raw / f"{table}.parquet", temp / f"{table}.parquet")
                for table in tables
            }
            shutil.rmtree(raw)
            write_manifest(
                temp,
                {"generator": version, "scale": scale, "table_rows": table_rows},
            )
        manifest = _require_manifest(final)
    return Workload(
        name=catalog.TPCH,
        key=f"tpch-sf{scale_text}",
        tables=MappingProxyType({table: final / f"{table}.parquet" for table in tables}),
        table_rows=MappingProxyType({table: manifest["table_rows"][table] for table in tables}),
        queries=catalog.query_names(catalog.TPCH),
        label=TPCH_LABEL,
        fingerprint=_fingerprint(manifest),
        scale=scale,
        notes=(
            f"generated by {manifest['generator']} at scale factor {scale_text}",
            NORMALISATION_NOTE,
        ),
    )


def tpch_need(scale: float) -> Need:
    """What generating TPC-H data at ``scale`` takes (see :data:`TPCH_BYTES_PER_SCALE`).

    ``tpchgen-cli`` and the normalisation stream their tables in batches, so memory
    does not grow with the scale; disk does: the raw and the canonical copy.
    """
    batch_rows = min(BATCH_ROWS, math.ceil(scale * _TPCH_LINEITEM_ROWS_PER_SCALE))
    batch_bytes = batch_rows * _TPCH_WIDEST_ROW_BYTES
    return Need(
        what=f"TPC-H data at scale factor {_number_text(scale)}",
        memory_bytes=_BATCHES_HELD * batch_bytes,
        disk_bytes=int(2 * scale * TPCH_BYTES_PER_SCALE),
        advice="give a smaller --scale",
    )


def find_tpchgen() -> Path:
    """The ``tpchgen-cli`` executable: beside this Python first, then on ``PATH``.

    Raises:
        BenchError: it is in neither place.
    """
    beside = shutil.which(TPCHGEN_EXECUTABLE, path=str(Path(sys.executable).parent))
    found = beside or shutil.which(TPCHGEN_EXECUTABLE)
    if found is None:
        raise BenchError(
            f"{TPCHGEN_EXECUTABLE} was not found beside {sys.executable} or on PATH; "
            f"install it into this environment with: pip install {TPCHGEN_EXECUTABLE}"
        )
    return Path(found)


def _run_tpchgen(executable: Path, scale_text: str, tables: Sequence[str], out: Path) -> str:
    """Run the generator; return its name and version (e.g. ``tpchgen-cli 4.0.0``)."""
    version = _run([str(executable), "--version"]).strip() or TPCHGEN_EXECUTABLE
    _run(
        [
            str(executable),
            "parquet",
            "--scale-factor",
            scale_text,
            "--tables",
            ",".join(tables),
            "--output-dir",
            str(out),
            "--quiet",
        ]
    )
    missing = [table for table in tables if not (out / f"{table}.parquet").is_file()]
    if missing:
        raise BenchError(
            f"{executable} finished without writing {', '.join(missing)}; "
            f"run it by hand to see why: {executable} parquet --scale-factor {scale_text}"
        )
    return version


def _run(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError as error:
        raise BenchError(f"cannot run {command[0]}: {error.strerror}") from error
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise BenchError(
            f"{' '.join(command)} failed with exit code {done.returncode}: "
            f"{' / '.join(detail) or 'no message'}"
        )
    return done.stdout


# --- h2oai-style group-by ------------------------------------------------------------


def groupby(
    rows: int = DEFAULT_GROUPBY_ROWS,
    *,
    groups: int = DEFAULT_GROUPBY_GROUPS,
    seed: int = DEFAULT_GROUPBY_SEED,
    cache_dir: Path | None = None,
    memory_limit_bytes: int | None = None,
) -> Workload:
    """h2oai db-benchmark-style group-by data: one table ``x``, generated once and cached.

    Columns, as in h2oai's ``groupby-datagen.R`` with K = ``groups`` and no missing values:
    ``id1``, ``id2`` strings ``id001``..``idK`` (few large groups); ``id3`` strings
    ``id0000000001``.. (rows/K small groups); ``id4``, ``id5`` integers 1..K; ``id6``
    integers 1..rows/K; ``v1`` integers 1..5; ``v2`` integers 1..15; ``v3`` uniform in
    [0, 100) rounded to 6 decimals. The same ``rows``, ``groups`` and ``seed`` give the
    same data on every machine.

    Args:
        rows: number of rows.
        groups: K, the number of groups of the large-group keys.
        seed: seed of numpy's PCG64 generator.
        cache_dir: the cache root; :func:`default_cache_dir` when ``None``.
        memory_limit_bytes: generation must stay under this much memory (bytes).

    Raises:
        BenchError: ``rows`` or ``groups`` is not positive.
        DataTooLargeError: the data would not fit in free memory or disk, or the limit;
            checked before anything is generated (see :func:`groupby_need`).
    """
    if rows < 1 or groups < 1:
        raise BenchError(f"group-by data needs rows >= 1 and groups >= 1, got {rows} and {groups}")
    key = f"groupby-n{rows}-k{groups}-seed{seed}"
    final = (cache_dir or default_cache_dir()) / "groupby" / key
    table = catalog.GROUPBY_TABLE
    manifest = read_manifest(final)
    if manifest is None:
        check_fits(groupby_need(rows, groups), final, memory_limit_bytes)
        with building(final, accept=lambda existing: True) as temp:
            batches = _groupby_batches(rows, groups, seed)
            count = _write_parquet(batches, temp / f"{table}.parquet", _GROUPBY_SCHEMA)
            write_manifest(
                temp,
                {
                    "generator": "zuinig h2oai-style group-by generator (numpy PCG64)",
                    "rows": rows,
                    "groups": groups,
                    "seed": seed,
                    "table_rows": {table: count},
                },
            )
        manifest = _require_manifest(final)
    return Workload(
        name=catalog.GROUPBY,
        key=key,
        tables=MappingProxyType({table: final / f"{table}.parquet"}),
        table_rows=MappingProxyType({table: manifest["table_rows"][table]}),
        queries=catalog.query_names(catalog.GROUPBY),
        label=(
            f"h2oai db-benchmark-style group-by data: {rows} rows, K={groups}, seed {seed} "
            "(synthetic)"
        ),
        fingerprint=_fingerprint(manifest),
        notes=("generated by zuinig's numpy re-implementation of h2oai's groupby-datagen.R",),
    )


_GROUPBY_SCHEMA = pa.schema(
    [
        pa.field("id1", pa.string(), nullable=False),
        pa.field("id2", pa.string(), nullable=False),
        pa.field("id3", pa.string(), nullable=False),
        pa.field("id4", pa.int64(), nullable=False),
        pa.field("id5", pa.int64(), nullable=False),
        pa.field("id6", pa.int64(), nullable=False),
        pa.field("v1", pa.int64(), nullable=False),
        pa.field("v2", pa.int64(), nullable=False),
        pa.field("v3", pa.float64(), nullable=False),
    ]
)
#: h2oai's value ranges: v1 in 1..5, v2 in 1..15, v3 in [0, 100) with 6 decimals.
_V1_MAX = 5
_V2_MAX = 15
_V3_MAX = 100.0
_V3_DECIMALS = 6


def groupby_need(rows: int, groups: int = DEFAULT_GROUPBY_GROUPS) -> Need:
    """What generating ``rows`` rows of group-by data takes (see :mod:`~zuinig.bench.sizing`).

    Memory: the ids of the small groups, held whole as Python strings and as an Arrow
    array, plus a few batches of :data:`BATCH_ROWS` rows. Disk: every row at its Arrow
    size, an upper bound for the compressed canonical Parquet file.
    """
    small_groups = max(rows // groups, 1)
    # The last id of each kind is the longest (as _groupby_batches spells them).
    large_id, small_id = f"id{groups:03d}", f"id{small_groups:010d}"
    text = {"id1": len(large_id), "id2": len(large_id), "id3": len(small_id)}
    row_bytes = arrow_bytes_per_row(_GROUPBY_SCHEMA, text)
    # A list slot (a pointer) and the str object, then the Arrow value and its offset.
    small_id_bytes = 8 + sys.getsizeof(small_id) + len(small_id) + 4
    batch_bytes = min(rows, BATCH_ROWS) * row_bytes
    return Need(
        what=f"group-by data of {rows:,} rows",
        memory_bytes=small_groups * small_id_bytes + _BATCHES_HELD * batch_bytes,
        disk_bytes=rows * row_bytes,
        advice="give a smaller --rows",
    )


def _groupby_batches(rows: int, groups: int, seed: int) -> Iterator[pa.RecordBatch]:
    """The group-by table in batches; the batch size is fixed, so the data depends on
    ``rows``, ``groups`` and ``seed`` only."""
    rng = np.random.default_rng(seed)
    small_groups = max(rows // groups, 1)
    large_ids = pa.array([f"id{i:03d}" for i in range(1, groups + 1)], pa.string())
    small_ids = pa.array([f"id{i:010d}" for i in range(1, small_groups + 1)], pa.string())

    def pick(ids: pa.Array, count: int) -> pa.Array:
        codes = rng.integers(0, len(ids), size=count, dtype=np.int32)
        return pa.DictionaryArray.from_arrays(codes, ids).dictionary_decode()

    done = 0
    while done < rows:
        count = min(BATCH_ROWS, rows - done)
        # Columns are drawn in a fixed order, so every batch uses the generator alike.
        columns = [
            pick(large_ids, count),
            pick(large_ids, count),
            pick(small_ids, count),
            pa.array(rng.integers(1, groups, size=count, endpoint=True)),
            pa.array(rng.integers(1, groups, size=count, endpoint=True)),
            pa.array(rng.integers(1, small_groups, size=count, endpoint=True)),
            pa.array(rng.integers(1, _V1_MAX, size=count, endpoint=True)),
            pa.array(rng.integers(1, _V2_MAX, size=count, endpoint=True)),
            pa.array(np.round(rng.uniform(0.0, _V3_MAX, size=count), _V3_DECIMALS)),
        ]
        yield pa.RecordBatch.from_arrays(columns, schema=_GROUPBY_SCHEMA)
        done += count


# --- the user's own file --------------------------------------------------------------


def user_workload(path: Path | str, *, cache_dir: Path | None = None) -> Workload:
    """The user's CSV, Parquet or Arrow file as one canonical table named ``data``.

    The file is read once (streamed in batches) by :func:`zuinig.formats.read_source`,
    the reader of ``zuinig convert`` too (an empty CSV field is a null, in text columns
    too), normalised like the generated workloads and cached under a key made of its
    path, size and modification time, so an edited file is read again. The file itself
    is never changed.

    Args:
        path: a file :func:`zuinig.formats.readable` accepts: ``.csv``/``.tsv`` (also
            compressed as a whole), Parquet or Arrow IPC.
        cache_dir: the cache root; :func:`default_cache_dir` when ``None``.

    Raises:
        BenchError: the file is missing or its kind is unknown.
        UserDataError: the file cannot be read, or is of a format zuinig does not read
            (in the words of ``zuinig convert``).
    """
    source = Path(path).expanduser().resolve()
    if not source.is_file():
        raise BenchError(f"{source} is not a file; give the path of a CSV, Parquet or Arrow file")
    readable = _user_file(source)
    stat = source.stat()
    identity = f"{source}\0{stat.st_size}\0{stat.st_mtime_ns}\0{_USER_READER_VERSION}"
    digest = hashlib.sha256(identity.encode()).hexdigest()
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", source.name.split(".")[0])[:40] or "data"
    key = f"user-{stem}-{digest[:12]}"
    final = (cache_dir or default_cache_dir()) / "user" / key
    manifest = read_manifest(final)
    if manifest is None:

        def write_canonical(schema: pa.Schema, batches: Iterator[pa.RecordBatch]) -> int:
            # Called afresh (overwriting the file) when a later CSV block changes the types.
            target_schema = canonical_schema(schema)
            return _write_parquet(
                (to_canonical(batch, target_schema) for batch in batches),
                temp / f"{_USER_TABLE}.parquet",
                target_schema,
                source=source,
            )

        with building(final, accept=lambda existing: True) as temp:
            try:
                count = read_source(readable, write_canonical)
            except DataFileError as error:
                raise UserDataError(str(error)) from error
            write_manifest(
                temp,
                {
                    "source": str(source),
                    "kind": readable.kind,
                    "table_rows": {_USER_TABLE: count},
                },
            )
        manifest = _require_manifest(final)
    return Workload(
        name=catalog.USER,
        key=key,
        tables=MappingProxyType({_USER_TABLE: final / f"{_USER_TABLE}.parquet"}),
        table_rows=MappingProxyType({_USER_TABLE: manifest["table_rows"][_USER_TABLE]}),
        queries=(),
        label=f"your data: {source.name}",
        fingerprint=_fingerprint(manifest),
        notes=(f"read from {source}", NORMALISATION_NOTE),
    )


def _user_file(path: Path) -> SourceFile:
    """How the user's file is read (the rule of :func:`zuinig.formats.readable`)."""
    try:
        return inspect_source(path)
    except DataFileError as error:
        raise UserDataError(str(error)) from error


# --- normalisation --------------------------------------------------------------------


def canonical_type(data_type: pa.DataType) -> pa.DataType:
    """The type a column of ``data_type`` has in a canonical table (see the module docstring)."""
    if pa.types.is_dictionary(data_type):
        return canonical_type(data_type.value_type)
    if pa.types.is_decimal(data_type):
        return pa.float64()
    if pa.types.is_string_view(data_type) or pa.types.is_large_string(data_type):
        return pa.string()
    if pa.types.is_binary_view(data_type) or pa.types.is_large_binary(data_type):
        return pa.binary()
    if pa.types.is_date64(data_type):
        return pa.date32()
    return data_type


def canonical_schema(schema: pa.Schema) -> pa.Schema:
    """``schema`` with canonical types and without field metadata (e.g. Parquet field ids)."""
    return pa.schema(
        [pa.field(f.name, canonical_type(f.type), nullable=f.nullable) for f in schema]
    )


def to_canonical(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """``batch`` converted to the canonical ``schema`` (from :func:`canonical_schema`)."""
    columns = [
        _canonical_array(column, target.type)
        for column, target in zip(batch.columns, schema, strict=True)
    ]
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _canonical_array(array: pa.Array, target: pa.DataType) -> pa.Array:
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if pa.types.is_decimal(array.type):
        return _decimal_to_float64(array)
    if array.type != target:
        return array.cast(target)
    return array


def _decimal_to_float64(array: pa.Array) -> pa.Array:
    """Each decimal as the nearest double.

    Arrow's own cast multiplies by a rounded power of ten and can be one unit in the
    last place off (24386.67 becomes 24386.670000000002), which would then be written
    into every CSV. Here the unscaled integer (exact in a double up to 15 digits) is
    divided by an exact power of ten: one correctly rounded operation. Other decimals
    go through their decimal text, which Arrow parses correctly rounded.
    """
    data_type = array.type
    if (
        pa.types.is_decimal128(data_type)
        and data_type.precision <= _EXACT_DECIMAL_DIGITS
        and abs(data_type.scale) <= _EXACT_POWER_OF_TEN
        and sys.byteorder == "little"
    ):
        # A decimal128 is two little-endian 64-bit words; with 15 digits or fewer the
        # value fits in the low word, and the high word only extends its sign.
        words = np.frombuffer(array.buffers()[1], dtype="<i8")
        unscaled = words[2 * array.offset : 2 * (array.offset + len(array)) : 2]
        power = 10.0 ** abs(data_type.scale)
        values = unscaled / power if data_type.scale >= 0 else unscaled * power
        mask = array.is_null().to_numpy(zero_copy_only=False) if array.null_count else None
        return pa.array(values, type=pa.float64(), mask=mask)
    return pc.cast(pc.cast(array, pa.string()), pa.float64())


def _normalise_parquet(source: Path, target: Path) -> int:
    """Write the canonical form of a Parquet file; return its number of rows."""
    parquet = pq.ParquetFile(source)
    schema = canonical_schema(parquet.schema_arrow)
    batches = (to_canonical(b, schema) for b in parquet.iter_batches(batch_size=READ_BATCH_ROWS))
    return _write_parquet(batches, target, schema)


def _write_parquet(
    batches: Iterable[pa.RecordBatch], target: Path, schema: pa.Schema, source: Path | None = None
) -> int:
    """Stream batches into a canonical Parquet file; return the number of rows written."""
    count = 0
    try:
        with pq.ParquetWriter(target, schema, compression=CANONICAL_COMPRESSION) as writer:
            for table in rechunk(batches, schema, BATCH_ROWS):
                writer.write_table(table, row_group_size=BATCH_ROWS)
                count += table.num_rows
    except pa.ArrowException as error:
        what = f"{source}" if source is not None else f"data for {target.name}"
        raise BenchError(f"cannot convert {what}: {error}") from error
    return count


# --- helpers -----------------------------------------------------------------------------


def _number_text(value: float) -> str:
    """The shortest text of ``value`` that reads back as the same number (0.1, 1, 0.01)."""
    short = f"{value:g}"
    return short if float(short) == value else repr(float(value))


def _fingerprint(manifest: Mapping[str, Any]) -> str:
    text = json.dumps(manifest, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _require_manifest(directory: Path) -> dict[str, Any]:
    manifest = read_manifest(directory)
    if manifest is None:
        raise BenchError(
            f"the cache entry {directory} is incomplete right after it was written; "
            "delete it and run again"
        )
    return manifest
