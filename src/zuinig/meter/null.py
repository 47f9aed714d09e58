"""The null meter: duration and process-tree figures, no energy.

For machines where CodeCarbon cannot run, or for runs whose energy is not wanted;
every measurement says ``cpu_method = "none"`` so nobody mistakes it for a zero.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from zuinig.meter.base import CPU_METHOD_NONE, Measurement, Meter, Method, Window
from zuinig.meter.process import SAMPLE_INTERVAL_S, ProcessSampler, ProcessWindow


class NullMeter(Meter):
    """Measures duration and the process tree (CPU time, memory, I/O, inputs), never energy.

    Args:
        sample_interval_s: seconds between background samples of the process tree.
    """

    name = "null"

    def __init__(self, *, sample_interval_s: float = SAMPLE_INTERVAL_S) -> None:
        self.sample_interval_s = sample_interval_s

    def begin(self, context: Mapping[str, Any] | None = None) -> Window:
        """Open a window now. Never raises.

        Args:
            context: ``{"paths": [...]}`` files the work was called with;
                ``{"pid": n}`` samples that process's tree instead of this one's.
        """
        context = context or {}
        pid = context.get("pid")
        sampler = ProcessSampler(
            pid if isinstance(pid, int) else None, interval_s=self.sample_interval_s
        )
        return _NullWindow(sampler.begin(context))

    def method(self) -> Method:
        """Nothing is measured: ``cpu_method`` is ``none``."""
        return Method(meter=self.name, cpu_method=CPU_METHOD_NONE)


class _NullWindow(Window):
    def __init__(self, process: ProcessWindow) -> None:
        self._process = process
        self._measurement: Measurement | None = None
        self._started_at = datetime.now(UTC)
        self._start = time.perf_counter()

    def end(self) -> Measurement:
        if self._measurement is None:
            duration_s = max(time.perf_counter() - self._start, 0.0)
            ended_at = datetime.now(UTC)
            stats = self._process.end()
            self._measurement = Measurement(
                started_at=self._started_at,
                ended_at=ended_at,
                duration_s=duration_s,
                cpu_s=stats.cpu_s,
                peak_rss_bytes=stats.peak_rss_bytes,
                read_bytes=stats.read_bytes,
                written_bytes=stats.written_bytes,
                inputs=stats.inputs,
                engines=dict(stats.engines),
                method=Method(meter=NullMeter.name, cpu_method=CPU_METHOD_NONE),
            )
        return self._measurement
