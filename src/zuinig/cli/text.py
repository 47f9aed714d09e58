"""The CLI's own text: runs, diagnoses and a demo's result in, lines out (pure; only the
commands print).

Text from users (job names, tags, commands, error messages) is shown with its control
characters escaped (:func:`zuinig.safe_text.printable`): here where columns are
aligned, and again by the CLI for every line it prints.

The renderers behind ``zuinig run`` (the summary line), ``zuinig runs list`` and
``zuinig runs show`` (with the per-process breakdown of a dask run), ``zuinig doctor``
and ``zuinig demo``: the commands whose library is a single module or the ledger,
which shows nothing itself. The renderers of a package live in that package's
``text`` module: :mod:`zuinig.bench.text`, :mod:`zuinig.advise.text`,
:mod:`zuinig.convert.text`; the ledger's (sync, import, quarantine) in
:mod:`zuinig.ledger_text`. Figures with their units come from :mod:`zuinig.units`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from zuinig.atomic import STALE_AFTER_S
from zuinig.ledger.model import Run
from zuinig.meter.base import (
    ATTRIBUTION_CODECARBON_MACHINE,
    ATTRIBUTION_CODECARBON_PROCESS,
    ATTRIBUTION_MACHINE,
    ATTRIBUTION_RESOURCE_SHARE,
)
from zuinig.safe_text import printable
from zuinig.units import (
    co2_unit,
    energy_unit,
    format_co2,
    format_co2_range,
    format_energy,
    format_energy_range,
    format_number,
    plain_number,
)

if TYPE_CHECKING:
    from zuinig.demo import DemoResult
    from zuinig.doctor import Diagnosis

__all__ = [
    "attribution_words",
    "energy_range",
    "format_breakdown",
    "format_demo_result",
    "format_diagnosis",
    "format_run",
    "format_run_summary",
    "format_runs_json",
    "format_runs_table",
    "method_words",
    "one_line",
]


def one_line(text: str) -> str:
    """``text`` with every run of whitespace, newlines included, as one space."""
    return " ".join(text.split())


def format_runs_json(runs: Sequence[Run]) -> str:
    """A JSON array of runs, keys as in :meth:`Run.to_dict`."""
    return json.dumps([run.to_dict() for run in runs], indent=2, ensure_ascii=False)


def format_runs_table(runs: Sequence[Run], *, total: int | None = None) -> list[str]:
    """The lines of the ``runs list`` table; a last line says when not all are shown."""
    if not runs:
        return ["no runs match"] if total == 0 or total is None else []
    headers = (
        "run",
        "job",
        "status",
        "started (UTC)",
        "duration_s",
        "energy",
        "CO2e",
        "method",
    )
    right = {4, 5, 6}
    rows = [
        (
            run.run_id[:8],
            printable(run.job),  # escaped before measuring, so the columns line up
            run.status,
            _time(run.started_at),
            _number(run.duration_s),
            _energy_compact(run),
            _co2_compact(run),
            _method_word(run),
        )
        for run in runs
    ]
    widths = [max(len(row[i]) for row in (headers, *rows)) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(cells)
        ]
        return "  ".join(parts).rstrip()

    lines = [line(headers), *(line(row) for row in rows)]
    if total is not None and total > len(runs):
        lines.append(f"showing {len(runs)} of {total} runs, newest first; use --limit N for more")
    if any(run.is_estimated for run in runs):
        lines.append(
            "estimated: figures modelled from the machine's CPU load and published or design "
            "watts, not read from RAPL; see `zuinig runs show` and `zuinig doctor`"
        )
    if any(energy_range(run) for run in runs):
        lines.append("(low–high): the range of an estimate, from the model's published bounds")
    return lines


def format_run_summary(run: Run) -> str:
    """One line after ``zuinig run``: the run id and its main figures."""
    figures = [run.status]
    if run.exit_code:
        figures.append(f"exit {run.exit_code}")
    figures.append(f"{_number(run.duration_s)} s")
    if run.energy_kwh is not None:
        span = energy_range(run)
        figures.append(
            format_energy(run.energy_kwh) + (f" ({format_energy_range(*span)})" if span else "")
        )
    if run.co2_kg is not None:
        figures.append(format_co2(run.co2_kg))
    figures.append(method_words(run))
    if run.measurement_error:
        figures.append(f"not measured: {run.measurement_error}")
    return one_line(f"zuinig: run {run.run_id[:8]} ({run.job}): {', '.join(figures)}")


def format_run(run: Run) -> list[str]:
    """The lines of ``runs show``: every figure with its method, inputs and engines."""
    method = run.method()
    lines = [
        *_pairs(
            [
                ("run", run.run_id),
                ("job", run.job),
                ("kind", run.kind),
                ("status", run.status),
                ("parent run", run.parent_run_id),
                ("tags", ", ".join(f"{k}={v}" for k, v in sorted(run.tags.items())) or None),
                ("command", run.command),
                ("exit code", _text(run.exit_code) if run.exit_code is not None else None),
                ("error", _error_text(run)),
                ("started", _time(run.started_at) + " UTC"),
                ("ended", _time(run.ended_at) + " UTC" if run.ended_at else None),
            ]
        ),
    ]
    estimated = run.is_estimated
    energy_how = (
        "not measured"
        if run.energy_kwh is None
        else ("estimated" if estimated else "measured" if estimated is False else "method unknown")
    )
    cpu_how = _cpu_how(run)
    ram_how = (
        f"estimated: {run.method_ram}"
        + (f", {_plain(run.method_ram_power_w)} W" if run.method_ram_power_w else "")
        if run.method_ram
        else energy_how
    )
    intensity = _intensity_text(run)
    lines += ["", "figures"]
    lines += _pairs(
        [
            ("duration_s", _unit(run.duration_s, "s"), "wall clock"),
            (
                "energy_kwh",
                _energy(run.energy_kwh),
                f"{energy_how}{_range_words(run)}; CPU + RAM + GPU, x PUE {_pue(run)}",
            ),
            ("cpu_energy_kwh", _energy(run.cpu_energy_kwh), cpu_how),
            ("ram_energy_kwh", _energy(run.ram_energy_kwh), ram_how),
            (
                "gpu_energy_kwh",
                _energy(run.gpu_energy_kwh),
                "measured (NVIDIA NVML)" if run.gpu_energy_kwh else "no GPU measured",
            ),
            ("power_w", _unit(run.power_w, "W"), "= energy_kwh / duration_s"),
            (
                "co2_kg",
                _co2(run.co2_kg),
                f"location-based (the grid): = energy_kwh x {intensity}{_co2_range_words(run)}",
            ),
            ("co2_kg_market_based", _co2(run.co2_kg_market_based), _market_words(run)),
            (
                "cpu_share",
                _share(run.cpu_share),
                _SHARE_WORDS if run.cpu_share is not None else None,
            ),
            (
                "ram_gb_s",
                _number(run.ram_gb_s),
                _RAM_GB_S_WORDS if run.ram_gb_s is not None else None,
            ),
            (
                "intensity_g_per_kwh",
                _exact(run.intensity_g_per_kwh),
                _intensity_of(
                    None,
                    run.intensity_source,
                    run.intensity_year,
                    run.country_iso_code,
                    name=run.intensity_name,
                    boundary=run.intensity_boundary,
                ),
            ),
            (
                "market_intensity_g_per_kwh",
                _exact(run.market_intensity_g_per_kwh),
                _intensity_of(
                    None,
                    run.market_intensity_source,
                    run.market_intensity_year,
                    None,
                    name=run.market_intensity_name,
                    boundary=run.market_intensity_boundary,
                )
                if run.market_intensity_g_per_kwh is not None
                else None,
            ),
            ("cpu_s", _unit(run.cpu_s, "s"), "measured (psutil, whole process tree)"),
            ("peak_rss_bytes", _bytes(run.peak_rss_bytes), "measured (psutil, whole process tree)"),
            ("read_bytes", _bytes(run.read_bytes), "measured (psutil, whole process tree)"),
            ("written_bytes", _bytes(run.written_bytes), "measured (psutil, whole process tree)"),
        ],
        indent="  ",
    )
    if run.measurement_error:
        lines.append(f"  measurement failed: {run.measurement_error}")
    lines += ["", "method"]
    lines += _pairs(
        [
            ("meter", run.method_meter),
            ("CPU method", _cpu_method_text(run.method_cpu, run.method_cpu_coefficients)),
            ("CPU model", run.method_cpu_model),
            ("CPU threads", _text(run.method_cpu_count) if run.method_cpu_count else None),
            ("TDP", _tdp_text(run)),
            ("RAM", run.method_ram),
            (
                "RAM power",
                f"{_plain(run.method_ram_power_w)} W"
                if run.method_ram_power_w is not None
                else None,
            ),
            ("tracking mode", _tracking_text(run.tracking_mode)),
            ("attribution", attribution_words(run.method_attribution)),
            ("CPU watts from", run.method_cpu_coefficients),
            ("GPU method", run.method_gpu),
            ("PUE", _pue(run)),
            ("intensity", intensity),
            ("in words", method.describe() if method else None),
        ],
        indent="  ",
    )
    if estimated:
        lines.append(
            "  WARNING: these figures are estimates, not readings of the CPU's energy counters; "
            "`zuinig doctor` says how to calibrate them"
        )
    lines += ["", "inputs"]
    if run.inputs:
        lines += [
            f"  {entry.path}  {entry.format}  {_bytes(entry.size_bytes)}" for entry in run.inputs
        ]
    else:
        lines.append("  none seen")
    lines += ["", "engines"]
    if run.engines:
        lines += [f"  {name} {version}" for name, version in sorted(run.engines.items())]
    else:
        lines.append("  none loaded")
    lines += ["", "provenance"]
    lines += _pairs(
        [
            ("host", run.host),
            ("user", run.user),
            ("pid", _text(run.pid) if run.pid is not None else None),
            ("python", run.python_version),
            ("codecarbon", run.codecarbon_version),
            ("zuinig", run.zuinig_version),
            ("git commit", run.git_commit),
        ],
        indent="  ",
    )
    return lines


def format_breakdown(children: Sequence[Run]) -> list[str]:
    """The per-process lines under a ``dask`` run in ``runs show``: one per child run."""
    if not children:
        return []
    lines = ["", "processes (child runs; their figures add up to the ones above)"]
    for child in children:
        who = child.tags.get("dask_worker") or "client"
        figures = f"{_energy(child.energy_kwh)}, {_unit(child.cpu_s, 's')} CPU"
        missing = f"; not measured: {child.measurement_error}" if child.measurement_error else ""
        line = f"  {child.run_id[:8]}  {who}  {child.host or '-'} pid {_text(child.pid)}  {figures}"
        lines.append(line + missing.replace("\n", " "))
    return lines


def format_diagnosis(diagnosis: Diagnosis) -> list[str]:
    """The lines of ``zuinig doctor``."""
    method = diagnosis.method
    lines = ["how zuinig will measure energy on this machine", ""]
    lines += _pairs(
        [
            ("CPU method", _cpu_method_text(method.cpu_method, method.cpu_coefficients)),
            ("RAPL", diagnosis.rapl.detail),
            ("CPU model", method.cpu_model or "unknown"),
            ("CPU threads", _text(method.cpu_count) if method.cpu_count else "unknown"),
            (
                "TDP",
                f"{_plain(method.cpu_tdp_w)} W" if method.cpu_tdp_w is not None else "not used",
            ),
            ("TDP from", diagnosis.tdp_source),
            ("CPU watts from", method.cpu_coefficients),
            ("RAM", method.ram_model or "not modelled"),
            (
                "RAM power",
                f"{_plain(method.ram_power_w)} W" if method.ram_power_w is not None else "unknown",
            ),
            ("RAM power for", diagnosis.ram_basis or None),
            ("RAM power from", diagnosis.ram_source),
            ("range", diagnosis.estimate_range or None),
            ("tracking mode", _tracking_text(method.tracking_mode)),
            ("attribution", diagnosis.attribution),
            (
                "location-based factor",
                _intensity_of(
                    method.intensity_g_per_kwh,
                    method.intensity_source,
                    method.intensity_year,
                    method.country_iso_code,
                    name=method.intensity_name,
                    boundary=method.intensity_boundary,
                ),
            ),
            ("location factor from", diagnosis.intensity_origin),
            (
                "market-based factor",
                _intensity_of(
                    method.market_intensity_g_per_kwh,
                    method.market_intensity_source,
                    method.market_intensity_year,
                    None,
                    name=method.market_intensity_name,
                    boundary=method.market_intensity_boundary,
                ),
            ),
            ("market factor from", diagnosis.market_origin or None),
            ("PUE", f"{_plain(method.pue)} ({diagnosis.pue_origin})"),
            ("meter", method.meter),
        ]
    )
    ledger = diagnosis.ledger
    if ledger.reachable:
        state = f"reachable, {ledger.run_count} run{'s' if ledger.run_count != 1 else ''}"
    else:
        state = f"NOT reachable: {ledger.problem}"
    lines += ["", "ledger"]
    lines += _pairs([("location", ledger.url), ("state", state)], indent="  ")
    lines += ["", "settings (value, and where it came from)"]
    lines += _pairs(
        [(item.name, f"{_text(item.value)}  ({item.origin})") for item in diagnosis.settings],
        indent="  ",
    )
    lines += _temporary_files_lines(diagnosis)
    if diagnosis.warnings:
        lines.append("")
        lines += [f"WARNING: {warning}" for warning in diagnosis.warnings]
    lines += ["", "how to calibrate", *(f"  {line}" for line in diagnosis.calibration)]
    return lines


def _temporary_files_lines(diagnosis: Diagnosis) -> list[str]:
    """``zuinig doctor``'s section on temporary files that interrupted writes left."""
    files = diagnosis.temporary_files
    lines = ["", "temporary files of interrupted writes"]
    if not files.found:
        lines.append(f"  none in {', '.join(files.looked_in) or 'no folder'}")
        return lines
    for item in files.found:
        plural = "" if item.count == 1 else "s"
        minutes = f"{STALE_AFTER_S / 60:.0f} minutes"
        old = f", {item.stale_count} older than {minutes}" if item.stale_count else ""
        lines.append(
            printable(f"  {item.folder}: {item.count} file{plural}, {_bytes(item.size_bytes)}{old}")
        )
        lines.append(printable(f"    {item.what_to_do}"))
    looked = [folder for folder in files.looked_in if folder not in {i.folder for i in files.found}]
    if looked:
        lines.append(f"  none in {', '.join(looked)}")
    return lines


