"""What a process tree did during a window: CPU time, memory, I/O, files read, engines.

:class:`ProcessSampler` watches one process tree, by default this process and its
descendants. :meth:`ProcessSampler.begin` opens a :class:`ProcessWindow`;
:meth:`ProcessWindow.end` returns :class:`ProcessStats`. It never raises: a figure
the operating system will not give is ``None``.

How each figure is obtained:

* ``cpu_s``: user + system time of every live process in the tree, plus the time of
  descendants that ended and were waited for (the kernel adds those to their
  parent's ``children_user``/``children_system``), at the end minus at the start.
  This process's own part comes from precise clocks (:func:`own_cpu_seconds`), so
  windows of a few milliseconds are not rounded to the kernel's 10 ms ticks; other
  processes' parts are tick-based (``/proc/<pid>/stat``).
* ``peak_rss_bytes``: the largest sum of resident memory over the tree, sampled by one
  background thread shared by all windows (every :data:`SAMPLE_INTERVAL_S`), at the
  start and at the end, so a short window still gets a value. Children that live
  shorter than the interval are folded in through ``getrusage`` where possible; it
  stays a lower bound.
* ``ram_gb_s``: the tree's resident memory integrated over the window (GB-seconds), by
  the trapezoid rule over the same samples (start, every interval, end); a window
  shorter than one interval has just its start and end readings.
* ``read_bytes``/``written_bytes``: bytes the tree fetched from or sent to storage
  (page-cache hits are not storage reads), from ``/proc/<pid>/io`` deltas plus the
  block counts of waited-for children. ``None`` where the system hides them.
* ``inputs``: data files the work read: files opened read-only through Python
  (an audit hook, installed once per process, active only while a window is open),
  files the caller names in ``context["paths"]``, and files the tree holds open
  read-only when the background thread looks (this catches engines that open files
  in native code, such as polars, pyarrow and duckdb, when a read lasts long enough).
* ``engines``: data engines imported in this process at the end, with versions.

For a command run as a child and waited for with :func:`os.wait4`, see
:func:`usage_from_rusage` and :func:`fold_rusage`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import resource
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from stat import S_ISREG
from typing import Any

import psutil

from zuinig.formats import DATA_FORMATS, detect_format
from zuinig.meter.base import InputFile, Measurement

#: Bytes in a GB (10^9), the unit of ``ram_gb_s``.
BYTES_PER_GB = 1e9

logger = logging.getLogger(__name__)

#: Seconds between background samples of resident memory and open files. A tenth of a
#: second keeps the sampler's own cost far below 1 % of a CPU while catching memory
#: peaks of anything that runs for more than a few tenths of a second.
SAMPLE_INTERVAL_S = 0.1

#: Data engines whose presence and version are recorded with every run.
ENGINES = ("pandas", "polars", "duckdb", "pyarrow", "dask")

#: At most this many input files are kept per window; a job that opens thousands of
#: files still gets a bounded record (the first ones seen, sorted by path).
MAX_INPUTS = 1000

# Files under these prefixes are the operating system's, not data.
_SYSTEM_PREFIXES = ("/proc/", "/sys/", "/dev/", "/run/", "/etc/")


# -- the process tree -------------------------------------------------------------------


def has_no_children() -> bool:
    """Whether this process certainly has no child processes, at the cost of one syscall.

    Listing children means reading ``/proc/*/stat`` for every process on the machine
    (a few ms, more on a busy host), and most measured functions start no processes.
    ``waitid(P_ALL, WNOHANG | WNOWAIT)`` fails with ECHILD exactly when there is no
    child, live or zombie, and with ``WNOWAIT`` it reaps nothing, so nobody's
    ``wait()`` is disturbed.
    """
    try:
        os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return True
    except (AttributeError, OSError):
        return False  # no waitid here: list the children the slow way
    return False


def tree_processes(root: psutil.Process) -> list[psutil.Process]:
    """``root`` and its live descendants.

    For this process, the descendants are only listed when it has children at all
    (see :func:`has_no_children`): the common case costs one system call.
    """
    if root.pid == os.getpid() and has_no_children():
        return [root]
    try:
        return [root, *root.children(recursive=True)]
    except (psutil.NoSuchProcess, psutil.AccessDenied, OSError):
        return [root]


def tree_cpu_seconds(root: psutil.Process) -> float | None:
    """CPU time used so far by ``root``'s tree: user + system of every live process,
    plus that of descendants that ended and were waited for (s).

    The difference of two readings is the tree's CPU time in between, including
    processes that started and ended in between: an ended child's whole time moves
    into its parent's ``children_user``/``children_system`` when it is waited for.
    ``None`` when ``root`` cannot be read.
    """
    total = 0.0
    for process in tree_processes(root):
        try:
            times = process.cpu_times()
        except psutil.Error:
            if process.pid == root.pid:
                return None
            continue  # ended between listing and reading: its time is in its parent now
        if process.pid == os.getpid():
            total += own_cpu_seconds()
        else:
            total += times.user + times.system + times.children_user + times.children_system
    return total


def own_cpu_seconds() -> float:
    """CPU time of this process so far, all its threads, plus its waited-for children (s).

    From precise clocks, not the kernel's 10 ms ticks that ``/proc/<pid>/stat`` (and so
    psutil) reports: :func:`time.process_time` (``CLOCK_PROCESS_CPUTIME_ID``, ns) and
    ``getrusage(RUSAGE_CHILDREN)`` (us). A window of a few milliseconds then gets the CPU
    time it used, not 0 or a whole tick.
    """
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


@dataclass
class TreeSample:
    """One look at a process tree: CPU time (s), resident memory and I/O (bytes), when.

    ``None`` where unreadable; ``at_s`` is ``time.perf_counter()`` at the look.
    """

    cpu_s: float | None = None
    rss_bytes: int | None = None
    read_bytes: int | None = None
    written_bytes: int | None = None
    at_s: float = field(default_factory=time.perf_counter)


def sample_tree(root: psutil.Process, *, with_io: bool) -> TreeSample:
    """Look at ``root``'s tree now; every figure ``None`` when the root has gone."""
    processes = tree_processes(root)
    sample = TreeSample()
    cpu_total = 0.0
    rss_total = 0
    read_total: int | None = 0 if with_io else None
    written_total: int | None = 0 if with_io else None
    root_seen = False
    own_pid = os.getpid()
    for process in processes:
        try:
            with process.oneshot():
                times = process.cpu_times()
                rss = process.memory_info().rss
                io = _io_counters(process) if with_io else None
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue  # ended between listing and reading: its time is in its parent now
        except (psutil.AccessDenied, OSError):
            continue
        if process.pid == root.pid:
            root_seen = True
        if process.pid == own_pid:
            cpu_total += own_cpu_seconds()
        else:
            # children_* hold the time of descendants that ended and were waited for.
            cpu_total += times.user + times.system + times.children_user + times.children_system
        rss_total += rss
        if io is None:
            read_total = written_total = None
        elif read_total is not None and written_total is not None:
            read_total += io[0]
            written_total += io[1]
    if not root_seen:
        return sample  # the root is gone: nothing of this look can be trusted
    sample.cpu_s = cpu_total
    sample.rss_bytes = rss_total
    sample.read_bytes = read_total
    sample.written_bytes = written_total
    return sample


def _io_counters(process: psutil.Process) -> tuple[int, int] | None:
    io_counters = getattr(process, "io_counters", None)
    if io_counters is None:  # not offered on this platform (macOS)
        return None
    try:
        counters = io_counters()
    except (psutil.AccessDenied, OSError, NotImplementedError):
        return None
    return int(counters.read_bytes), int(counters.write_bytes)


@dataclass(frozen=True)
class _ChildrenUsage:
    """getrusage(RUSAGE_CHILDREN) of this process: waited-for descendants so far."""

    maxrss_bytes: int
    read_bytes: int
    written_bytes: int

    @classmethod
    def now(cls) -> _ChildrenUsage:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return cls(
            maxrss_bytes=_maxrss_bytes(usage.ru_maxrss),
            read_bytes=usage.ru_inblock * _BLOCK_BYTES,
            written_bytes=usage.ru_oublock * _BLOCK_BYTES,
        )


#: getrusage counts block I/O in 512-byte units on Linux and the BSDs.
_BLOCK_BYTES = 512


def _maxrss_bytes(ru_maxrss: int) -> int:
    # Linux reports ru_maxrss in KiB, macOS in bytes.
    return ru_maxrss if sys.platform == "darwin" else ru_maxrss * 1024


# -- what the job touched ---------------------------------------------------------------


def engines_loaded() -> dict[str, str]:
    """Data engines imported in this process, name to version (``unknown`` if unreadable)."""
    found: dict[str, str] = {}
    for name in ENGINES:
        module = sys.modules.get(name)
        if module is None:
            continue
        version = getattr(module, "__version__", None)
        if not isinstance(version, str):
            version = _distribution_version(name)
        found[name] = version
    return found


def _distribution_version(name: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"


class _OpenWatch:
    """The paths opened for reading while one window is open (filled by the audit hook)."""

    __slots__ = ("paths",)

    def __init__(self) -> None:
        self.paths: set[str] = set()


# The audit hook cannot be removed once added, so it is added once per process and
# does nothing unless a window is watching. Watchers are a tuple, replaced (never
# mutated) under the lock, so the hook reads it without locking.
_watch_lock = threading.Lock()
_watchers: tuple[_OpenWatch, ...] = ()
_hook_installed = False
_internal = threading.local()  # set while zuinig itself opens files (format sniffing)


def _audit_open(event: str, args: tuple[Any, ...]) -> None:
    # Called for every audit event in the process: return at once unless needed.
    if event != "open" or not _watchers or getattr(_internal, "active", False):
        return
    try:
        path, mode, flags = args
        if isinstance(path, int):
            return  # an already open descriptor: no name to record
        if isinstance(flags, int):
            if flags & os.O_ACCMODE != os.O_RDONLY:
                return  # written, not read
        elif isinstance(mode, str) and any(char in mode for char in "wax+"):
            return
        name = os.fsdecode(path)
        if name.startswith(_SYSTEM_PREFIXES):
            return
        # abspath, not Path.resolve(): no system calls inside every open() of the job.
        absolute = os.path.abspath(name)  # noqa: PTH100
        for watch in _watchers:
            if len(watch.paths) < MAX_INPUTS * 4:
                watch.paths.add(absolute)
    except Exception:  # a hook that raises would break the user's open(): never
        return


def _start_watching() -> _OpenWatch:
    global _watchers, _hook_installed
    watch = _OpenWatch()
    with _watch_lock:
        if not _hook_installed:
            sys.addaudithook(_audit_open)
            _hook_installed = True
        _watchers = (*_watchers, watch)
    return watch


def _stop_watching(watch: _OpenWatch) -> None:
    global _watchers
    with _watch_lock:
        _watchers = tuple(w for w in _watchers if w is not watch)


def _is_candidate(path: str) -> bool:
    if path.startswith(_SYSTEM_PREFIXES):
        return False
    # The interpreter's and the installed packages' own files are never the job's data.
    return not path.startswith(_INSTALL_PREFIXES)


_INSTALL_PREFIXES = tuple(
    sorted({f"{prefix.rstrip(os.sep)}{os.sep}" for prefix in (sys.prefix, sys.base_prefix)})
)


def _input_file(path: str, *, require_data_format: bool) -> InputFile | None:
    try:
        stat = Path(path).stat()
    except OSError:
        return None  # gone (a temporary file) or unreadable
    if not S_ISREG(stat.st_mode):
        return None
    fmt = detect_format(path)
    if require_data_format and fmt not in DATA_FORMATS and "." not in fmt:
        return None
    return InputFile(path=path, size_bytes=int(stat.st_size), format=fmt)


# -- stats and windows ------------------------------------------------------------------


@dataclass(frozen=True)
class ProcessStats:
    """What a process tree did during one window.

    Attributes:
        cpu_s: user + system CPU time of the tree (s).
        peak_rss_bytes: highest sampled sum of resident memory of the tree (bytes).
        ram_gb_s: resident memory of the tree integrated over the window (GB-seconds).
        read_bytes: bytes read from storage by the tree.
        written_bytes: bytes written to storage by the tree.
        inputs: data files read, sorted by path.
        engines: data engines loaded in this process, name to version.
    """

    cpu_s: float | None = None
    peak_rss_bytes: int | None = None
    read_bytes: int | None = None
    written_bytes: int | None = None
    inputs: tuple[InputFile, ...] = ()
    engines: Mapping[str, str] = field(default_factory=dict)
    ram_gb_s: float | None = None


class ProcessSampler:
    """Samples one process tree over windows.

    Args:
        pid: root of the tree; this process by default. Another pid works too (a
            command ``zuinig run`` started); then engines are not recorded (they are
            another interpreter's modules), and the audit hook only sees this process.
        interval_s: seconds between background samples (memory, open files).
    """

    def __init__(self, pid: int | None = None, *, interval_s: float = SAMPLE_INTERVAL_S) -> None:
        self.pid = os.getpid() if pid is None else pid
        self.interval_s = interval_s

    def begin(self, context: Mapping[str, Any] | None = None) -> ProcessWindow:
        """Open a window now. Never raises.

        Args:
            context: ``{"paths": [...]}`` names files the work was called with; each
                existing file is recorded as an input whatever its format.
        """
        return ProcessWindow(self, context or {})


class ProcessWindow:
    """An open window on a process tree; :meth:`end` closes it once."""

    def __init__(self, sampler: ProcessSampler, context: Mapping[str, Any]) -> None:
        self._sampler = sampler
        self._lock = threading.Lock()
        self._stats: ProcessStats | None = None
        self._own = sampler.pid == os.getpid()
        self._given_paths = _paths_from_context(context)
        self._open_seen: set[str] = set()
        self._root: psutil.Process | None = None
        self._first: TreeSample = TreeSample()
        self._last: TreeSample = TreeSample()
        self._peak_rss: int | None = None
        # The trapezoid sum of resident memory over time (byte-seconds) and its last point.
        self._rss_byte_s = 0.0
        self._rss_point: tuple[float, int] | None = None
        self._children_usage: _ChildrenUsage | None = None
        self._children_usage_end: _ChildrenUsage | None = None
        self._watch: _OpenWatch | None = None
        self._closed = False
        try:
            self._root = psutil.Process(sampler.pid)
            if self._own:
                self._children_usage = _ChildrenUsage.now()
            self._first = sample_tree(self._root, with_io=True)
            self._last = self._first
            self._peak_rss = self._first.rss_bytes
            self._integrate_rss(self._first)
            if self._own:  # the audit hook sees this interpreter's opens only
                self._watch = _start_watching()
            _background.add(self)
        except Exception as error:  # never break the measured job
            logger.debug("process sampler could not start: %r", error)

    # Called by the background thread.
    def _tick(self) -> None:
        root = self._root
        if root is None:
            return
        sample = sample_tree(root, with_io=False)
        with self._lock:
            if self._closed:
                return
            if sample.cpu_s is not None:
                self._last = replace(
                    sample, read_bytes=self._last.read_bytes, written_bytes=self._last.written_bytes
                )
            self._fold_rss(sample.rss_bytes)
            self._integrate_rss(sample)
        self._look_at_open_files(root)

    def _fold_rss(self, rss: int | None) -> None:
        if rss is not None and (self._peak_rss is None or rss > self._peak_rss):
            self._peak_rss = rss

    def _integrate_rss(self, sample: TreeSample) -> None:
        # Called with the lock held (or before the window is shared).
        if sample.rss_bytes is None:
            return
        point = (sample.at_s, sample.rss_bytes)
        if self._rss_point is not None:
            (t0, rss0), (t1, rss1) = self._rss_point, point
            if t1 > t0:
                self._rss_byte_s += (t1 - t0) * (rss0 + rss1) / 2.0
        self._rss_point = point

    def _look_at_open_files(self, root: psutil.Process) -> None:
        # Engines written in C++ or Rust open files without Python's open(); the
        # audit hook misses those, a look at the open files catches the longer reads.
        paths: list[str] = []
        for process in tree_processes(root):
            try:
                files = process.open_files()
            except (psutil.Error, OSError):
                continue
            paths.extend(h.path for h in files if getattr(h, "mode", "r") == "r")
        with self._lock:
            if not self._closed and len(self._open_seen) < MAX_INPUTS * 4:
                self._open_seen.update(paths)

    def stop_sampling(self) -> None:
        """Take the closing look at the tree now; :meth:`end` then only assembles.

        A caller with teardown of its own (stopping an energy tracker) calls this
        first, so that teardown is not counted as the work's CPU time. Never raises.
        """
        try:
            self._close()
        except Exception as error:  # never break the measured job
            logger.debug("process sampler could not take its last sample: %r", error)

    def _close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        _background.discard(self)
        if self._watch is not None:
            _stop_watching(self._watch)
        root = self._root
        if root is None:
            return
        final = sample_tree(root, with_io=True)
        after = _ChildrenUsage.now() if self._own else None
        with self._lock:
            if final.cpu_s is None:
                # The root has ended: its last look is the best we have for CPU time and
                # memory; its I/O since then is unknown.
                final = replace(self._last, read_bytes=None, written_bytes=None)
            self._last = final
            self._fold_rss(final.rss_bytes)
            # A root that ended repeats its last look (same time): nothing is added.
            self._integrate_rss(final)
            self._children_usage_end = after

    def end(self) -> ProcessStats:
        """Close the window and return what the tree did. Never raises; idempotent."""
        with self._lock:
            if self._stats is not None:
                return self._stats
        try:
            self._close()
            stats = self._assemble()
        except Exception as error:  # never break the measured job
            logger.debug("process sampler could not finish: %r", error)
            stats = ProcessStats()
        with self._lock:
            if self._stats is None:
                self._stats = stats
            return self._stats

    def _assemble(self) -> ProcessStats:
        engines = engines_loaded() if self._own else {}
        if self._root is None:
            return ProcessStats(engines=engines)
        with self._lock:
            final = self._last
            peak = self._peak_rss
            ram_gb_s = self._rss_byte_s / BYTES_PER_GB if self._rss_point is not None else None
            seen = set(self._open_seen)
            before, after = self._children_usage, self._children_usage_end
        if self._watch is not None:
            seen |= self._watch.paths
        cpu_s = _delta(self._first.cpu_s, final.cpu_s)
        read_bytes = _delta_int(self._first.read_bytes, final.read_bytes)
        written_bytes = _delta_int(self._first.written_bytes, final.written_bytes)
        if before is not None and after is not None:
            # Waited-for children took their I/O with them; getrusage kept their blocks.
            if read_bytes is not None:
                read_bytes += after.read_bytes - before.read_bytes
            if written_bytes is not None:
                written_bytes += after.written_bytes - before.written_bytes
            if after.maxrss_bytes > before.maxrss_bytes:
                # A child that ended in the window grew larger than any before it.
                peak = max(peak or 0, after.maxrss_bytes)
        return ProcessStats(
            cpu_s=cpu_s,
            peak_rss_bytes=peak,
            ram_gb_s=ram_gb_s,
            read_bytes=read_bytes,
            written_bytes=written_bytes,
            inputs=_collect_inputs(self._given_paths, seen),
            engines=engines,
        )


def _delta(before: float | None, after: float | None) -> float | None:
    if before is None or after is None:
        return None
    return max(after - before, 0.0)


def _delta_int(before: int | None, after: int | None) -> int | None:
    if before is None or after is None:
        return None
    return max(after - before, 0)


def _paths_from_context(context: Mapping[str, Any]) -> list[str]:
    given = context.get("paths") or ()
    if isinstance(given, str | os.PathLike):
        given = (given,)
    paths: list[str] = []
    for item in given:
        with contextlib.suppress(TypeError, ValueError):
            paths.append(str(Path(os.fsdecode(os.fspath(item))).absolute()))
    return paths


def _collect_inputs(given: Iterable[str], seen: Iterable[str]) -> tuple[InputFile, ...]:
    _internal.active = True  # our own peeks at the files are not the job's reads
    try:
        found: dict[str, InputFile] = {}
        for path in given:
            if path not in found and len(found) < MAX_INPUTS:
                item = _input_file(path, require_data_format=False)
                if item is not None:
                    found[path] = item
        for path in sorted(seen):
            if len(found) >= MAX_INPUTS:
                break
            if path in found or not _is_candidate(path):
                continue
            item = _input_file(path, require_data_format=True)
            if item is not None:
                found[path] = item
        return tuple(sorted(found.values(), key=lambda item: item.path))
    finally:
        _internal.active = False


# -- one background thread for all windows ----------------------------------------------


class _Background:
    """One daemon thread that ticks every open window; it sleeps while none is open."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._windows: set[ProcessWindow] = set()
        self._thread: threading.Thread | None = None

    def add(self, window: ProcessWindow) -> None:
        with self._condition:
            self._windows.add(window)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="zuinig-process-sampler", daemon=True
                )
                self._thread.start()
            self._condition.notify()

    def discard(self, window: ProcessWindow) -> None:
        with self._condition:
            self._windows.discard(window)

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._windows:
                    self._condition.wait()
                windows = list(self._windows)
            interval = min(w._sampler.interval_s for w in windows)
            deadline = time.monotonic() + interval
            with self._condition:
                # Sleep first: a window that ends within one interval costs no tick.
                self._condition.wait_for(
                    lambda: not self._windows, max(deadline - time.monotonic(), 0)
                )
                windows = [w for w in windows if w in self._windows]
            for window in windows:
                try:
                    window._tick()
                except Exception as error:  # one bad window must not stop the others
                    logger.debug("process sampler tick failed: %r", error)

    def reset_after_fork(self) -> None:
        # The thread does not survive fork(); the child's copies of windows are stale.
        self._condition = threading.Condition()
        self._windows = set()
        self._thread = None


_background = _Background()


def _after_fork_in_child() -> None:
    global _watch_lock, _watchers
    _background.reset_after_fork()
    _watch_lock = threading.Lock()
    _watchers = ()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


# -- a waited-for child -----------------------------------------------------------------


@dataclass(frozen=True)
class RusageStats:
    """CPU time and peak memory of a child process tree, from the kernel's accounting.

    Attributes:
        cpu_s: user + system time of the child and every descendant it waited for (s).
        peak_rss_bytes: the largest resident memory of any single process among them
            (bytes): a lower bound of the tree's peak, which may be a sum.
    """

    cpu_s: float
    peak_rss_bytes: int


def usage_from_rusage(rusage: resource.struct_rusage) -> RusageStats:
    """Turn the rusage of a waited-for child into ``cpu_s`` and peak memory.

    For ``zuinig run``: start the command with :class:`subprocess.Popen`, reap it with
    ``_, status, rusage = os.wait4(child.pid, 0)``, and pass ``rusage`` here. The
    kernel accounts the child and all descendants it waited for, however short-lived,
    which a sampler can miss. ``ru_maxrss`` is in KiB on Linux and bytes on macOS;
    this returns bytes on both.

    Args:
        rusage: the third item returned by :func:`os.wait4`.
    """
    return RusageStats(
        cpu_s=float(rusage.ru_utime + rusage.ru_stime),
        peak_rss_bytes=_maxrss_bytes(int(rusage.ru_maxrss)),
    )


def fold_rusage(measurement: Measurement, rusage: resource.struct_rusage) -> Measurement:
    """A copy of ``measurement`` with a waited-for child's own accounting folded in.

    The window's ``cpu_s`` (sampled) and the kernel's figure for the child cover the
    same work when the window bracketed the child; the larger one is kept, since each
    can only miss time, never invent it. Peak memory likewise keeps the larger.

    Args:
        measurement: what the window measured around the child.
        rusage: the third item returned by :func:`os.wait4` for that child.
    """
    usage = usage_from_rusage(rusage)
    cpu_s = usage.cpu_s if measurement.cpu_s is None else max(measurement.cpu_s, usage.cpu_s)
    peak = usage.peak_rss_bytes
    if measurement.peak_rss_bytes is not None:
        peak = max(peak, measurement.peak_rss_bytes)
    return replace(measurement, cpu_s=cpu_s, peak_rss_bytes=peak)
