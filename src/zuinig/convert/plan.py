"""Planning a conversion: every check that needs no reading of the data."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from zuinig.atomic import TargetNotWritableError, target_kind
from zuinig.convert.model import Plan, TargetKind
from zuinig.convert.read import read_errors
from zuinig.convert.text import bad
from zuinig.formats import (
    COMPRESSION_BY_SUFFIX,
    FORMAT_BY_SUFFIX,
    FORMATS,
    READABLE_FORMATS,
    WRITABLE_KINDS,
    Format,
    SourceFile,
    inspect_source,
)
from zuinig.formats.read import os_reason

#: The formats ``convert`` writes.
TARGETS: tuple[TargetKind, ...] = WRITABLE_KINDS
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
    src = inspect_convert_source(Path(source).expanduser())
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


def inspect_convert_source(path: Path) -> SourceFile:
    """The source, checked by :func:`zuinig.formats.read.inspect_source`.

    Raises:
        ConversionError: the reader's refusal, in its words (``bad_input``).
    """
    with read_errors():
        return inspect_source(path)


def _target_for(source: Path, kind: TargetKind, codec: str, out: Path | None) -> Path:
    suffix = _target_format(kind, codec).suffix
    if out is not None and not out.is_dir():
        _check_out_suffix(out, kind, codec)
        return out.absolute()
    name = source.name
    while _names_data(Path(name).suffix) and Path(name).stem:
        name = Path(name).stem
    directory = out if out is not None else source.parent
    return (directory / f"{name}{suffix}").absolute()


def _names_data(suffix: str) -> bool:
    """Whether a file name ending names a format zuinig reads, text or a compression."""
    fmt = FORMAT_BY_SUFFIX.get(suffix.lower())
    return fmt is not None and (
        fmt in READABLE_FORMATS or fmt == "text" or suffix.lower() in COMPRESSION_BY_SUFFIX
    )


def _check_out_suffix(out: Path, kind: TargetKind, codec: str) -> None:
    """Refuse an ``out`` whose name promises another format than the one written."""
    suffixes = [suffix.lower() for suffix in out.suffixes[-2:]]
    if not suffixes:
        return
    gz = suffixes[-1] == ".gz"
    readable = READABLE_FORMATS.get(
        FORMAT_BY_SUFFIX.get(suffixes[-2] if gz and len(suffixes) == 2 else suffixes[-1], "")
    )
    named = readable[0] if readable else None
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
