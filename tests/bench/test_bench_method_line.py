"""The bench report's method line names the CPU coefficients and the attribution rule."""

from __future__ import annotations

import dataclasses
import re

from zuinig.bench.text import method_label
from zuinig.meter.base import ATTRIBUTION_RESOURCE_SHARE, ATTRIBUTION_RULES, Method
from zuinig.meter.coefficients import CCF_SOURCE, CCF_YEAR, coefficients_for

METHOD = Method(
    meter="codecarbon 3.3.2",
    cpu_method="cpu_load",
    cpu_model="AMD EPYC",
    cpu_tdp_w=8.0,
    cpu_tdp_is_generic=True,
    cpu_count=2,
    ram_model="CodeCarbon estimate for the machine's 25.3 GB",
    ram_power_w=20.0,
    pue=1.0,
    intensity_g_per_kwh=0.00001,  # absurdly small, to catch exponent notation
    intensity_source="test grid",
    attribution=ATTRIBUTION_RESOURCE_SHARE,
    cpu_coefficients=coefficients_for("AMD EPYC").describe(),
)


def _stored(method: Method) -> dict[str, object]:
    # As the bench runner stores a session's method.
    return {
        **dataclasses.asdict(method),
        "estimated": not method.is_measured,
        "in_words": method.describe(),
    }


def test_the_method_line_names_the_coefficients_and_the_rule() -> None:
    line = method_label(_stored(METHOD))
    assert line.startswith("estimated")
    assert CCF_SOURCE in line and str(CCF_YEAR) in line
    assert "8 W, not used" in line  # CodeCarbon's generic TDP guess is named as unused
    assert ATTRIBUTION_RULES[ATTRIBUTION_RESOURCE_SHARE] in line
    assert "0.00001 g/kWh" in line and not re.search(r"\d[eE][-+]?\d", line)