def format_demo_result(result: DemoResult) -> list[str]:
    """The lines that tell a person what the demo made and how to look at it."""
    # Imported here: zuinig.demo imports the report's renderer, which the CLI's start skips.
    from zuinig.demo import JOB_DISTRICTS

    lines = [
        f"zuinig demo: {result.runs_recorded} runs recorded in {result.duration_s:.0f} s, "
        f"{result.failed_runs} failed ({JOB_DISTRICTS} fails on purpose)",
        f"  folder:  {result.folder}",
        f"  ledger:  {result.ledger_url}  (the demo's own; your ledger is untouched)",
        f"  data:    {', '.join(str(path) for path in result.data_paths)}",
        f"  advice:  {result.advice_path}",
    ]
    lines += [f"  report:  {path}" for path in result.report_paths]
    lines += [
        "",
        "Look at the runs (or, inside the folder, leave --ledger out: its zuinig.toml names it):",
        f"  zuinig --ledger {result.ledger_url} runs list",
        f"  zuinig --ledger {result.ledger_url} advise",
    ]
    return lines


def _pairs(items: Sequence[tuple[Any, ...]], indent: str = "") -> list[str]:
    """Aligned ``name  value  [how]`` lines; items whose value is ``None`` are left out."""
    shown = [item for item in items if item[1] is not None]
    if not shown:
        return []
    shown = [(item[0], printable(str(item[1])), *item[2:]) for item in shown]
    width = max(len(item[0]) for item in shown)
    value_width = max(len(str(item[1])) for item in shown)
    lines = []
    for item in shown:
        text = f"{indent}{item[0].ljust(width)}  {item[1]}"
        if len(item) > 2 and item[2]:
            text = f"{indent}{item[0].ljust(width)}  {str(item[1]).ljust(value_width)}  {item[2]}"
        lines.append(text.rstrip())
    return lines


