"""Errors raised by zuinig.

Every message says what happened and what to do next. The CLI turns a
:class:`ZuinigError` into one line on stderr: exit code 2 for bad input
(:class:`UsageError` and its kin), 1 for failures; no traceback unless
``--debug``.

Hierarchy::

    ZuinigError
    ├── ConfigError          settings file, environment or argument is wrong (bad input)
    ├── MeasurementError     the meter could not measure (never raised through a measured job)
    ├── LedgerError          the ledger cannot be opened, read or written
    │   ├── LedgerURLError   the ledger URL is malformed or names an unknown backend (bad input)
    │   ├── RunNotFoundError no run with the given id (bad input)
    │   ├── AmbiguousRunIdError  a run id prefix matches several runs (bad input)
    │   ├── BenchSessionNotFoundError  no bench session with the given id (bad input)
    │   └── AmbiguousBenchSessionIdError  a session id prefix matches several (bad input)
    ├── BenchError           a benchmark could not be run
    ├── ConversionError      a file could not be converted safely
    ├── ReportError          a report could not be made
    ├── DemoError            a step of ``zuinig demo`` failed
    └── MissingExtraError    a command needs an extra that is not installed (bad input)
"""

from __future__ import annotations


class ZuinigError(Exception):
    """Base class of every error zuinig raises on purpose."""

    #: Whether the error is the user's input (exit code 2) rather than a failure (exit code 1).
    bad_input: bool = False


class ConfigError(ZuinigError):
    """A setting is unknown, has the wrong type, or its file cannot be read."""

    bad_input = True


class MeasurementError(ZuinigError):
    """The meter failed to measure; the job it measured is unaffected."""


class LedgerError(ZuinigError):
    """The ledger cannot be opened, read or written."""


class LedgerURLError(LedgerError):
    """The ledger URL is malformed or names a database zuinig cannot use."""

    bad_input = True


class RunNotFoundError(LedgerError):
    """No run with the given id is in the ledger."""

    bad_input = True


class AmbiguousRunIdError(LedgerError):
    """A run id prefix matches more than one run."""

    bad_input = True


class BenchSessionNotFoundError(LedgerError):
    """No bench session with the given id is in the ledger."""

    bad_input = True


class AmbiguousBenchSessionIdError(LedgerError):
    """A bench session id prefix matches more than one session."""

    bad_input = True


class BenchError(ZuinigError):
    """A benchmark could not be run."""


class ConversionError(ZuinigError):
    """A file could not be converted safely; the source is untouched."""


class ReportError(ZuinigError):
    """A report could not be made."""


class DemoError(ZuinigError):
    """A step of ``zuinig demo`` failed; the runs measured before it stay in the demo's ledger."""


class MissingExtraError(ZuinigError):
    """A command needs a pip extra (``zuinig[bench]``...) whose packages are not installed.

    See :mod:`zuinig.extras`; the message names the extra and the pip command.
    """

    bad_input = True


class UsageError(ZuinigError):
    """A command-line value is wrong (a bad month, a malformed tag)."""

    bad_input = True
