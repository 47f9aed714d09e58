"""The replay meter: plays back given figures, for fast tests without hardware.

    meter = ReplayMeter([{"energy_kwh": 0.002}, {"measurement_error": "tracker died"}],
                        intensity_g_per_kwh=250.0)
    meter = ReplayMeter(energy_kwh=0.001, intensity_g_per_kwh=250.0)   # every window
    meter.fail = "injected failure"                                   # from now on

Duration and timestamps are real unless the script gives them; ``co2_kg`` is
``energy_kwh x intensity / 1000`` unless the script gives it. A script that runs out
raises :class:`~zuinig.errors.MeasurementError` at :meth:`ReplayMeter.begin`, unless
``cycle=True``: a test that opens more windows than it planned for is a broken test,
and should say so rather than record made-up figures.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from zuinig.errors import MeasurementError
from zuinig.meter.base import CPU_METHOD_REPLAY, Measurement, Meter, Method, Window
from zuinig.meter.process import ProcessSampler, ProcessWindow

_FIELDS = frozenset(f.name for f in dataclasses.fields(Measurement))

#: What a failing replayed window says when no message was given.
DEFAULT_FAILURE = "replayed failure (ReplayMeter told to fail)"


class ReplayMeter(Meter):
    """Plays back a script of measurements, or one fixed energy, window after window.

    Args:
        script: measurements to return in turn: :class:`Measurement` objects or dicts
            with any of its field names (``method`` may be a :class:`Method` or a dict).
            An entry with ``measurement_error`` is a failed measurement.
        energy_kwh: instead of a script, the energy of every window (kWh).
        intensity_g_per_kwh: intensity recorded with each measurement and used for
            ``co2_kg`` where an entry gives energy but no CO2e (g CO2e per kWh).
        market_intensity_g_per_kwh: market-based intensity recorded with each
            measurement and used for ``co2_kg_market_based`` where an entry gives energy
            but no market-based CO2e (g CO2e per kWh).
        cycle: start the script again when it runs out, instead of raising.
        fail: ``True`` or a message: every window fails, until set back to ``False``.
        sample_process: fill ``cpu_s``, memory, I/O, inputs and engines from the real
            process sampler where the script does not give them.

    Attributes:
        contexts: the ``context`` each :meth:`begin` received, in order.

    Raises:
        ValueError: a script entry names a field :class:`Measurement` does not have,
            or both ``script`` and ``energy_kwh`` (or neither) are given.
    """

    name = "replay"

    def __init__(
        self,
        script: Iterable[Mapping[str, Any] | Measurement] | None = None,
        *,
        energy_kwh: float | None = None,
        intensity_g_per_kwh: float | None = None,
        market_intensity_g_per_kwh: float | None = None,
        cycle: bool = False,
        fail: bool | str = False,
        sample_process: bool = False,
    ) -> None:
        if (script is None) == (energy_kwh is None):
            raise ValueError("give ReplayMeter either a script or energy_kwh, not both or neither")
        self._entries = (
            [_entry(item) for item in script]
            if script is not None
            else [{"energy_kwh": float(energy_kwh or 0.0)}]
        )
        if script is not None and not self._entries:
            raise ValueError("ReplayMeter's script is empty")
        self._cycle = cycle or script is None
        self._next = 0
        self._lock = threading.Lock()
        self.intensity_g_per_kwh = intensity_g_per_kwh
        self.market_intensity_g_per_kwh = market_intensity_g_per_kwh
        self.fail = fail
        self.sample_process = sample_process
        self.contexts: list[Mapping[str, Any] | None] = []

    def begin(self, context: Mapping[str, Any] | None = None) -> Window:
        """Open a window that will return the next scripted measurement.

        Raises:
            MeasurementError: the script is exhausted and ``cycle`` is off.
        """
        with self._lock:
            self.contexts.append(context)
            if self._next >= len(self._entries):
                if not self._cycle:
                    raise MeasurementError(
                        f"ReplayMeter's script of {len(self._entries)} measurements is used up; "
                        "give it more entries or cycle=True"
                    )
                self._next = 0
            entry = self._entries[self._next]
            self._next += 1
        failure = self.fail
        if failure:
            entry = {"measurement_error": failure if isinstance(failure, str) else DEFAULT_FAILURE}
        process = ProcessSampler().begin(context) if self.sample_process else None
        return _ReplayWindow(self, entry, process)

    def method(self) -> Method:
        """The method every replayed measurement carries unless its entry gives one."""
        return Method(
            meter=self.name,
            cpu_method=CPU_METHOD_REPLAY,
            intensity_g_per_kwh=self.intensity_g_per_kwh,
            intensity_source="replayed" if self.intensity_g_per_kwh is not None else None,
            market_intensity_g_per_kwh=self.market_intensity_g_per_kwh,
            market_intensity_source=(
                "replayed" if self.market_intensity_g_per_kwh is not None else None
            ),
        )


def _entry(item: Mapping[str, Any] | Measurement) -> dict[str, Any]:
    if isinstance(item, Measurement):
        return {f.name: getattr(item, f.name) for f in dataclasses.fields(item)}
    unknown = set(item) - _FIELDS
    if unknown:
        raise ValueError(
            f"ReplayMeter entry has fields Measurement does not: {', '.join(sorted(unknown))}"
        )
    entry = dict(item)
    if isinstance(entry.get("method"), Mapping):
        entry["method"] = Method(**entry["method"])
    return entry


class _ReplayWindow(Window):
    def __init__(
        self, meter: ReplayMeter, entry: dict[str, Any], process: ProcessWindow | None
    ) -> None:
        self._meter = meter
        self._entry = entry
        self._process = process
        self._measurement: Measurement | None = None
        self._started_at = datetime.now(UTC)
        self._start = time.perf_counter()

    def end(self) -> Measurement:
        if self._measurement is not None:
            return self._measurement
        duration_s = max(time.perf_counter() - self._start, 0.0)
        values: dict[str, Any] = {
            "started_at": self._started_at,
            "ended_at": datetime.now(UTC),
            "duration_s": duration_s,
            "intensity_g_per_kwh": self._meter.intensity_g_per_kwh,
            "method": self._meter.method(),
        }
        if self._process is not None:
            stats = self._process.end()
            values.update(
                cpu_s=stats.cpu_s,
                peak_rss_bytes=stats.peak_rss_bytes,
                read_bytes=stats.read_bytes,
                written_bytes=stats.written_bytes,
                inputs=stats.inputs,
                engines=dict(stats.engines),
            )
        values.update(self._entry)
        if values.get("measurement_error"):
            for name in ("energy_kwh", "cpu_energy_kwh", "ram_energy_kwh", "gpu_energy_kwh"):
                values[name] = None
            values["co2_kg"] = None
            values["co2_kg_market_based"] = None
        elif (
            values.get("co2_kg") is None
            and values.get("energy_kwh") is not None
            and values.get("intensity_g_per_kwh") is not None
        ):
            values["co2_kg"] = values["energy_kwh"] * values["intensity_g_per_kwh"] / 1000.0
        method = values.get("method")
        market = method.market_intensity_g_per_kwh if isinstance(method, Method) else None
        if (
            not values.get("measurement_error")
            and values.get("co2_kg_market_based") is None
            and values.get("energy_kwh") is not None
            and market is not None
        ):
            values["co2_kg_market_based"] = values["energy_kwh"] * market / 1000.0
        self._measurement = Measurement(**values)
        return self._measurement
