"""zuinig: measure the energy and CO2e of data jobs, and use as little as possible.

Public interface::

    import zuinig

    @zuinig.measure(job="woningbouwmonitor", tags={"team": "ruimte"})
    def build_monitor(path): ...

    with zuinig.measure(job="laden") as m:
        ...
    print(m.measurement.energy_kwh)
"""

__version__ = "0.1.0"

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
    "load_settings",
    "measure",
]
