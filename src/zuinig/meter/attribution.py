"""How a machine's energy over a window is shared out to the job measured in it.

Pure arithmetic, no I/O: a source says what the machine used (:class:`MachineEnergy`),
the process sampler says what the job's process tree used (:class:`JobUse`), and
:func:`attribute` charges the job its part:

* **CPU**: the machine's CPU energy over the window x the tree's share of the CPU time
  the machine spent over that window (tree CPU seconds / machine busy CPU seconds,
  capped at 1). The machine's CPU energy includes its idle draw, so a job alone on an
  otherwise idle machine carries the idle part too. For a window shorter than
  :data:`SHORT_WINDOW_S` the machine's tick counters say too little, so its busy time
  and load are its recent average (:func:`window_busy`).
* **RAM**: the machine's RAM energy over the window x the tree's mean share of the
  machine's memory (GB-seconds held / (total GB x duration)).
* **GPU**: the machine's GPU energy over the window, whole (no per-process figures).

Runs that overlap on one host therefore add up to no more than the host's CPU and RAM
energy: side by side, their CPU seconds and memory held are parts of the machine's;
nested, the outer tree's include the inner ones. ``tracking_mode = "machine"``
(:data:`~zuinig.meter.base.ATTRIBUTION_MACHINE`) charges the whole machine instead.

One limit: a window charges a process tree, so windows open at the same time in
threads of one process each see that whole process's CPU time and memory; their
figures overlap (as nested windows do, by design) and are not to be summed.

Every figure is a :class:`Span`: the value with its low and high bounds.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from zuinig.meter.base import (
    ATTRIBUTION_CODECARBON_MACHINE,
    ATTRIBUTION_MACHINE,
    ATTRIBUTION_RESOURCE_SHARE,
    CPU_METHOD_CONSTANT,
    CPU_METHOD_RAPL,
    Method,
)

#: Joules in a kWh.
J_PER_KWH = 3.6e6


@dataclass(frozen=True)
class Span:
    """A figure with its range: ``low <= value <= high``. A reading has low == high == value."""

    value: float
    low: float
    high: float

    @classmethod
    def exact(cls, value: float) -> Span:
        """A measured figure: its range is the reading itself."""
        return cls(value, value, value)

    def scaled(self, factor: float) -> Span:
        """Every bound multiplied by ``factor`` (a share or the PUE, >= 0)."""
        return Span(self.value * factor, self.low * factor, self.high * factor)

    def __add__(self, other: Span) -> Span:
        return Span(self.value + other.value, self.low + other.low, self.high + other.high)


ZERO = Span.exact(0.0)


@dataclass(frozen=True)
class MachineEnergy:
    """What the whole machine used over one window, before the PUE.

    Attributes:
        cpu_kwh: CPU energy (kWh).
        ram_kwh: RAM energy (kWh).
        gpu_kwh: GPU energy (kWh); ``None`` when there is no GPU to read.
        busy_cpu_s: CPU seconds the machine spent busy over the window, all CPUs (s).
        memory_total_gb: the machine's memory (GB).
        duration_s: the time between the source's two readings (s); the RAM share is
            memory held over this time, so the job's RAM energy is the machine's mean
            RAM power x GB-seconds held / total GB, whatever the window's own bounds.
        busy_basis_s: the length of the interval the busy figures were read over (s):
            ``duration_s`` itself, or longer for a window shorter than
            :data:`SHORT_WINDOW_S` whose busy time is the machine's recent rate
            (:func:`window_busy`); ``None`` when not said.
    """

    cpu_kwh: Span
    ram_kwh: Span
    gpu_kwh: Span | None
    busy_cpu_s: float
    memory_total_gb: float
    duration_s: float
    busy_basis_s: float | None = None


@dataclass(frozen=True)
class JobUse:
    """What the measured process tree used over the window.

    Attributes:
        duration_s: the window's length (s).
        cpu_s: CPU time of the tree (s), ``None`` when unknown.
        ram_gb_s: memory held by the tree integrated over the window (GB-s), ``None``
            when unknown.
    """

    duration_s: float
    cpu_s: float | None
    ram_gb_s: float | None


@dataclass(frozen=True)
class Attributed:
    """The job's energy, after the PUE (kWh), and the shares that produced it.

    Attributes:
        cpu_kwh: the job's CPU energy.
        ram_kwh: the job's RAM energy.
        gpu_kwh: the job's GPU energy (``None`` when no GPU was read).
        energy_kwh: the sum of the three.
        cpu_share: the share of the machine's CPU energy charged (0..1).
        ram_share: the share of the machine's RAM energy charged (0..1).
    """

    cpu_kwh: Span
    ram_kwh: Span
    gpu_kwh: Span | None
    energy_kwh: Span
    cpu_share: float
    ram_share: float


def busy_and_total_s(before: Any, after: Any) -> tuple[float, float]:
    """Busy and total CPU seconds of the machine between two ``psutil.cpu_times()`` readings.

    Busy is everything but idle and I/O wait. On Linux guest time is already inside
    user and nice time, so it is not added again (as CodeCarbon's load meter does).
    """

    def total(times: Any) -> float:
        fields = times._asdict() if hasattr(times, "_asdict") else dict(times)
        return float(sum(fields.values())) - float(
            fields.get("guest", 0.0) + fields.get("guest_nice", 0.0)
        )

    def idle(times: Any) -> float:
        fields = times._asdict() if hasattr(times, "_asdict") else dict(times)
        return float(fields.get("idle", 0.0) + fields.get("iowait", 0.0))

    total_s = max(total(after) - total(before), 0.0)
    busy_s = max(total_s - max(idle(after) - idle(before), 0.0), 0.0)
    return busy_s, total_s


def busy_fraction(busy_s: float, total_s: float) -> float:
    """The machine's busy fraction ``u`` over a window (0..1); 0 when nothing elapsed."""
    if total_s <= 0:
        return 0.0
    return min(max(busy_s / total_s, 0.0), 1.0)


#: Windows shorter than this (s) take the machine's busy time from its recent rate.
#: ``/proc/stat`` counts in 10 ms ticks (USER_HZ 100): over 50 ms a 2-CPU machine's busy
#: time reads 0 to 10 ticks whatever happened, so a share read from it is noise; from
#: one second on, a tick is at most 1 % of a busy CPU's time.
SHORT_WINDOW_S = 1.0

#: The recent rate is read since the newest machine reading at least this long (s)
#: before the window's end: long enough for the tick counter to say something.
RECENT_BASIS_S = 1.0


def window_busy(
    *,
    duration_s: float,
    busy_s: float,
    total_s: float,
    basis_s: float,
    basis_busy_s: float,
    basis_total_s: float,
) -> tuple[float, float, float]:
    """The machine's busy CPU seconds and busy fraction ``u`` over a window.

    A window of :data:`SHORT_WINDOW_S` or longer, or one with no longer basis, keeps its
    own counter figures. A shorter one gets the machine's recent rate instead: busy CPU
    seconds per second over the basis (an interval ending at the window's end and at
    least :data:`RECENT_BASIS_S` long where the source has such a reading) times the
    window's duration, and the basis's busy fraction as ``u``. The job's share is then
    its precise CPU time over that estimate, capped at 1 (:func:`cpu_share`): the
    machine is never taken to have been busier than the job... less than the job's own.

    Args:
        duration_s: the window's length (s).
        busy_s: busy CPU seconds the machine's counters moved over the window.
        total_s: all CPU seconds (busy and idle) they moved over the window.
        basis_s: the length of the basis interval (s); ``<= duration_s`` when there is none.
        basis_busy_s: busy CPU seconds over the basis.
        basis_total_s: all CPU seconds over the basis.

    Returns:
        ``(busy_cpu_s, u, basis_s)``: the last the length of the interval they were
        read over (``duration_s`` when the window's own figures were kept).
    """
    if duration_s >= SHORT_WINDOW_S or basis_s <= duration_s or basis_total_s <= 0:
        return busy_s, busy_fraction(busy_s, total_s), duration_s
    rate = max(basis_busy_s, 0.0) / basis_s
    return (
        rate * max(duration_s, 0.0),
        busy_fraction(basis_busy_s, basis_total_s),
        basis_s,
    )


class RecentReadings:
    """The machine's recent counter readings, to give a short window a longer basis.

    Pure bookkeeping, no I/O: the source hands in each ``(at_s, cpu_times)`` it reads.
    It keeps readings at least ``spacing_s`` apart and drops those no longer needed,
    so it holds about ``basis_s / spacing_s`` of them and each call costs microseconds.
    Thread-safe.

    Args:
        basis_s: how far back the basis reaches at least (s).
        spacing_s: the least time between two kept readings (s).
    """

    def __init__(self, basis_s: float = RECENT_BASIS_S, spacing_s: float = 0.1) -> None:
        self.basis_s = basis_s
        self.spacing_s = spacing_s
        self._lock = threading.Lock()
        self._readings: deque[tuple[float, Any]] = deque()

    def remember(self, at_s: float, cpu_times: Any) -> None:
        """Keep a reading taken at ``at_s`` (a monotonic clock, s)."""
        with self._lock:
            readings = self._readings
            if not readings or at_s - readings[-1][0] >= self.spacing_s:
                readings.append((at_s, cpu_times))
            # The newest reading at least basis_s old stays first; older ones go.
            while len(readings) >= 2 and readings[1][0] <= at_s - self.basis_s:
                readings.popleft()

    def __len__(self) -> int:
        """How many readings are kept."""
        with self._lock:
            return len(self._readings)

    def basis(self, end_at_s: float) -> tuple[float, Any] | None:
        """The newest kept reading at least ``basis_s`` before ``end_at_s``; else the
        oldest one kept before it (``None`` when there is none)."""
        with self._lock:
            found: tuple[float, Any] | None = None
            for reading in self._readings:
                if reading[0] >= end_at_s:
                    break
                if found is None or reading[0] <= end_at_s - self.basis_s:
                    found = reading
                else:
                    break
            return found


def cpu_share(job_cpu_s: float | None, machine_busy_s: float) -> float:
    """The job tree's share of the machine's busy CPU time, capped at 1.

    The kernel counts the machine's CPU time in 10 ms ticks; a short window's busy time
    is an estimate (:func:`window_busy`). A job that used more CPU time than the
    machine's figure shows gets the whole share; one that used none, none.
    """
    if job_cpu_s is None or job_cpu_s <= 0:
        return 0.0
    if machine_busy_s <= 0:
        return 1.0
    return min(job_cpu_s / machine_busy_s, 1.0)


def ram_share(ram_gb_s: float | None, memory_total_gb: float, duration_s: float) -> float:
    """The job tree's mean share of the machine's memory over the window (0..1)."""
    if ram_gb_s is None or ram_gb_s <= 0 or memory_total_gb <= 0 or duration_s <= 0:
        return 0.0
    return min(ram_gb_s / (memory_total_gb * duration_s), 1.0)


def attribute(machine: MachineEnergy, job: JobUse, *, rule: str, pue: float) -> Attributed:
    """The job's part of the machine's energy under ``rule``, times ``pue``.

    Args:
        machine: the machine's energy over the job's window.
        job: what the job's process tree used over that window.
        rule: an ``ATTRIBUTION_*`` name; :data:`ATTRIBUTION_MACHINE` charges everything,
            any other the resource shares described in the module.
        pue: power usage effectiveness, multiplied into every figure.
    """
    if rule == ATTRIBUTION_MACHINE:
        cpu, ram = 1.0, 1.0
    else:
        cpu = cpu_share(job.cpu_s, machine.busy_cpu_s)
        ram = ram_share(job.ram_gb_s, machine.memory_total_gb, machine.duration_s)
    cpu_kwh = machine.cpu_kwh.scaled(cpu * pue)
    ram_kwh = machine.ram_kwh.scaled(ram * pue)
    gpu_kwh = None if machine.gpu_kwh is None else machine.gpu_kwh.scaled(pue)
    energy = cpu_kwh + ram_kwh + (gpu_kwh if gpu_kwh is not None else ZERO)
    return Attributed(
        cpu_kwh=cpu_kwh,
        ram_kwh=ram_kwh,
        gpu_kwh=gpu_kwh,
        energy_kwh=energy,
        cpu_share=cpu,
        ram_share=ram,
    )


def power_kwh(power_w: float, duration_s: float) -> float:
    """Energy (kWh) of a constant ``power_w`` over ``duration_s``."""
    return power_w * max(duration_s, 0.0) / J_PER_KWH


#: The energy terms of a Measurement, by field name.
ENERGY_TERMS = ("cpu_energy_kwh", "ram_energy_kwh", "gpu_energy_kwh")


def machine_wide_terms(method: Method | None) -> frozenset[str]:
    """The energy terms of a run measured with ``method`` that are the whole machine's.

    Those terms would be counted once per process if several processes on one host
    were measured side by side and summed; the other terms are shares and add up.
    Under the resource-share rule only the GPU is machine-wide; under the machine rule
    everything is; runs measured before that rule (a CodeCarbon tracker per run) had a
    per-process RAM constant, so their RAM is machine-wide too, and their CPU where it
    was read from RAPL counters or CodeCarbon's constant mode.
    """
    if method is None:
        return frozenset({"ram_energy_kwh", "gpu_energy_kwh"})
    if method.attribution == ATTRIBUTION_RESOURCE_SHARE:
        return frozenset({"gpu_energy_kwh"})
    if method.attribution in (ATTRIBUTION_MACHINE, ATTRIBUTION_CODECARBON_MACHINE) or (
        method.tracking_mode == "machine"
    ):
        return frozenset(ENERGY_TERMS)
    if method.cpu_method in (CPU_METHOD_RAPL, CPU_METHOD_CONSTANT):
        return frozenset(ENERGY_TERMS)
    return frozenset({"ram_energy_kwh", "gpu_energy_kwh"})
