"""A simulated RAPL energy counter, for testing the measured path on a machine without RAPL.

CodeCarbon reads the CPU's energy counters from ``/sys/class/powercap/intel-rapl/...``.
This module runs a command in a private mount namespace (``unshare -m``, propagation
private) where a tmpfs covers ``/sys/class``: every real class entry comes back as a
symlink to the real device, and a powercap tree is added::

    /sys/class/powercap/intel-rapl/                 control type (subsystem -> /sys/class/powercap)
    /sys/class/powercap/intel-rapl/intel-rapl:0/    name "package-0", energy_uj, max_energy_range_uj
    /sys/class/powercap/intel-rapl/intel-rapl:1/    name "dram" (layout "top", the default)
    /sys/class/powercap/intel-rapl:0 -> intel-rapl/intel-rapl:0   (and intel-rapl:1)

A top-level DRAM domain is what CodeCarbon 3.3 counts (with ``rapl_include_dram``); a
DRAM subdomain ``intel-rapl:0:0`` (layout "sub", as on many Xeon servers) it skips. A
thread of this process advances each ``energy_uj`` at a fixed power (package 40 W and
DRAM 6 W by default), wrapping at ``max_energy_range_uj`` like the real counter. Each
update is an atomic rename, so a reader never sees a half-written number. Nothing
outside the namespace sees any of it: the command's own mounts die with it.

Dependency-free (stdlib and ``unshare`` from util-linux); needs root. Use it as a script::

    python tests/meter/rapl_sim.py --package-w 40 --dram-w 6 -- zuinig run -- python job.py

or from Python with :func:`wrap` / :func:`unavailable_reason` (``--check`` asks the latter). With ``--report FILE`` it
writes the simulated powers and the energy each counter advanced while the command ran.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

PACKAGE_W_DEFAULT = 40.0
DRAM_W_DEFAULT = 6.0
# A common max_energy_range_uj of Intel package domains (about 262 kJ; wraps in ~109 min at 40 W).
MAX_ENERGY_RANGE_UJ = 262_143_328_850
# Counters start part-way up their range, as on a machine that has been running; each
# domain at its own value, since CodeCarbon takes equal counters for mirrors of one meter.
START_ENERGY_UJ = {"package-0": 123_456_789_000, "dram": 23_456_789_000}
# How often the counters move. Real RAPL updates about every 1 ms; 10 ms keeps the
# simulation's own CPU use small on a 2-core machine and is far below any window we test.
UPDATE_INTERVAL_S = 0.010
DRAM_LAYOUTS = ("top", "sub", "none")

SYS_CLASS = Path("/sys/class")
_INSIDE_FLAG = "--inside-namespace-of"


def mount_namespace() -> str:
    """This process's mount namespace, as the kernel names it (``mnt:[4026531841]``)."""
    return str(Path("/proc/self/ns/mnt").readlink())


