"""How zuinig speaks of its own failures while it measures a job: one line, once.

Measuring must never disturb the measured job (see :mod:`zuinig.measure`), and a job
may make thousands of measured calls: so a failure of measurement or storage is one
warning on the ``zuinig`` logger per process, not one per call, and a traceback only
at debug level (``--debug``). The measure package and the ledger's writer
(:mod:`zuinig.ledger.writer`) both report this way, so the rule lives here, below both.
"""

from __future__ import annotations

import logging
import traceback

from zuinig.errors import ZuinigError

__all__ = ["forget_warnings", "log_bug", "logger", "reason", "warn_once"]

logger = logging.getLogger("zuinig")

_warned: set[str] = set()


def reason(error: BaseException) -> str:
    """One line saying what went wrong: a zuinig error's own message, else ``Type: message``."""
    if isinstance(error, ZuinigError):
        return str(error)
    return "".join(traceback.format_exception_only(error)).strip()


def warn_once(message: str) -> None:
    """Log a failure of measurement once per process, not once per call."""
    if message not in _warned:
        _warned.add(message)
        logger.warning(message)


def log_bug(what: str, error: BaseException) -> None:
    """One warning line for a failure of zuinig's own; the traceback only at debug level
    (``--debug``), so a job's output is not filled with zuinig's tracebacks."""
    logger.warning("zuinig: %s (%s)", what, reason(error))
    logger.debug("zuinig: %s", what, exc_info=error)


def forget_warnings() -> None:
    """Let every warning be given once more (tests start each from a fresh process state)."""
    _warned.clear()
