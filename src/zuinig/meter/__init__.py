"""Measurement only: meters know nothing of storage, CLI or reports."""

from zuinig.meter.base import InputFile, Measurement, Meter, Method, Window

__all__ = ["InputFile", "Measurement", "Meter", "Method", "Window"]