def unavailable_reason() -> str | None:
    """Why the simulation cannot run here, or ``None`` when it can.

    Checks for root, for ``unshare`` and that a private mount namespace with a tmpfs
    can actually be made (containers often forbid it).
    """
    if not sys.platform.startswith("linux"):
        return "the RAPL simulation needs Linux mount namespaces"
    if os.geteuid() != 0:
        return "the RAPL simulation needs root (to mount a tmpfs over /sys/class in a private namespace)"
    if shutil.which("unshare") is None:
        return "the RAPL simulation needs the `unshare` command (util-linux)"
    probe = subprocess.run(
        [
            "unshare",
            "-m",
            "--propagation",
            "private",
            "mount",
            "-t",
            "tmpfs",
            "none",
            str(SYS_CLASS),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if probe.returncode != 0:
        detail = (probe.stderr or probe.stdout).strip().splitlines()
        return f"cannot make a private mount namespace here: {detail[-1] if detail else probe.returncode}"
    return None


def wrap(
    argv: list[str],
    *,
    package_w: float = PACKAGE_W_DEFAULT,
    dram_w: float = DRAM_W_DEFAULT,
    dram_layout: str = "top",
    report: Path | None = None,
    wraps_after_s: float | None = None,
) -> list[str]:
    """The command line that runs ``argv`` under the simulated counters.

    Args:
        argv: the command to run.
        package_w: simulated package power (W).
        dram_w: simulated DRAM power (W).
        dram_layout: ``top`` (domain ``intel-rapl:1``), ``sub`` (``intel-rapl:0:0``) or ``none``.
        report: file to write the simulated energies to (JSON), outside the namespace.
        wraps_after_s: start each counter so close to ``max_energy_range_uj`` that it
            wraps this many seconds in (for testing wrap-around handling).
    """
    line = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--package-w",
        repr(package_w),
        "--dram-w",
        repr(dram_w),
        "--dram-layout",
        dram_layout,
    ]
    if report is not None:
        line += ["--report", str(report)]
    if wraps_after_s is not None:
        line += ["--wraps-after-s", repr(wraps_after_s)]
    return [*line, "--", *argv]


@dataclass(frozen=True)
class SimulatedRapl:
    """Runs commands under simulated RAPL counters at fixed powers (the test fixture's object).

    Attributes:
        package_w: simulated package power (W).
        dram_w: simulated DRAM power (W).
    """

    package_w: float = PACKAGE_W_DEFAULT
    dram_w: float = DRAM_W_DEFAULT

    def run(
        self,
        argv: list[str],
        *,
        report: Path | None = None,
        dram_layout: str = "top",
        timeout_s: float = 120,
        env: dict[str, str] | None = None,
        wraps_after_s: float | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` under the simulation, capturing its output; raises when it fails."""
        line = wrap(
            argv,
            package_w=self.package_w,
            dram_w=self.dram_w,
            dram_layout=dram_layout,
            report=report,
            wraps_after_s=wraps_after_s,
        )
        return subprocess.run(
            line, capture_output=True, text=True, timeout=timeout_s, check=True, env=env
        )


@dataclass
class _Domain:
    directory: Path
    name: str
    power_w: float
    start_uj: int

    def energy_uj(self, elapsed_s: float) -> int:
        return int(self.start_uj + elapsed_s * self.power_w * 1e6) % MAX_ENERGY_RANGE_UJ


def _write_atomic(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text)
    temporary.replace(path)


def _mirror_sys_class() -> dict[str, dict[str, str]]:
    """Every /sys/class/CLASS/ENTRY with the real path it points to, read before the tmpfs hides them."""
    mirror: dict[str, dict[str, str]] = {}
    for class_dir in sorted(SYS_CLASS.iterdir()):
        try:
            mirror[class_dir.name] = {
                entry.name: os.path.realpath(entry) for entry in sorted(class_dir.iterdir())
            }
        except OSError:
            mirror[class_dir.name] = {}
    return mirror


def _build_tree(
    mirror: dict[str, dict[str, str]],
    package_w: float,
    dram_w: float,
    dram_layout: str,
    wraps_after_s: float | None,
) -> list[_Domain]:
    def domain(directory: Path, name: str, power_w: float) -> _Domain:
        if wraps_after_s is None:
            return _Domain(directory, name, power_w, START_ENERGY_UJ[name])
        start_uj = MAX_ENERGY_RANGE_UJ - int(wraps_after_s * power_w * 1e6)
        return _Domain(directory, name, power_w, start_uj)

    for class_name, entries in mirror.items():
        (SYS_CLASS / class_name).mkdir()
        for entry_name, real in entries.items():
            (SYS_CLASS / class_name / entry_name).symlink_to(real)
    powercap = SYS_CLASS / "powercap"
    powercap.mkdir(exist_ok=True)
    control = powercap / "intel-rapl"
    control.mkdir()
    (control / "subsystem").symlink_to(powercap)
    (control / "enabled").write_text("1\n")
    package_dir = control / "intel-rapl:0"
    domains = [domain(package_dir, "package-0", package_w)]
    if dram_layout == "top":
        domains.append(domain(control / "intel-rapl:1", "dram", dram_w))
    elif dram_layout == "sub":
        domains.append(domain(package_dir / "intel-rapl:0:0", "dram", dram_w))
    for domain in domains:
        domain.directory.mkdir()
        (domain.directory / "name").write_text(f"{domain.name}\n")
        (domain.directory / "max_energy_range_uj").write_text(f"{MAX_ENERGY_RANGE_UJ}\n")
        (domain.directory / "enabled").write_text("1\n")
        _write_atomic(domain.directory / "energy_uj", f"{domain.energy_uj(0.0)}\n")
        if domain.directory.parent == control:
            (powercap / domain.directory.name).symlink_to(domain.directory)
    return domains


def _advance(domains: list[_Domain], start: float, stop: threading.Event) -> None:
    while not stop.wait(UPDATE_INTERVAL_S):
        elapsed_s = time.monotonic() - start
        for domain in domains:
            _write_atomic(domain.directory / "energy_uj", f"{domain.energy_uj(elapsed_s)}\n")


def _inside(arguments: argparse.Namespace) -> int:
    # Refuse to touch /sys/class unless this process really is in a namespace of its own:
    # a tmpfs over the host's /sys/class would break the machine.
    if mount_namespace() == arguments.inside_namespace_of:
        print("rapl_sim: not in a private mount namespace; refusing to mount", file=sys.stderr)
        return 1
    mirror = _mirror_sys_class()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "mode=0755", "rapl-sim", str(SYS_CLASS)], check=True
    )
    domains = _build_tree(
        mirror,
        arguments.package_w,
        arguments.dram_w,
        arguments.dram_layout,
        arguments.wraps_after_s,
    )
    start = time.monotonic()
    stop = threading.Event()
    writer = threading.Thread(target=_advance, args=(domains, start, stop), daemon=True)
    writer.start()
    child = subprocess.Popen(arguments.command)
    # The command gets the signals meant for it; this process only waits.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda received, _frame: child.send_signal(received))
    returncode = child.wait()
    elapsed_s = time.monotonic() - start
    stop.set()
    writer.join()
    if arguments.report is not None:
        summary = {
            "elapsed_s": elapsed_s,
            "domains": {
                domain.name: {
                    "path": str(domain.directory),
                    "power_w": domain.power_w,
                    "energy_kwh": domain.power_w * elapsed_s / 3.6e6,
                }
                for domain in domains
            },
        }
        Path(arguments.report).write_text(json.dumps(summary, indent=2))
    return returncode if returncode >= 0 else 128 - returncode


def main(argv: list[str] | None = None) -> int:
    """Run a command under simulated RAPL counters (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package-w", type=float, default=PACKAGE_W_DEFAULT)
    parser.add_argument("--dram-w", type=float, default=DRAM_W_DEFAULT)
    parser.add_argument("--dram-layout", choices=DRAM_LAYOUTS, default="top")
    parser.add_argument("--report", type=Path, default=None)
    parser.add_argument("--wraps-after-s", type=float, default=None)
    parser.add_argument(
        "--check",
        action="store_true",
        help="only say whether the simulation can run here (exit 0 or 2)",
    )
    parser.add_argument(
        _INSIDE_FLAG, dest="inside_namespace_of", default=None, help=argparse.SUPPRESS
    )
    parser.add_argument("command", nargs=argparse.REMAINDER)
    arguments = parser.parse_args(argv)
    if arguments.check:
        reason = unavailable_reason()
        print(reason or "the RAPL simulation can run here")
        return 0 if reason is None else 2
    if arguments.command[:1] == ["--"]:
        arguments.command = arguments.command[1:]
    if not arguments.command:
        parser.error("give the command to run after --")
    if arguments.inside_namespace_of is not None:
        return _inside(arguments)
    reason = unavailable_reason()
    if reason is not None:
        print(f"rapl_sim: {reason}", file=sys.stderr)
        return 2
    inner = [
        "unshare",
        "-m",
        "--propagation",
        "private",
        sys.executable,
        str(Path(__file__).resolve()),
        "--package-w",
        repr(arguments.package_w),
        "--dram-w",
        repr(arguments.dram_w),
        "--dram-layout",
        arguments.dram_layout,
        *(
            []
            if arguments.wraps_after_s is None
            else ["--wraps-after-s", repr(arguments.wraps_after_s)]
        ),
        _INSIDE_FLAG,
        mount_namespace(),
    ]
    if arguments.report is not None:
        inner += ["--report", str(arguments.report.resolve())]
    # exec: the simulation's process takes this one's place, so signals and the exit code pass through.
    os.execvp(inner[0], [*inner, "--", *arguments.command])


if __name__ == "__main__":
    sys.exit(main())
