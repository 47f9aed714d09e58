"""Will it fit? Sizes of generated data, checked before a single row is made.

``zuinig bench --workload groupby --rows 1000000000000`` once grew until the kernel's
out-of-memory killer fired. Every generator therefore states what it will need before
it starts, as a :class:`Need`, and :func:`check_fits` refuses it in one line when that
is more than this machine has free (memory from psutil, disk from the file system) or
more than the ``--memory-limit`` the user gave: the limit covers generation too, not
only the trials.

Estimates are derived from the data's Arrow schema: a fixed-width column costs its
width per row, a text column its 32-bit offset plus the length of its values (which
the generator knows). That is what the rows hold in memory; on disk the canonical,
Zstandard-compressed Parquet copy is smaller, so the disk figure is an upper bound.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

from zuinig.errors import BenchError

if TYPE_CHECKING:
    import pyarrow as pa

#: Bytes of a 32-bit offset, which every value of an Arrow text column has besides its text.
TEXT_OFFSET_BYTES = 4


class DataTooLargeError(BenchError):
    """The data asked for does not fit this machine (or the memory limit): bad input."""

    bad_input = True


@dataclass(frozen=True)
class Need:
    """What generating some data takes.

    Attributes:
        what: the data in words, e.g. ``group-by data of 1,000 rows``.
        memory_bytes: the most memory the generator holds at once (bytes).
        disk_bytes: what it writes to disk (bytes).
        advice: what to do when it does not fit, e.g. ``give a smaller --rows``.
        disk_is_bound: ``True`` when ``disk_bytes`` is an upper bound, ``False`` when it
            is an estimate (said so in the message).
    """

    what: str
    memory_bytes: int
    disk_bytes: int
    advice: str
    disk_is_bound: bool = True


def arrow_bytes_per_row(schema: pa.Schema, text_bytes: Mapping[str, int]) -> int:
    """Bytes one row of ``schema`` takes in Arrow memory.

    Args:
        schema: the columns.
        text_bytes: per text (or binary) column, the length of its values in bytes.

    Raises:
        ValueError: a column is neither fixed-width nor named in ``text_bytes``.
    """
    import pyarrow as pa

    total = 0
    for field in schema:
        if field.name in text_bytes:
            total += TEXT_OFFSET_BYTES + text_bytes[field.name]
        elif pa.types.is_boolean(field.type):
            total += 1  # a bit, rounded up to keep the estimate an upper bound
        else:
            try:
                total += max(field.type.bit_width // 8, 1)
            except ValueError:
                raise ValueError(f"no size known for column {field.name} ({field.type})") from None
        if field.nullable:
            total += 1  # the validity bit, rounded up
    return total


def check_fits(need: Need, directory: Path, memory_limit_bytes: int | None = None) -> None:
    """Refuse ``need`` unless this machine has the memory and disk for it.

    Args:
        need: what the generator will take.
        directory: where it writes (it need not exist yet; its nearest existing parent's
            file system is asked).
        memory_limit_bytes: the user's ``--memory-limit``; generation must stay under it.

    Raises:
        DataTooLargeError: it does not fit; the message says how much is needed and free.
    """
    advice = need.advice
    if memory_limit_bytes is not None and need.memory_bytes > memory_limit_bytes:
        raise DataTooLargeError(
            f"generating {need.what} needs about {size_text(need.memory_bytes)} of memory, "
            f"over the memory limit of {size_text(memory_limit_bytes)}; {advice} "
            "or a larger --memory-limit"
        )
    available = psutil.virtual_memory().available
    if need.memory_bytes > available:
        raise DataTooLargeError(
            f"generating {need.what} needs about {size_text(need.memory_bytes)} of memory, "
            f"but only {size_text(available)} is available; {advice}"
        )
    existing = _existing_parent(directory)
    free = shutil.disk_usage(existing).free
    if need.disk_bytes > free:
        raise DataTooLargeError(
            f"generating {need.what} needs {'up to' if need.disk_is_bound else 'about'} "
            f"{size_text(need.disk_bytes)} of disk, "
            f"but {existing} has {size_text(free)} free; {advice}"
        )


def size_text(size_bytes: float) -> str:
    """A size for people, in powers of 1000: ``512 B``, ``1.5 MB``, ``82.0 TB``."""
    value = float(size_bytes)
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if abs(value) < 1000 or unit == "PB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")  # pragma: no cover


def _existing_parent(directory: Path) -> Path:
    path = directory.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path
