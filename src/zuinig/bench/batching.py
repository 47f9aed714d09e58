"""Tables streamed in batches: the batch sizes, and regrouping batches into row groups.

Shared by the workloads (canonical files) and the formats (prepared files), so both
write the row groups a default pyarrow writer would. This module imports pyarrow only
when it regroups, so that naming the sizes costs a benchmark subprocess nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

#: Rows per batch when streaming tables; pyarrow's default maximum Parquet row-group
#: size, so canonical files have the row groups a default writer would give them.
BATCH_ROWS = 1 << 20
#: Rows per batch when reading Parquet: pyarrow's default. Batches that span row groups
#: are stitched together, which made reading SF1 lineitem twice as slow with BATCH_ROWS.
READ_BATCH_ROWS = 1 << 16


def rechunk(batches: Iterable[pa.RecordBatch], schema: pa.Schema, rows: int) -> Iterator[pa.Table]:
    """Regroup a stream of batches into tables of ``rows`` rows (the last one may be smaller).

    Writers make one Parquet row group per write, so this keeps row groups at the
    intended size whatever batch sizes the reader yields, while holding only about
    ``rows`` rows in memory.
    """
    import pyarrow as pa

    pending: list[pa.RecordBatch] = []
    pending_rows = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        pending.append(batch)
        pending_rows += batch.num_rows
        while pending_rows >= rows:
            table = pa.Table.from_batches(pending, schema=schema)
            yield table.slice(0, rows)
            rest = table.slice(rows)
            pending = rest.to_batches()
            pending_rows = rest.num_rows
    if pending_rows:
        yield pa.Table.from_batches(pending, schema=schema)
