"""The summary of a run (after a ``%%zuinig`` cell, and ``Run`` / ``Measurement`` in a
notebook): the same figures in a line, an HTML table and a Markdown table, escaped."""

from __future__ import annotations

from datetime import UTC, datetime

from zuinig.ledger.model import Run
from zuinig.meter.base import CPU_METHOD_CPU_LOAD, CPU_METHOD_RAPL, Measurement, Method
from zuinig.summary import Summary, summary_html, summary_line, summary_markdown, summary_rows

STARTED = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)


def estimated_run(**changes: object) -> Run:
    fields: dict[str, object] = {
        "run_id": "0b6c1f2e-0000-0000-0000-000000000000",
        "job": "woningbouwmonitor",
        "status": "ok",
        "started_at": STARTED,
        "duration_s": 12.5,
        "energy_kwh": 2.3e-6,
        "energy_kwh_low": 1.8e-6,
        "energy_kwh_high": 2.9e-6,
        "co2_kg": 6.2e-7,
        "co2_kg_low": 4.9e-7,
        "co2_kg_high": 7.8e-7,
        "method_meter": "codecarbon",
        "method_cpu": CPU_METHOD_CPU_LOAD,
    }
    fields.update(changes)
    return Run(**fields)  # type: ignore[arg-type]


def test_an_estimate_shows_its_ranges_and_says_estimated() -> None:
    assert summary_rows(estimated_run().summary()) == [
        ("job", "woningbouwmonitor"),
        ("status", "ok"),
        ("duration", "12.5 s"),
        ("energy", "2.3 mWh"),
        ("range", "between 1.8 and 2.9 mWh"),
        ("CO₂e", "620 µg CO₂e (between 490 and 780 µg CO₂e)"),
        ("method", "estimated"),
    ]


def test_a_measured_figure_has_no_range_and_says_measured() -> None:
    rows = dict(summary_rows(estimated_run(method_cpu=CPU_METHOD_RAPL).summary()))
    assert "range" not in rows
    assert rows["CO₂e"] == "620 µg CO₂e"
    assert rows["method"] == "measured"


def test_a_failed_measurement_says_why() -> None:
    summary = Summary(energy_kwh=None, measurement_error="no RAPL access", job="j", status="ok")
    assert summary_rows(summary)[-1] == ("energy", "not measured (no RAPL access)")
    assert summary_line(summary) == "zuinig: job j, status ok, energy not measured (no RAPL access)"


def test_the_three_renderings_say_the_same() -> None:
    summary = estimated_run().summary()
    line, page, markdown = summary_line(summary), summary_html(summary), summary_markdown(summary)
    for _label, value in summary_rows(summary):
        assert value in line
        assert value in page
    assert "| energy | 2\\.3 mWh |" in markdown
    assert "| range | between 1\\.8 and 2\\.9 mWh |" in markdown


def test_text_from_users_is_escaped_for_html_and_markdown() -> None:
    hostile = estimated_run(job="<script>alert(1)</script> | **vet** \x1b[2J\nregel")
    page = hostile._repr_html_()
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "\x1b" not in page and "\n" not in page
    markdown = hostile._repr_markdown_()
    job_row = next(line for line in markdown.splitlines() if line.startswith("| job"))
    assert "<script>" not in job_row
    assert job_row.count("|") - job_row.count("\\|") == 3  # the row's own pipes only
    assert "\\*\\*vet\\*\\*" in job_row
    assert "\x1b" not in markdown
    assert "\x1b" not in summary_line(hostile.summary())


def test_run_and_measurement_reprs_use_the_summary() -> None:
    run = estimated_run()
    assert run._repr_html_() == summary_html(run.summary())
    assert run._repr_markdown_() == summary_markdown(run.summary())
    measurement = Measurement(
        started_at=STARTED,
        ended_at=STARTED,
        duration_s=12.5,
        energy_kwh=2.3e-6,
        energy_kwh_low=1.8e-6,
        energy_kwh_high=2.9e-6,
        method=Method(meter="codecarbon", cpu_method=CPU_METHOD_CPU_LOAD),
    )
    rows = dict(summary_rows(measurement.summary()))
    assert rows["energy"] == "2.3 mWh"
    assert rows["range"] == "between 1.8 and 2.9 mWh"
    assert rows["method"] == "estimated"
    assert "job" not in rows
    assert measurement._repr_html_() == summary_html(measurement.summary())
    assert measurement._repr_markdown_() == summary_markdown(measurement.summary())
