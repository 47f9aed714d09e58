"""The short summary of one measured window: energy, its range, CO2e, measured or estimated.

One summary, three renderings: a line (after a ``%%zuinig`` cell in terminal IPython),
an HTML table (after a cell in a notebook, and ``Run._repr_html_`` /
``Measurement._repr_html_``) and a Markdown table (``_repr_markdown_``). All three are
made from :func:`summary_rows`, so they always say the same thing.

Pure: a :class:`Summary` in, text out. This module imports only :mod:`zuinig.units` and
:mod:`zuinig.safe_text`, so the records below everything (the ledger's
:class:`~zuinig.ledger.model.Run`, the meter's :class:`~zuinig.meter.base.Measurement`)
may use it without an import cycle. Text from users (job names, error messages) is
escaped for where it goes: control characters shown as escapes, HTML and Markdown
special characters made inert.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from zuinig.safe_text import printable
from zuinig.units import (
    format_co2,
    format_co2_range,
    format_energy,
    format_energy_range,
    format_number,
)

__all__ = [
    "ShownAsSummary",
    "Summary",
    "summary_html",
    "summary_line",
    "summary_markdown",
    "summary_rows",
]


@dataclass(frozen=True)
class Summary:
    """The figures a summary shows; made by ``Run.summary()`` and ``Measurement.summary()``.

    Attributes:
        energy_kwh: energy of the window (kWh); ``None`` when it was not measured.
        energy_kwh_low: low end of an estimate's range (kWh).
        energy_kwh_high: high end of an estimate's range (kWh).
        co2_kg: emissions (kg CO2e).
        co2_kg_low: CO2e of ``energy_kwh_low`` (kg CO2e).
        co2_kg_high: CO2e of ``energy_kwh_high`` (kg CO2e).
        is_measured: read from hardware counters (``True``), modelled (``False``), or
            no method recorded (``None``).
        duration_s: wall-clock duration (s).
        job: the run's job, when the summary is of a run.
        status: the run's status (``ok``, ``error`` ...), when of a run.
        measurement_error: why measuring failed, when it did.
    """

    energy_kwh: float | None
    energy_kwh_low: float | None = None
    energy_kwh_high: float | None = None
    co2_kg: float | None = None
    co2_kg_low: float | None = None
    co2_kg_high: float | None = None
    is_measured: bool | None = None
    duration_s: float | None = None
    job: str | None = None
    status: str | None = None
    measurement_error: str | None = None


def summary_rows(summary: Summary) -> list[tuple[str, str]]:
    """``(label, value)`` pairs, in the order shown; values human-formatted, not escaped.

    An estimate shows its range (energy and CO2e); a measured figure's range is its
    reading, so it shows none.
    """
    rows: list[tuple[str, str]] = []
    if summary.job is not None:
        rows.append(("job", summary.job))
    if summary.status is not None:
        rows.append(("status", summary.status))
    if summary.duration_s is not None:
        rows.append(("duration", f"{format_number(summary.duration_s)} s"))
    if summary.energy_kwh is None:
        reason = f" ({summary.measurement_error})" if summary.measurement_error else ""
        rows.append(("energy", f"not measured{reason}"))
        return rows
    estimated = summary.is_measured is False
    rows.append(("energy", format_energy(summary.energy_kwh)))
    if estimated and summary.energy_kwh_low is not None and summary.energy_kwh_high is not None:
        rows.append(("range", format_energy_range(summary.energy_kwh_low, summary.energy_kwh_high)))
    if summary.co2_kg is not None:
        co2 = format_co2(summary.co2_kg)
        if estimated and summary.co2_kg_low is not None and summary.co2_kg_high is not None:
            co2 += f" ({format_co2_range(summary.co2_kg_low, summary.co2_kg_high)})"
        rows.append(("CO₂e", co2))
    method = {True: "measured", False: "estimated", None: "unknown"}[summary.is_measured]
    rows.append(("method", method))
    return rows


def summary_line(summary: Summary) -> str:
    """One line for a terminal: ``zuinig: job nb-cell, energy 2.3 mWh, ..., method estimated``."""
    return "zuinig: " + ", ".join(
        f"{label} {printable(value)}" for label, value in summary_rows(summary)
    )


def summary_html(summary: Summary) -> str:
    """A small HTML table (a fragment, every value escaped)."""
    cells = "".join(
        f'<tr><th style="text-align:left">{html.escape(label)}</th>'
        f'<td style="text-align:left">{html.escape(printable(value))}</td></tr>'
        for label, value in summary_rows(summary)
    )
    return f'<table class="zuinig-summary"><tbody>{cells}</tbody></table>'


# Characters with a meaning in (GitHub-flavoured) Markdown, table pipes included.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~])")


def _markdown_text(text: str) -> str:
    # Markdown passes HTML through, so <, > and & are escaped as HTML first, then
    # Markdown's own marks with backslashes.
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(printable(text), quote=False))


def summary_markdown(summary: Summary) -> str:
    """A two-column Markdown table, every value escaped."""
    lines = ["| zuinig | |", "|---|---|"]
    lines += [
        f"| {_markdown_text(label)} | {_markdown_text(value)} |"
        for label, value in summary_rows(summary)
    ]
    return "\n".join(lines)


class ShownAsSummary:
    """Mixin: a record that has a :class:`Summary` shows as it in a notebook.

    IPython's rich display protocol asks for ``_repr_html_`` and ``_repr_markdown_``;
    both are the same table, so a record (``Run``, ``Measurement``) only says what its
    summary is.
    """

    __slots__ = ()

    def summary(self) -> Summary:
        """The figures a person reads first (each record says which)."""
        raise NotImplementedError

    def _repr_html_(self) -> str:
        """How a notebook shows the record: a small table."""
        return summary_html(self.summary())

    def _repr_markdown_(self) -> str:
        """The same table in Markdown."""
        return summary_markdown(self.summary())
