"""Per-column checksums over a canonical form of the values (see :mod:`zuinig.convert`)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING

import xxhash

from zuinig.convert.pipeline import ParallelMap

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa


class ColumnDigest:
    """XXH3-128 over one column's values in a canonical form, fed chunk by chunk.

    The canonical form (see the module docstring) does not depend on where the chunks
    begin and end, nor on encodings such as dictionaries and views, so the same values
    give the same digest whether they come from a CSV block, a Parquet row group or an
    Arrow record batch. Separate streams (null mask, values, bytes) are hashed apart and
    combined at the end for the same reason.

    Why XXH3-128 and not SHA-256: the checksum guards against a writer or reader that
    changes values, not against an adversary, and it is computed twice over every byte
    of the data (once as the source streams through, once over the file read back).
    XXH3 hashes at memory speed (about 10 GB/s a core), SHA-256 at about 1.7 GB/s even
    with the CPU's SHA instructions, which made the checksums a fifth of a conversion's
    CPU time. Its 128 bits make an accidental match of two different columns about one
    chance in 10^38, and its output is fixed by its specification (xxHash 0.8), so the
    same values give the same checksum on every machine and version.
    """

    def __init__(self) -> None:
        self.rows = 0
        self._validity = xxhash.xxh3_128()
        self._values = xxhash.xxh3_128()
        self._data = xxhash.xxh3_128()
        self._children: list[ColumnDigest] = []

    def update(self, values: pa.Array | pa.ChunkedArray) -> None:
        """Add the next values of the column."""
        import numpy as np
        import pyarrow as pa

        if isinstance(values, pa.ChunkedArray):
            for chunk in values.chunks:
                self.update(chunk)
            return
        array = _plain(values)
        count = len(array)
        if count == 0:
            return
        self.rows += count
        data_type = array.type
        if array.null_count:
            valid = array.is_valid().to_numpy(zero_copy_only=False)
        else:
            valid = np.ones(count, dtype=np.bool_)
        self._validity.update(valid.view(np.uint8).data)
        if pa.types.is_null(data_type):
            return
        if pa.types.is_boolean(data_type):
            filled = array.fill_null(False) if array.null_count else array
            self._values.update(filled.to_numpy(zero_copy_only=False).view(np.uint8).data)
        elif _is_fixed_width(data_type):
            self._values.update(_fixed_width_bytes(array, valid).data)
        elif _is_var_width(data_type):
            self._update_var_width(array, valid)
        elif _is_list_like(data_type):
            self._update_list(array, valid)
        elif pa.types.is_struct(data_type):
            import pyarrow.compute as pc

            if not self._children:
                self._children = [ColumnDigest() for _ in range(data_type.num_fields)]
            for index, child in enumerate(self._children):
                child.update(pc.struct_field(array, [index]))
        else:  # unions and other rare types: each value's repr, framed by its length
            for item in array.to_pylist():
                text = repr(item).encode()
                self._data.update(len(text).to_bytes(8, "little") + text)

    def _update_var_width(self, array: pa.Array, valid: np.ndarray) -> None:
        import numpy as np
        import pyarrow as pa

        if array.null_count:
            empty = (
                ""
                if pa.types.is_string(array.type) or pa.types.is_large_string(array.type)
                else b""
            )
            array = array.fill_null(pa.scalar(empty, array.type))
        large = pa.types.is_large_string(array.type) or pa.types.is_large_binary(array.type)
        offsets = np.frombuffer(array.buffers()[1], dtype=np.int64 if large else np.int32)[
            array.offset : array.offset + len(array) + 1
        ]
        lengths = np.diff(offsets).astype(np.int64)
        lengths[~valid] = -1
        self._values.update(lengths.view(np.uint8).data)
        data = array.buffers()[2]
        if data is not None and offsets[-1] > offsets[0]:
            self._data.update(memoryview(data)[int(offsets[0]) : int(offsets[-1])])

    def _update_list(self, array: pa.Array, valid: np.ndarray) -> None:
        import numpy as np
        import pyarrow.compute as pc

        lengths = pc.list_value_length(array).fill_null(-1).to_numpy(zero_copy_only=False)
        lengths = lengths.astype(np.int64)
        self._values.update(lengths.view(np.uint8).data)
        if not self._children:
            self._children = [ColumnDigest()]
        self._children[0].update(pc.list_flatten(array))

    def hexdigest(self) -> str:
        """The column's checksum: XXH3-128 (32 hex digits) over its rows and its parts'
        digests."""
        combined = xxhash.xxh3_128(self.rows.to_bytes(8, "little"))
        for part in (self._validity, self._values, self._data):
            combined.update(part.digest())
        for child in self._children:
            combined.update(bytes.fromhex(child.hexdigest()))
        return combined.hexdigest()


def _plain(array: pa.Array) -> pa.Array:
    """``array`` without encodings that do not change its values."""
    import pyarrow as pa

    if isinstance(array.type, pa.ExtensionType):
        array = array.storage
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if pa.types.is_string_view(array.type):
        array = array.cast(pa.string())
    elif pa.types.is_binary_view(array.type):
        array = array.cast(pa.binary())
    elif pa.types.is_run_end_encoded(array.type):
        import pyarrow.compute as pc

        array = pc.run_end_decode(array)
    return array


def _is_fixed_width(data_type: pa.DataType) -> bool:
    import pyarrow as pa

    if pa.types.is_nested(data_type) or _is_var_width(data_type) or pa.types.is_boolean(data_type):
        return False
    try:
        return bool(data_type.bit_width % 8 == 0 and data_type.bit_width > 0)
    except ValueError:  # bit_width of a type without a fixed width
        return False


def _is_var_width(data_type: pa.DataType) -> bool:
    import pyarrow as pa

    return bool(
        pa.types.is_string(data_type)
        or pa.types.is_large_string(data_type)
        or pa.types.is_binary(data_type)
        or pa.types.is_large_binary(data_type)
    )


def _is_list_like(data_type: pa.DataType) -> bool:
    import pyarrow as pa

    return bool(
        pa.types.is_list(data_type)
        or pa.types.is_large_list(data_type)
        or pa.types.is_fixed_size_list(data_type)
        or pa.types.is_map(data_type)
        or pa.types.is_list_view(data_type)
        or pa.types.is_large_list_view(data_type)
    )


def _fixed_width_bytes(array: pa.Array, valid: np.ndarray) -> np.ndarray:
    """The values' little-endian bytes, nulls zeroed, NaN in one bit pattern."""
    import numpy as np
    import pyarrow as pa

    width = array.type.bit_width // 8
    count = len(array)
    buffer = array.buffers()[1]
    if buffer is None:
        return np.zeros(count * width, dtype=np.uint8)
    raw = np.frombuffer(buffer, dtype=np.uint8)
    raw = raw[array.offset * width : (array.offset + count) * width]
    floating = pa.types.is_floating(array.type)
    if not array.null_count and not floating:
        return raw
    rows = raw.reshape(count, width).copy()
    if floating:
        floats = rows.reshape(-1).view({2: np.float16, 4: np.float32, 8: np.float64}[width])
        floats[np.isnan(floats)] = np.nan
    if array.null_count:
        rows[~valid] = 0
    return rows.reshape(-1)


def update_digests(
    digests: Sequence[ColumnDigest],
    columns: Sequence[pa.Array | pa.ChunkedArray],
    parallel: ParallelMap,
) -> None:
    """Add the next values of every column to its digest, the columns in parallel.

    Each call waits for all its columns, so a column's chunks are still hashed in order.
    """
    parallel.each(
        [
            functools.partial(digest.update, column)
            for digest, column in zip(digests, columns, strict=True)
        ]
    )
