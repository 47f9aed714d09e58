"""Measurement only: meters know nothing of storage, CLI or reports.

:func:`default_meter` gives the CodeCarbon meter; :class:`NullMeter` measures no
energy; :class:`ReplayMeter` plays back figures for tests. Importing this package
does not import CodeCarbon: the CodeCarbon source detects the hardware with it once
per machine (cached on disk) and then only reads the machine's counters.

Layout: :mod:`~zuinig.meter.base` (the contract: Measurement, Method, the attribution
rules), :mod:`~zuinig.meter.attribution` (how a machine's energy is shared out to a
job), :mod:`~zuinig.meter.coefficients` (published figures where CodeCarbon guesses),
:mod:`~zuinig.meter.sources` (where the machine's energy comes from),
:mod:`~zuinig.meter.window` (builds the Measurement once), :mod:`~zuinig.meter.process`
(the process tree's CPU time, memory held, I/O and inputs).
"""

from zuinig.config import Settings
from zuinig.formats import detect_format  # named here since before zuinig.formats existed
from zuinig.meter.base import (
    CPU_METHOD_CONSTANT,
    CPU_METHOD_CPU_LOAD,
    CPU_METHOD_IMPORTED,
    CPU_METHOD_NONE,
    CPU_METHOD_RAPL,
    CPU_METHOD_REPLAY,
    CPU_METHOD_USER_POWER,
    InputFile,
    Measurement,
    Meter,
    Method,
    Window,
)
from zuinig.meter.codecarbon import CodeCarbonMeter
from zuinig.meter.null import NullMeter
from zuinig.meter.process import (
    ProcessSampler,
    ProcessStats,
    ProcessWindow,
    RusageStats,
    engines_loaded,
    fold_rusage,
    usage_from_rusage,
)
from zuinig.meter.replay import ReplayMeter


def default_meter(settings: Settings) -> Meter:
    """The meter zuinig uses unless told otherwise: CodeCarbon's offline tracker.

    Args:
        settings: country, tracking mode, PUE and calibration to measure with.
    """
    return CodeCarbonMeter(settings)


__all__ = [
    "CPU_METHOD_CONSTANT",
    "CPU_METHOD_CPU_LOAD",
    "CPU_METHOD_IMPORTED",
    "CPU_METHOD_NONE",
    "CPU_METHOD_RAPL",
    "CPU_METHOD_REPLAY",
    "CPU_METHOD_USER_POWER",
    "CodeCarbonMeter",
    "InputFile",
    "Measurement",
    "Meter",
    "Method",
    "NullMeter",
    "ProcessSampler",
    "ProcessStats",
    "ProcessWindow",
    "ReplayMeter",
    "RusageStats",
    "Window",
    "default_meter",
    "detect_format",
    "engines_loaded",
    "fold_rusage",
    "usage_from_rusage",
]
