"""zuinig: measure the energy and CO2e of data jobs, and use as little as possible."""

__version__ = "0.1.0"
