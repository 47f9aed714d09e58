"""zuinig: measure the energy and CO2e of data jobs, and use as little as possible.

Public interface::

    import zuinig

    @zuinig.measure(job="woningbouwmonitor", tags={"team": "ruimte"})
    def build_monitor(path): ...

    with zuinig.measure(job="laden") as m:
        ...
    print(m.measurement.energy_kwh)

In IPython or Jupyter: ``%load_ext zuinig``, then ``%%zuinig --job NAME`` measures a cell.
"""

__version__ = "0.1.0"

from typing import TYPE_CHECKING as _TYPE_CHECKING

from zuinig.config import Settings, load_settings
from zuinig.errors import (
    BenchError,
    ConfigError,
    ConversionError,
    LedgerError,
    MeasurementError,
    ReportError,
    ZuinigError,
)
from zuinig.ledger.model import Run, RunFilter
from zuinig.measure import Recorder, measure
from zuinig.meter.base import Measurement, Method

if _TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell


def load_ipython_extension(ipython: "InteractiveShell") -> None:
    """Register ``%zuinig`` and ``%%zuinig``: what ``%load_ext zuinig`` calls.

    See :mod:`zuinig.measure.notebook`. Imported here, not at the top, so ``import zuinig``
    stays cheap and IPython is never needed outside IPython.
    """
    from zuinig.measure.notebook import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: "InteractiveShell") -> None:
    """Remove ``%zuinig`` and ``%%zuinig`` again: what ``%unload_ext zuinig`` calls."""
    from zuinig.measure.notebook import unload_ipython_extension as unload

    unload(ipython)


__all__ = [
    "BenchError",
    "ConfigError",
    "ConversionError",
    "LedgerError",
    "Measurement",
    "MeasurementError",
    "Method",
    "Recorder",
    "ReportError",
    "Run",
    "RunFilter",
    "Settings",
    "ZuinigError",
    "__version__",
    "load_ipython_extension",
    "load_settings",
    "measure",
    "unload_ipython_extension",
]