def _number(value: float | None) -> str:
    """Three significant digits, never in exponent notation (a person reads it)."""
    return "-" if value is None else format_number(value)


def _plain(value: float) -> str:
    """A setting or method figure as given (six significant digits), never as ``1e-05``."""
    return plain_number(value)


def _unit(value: float | None, unit: str) -> str:
    return "-" if value is None else f"{_number(value)} {unit}"


def _energy(kwh: float | None) -> str:
    return "-" if kwh is None else format_energy(kwh)


def _co2(kg: float | None) -> str:
    return "-" if kg is None else format_co2(kg)


def _bytes(value: int | None) -> str | None:
    if value is None:
        return None
    amount = float(value)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if amount < 1000 or unit == "TB":
            return f"{value} B" if unit == "B" else f"{amount:.1f} {unit} ({value} B)"
        amount /= 1000
    return f"{value} B"


def _text(value: object) -> str:
    return "-" if value is None else str(value)


def _time(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


def _method_word(run: Run) -> str:
    if run.energy_kwh is None:
        return "not measured"
    estimated = run.is_estimated
    word = "unknown" if estimated is None else "estimated" if estimated else "measured"
    if run.method_attribution in _EARLIER_RULES:
        word += f" ({run.method_attribution})"  # an earlier rule: not comparable with today's
    return word


def method_words(run: Run) -> str:
    """How a run's figures were obtained, in a few words: ``estimated, shared by CPU time
    and memory held``, ``measured, the whole machine charged``, ``not measured``."""
    return _method_word(run) + _rule_words(run)


def energy_range(run: Run) -> tuple[float, float] | None:
    """``(low, high)`` of an estimated run's energy (kWh); ``None`` for a measured run
    (its range is its reading) and for a run without a recorded range."""
    if not run.is_estimated or run.energy_kwh_low is None or run.energy_kwh_high is None:
        return None
    return run.energy_kwh_low, run.energy_kwh_high


def _energy_compact(run: Run) -> str:
    """``2.3 Wh (1.2–3.4)``: the runs table's energy, with an estimate's range in its unit."""
    if run.energy_kwh is None:
        return "-"
    span = energy_range(run)
    largest = max((abs(run.energy_kwh), *(abs(end) for end in span or ())))
    factor, unit = energy_unit(largest)
    text = f"{_number(run.energy_kwh * factor)} {unit}"
    if span is not None:
        text += f" ({_number(span[0] * factor)}–{_number(span[1] * factor)})"
    return text


def _co2_compact(run: Run) -> str:
    """``41.2 µg CO₂e (20.1–60.3)``: the runs table's CO2e, with an estimate's range."""
    if run.co2_kg is None:
        return "-"
    span = None
    if energy_range(run) is not None and run.co2_kg_low is not None and run.co2_kg_high is not None:
        span = (run.co2_kg_low, run.co2_kg_high)
    factor, unit = co2_unit(max((abs(run.co2_kg), *(abs(end) for end in span or ()))))
    text = f"{_number(run.co2_kg * factor)} {unit}"
    if span is not None:
        text += f" ({_number(span[0] * factor)}–{_number(span[1] * factor)})"
    return text


def _range_words(run: Run) -> str:
    span = energy_range(run)
    if span is None:
        return " (no range recorded)" if run.is_estimated and run.energy_kwh is not None else ""
    return f", {format_energy_range(*span)}"


def _co2_range_words(run: Run) -> str:
    if energy_range(run) is None or run.co2_kg_low is None or run.co2_kg_high is None:
        return ""
    return f"; {format_co2_range(run.co2_kg_low, run.co2_kg_high)}"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{_number(value * 100)}%"


_SHARE_WORDS = "of the machine's CPU time over the window: its share of the CPU energy"
_RAM_GB_S_WORDS = "GB of memory held x seconds: its share of the RAM energy"

#: The attribution rules in words (``runs show``); keys are the ATTRIBUTION_* values.
_ATTRIBUTION_WORDS = {
    ATTRIBUTION_RESOURCE_SHARE: (
        "resource share: CPU by the job's share of the machine's CPU time, RAM by its "
        "share of memory held, GPU as measured"
    ),
    ATTRIBUTION_MACHINE: "machine: the whole machine's power charged to the run",
    ATTRIBUTION_CODECARBON_PROCESS: (
        "codecarbon-process (earlier rule): a CodeCarbon tracker per run, CPU from the "
        "process's load, RAM a fixed minimum per process; not comparable with today's figures"
    ),
    ATTRIBUTION_CODECARBON_MACHINE: (
        "codecarbon-machine (earlier rule): a CodeCarbon tracker per run charging the whole "
        "machine; not comparable with today's figures"
    ),
}
_EARLIER_RULES = frozenset({ATTRIBUTION_CODECARBON_PROCESS, ATTRIBUTION_CODECARBON_MACHINE})


#: The rule in a few words, for the one-line run summary (earlier rules are named by
#: _method_word already).
_RULE_SHORT = {
    ATTRIBUTION_RESOURCE_SHARE: "shared by CPU time and memory held",
    ATTRIBUTION_MACHINE: "the whole machine charged",
}


def _rule_words(run: Run) -> str:
    if run.energy_kwh is None or run.method_attribution not in _RULE_SHORT:
        return ""
    return f", {_RULE_SHORT[run.method_attribution]}"


def attribution_words(rule: str | None) -> str | None:
    """An attribution rule (``Method.attribution``) in words; ``None`` when not recorded."""
    if rule is None:
        return None
    return _ATTRIBUTION_WORDS.get(rule, rule)


def _error_text(run: Run) -> str | None:
    if run.error_type is None and run.error_message is None:
        return None
    return one_line(f"{run.error_type or 'error'}: {run.error_message or ''}")


def _pue(run: Run) -> str:
    return f"{_plain(run.pue)}" if run.pue is not None else "-"


_CPU_METHOD_WORDS = {
    "rapl": "rapl: measured with the CPU's RAPL energy counters",
    "cpu_load": "cpu_load: estimated from CPU load x TDP",
    "constant": "constant: estimated as half the TDP, whatever the load",
    "user_power": "user_power: estimated from your cpu_power_w x CPU load",
    "imported": "imported: taken from another tool's output (method unknown)",
    "replay": "replay: recorded values played back (tests)",
    "none": "none: nothing measured",
}


def _cpu_method_text(cpu_method: str | None, coefficients: str | None = None) -> str | None:
    if cpu_method is None:
        return None
    if cpu_method == "cpu_load" and coefficients:
        # The resource-share meter names the watts it used (CCF's per-vCPU figures or
        # CodeCarbon's TDP table); "x TDP" alone would be wrong for the former.
        return "cpu_load: estimated from the machine's CPU load x the watts in CPU watts from"
    return _CPU_METHOD_WORDS.get(cpu_method, cpu_method)


def _cpu_how(run: Run) -> str:
    if run.method_cpu is None:
        return "method unknown"
    if not run.is_estimated:
        return f"measured ({run.method_cpu})"
    if run.method_cpu_coefficients:
        # What the meter really used: the coefficients, up to their URL or side note
        # (the full text is on the method's "CPU watts from" line).
        used = run.method_cpu_coefficients.split("; ")[0]
        return f"estimated ({run.method_cpu}) from the machine's load x {used}"
    tdp = (
        f"TDP {_plain(run.method_cpu_tdp_w)} W"
        if run.method_cpu_tdp_w is not None
        else "TDP unknown"
    )
    generic = ", a generic guess" if run.method_cpu_tdp_is_generic else ""
    return f"estimated ({run.method_cpu}, {tdp}{generic})"


def _tdp_text(run: Run) -> str | None:
    if run.method_cpu_tdp_w is None:
        return None
    if run.method_cpu == "user_power":
        return f"{_plain(run.method_cpu_tdp_w)} W (your setting cpu_power_w)"
    if run.method_cpu_tdp_is_generic:
        unused = "; not used, see CPU watts from" if run.method_cpu_coefficients else ""
        return (
            f"{_plain(run.method_cpu_tdp_w)} W (generic guess: CodeCarbon's 4 W per CPU "
            f"thread{unused})"
        )
    return f"{_plain(run.method_cpu_tdp_w)} W (CodeCarbon's CPU power table)"


def _tracking_text(mode: str | None) -> str | None:
    if mode == "process":
        return "process (CPU power shared out by the measured process tree's CPU time)"
    if mode == "machine":
        return "machine (the whole machine's load is charged to the run)"
    return mode


def _intensity_text(run: Run) -> str:
    if run.intensity_g_per_kwh is None:
        return "unknown intensity"
    return _intensity_of(
        run.intensity_g_per_kwh,
        run.intensity_source,
        run.intensity_year,
        run.country_iso_code,
        name=run.intensity_name,
        boundary=run.intensity_boundary,
    )


def _market_words(run: Run) -> str | None:
    """How the market-based CO2e was made, in words (``None`` when there is none)."""
    if run.market_intensity_g_per_kwh is None:
        return None
    factor = _intensity_of(
        run.market_intensity_g_per_kwh,
        run.market_intensity_source,
        run.market_intensity_year,
        None,
        name=run.market_intensity_name,
        boundary=run.market_intensity_boundary,
    )
    later = (
        "; added later (ledger migration), the run was measured before zuinig kept it"
        if run.market_added_later
        else ""
    )
    return f"market-based (the contract): = energy_kwh x {factor}{later}"


def _intensity_of(
    value: float | None,
    source: str | None,
    year: int | None,
    country: str | None,
    *,
    name: str | None = None,
    boundary: str | None = None,
) -> str:
    """``268 g/kWh (source, year, country; row "name", boundary)``; only the parenthesis
    when ``value`` is None."""
    where = ", ".join(str(part) for part in (source, year, country) if part)
    row = "; ".join(
        part
        for part in (
            f'row "{name}"' if name else "",
            _BOUNDARY_WORDS.get(boundary or "", boundary or ""),
        )
        if part
    )
    where = "; ".join(part for part in (where, row) if part)
    if value is None:
        return where or "source unknown"
    return f"{_plain(value)} g/kWh" + (f" ({where})" if where else "")


#: Each factor boundary in words.
_BOUNDARY_WORDS = {
    "well-to-wheel": "well-to-wheel: production and supply chain",
    "tank-to-wheel": "tank-to-wheel: production only",
}


def _exact(value: float | None) -> str:
    return "-" if value is None else f"{_plain(value)}"
