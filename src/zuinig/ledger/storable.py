"""Text every ledger backend can store: the one place where run text is made storable.

A run's text comes from outside: a job name, tags, a command line, an exception
message, input paths. On Linux a file name that is not UTF-8 reaches Python as a
*lone surrogate* (``os.fsdecode`` maps the byte 0xff to ``'\\udcff'``), which no
UTF-8 database can encode (SQLite's driver raises ``UnicodeEncodeError``); and
PostgreSQL refuses the NUL character in text. Left as it is, one such run could
not be written at all, and a spooled copy of it would stop every later delivery.

So every row the ledger writes passes through :func:`storable` first (runs, their
tags, bench sessions and trials, whether written directly, delivered from the
spool, synced or imported), and :func:`zuinig.ledger.spool.save` stores runs
through :func:`storable_run`. Nothing is dropped: each offending character is
replaced by a *visible* escape, so a person sees where it was:

- a surrogate from an undecodable byte (U+DC80..U+DCFF) becomes ``\\xNN``, the byte;
- any other lone surrogate becomes ``\\uNNNN``;
- NUL becomes ``\\x00``.

Text without such characters is returned as it is (the same object), at the cost
of one regular-expression search.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any, TypeVar

from zuinig.errors import LedgerError
from zuinig.ledger.model import RUN_FIELDS, Run
from zuinig.meter.base import InputFile

__all__ = ["UnstorableRunError", "storable", "storable_run", "storable_text"]


class UnstorableRunError(LedgerError):
    """The ledger is reachable but refuses this one record (a value out of range,
    a constraint): writing it again will not help, unlike an unreachable database.

    The spool drain sets such a run aside (quarantine) and goes on with the others.
    """


T = TypeVar("T")

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# The surrogates Python's "surrogateescape" error handler makes from bytes 0x80..0xff.
_ESCAPED_BYTES = range(0xDC80, 0xDD00)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code in _ESCAPED_BYTES:
        return f"\\x{code - 0xDC00:02x}"
    if code == 0:
        return "\\x00"
    return f"\\u{code:04x}"


def storable_text(text: str) -> str:
    """``text`` with lone surrogates and NUL escaped visibly (see the module description).

    Args:
        text: any Python string.

    Returns:
        A string every ledger backend stores; ``text`` itself when it already is one.
    """
    if _UNSTORABLE.search(text) is None:
        return text
    return _UNSTORABLE.sub(_escape, text)


def storable(value: T) -> T:
    """``value`` with every string in it made storable: in mappings (keys too), lists,
    tuples and input-file records; other values are returned unchanged.

    Args:
        value: a row, a JSON-ready structure, or a single value.

    Returns:
        The same kind of value; the same object when nothing needed a change.
    """
    result: Any
    if isinstance(value, str):
        result = storable_text(value)
    elif isinstance(value, Mapping):
        items = [(storable(key), storable(item)) for key, item in value.items()]
        unchanged = all(
            new_key is key and new_item is item
            for (new_key, new_item), (key, item) in zip(items, value.items(), strict=True)
        )
        result = value if unchanged else dict(items)
    elif isinstance(value, list | tuple):
        items = [storable(item) for item in value]
        if all(new is old for new, old in zip(items, value, strict=True)):
            result = value
        else:
            result = items if isinstance(value, list) else tuple(items)
    elif isinstance(value, InputFile):
        path, kind = storable_text(value.path), storable_text(value.format)
        unchanged = path is value.path and kind is value.format
        result = value if unchanged else dataclasses.replace(value, path=path, format=kind)
    else:
        result = value
    return result  # type: ignore[no-any-return]


def storable_run(run: Run) -> Run:
    """``run`` with all its text made storable: ``run`` itself when it already is.

    Args:
        run: a run in any state.

    Returns:
        A run every ledger backend stores.
    """
    changes: dict[str, Any] = {}
    for name in RUN_FIELDS:
        value = getattr(run, name)
        if isinstance(value, str | Mapping | tuple):
            new = storable(value)
            if new is not value:
                changes[name] = new
    return dataclasses.replace(run, **changes) if changes else run
