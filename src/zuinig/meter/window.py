"""The window: a source's machine energy and the process sampler, made into one Measurement.

:class:`SourceWindow` reads a source's counters and opens the process sampler when the
work begins; :meth:`SourceWindow.end` closes both and :func:`build_measurement` builds
the :class:`~zuinig.meter.base.Measurement` once: the process figures, the job's part of
the machine's energy (:func:`~zuinig.meter.attribution.attribute`, by the rule the
source's method names), CO2e with its range, and the failure text. It never raises.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from zuinig.meter.attribution import JobUse, attribute
from zuinig.meter.base import ATTRIBUTION_RESOURCE_SHARE, Measurement, Method, Window
from zuinig.meter.process import ProcessSampler, ProcessStats, ProcessWindow
from zuinig.meter.sources import EnergySource, SourceReading

logger = logging.getLogger(__name__)


def describe_error(error: BaseException) -> str:
    """An exception as one line: its type and message."""
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def build_measurement(
    *,
    started_at: datetime,
    ended_at: datetime,
    duration_s: float,
    stats: ProcessStats | None,
    reading: SourceReading | None,
    errors: list[str],
) -> Measurement:
    """The one place a Measurement is assembled from a source's reading and process stats.

    Args:
        started_at: start of the window, UTC.
        ended_at: end of the window, UTC.
        duration_s: the window's length (s).
        stats: what the process tree did, when the sampler ran.
        reading: what the source read, when it did.
        errors: sentences saying what failed, in order.
    """
    method: Method | None = None if reading is None else reading.method
    figures: dict[str, Any] = {}
    problems = list(errors)
    if reading is not None and reading.error:
        problems.append(reading.error)
    if reading is not None and reading.machine is not None and method is not None:
        job = JobUse(
            duration_s=duration_s,
            cpu_s=None if stats is None else stats.cpu_s,
            ram_gb_s=None if stats is None else stats.ram_gb_s,
        )
        shared = attribute(
            reading.machine,
            job,
            rule=method.attribution or ATTRIBUTION_RESOURCE_SHARE,
            pue=method.pue,
        )
        figures.update(
            energy_kwh=shared.energy_kwh.value,
            energy_kwh_low=shared.energy_kwh.low,
            energy_kwh_high=shared.energy_kwh.high,
            cpu_energy_kwh=shared.cpu_kwh.value,
            ram_energy_kwh=shared.ram_kwh.value,
            gpu_energy_kwh=0.0 if shared.gpu_kwh is None else shared.gpu_kwh.value,
            cpu_share=shared.cpu_share,
        )
        intensity = method.intensity_g_per_kwh
        if intensity is not None:
            figures.update(
                co2_kg=shared.energy_kwh.value * intensity / 1000.0,
                co2_kg_low=shared.energy_kwh.low * intensity / 1000.0,
                co2_kg_high=shared.energy_kwh.high * intensity / 1000.0,
                intensity_g_per_kwh=intensity,
            )
        market = method.market_intensity_g_per_kwh
        if market is not None:
            figures["co2_kg_market_based"] = shared.energy_kwh.value * market / 1000.0
    elif method is not None:
        figures["intensity_g_per_kwh"] = method.intensity_g_per_kwh
    if problems:
        # A failed measurement carries no energy: nobody may mistake it for a zero.
        for name in list(figures):
            if name != "intensity_g_per_kwh":
                del figures[name]
    return Measurement(
        started_at=started_at,
        ended_at=ended_at,
        duration_s=duration_s,
        cpu_s=None if stats is None else stats.cpu_s,
        ram_gb_s=None if stats is None else stats.ram_gb_s,
        peak_rss_bytes=None if stats is None else stats.peak_rss_bytes,
        read_bytes=None if stats is None else stats.read_bytes,
        written_bytes=None if stats is None else stats.written_bytes,
        inputs=() if stats is None else stats.inputs,
        engines={} if stats is None else dict(stats.engines),
        method=method,
        measurement_error="; ".join(problems) or None,
        **figures,
    )


class SourceWindow(Window):
    """A source's counters and a process window around one piece of work.

    Args:
        source: where the machine's energy comes from.
        sampler: the process tree to charge.
        context: hints for the sampler (``paths``).
        failed_method: the method to record when the source cannot even open.
    """

    def __init__(
        self,
        source: EnergySource,
        sampler: ProcessSampler,
        context: Mapping[str, Any],
        *,
        failed_method: Method,
    ) -> None:
        self._source = source
        self._failed_method = failed_method
        self._lock = threading.Lock()
        self._measurement: Measurement | None = None
        self._errors: list[str] = []
        self._opened: object | None = None
        self._process: ProcessWindow | None = None
        try:
            source.prepare()  # hardware detection is set-up, not the work's CPU time
        except Exception as error:  # open() below fails too, and says why
            logger.debug("energy source could not prepare: %r", error)
        try:
            self._process = sampler.begin(context)
        except Exception as error:  # never break the measured job
            logger.debug("process sampler could not start: %r", error)
        # The machine's counters last and first, microseconds from the work itself: the
        # machine's energy covers the same time as the window's duration.
        try:
            self._opened = source.open()
        except Exception as error:
            self._errors.append(f"the energy source could not start: {describe_error(error)}")
        # The window proper starts now: setup is not the work's duration.
        self._started_at = datetime.now(UTC)
        self._start = time.perf_counter()

    def end(self) -> Measurement:
        """Close the window and return what was measured. Never raises; idempotent."""
        with self._lock:
            if self._measurement is not None:
                return self._measurement
            ended = time.perf_counter()
            ended_at = datetime.now(UTC)
            duration_s = max(ended - self._start, 0.0)
            try:
                self._measurement = self._finish(ended_at, duration_s)
            except Exception as error:  # the last net: end() never raises
                self._measurement = Measurement(
                    started_at=self._started_at,
                    ended_at=ended_at,
                    duration_s=duration_s,
                    measurement_error=(
                        f"zuinig could not assemble the measurement: {describe_error(error)}"
                    ),
                )
            return self._measurement

    def _finish(self, ended_at: datetime, duration_s: float) -> Measurement:
        reading: SourceReading | None = None
        if self._opened is not None:
            try:
                reading = self._source.close(self._opened)
            except Exception as error:
                self._errors.append(
                    f"the energy source failed while reading: {describe_error(error)}"
                )
        if self._process is not None:
            self._process.stop_sampling()
        if reading is None:
            reading = SourceReading(machine=None, method=self._failed_method)
        stats = self._process.end() if self._process is not None else None
        return build_measurement(
            started_at=self._started_at,
            ended_at=ended_at,
            duration_s=duration_s,
            stats=stats,
            reading=reading,
            errors=self._errors,
        )
