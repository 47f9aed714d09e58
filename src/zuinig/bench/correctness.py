"""Do two answers to a query agree? And which answer is the reference?

A benchmark ranks configurations by energy; a fast wrong answer must never win.
Every configuration's answer to a query is compared with a reference answer:

- the same columns (by name; order does not matter),
- the same number of rows; two answers without rows agree when their column names
  do (a column with no values has whatever type its reader guessed: a header-only CSV
  gives ``null`` columns to one engine and ``string`` or ``int32`` to another),
- after sorting both by their key columns (every column that is not floating point
  in the reference, then the floating ones as tie-breakers), row by row:
  numbers within a relative tolerance (or a small absolute one near zero), except
  that whole numbers on both sides (integers, booleans, decimals without fraction)
  are compared exactly, as 38-digit decimals, since a double holds integers exactly
  only up to 2^53; text, dates and everything else exactly. Missing values match missing values, and a
  floating NaN counts as missing (pandas says NaN where SQL says NULL).

Types may differ where engines legitimately differ: any integer, floating, decimal or
boolean type is a number (DuckDB sums integers as 128-bit decimals, Polars counts
as ``uint32``); any string type is text; dates and timestamps are compared as
instants (pandas gives ``datetime64`` where SQL gives ``date``).

Floating-point sums depend on the order of addition, which differs by engine and
thread count, hence a tolerance. The default relative tolerance, 1e-6, is far above
that rounding noise (about 1e-12 for the sums here) and far below any real error,
such as a missed row in a sum of thousands.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Generic, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from zuinig.errors import BenchError

#: Relative tolerance for numbers: |a - b| <= rel_tol x max(|a|, |b|).
DEFAULT_REL_TOL = 1e-6
#: Absolute tolerance for numbers near zero, where a relative one means nothing.
DEFAULT_ABS_TOL = 1e-9
#: Key columns shown to locate a differing row.
_KEYS_SHOWN = 3
#: Digits of the decimals whole numbers are compared as: decimal128's most, which holds
#: every 64-bit integer (20 digits) and DuckDB's sums (38 digits).
_WHOLE_DIGITS = 38
#: Microseconds per day, to compare dates with timestamps.
_US_PER_DAY = 86_400_000_000

K = TypeVar("K", bound=Hashable)
BoolArray = np.ndarray[Any, np.dtype[np.bool_]]
FloatArray = np.ndarray[Any, np.dtype[np.float64]]


@dataclass(frozen=True)
class Verdict:
    """Whether an answer agrees with the reference, and if not, why, in words.

    Attributes:
        ok: ``True`` when the answers agree.
        reason: empty when they agree; else one line such as
            ``q3: 9 rows, the reference has 10``.
    """

    ok: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.ok


AGREES = Verdict(True)


def compare(
    reference: pa.Table,
    result: pa.Table,
    *,
    label: str = "",
    rel_tol: float = DEFAULT_REL_TOL,
    abs_tol: float = DEFAULT_ABS_TOL,
) -> Verdict:
    """Whether ``result`` gives the same answer as ``reference`` (see the module docstring).

    Args:
        reference: the answer taken as right.
        result: the answer to check.
        label: names the query in the reason, e.g. ``q3``.
        rel_tol: relative tolerance for numbers.
        abs_tol: absolute tolerance for numbers near zero.
    """
    prefix = f"{label}: " if label else ""
    names = reference.column_names
    missing = [name for name in names if name not in result.column_names]
    extra = [name for name in result.column_names if name not in names]
    if missing or extra or len(set(result.column_names)) != len(result.column_names):
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing)}")
        if extra:
            parts.append(f"unexpected {', '.join(extra)}")
        if not parts:
            parts.append("a column name appears twice")
        return Verdict(False, f"{prefix}columns differ: {'; '.join(parts)}")
    result = result.select(names)
    if result.num_rows != reference.num_rows:
        return Verdict(
            False, f"{prefix}{result.num_rows} rows, the reference has {reference.num_rows}"
        )
    if reference.num_rows == 0:
        return AGREES  # no values to compare, and column types without values mean nothing
    kinds = {}
    for name in names:
        want, got = _kind(reference.schema.field(name).type), _kind(result.schema.field(name).type)
        if want != got:
            return Verdict(False, f"{prefix}column {name} holds {got}, the reference holds {want}")
        kinds[name] = want

    whole = {
        name
        for name in names
        if kinds[name] == "numbers"
        and _is_whole(reference.schema.field(name).type)
        and _is_whole(result.schema.field(name).type)
    }
    norm_reference = _normalised(reference, kinds, whole)
    norm_result = _normalised(result, kinds, whole)
    keys = [n for n in names if kinds[n] != "numbers" or not _is_fractional(reference, n)]
    order = keys + [n for n in names if n not in keys]
    sort_keys = [(name, "ascending", "at_end") for name in order]
    reference_order = pc.sort_indices(norm_reference, sort_keys=sort_keys)
    result_order = pc.sort_indices(norm_result, sort_keys=sort_keys)
    norm_reference = norm_reference.take(reference_order)
    norm_result = norm_result.take(result_order)

    for name in names:
        want, got = norm_reference.column(name), norm_result.column(name)
        if kinds[name] == "numbers" and name not in whole:
            bad = _numbers_differ(want, got, rel_tol, abs_tol)
        else:
            bad = _values_differ(want, got)
        if bad.any():
            row = int(np.argmax(bad))
            shown = reference.take(reference_order).column(name)[row].as_py()
            found = result.take(result_order).column(name)[row].as_py()
            where = _locate(reference.take(reference_order), keys, name, row)
            count = int(bad.sum())
            return Verdict(
                False,
                f"{prefix}column {name} differs in {count} of {len(bad)} rows; first at "
                f"row {row}{where}: {_show(found)}, expected {_show(shown)}",
            )
    return AGREES


@dataclass(frozen=True)
class Consensus(Generic[K]):
    """The reference answer among several, and how every answer compares with it.

    Attributes:
        reference: the key of the answer taken as right.
        verdicts: for every key (the reference's own included), its verdict against
            the reference.
        majority: ``True`` when more than half of the answers agree with the
            reference; ``False`` means no answer has a majority, and the reference is
            only the preferred one of the largest agreeing group: say so.
    """

    reference: K
    verdicts: Mapping[K, Verdict] = field(default_factory=dict)
    majority: bool = True

    @property
    def agreeing(self) -> tuple[K, ...]:
        """The keys whose answers agree with the reference."""
        return tuple(key for key, verdict in self.verdicts.items() if verdict.ok)

    @property
    def disagreeing(self) -> dict[K, Verdict]:
        """The keys whose answers differ, with the reason."""
        return {key: verdict for key, verdict in self.verdicts.items() if not verdict.ok}


def find_consensus(
    results: Mapping[K, pa.Table],
    *,
    prefer: Sequence[K] = (),
    label: str = "",
    rel_tol: float = DEFAULT_REL_TOL,
    abs_tol: float = DEFAULT_ABS_TOL,
) -> Consensus[K]:
    """Pick the reference answer to one query and judge every answer against it.

    The answers are grouped by agreement, and the reference is taken from the largest
    group: no engine is trusted beforehand, so one engine's bug (a CSV type guessed
    wrong, a date compared as text) cannot disqualify all the others. Between groups
    of equal size, and within the chosen group, the earliest key in ``prefer`` wins,
    then the order of ``results``. A sensible ``prefer`` puts DuckDB on Parquet first:
    its SQL is closest to the TPC-H text, and Parquet keeps types without parsing text.

    Args:
        results: per configuration key, its answer.
        prefer: keys in order of preference as reference.
        label: names the query in reasons, e.g. ``q3``.
        rel_tol: relative tolerance for numbers.
        abs_tol: absolute tolerance for numbers near zero.

    Raises:
        BenchError: ``results`` is empty.
    """
    if not results:
        raise BenchError(f"no answers to compare{f' for {label}' if label else ''}")
    preferred = [key for key in prefer if key in results]
    ordered = list(dict.fromkeys([*preferred, *results]))
    groups: list[list[K]] = []
    for key in ordered:
        for group in groups:
            if compare(results[group[0]], results[key], rel_tol=rel_tol, abs_tol=abs_tol).ok:
                group.append(key)
                break
        else:
            groups.append([key])
    # max() keeps the first of equal sizes, and groups are in preference order.
    largest = max(groups, key=len)
    reference = largest[0]
    verdicts = {
        key: AGREES
        if key == reference
        else compare(
            results[reference], results[key], label=label, rel_tol=rel_tol, abs_tol=abs_tol
        )
        for key in results
    }
    agreeing = sum(1 for verdict in verdicts.values() if verdict.ok)
    return Consensus(
        reference=reference,
        verdicts=MappingProxyType(verdicts),
        majority=2 * agreeing > len(results),
    )


# --- helpers ----------------------------------------------------------------------------


def _kind(data_type: pa.DataType) -> str:
    if pa.types.is_dictionary(data_type):
        return _kind(data_type.value_type)
    if (
        pa.types.is_integer(data_type)
        or pa.types.is_floating(data_type)
        or pa.types.is_decimal(data_type)
        or pa.types.is_boolean(data_type)
    ):
        return "numbers"
    if (
        pa.types.is_string(data_type)
        or pa.types.is_large_string(data_type)
        or pa.types.is_string_view(data_type)
    ):
        return "text"
    if pa.types.is_date(data_type) or pa.types.is_timestamp(data_type):
        return "dates"
    return str(data_type)


def _is_fractional(table: pa.Table, name: str) -> bool:
    data_type = table.schema.field(name).type
    if pa.types.is_dictionary(data_type):
        data_type = data_type.value_type
    fractional: bool = pa.types.is_floating(data_type) or (
        pa.types.is_decimal(data_type) and data_type.scale > 0
    )
    return fractional


def _is_whole(data_type: pa.DataType) -> bool:
    """Whether every value of the type is a whole number (compared exactly)."""
    if pa.types.is_dictionary(data_type):
        data_type = data_type.value_type
    return bool(
        pa.types.is_integer(data_type)
        or pa.types.is_boolean(data_type)
        or (
            pa.types.is_decimal(data_type)
            and data_type.scale <= 0
            and data_type.precision - data_type.scale <= _WHOLE_DIGITS
        )
    )


def _normalised(table: pa.Table, kinds: Mapping[str, str], whole: Collection[str]) -> pa.Table:
    """Columns of one comparable type per kind: float64 (38-digit decimals for whole numbers
    on both sides), large_string, int64 microseconds."""
    columns = []
    for name in table.column_names:
        column = table.column(name)
        if pa.types.is_dictionary(column.type):
            column = pc.cast(column, column.type.value_type)
        kind = kinds[name]
        if name in whole:
            if pa.types.is_boolean(column.type):
                column = pc.cast(column, pa.int8())
            column = pc.cast(column, pa.decimal128(_WHOLE_DIGITS, 0))
        elif kind == "numbers":
            # Not safe: an integer above 2^53 becomes the nearest double (within any
            # tolerance) instead of raising.
            column = pc.cast(column, pa.float64(), safe=False)
            column = pc.if_else(pc.is_nan(column), pa.scalar(None, pa.float64()), column)
        elif kind == "text":
            column = pc.cast(column, pa.large_string())
        elif kind == "dates":
            column = _microseconds(column)
        columns.append(column)
    return pa.table(columns, names=table.column_names)


def _microseconds(column: pa.ChunkedArray) -> pa.ChunkedArray:
    data_type = column.type
    if pa.types.is_date32(data_type):
        return pc.multiply(pc.cast(pc.cast(column, pa.int32()), pa.int64()), _US_PER_DAY)
    if pa.types.is_date64(data_type):
        return pc.multiply(pc.cast(column, pa.int64()), 1000)
    as_us = pc.cast(column, pa.timestamp("us", data_type.tz))
    return pc.cast(as_us, pa.int64())


def _numbers_differ(
    want: pa.ChunkedArray, got: pa.ChunkedArray, rel_tol: float, abs_tol: float
) -> BoolArray:
    want_missing: BoolArray = want.is_null().to_numpy()
    got_missing: BoolArray = got.is_null().to_numpy()
    a: FloatArray = want.fill_null(0.0).to_numpy()
    b: FloatArray = got.fill_null(0.0).to_numpy()
    with np.errstate(invalid="ignore"):  # inf - inf is nan; equal infinities pass by a == b
        close = (a == b) | (
            np.abs(a - b) <= np.maximum(rel_tol * np.maximum(np.abs(a), np.abs(b)), abs_tol)
        )
    differ: BoolArray = (want_missing != got_missing) | (~want_missing & ~got_missing & ~close)
    return differ


def _values_differ(want: pa.ChunkedArray, got: pa.ChunkedArray) -> BoolArray:
    try:
        equal = pc.fill_null(pc.equal(want, got), False)
        both_missing = pc.and_(want.is_null(), got.is_null())
        same: BoolArray = pc.or_(equal, both_missing).to_numpy()
        return np.logical_not(same)
    except pa.ArrowNotImplementedError:
        return np.array([a != b for a, b in zip(want.to_pylist(), got.to_pylist(), strict=True)])


def _locate(table: pa.Table, keys: Sequence[str], column: str, row: int) -> str:
    shown = [key for key in keys if key != column][:_KEYS_SHOWN]
    if not shown:
        return ""
    values = ", ".join(f"{key}={_show(table.column(key)[row].as_py())}" for key in shown)
    return f" ({values})"


def _show(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.10g}"
    if isinstance(value, str):
        return repr(value)
    return str(value)
