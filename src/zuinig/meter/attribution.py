"""How a machine's energy over a window is shared out to the job measured in it.

Pure arithmetic, no I/O: a source says what the machine used (:class:`MachineEnergy`),
the process sampler says what the job's process tree used (:class:`JobUse`), and
:func:`attribute` charges the job its part:

* **CPU**: the machine's CPU energy over the window x the tree's share of the CPU time
  the machine spent over that window (tree CPU seconds / machine busy CPU seconds,
  capped at 1). The machine's CPU energy includes its idle draw, so a job alone on an
  otherwise idle machine carries the idle part too.
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
    """

    cpu_kwh: Span
    ram_kwh: Span
    gpu_kwh: Span | None
    busy_cpu_s: float
    memory_total_gb: float
    duration_s: float


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


def cpu_share(job_cpu_s: float | None, machine_busy_s: float) -> float:
    """The job tree's share of the machine's busy CPU time, capped at 1.

    The kernel counts CPU time in ticks, so over a window of a few milliseconds both can
    read zero, or the job's a tick more than the machine's: a job that used CPU time the
    machine's counter has not shown yet gets the whole share; one that used none, none.
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
