"""Planning a conversion: every check that needs no reading of the data."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from zuinig.atomic import TargetNotWritableError, target_kind
from zuinig.bench.formats import FORMATS, Format
from zuinig.convert.model import Plan, Source, TargetKind
from zuinig.convert.text import bad, os_reason

if TYPE_CHECKING:
    pass


#: The formats ``convert`` writes.
TARGETS: tuple[TargetKind, ...] = ("parquet", "arrow", "csv")
#: Per target, the codecs it accepts; the first is the default.
CODECS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "parquet": ("zstd", "snappy", "gzip", "brotli", "lz4", "none"),
        "arrow": ("zstd", "lz4", "none"),
        "csv": ("none", "gzip"),
    }
)
#: Per target, the codec used when none is given: Zstandard for Parquet and Arrow (small
#: files that still read fast, as measured by ``zuinig bench``), plain text for CSV.
DEFAULT_CODECS: Mapping[str, str] = MappingProxyType(
    {kind: codecs[0] for kind, codecs in CODECS.items()}
)
_CODEC_ALIASES = {"uncompressed": "none", "gz": "gzip", "zst": "zstd", "lz4_frame": "lz4"}

#: Compression of whole CSV files: Python name in the file name, pyarrow stream codec.
_TEXT_COMPRESSION = {"gz": "gzip", "bz2": "bz2", "zst": "zstd"}
_DATA_SUFFIXES = frozenset(
    {".csv", ".tsv", ".txt", ".parquet", ".pq", ".arrow", ".feather", ".ipc", ".arrows"}
    | {".gz", ".bz2", ".zst", ".xz"}
)
_SUFFIX_KIND = {
    ".csv": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".arrow": "arrow",
    ".feather": "arrow",
    ".ipc": "arrow",
}


def target_path(
    source: str | os.PathLike[str],
    to: str,
    *,
    compression: str | None = None,
    out: str | os.PathLike[str] | None = None,
) -> Path:
    """Where :func:`convert_file` would write, without checking whether it may.

    Raises:
        ConversionError: ``to`` or ``compression`` is not known (``bad_input``).
    """
    kind = _target_kind(to)
    out_path = Path(out).expanduser() if out is not None else None
    codec = _codec(kind, compression, out_path)
    return _target_for(Path(source).expanduser().absolute(), kind, codec, out_path)


def make_plan(
    source: str | os.PathLike[str],
    to: str,
    *,
    compression: str | None,
    out: str | os.PathLike[str] | None,
    force: bool,
) -> Plan:
    kind = _target_kind(to)
    out_path = Path(out).expanduser() if out is not None else None
    codec = _codec(kind, compression, out_path)
    src = inspect_source(Path(source).expanduser())
    target = _target_for(src.path, kind, codec, out_path)
    fmt = _target_format(kind, codec)
    if not target.parent.is_dir():
        raise bad(f"cannot write {target}: directory {target.parent} does not exist")
    if _same_file(src.path, target):
        raise bad(
            f"the target {target} is the source itself; give --out another file "
            "(a source is never overwritten)"
        )
    replaces = target.exists() or target.is_symlink()
    if replaces and target.is_dir():
        raise bad(f"{target} is a directory; give --out a file name")
    try:
        kind_there = target_kind(target)
    except TargetNotWritableError as error:
        raise bad(str(error).replace(" (or a stream such as /dev/stdout)", "")) from None
    except OSError as error:
        raise bad(f"cannot write {target}: {os_reason(error)}") from None
    if kind_there == "stream":
        raise bad(
            f"{target} is a device or named pipe, not a regular file; convert reads the "
            "file it wrote back in full to verify it before putting it in place, so give "
            "--out a file name"
        )
    if replaces and not force:
        raise bad(f"{target} already exists; use --force to replace it")
    return Plan(source=src, target=target, format=fmt, force=force, replaces=replaces)


def _target_kind(to: str) -> TargetKind:
    kind = to.strip().lower()
    if kind == "feather":
        kind = "arrow"
    for known in TARGETS:
        if kind == known:
            return known
    raise bad(f"cannot convert to {to!r}; choose one of {', '.join(TARGETS)}")


def _codec(kind: TargetKind, compression: str | None, out: Path | None) -> str:
    if compression is None:
        if kind == "csv" and out is not None and out.suffix.lower() == ".gz":
            return "gzip"
        return DEFAULT_CODECS[kind]
    codec = compression.strip().lower()
    codec = _CODEC_ALIASES.get(codec, codec)
    if codec not in CODECS[kind]:
        raise bad(
            f"{kind} files cannot be compressed with {compression!r}; "
            f"choose --compression {', '.join(CODECS[kind])}"
        )
    if codec != "none" and kind != "csv":
        import pyarrow as pa

        if not pa.Codec.is_available(codec):
            raise bad(f"this pyarrow has no {codec} codec; choose another --compression")
    return codec


def _target_format(kind: TargetKind, codec: str) -> Format:
    """The format in ``zuinig bench``'s registry, or one named the same way."""
    compression = None if codec == "none" else codec
    if kind == "csv":
        return FORMATS["csv.gz" if compression == "gzip" else "csv"]
    name = f"{kind}-{codec}"
    if name in FORMATS:
        return FORMATS[name]
    words = "Parquet" if kind == "parquet" else "Arrow IPC file"
    return Format(name, kind, compression, f".{kind}", f"{words}, {codec} compression")


