"""Energy sources: each reads what the whole machine used over a window.

A source is one long-lived object per process. :meth:`EnergySource.open` reads the
machine's counters when a window begins; :meth:`EnergySource.close` reads them again
and returns a :class:`SourceReading`: the machine's energy by component over the window
(:class:`~zuinig.meter.attribution.MachineEnergy`) and the :class:`~zuinig.meter.base.Method`
that produced it. :mod:`zuinig.meter.window` shares that energy out to the measured
job and builds the :class:`~zuinig.meter.base.Measurement`; a new source of energy
figures is one file here.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

from zuinig.meter.attribution import MachineEnergy
from zuinig.meter.base import Method


@dataclass(frozen=True)
class SourceReading:
    """What a source read over one window.

    Attributes:
        machine: the machine's energy by component; ``None`` when it could not be read.
        method: how it was obtained (also when it could not be).
        error: why it could not be read, in one sentence.
    """

    machine: MachineEnergy | None
    method: Method
    error: str | None = None


class EnergySource(abc.ABC):
    """Reads the machine's energy counters at window begin and end."""

    def prepare(self) -> None:  # noqa: B027 (optional hook, nothing to do by default)
        """Do the slow, once-per-process set-up (hardware detection) now.

        Called before the process sampler starts, so that set-up is not counted as the
        work's CPU time. May raise; :meth:`open` then raises too and says why.
        """

    @abc.abstractmethod
    def open(self) -> object:
        """Read the counters now; return an opaque token for :meth:`close`.

        May raise: the window turns any exception into a failed measurement.
        """

    @abc.abstractmethod
    def close(self, opened: object) -> SourceReading:
        """Read the counters again and return the machine's energy since ``opened``.

        May raise: the window turns any exception into a failed measurement.
        """

    @abc.abstractmethod
    def method(self) -> Method:
        """The method a window would use now, without measuring."""


__all__ = ["EnergySource", "SourceReading"]
