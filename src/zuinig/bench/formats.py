"""Preparing a workload's tables in each storage format.

The formats themselves (``csv``, ``csv.gz``, ``parquet-snappy``, ``parquet-zstd``,
``parquet-none``, ``arrow-lz4``, ``arrow-zstd``) are defined once, in
:mod:`zuinig.formats.storage`; this module names them for the command line and writes
them. Every format is written from the workload's canonical tables by pyarrow, streamed
in record batches so that memory stays bounded whatever the table's size, with
pyarrow's default settings except the compression the format names; the levels used
are recorded in each manifest.

Parquet row groups hold up to :data:`~zuinig.bench.batching.BATCH_ROWS` rows, as a
default pyarrow writer makes them. Each workload and format is prepared once:
``<dir>/<workload key>/<format>/`` is written through a temporary directory and
reused while its manifest says it is complete and made from the same canonical data.

This module imports pyarrow only when it writes, so that a benchmark subprocess can
name formats and prepared data without paying for pyarrow before the engine's own,
separately measured, import.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from zuinig.bench._cache import building, default_cache_dir, read_manifest, write_manifest
from zuinig.bench.batching import BATCH_ROWS, READ_BATCH_ROWS, rechunk
from zuinig.errors import BenchError
from zuinig.formats.storage import FORMATS, GZIP_LEVEL, Format

__all__ = [
    "FORMATS",
    "Format",
    "PreparedData",
    "estimate_prepared_bytes",
    "find_prepared",
    "format_names",
    "get_format",
    "parse_formats",
    "prepare",
    "prepare_one",
    "prepared_dir",
]

if TYPE_CHECKING:
    import pyarrow as pa

    from zuinig.bench.workloads import Workload


def format_names() -> tuple[str, ...]:
    """The names of the known formats."""
    return tuple(FORMATS)


def get_format(name: str) -> Format:
    """The format called ``name``.

    Raises:
        BenchError: the name is unknown; the message lists the known ones.
    """
    try:
        return FORMATS[name.strip()]
    except KeyError:
        raise BenchError(f"unknown format {name!r}; known formats: {', '.join(FORMATS)}") from None


def parse_formats(spec: str | Iterable[str] | None) -> tuple[Format, ...]:
    """Formats from a comma-separated list (``"csv,parquet-zstd"``) or names.

    ``None`` or an empty list means every known format. Duplicates are dropped.

    Raises:
        BenchError: a name is unknown.
    """
    names = spec.split(",") if isinstance(spec, str) else list(spec or ())
    names = [name.strip() for name in names if name.strip()]
    if not names:
        return tuple(FORMATS.values())
    return tuple(dict.fromkeys(get_format(name) for name in names))


@dataclass(frozen=True)
class PreparedData:
    """A workload's tables written in one format.

    Attributes:
        workload: the workload family (``tpch``, ``groupby``, ``user``), which says
            which queries apply.
        workload_key: the key of the workload's data (e.g. ``tpch-sf0.1``).
        format: the format the files are in.
        paths: per table name, its file.
        storage_bytes: size of all the files together (bytes, as the file system
            reports their length).
        reused: ``True`` when the files were already there and nothing was written.
    """

    workload: str
    workload_key: str
    format: Format
    paths: Mapping[str, Path]
    storage_bytes: int
    reused: bool = field(default=False, compare=False)

    def to_json(self) -> str:
        """This record as JSON, to hand to a benchmark subprocess."""
        return json.dumps(
            {
                "workload": self.workload,
                "workload_key": self.workload_key,
                "format": self.format.name,
                "paths": {name: str(path) for name, path in self.paths.items()},
                "storage_bytes": self.storage_bytes,
                "reused": self.reused,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> PreparedData:
        """The record :meth:`to_json` wrote.

        Raises:
            BenchError: the text is not such a record or names an unknown format.
        """
        try:
            data = json.loads(text)
            return cls(
                workload=str(data["workload"]),
                workload_key=str(data["workload_key"]),
                format=get_format(str(data["format"])),
                paths=MappingProxyType({str(k): Path(v) for k, v in data["paths"].items()}),
                storage_bytes=int(data["storage_bytes"]),
                reused=bool(data.get("reused", False)),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise BenchError(f"not a prepared-data record: {error}") from error


def prepared_dir(workload: Workload, fmt: Format, directory: Path) -> Path:
    """Where :func:`prepare_one` keeps ``workload`` in ``fmt`` under ``directory``."""
    return directory / workload.key / fmt.name


def find_prepared(workload: Workload, fmt: Format, directory: Path) -> PreparedData | None:
    """The prepared files of ``workload`` in ``fmt``, if complete and current; else ``None``.

    Current means made from the same canonical data (the workload's fingerprint).
    """
    target = prepared_dir(workload, fmt, directory)
    manifest = read_manifest(target)
    if manifest is None or manifest.get("fingerprint") != workload.fingerprint:
        return None
    if manifest.get("format") != fmt.name:
        return None
    paths = {table: target / f"{table}{fmt.suffix}" for table in workload.tables}
    if any(path.name not in manifest["files"] for path in paths.values()):
        return None
    return PreparedData(
        workload=workload.name,
        workload_key=workload.key,
        format=fmt,
        paths=MappingProxyType(paths),
        storage_bytes=sum(manifest["files"][path.name] for path in paths.values()),
        reused=True,
    )


def prepare_one(
    workload: Workload, fmt: Format | str, directory: Path, *, force: bool = False
) -> PreparedData:
    """Write ``workload``'s canonical tables in one format, unless already done.

    This is the unit whose energy the benchmark measures as the cost of preparing a
    format. With ``force`` the files are written again even when present (so that a
    measurement sees the real work); the result then has ``reused=False``.

    Args:
        workload: the workload whose canonical tables to write.
        fmt: the format, or its name.
        directory: the root of prepared data; files go under ``<workload key>/<format>``.
        force: write again even when complete files exist.

    Raises:
        BenchError: the format is unknown, or a table cannot be written in it.
    """
    fmt = get_format(fmt) if isinstance(fmt, str) else fmt
    if not force:
        found = find_prepared(workload, fmt, directory)
        if found is not None:
            return found
    target = prepared_dir(workload, fmt, directory)

    def current(manifest: Mapping[str, Any]) -> bool:
        # Another process may have prepared the same data meanwhile; a forced run keeps
        # its own files, whose writing it measured.
        return not force and manifest.get("fingerprint") == workload.fingerprint

    with building(target, accept=current) as temp:
        for table, source in workload.tables.items():
            _write_table(source, temp / f"{table}{fmt.suffix}", fmt)
        write_manifest(
            temp,
            {
                "format": fmt.name,
                "compression": fmt.compression,
                "level": _effective_level(fmt),
                "workload": workload.key,
                "fingerprint": workload.fingerprint,
            },
        )
    found = find_prepared(workload, fmt, directory)
    if found is None:
        raise BenchError(
            f"prepared data in {target} is incomplete right after it was written; "
            "delete it and run again"
        )
    return PreparedData(
        workload=found.workload,
        workload_key=found.workload_key,
        format=found.format,
        paths=found.paths,
        storage_bytes=found.storage_bytes,
        reused=False,
    )


def prepare(
    workload: Workload,
    formats: Iterable[Format | str] | str | None = None,
    directory: Path | None = None,
) -> dict[str, PreparedData]:
    """Write ``workload``'s tables in each format, reusing what is already prepared.

    Args:
        workload: the workload.
        formats: formats or names, a comma-separated list, or ``None`` for all.
        directory: the root of prepared data; ``<user cache>/prepared`` when ``None``.

    Returns:
        Per format name, its prepared data, in the order the formats were given.

    Raises:
        BenchError: a format is unknown, or a table cannot be written in it.
    """
    if directory is None:
        directory = default_cache_dir() / "prepared"
    if formats is None or isinstance(formats, str):
        chosen = parse_formats(formats)
    else:
        chosen = tuple(get_format(f) if isinstance(f, str) else f for f in formats)
    return {fmt.name: prepare_one(workload, fmt, directory) for fmt in chosen}


#: Rows written in each format to estimate its size (see :func:`estimate_prepared_bytes`).
SIZE_SAMPLE_ROWS = 1 << 16


def estimate_prepared_bytes(workload: Workload, fmt: Format | str) -> int:
    """The bytes ``workload`` will take in ``fmt``, estimated before it is written.

    The first :data:`SIZE_SAMPLE_ROWS` rows of each table are written in the format,
    by the writer :func:`prepare_one` uses, into a temporary directory; their size per
    row times the table's rows is the estimate. An estimate, not a bound: data that
    changes along the file (longer text later on) compresses and prints differently.
    """
    import tempfile

    import pyarrow.parquet as pq

    fmt = get_format(fmt) if isinstance(fmt, str) else fmt
    total = 0
    with tempfile.TemporaryDirectory(prefix="zuinig-size-") as work:
        for table, source in workload.tables.items():
            parquet = pq.ParquetFile(source)
            rows = parquet.metadata.num_rows
            sample = next(parquet.iter_batches(batch_size=SIZE_SAMPLE_ROWS), None)
            if sample is None or rows == 0:
                continue
            sample_source = Path(work) / f"sample-{table}.parquet"  # not the target's name
            with pq.ParquetWriter(sample_source, parquet.schema_arrow) as writer:
                writer.write_batch(sample)
            target = Path(work) / f"{table}{fmt.suffix}"
            _write_table(sample_source, target, fmt)
            total += target.stat().st_size * rows // sample.num_rows
    return total


def _write_table(source: Path, target: Path, fmt: Format) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(source)
    schema = parquet.schema_arrow
    tables = rechunk(parquet.iter_batches(batch_size=READ_BATCH_ROWS), schema, BATCH_ROWS)
    try:
        if fmt.kind == "csv":
            _write_csv(tables, schema, target, fmt.compression, fmt.level)
        elif fmt.kind == "parquet":
            with pq.ParquetWriter(
                target, schema, compression=fmt.compression or "none", compression_level=fmt.level
            ) as writer:
                for table in tables:
                    writer.write_table(table, row_group_size=BATCH_ROWS)
        else:
            codec = (
                pa.Codec(fmt.compression, fmt.level)
                if fmt.compression and fmt.level is not None
                else fmt.compression
            )
            options = pa.ipc.IpcWriteOptions(compression=codec)
            with pa.ipc.new_file(str(target), schema, options=options) as writer:
                for table in tables:
                    writer.write_table(table)
    except (pa.ArrowException, OSError) as error:
        raise BenchError(
            f"cannot write {source.stem} as {fmt.name}: {error}; choose other formats"
        ) from error


def _write_csv(
    tables: Iterable[pa.Table],
    schema: pa.Schema,
    target: Path,
    compression: str | None,
    level: int | None,
) -> None:
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    unwritable = [f.name for f in schema if pa.types.is_nested(f.type)]
    if unwritable:
        raise BenchError(
            f"columns {', '.join(unwritable)} hold nested values, which CSV cannot store; "
            "choose Parquet or Arrow formats"
        )
    # Python's gzip module, because pyarrow's compressed streams take no level;
    # mtime=0 keeps the bytes the same from run to run.
    sink: Any = (
        gzip.GzipFile(target, "wb", compresslevel=level or GZIP_LEVEL, mtime=0)
        if compression == "gzip"
        else pa.OSFile(str(target), "wb")
    )
    with sink, pa_csv.CSVWriter(sink, schema) as writer:
        for table in tables:
            writer.write_table(table)


def _effective_level(fmt: Format) -> int | None:
    """The compression level used: the format's own, else the library default."""
    if fmt.level is not None or fmt.compression in (None, "snappy"):
        return fmt.level
    import pyarrow as pa

    level: int = pa.Codec.default_compression_level(fmt.compression)
    return level