def inspect_source(path: Path) -> Source:
    from zuinig.meter.process import detect_format

    path = path.absolute()
    try:
        info = path.stat()
    except FileNotFoundError:
        raise bad(f"{path} does not exist; check the path") from None
    except OSError as error:
        raise bad(f"cannot read {path}: {os_reason(error)}") from None
    if path.is_dir():
        raise bad(f"{path} is a directory; give the path of a CSV, Parquet or Arrow file")
    if not path.is_file():
        raise bad(f"{path} is not a regular file; give the path of a CSV, Parquet or Arrow file")
    if not os.access(path, os.R_OK):
        raise bad(f"cannot read {path}: permission denied")
    if info.st_size == 0:
        raise bad(f"{path} is empty (0 bytes); there is nothing to convert")
    detected = detect_format(path)
    base, _, compressed = detected.partition(".")
    if base in ("csv", "tsv") and compressed in ("", *_TEXT_COMPRESSION):
        return Source(
            path=path,
            format=detected,
            kind="csv",
            compression=_TEXT_COMPRESSION.get(compressed),
            delimiter="\t" if base == "tsv" else ",",
            size_bytes=info.st_size,
            mode=stat.S_IMODE(info.st_mode) & 0o777,
        )
    mode = stat.S_IMODE(info.st_mode) & 0o777
    if detected == "parquet":
        return Source(path, detected, "parquet", None, ",", info.st_size, mode)
    if detected == "arrow":
        return Source(path, detected, "arrow", None, ",", info.st_size, mode)
    if detected == "feather-v1":
        reason = "it is a Feather version 1 file; rewrite it as Feather v2 (Arrow IPC) first"
    elif base in ("csv", "tsv"):
        reason = f"{compressed} compression cannot be read; recompress it with gzip or zstd"
    elif detected == "unknown":
        reason = "its format cannot be told from its name or content"
    else:
        reason = f"it is a {detected} file"
    raise bad(
        f"cannot convert {path.name}: {reason}; zuinig converts CSV (.csv, .tsv, also .gz, "
        ".bz2, .zst), Parquet and Arrow IPC (.arrow, .feather) files"
    )


def _target_for(source: Path, kind: TargetKind, codec: str, out: Path | None) -> Path:
    suffix = {"parquet": ".parquet", "arrow": ".arrow", "csv": ".csv"}[kind]
    if kind == "csv" and codec == "gzip":
        suffix += ".gz"
    if out is not None and not out.is_dir():
        _check_out_suffix(out, kind, codec)
        return out.absolute()
    name = source.name
    while Path(name).suffix.lower() in _DATA_SUFFIXES and Path(name).stem:
        name = Path(name).stem
    directory = out if out is not None else source.parent
    return (directory / f"{name}{suffix}").absolute()


def _check_out_suffix(out: Path, kind: TargetKind, codec: str) -> None:
    """Refuse an ``out`` whose name promises another format than the one written."""
    suffixes = [suffix.lower() for suffix in out.suffixes[-2:]]
    if not suffixes:
        return
    gz = suffixes[-1] == ".gz"
    named = _SUFFIX_KIND.get(suffixes[-2] if gz and len(suffixes) == 2 else suffixes[-1])
    if named is not None and named != kind:
        raise bad(f"--out {out.name} names a {named} file but --to is {kind}; make them agree")
    if kind == "csv" and named == "csv" and gz != (codec == "gzip"):
        wanted = f"{out.name}.gz" if codec == "gzip" else out.name.removesuffix(out.suffix)
        raise bad(f"--out {out.name} does not match the {codec} compression; name it {wanted}")


def _same_file(source: Path, target: Path) -> bool:
    if source.resolve() == target.resolve():
        return True
    try:
        return source.samefile(target)
    except OSError:
        return False
