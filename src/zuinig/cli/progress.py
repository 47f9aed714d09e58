"""Progress for a person watching stderr: the one rich progress bar, and progress lines.

Both show nothing when stderr is not a terminal (a pipe, a log file, a test), so scripts
and logs get only the result. Rich is imported only when a bar is really shown: starting
the CLI stays fast, and rich stays out of the library (the library reports progress
through a callback; the command turns it into this bar).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Literal, Protocol

from zuinig.cli.app import echo, is_terminal

__all__ = ["BarUpdate", "progress_bar", "progress_lines"]


class BarUpdate(Protocol):
    """Moves the bar: ``done`` of ``total`` (``None`` or 0: not known yet), and a new
    description when one is given."""

    def __call__(self, done: int, total: int | None, description: str | None = None) -> None: ...


def _ignore(done: int, total: int | None, description: str | None = None) -> None:
    """The bar when nobody watches: nothing."""


@contextlib.contextmanager
def progress_bar(
    description: str, *, counts: Literal["items", "bytes"] = "items"
) -> Iterator[BarUpdate]:
    """A rich progress bar on stderr while the block runs, gone when it ends.

    Args:
        description: the text before the bar until an update gives another.
        counts: ``items`` shows ``done/total`` and the time elapsed (trials, runs);
            ``bytes`` shows sizes, speed and the time remaining (a conversion).

    Yields:
        A :class:`BarUpdate`; it does nothing when stderr is not a terminal.
    """
    if not is_terminal(sys.stderr):
        yield _ignore
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    amounts: tuple[ProgressColumn, ...] = (
        (MofNCompleteColumn(), TimeElapsedColumn())
        if counts == "items"
        else (DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn())
    )
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        *amounts,
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int | None, description: str | None = None) -> None:
            bar.update(task, completed=done, total=total or None, description=description)

        yield update


def progress_lines() -> Callable[[str], None] | None:
    """Progress as indented lines on stderr when a person watches it; ``None`` (nothing)
    in pipes and logs."""
    if not is_terminal(sys.stderr):
        return None
    return lambda message: echo(f"  {message}", err=True)
