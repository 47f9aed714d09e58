"""The CodeCarbon meter: CodeCarbon's hardware detection and the machine's counters.

:class:`CodeCarbonMeter` opens a :class:`~zuinig.meter.window.SourceWindow` over a
:class:`~zuinig.meter.sources.codecarbon.CodeCarbonSource` (one per meter; the hardware
it detects is kept for the whole process) and a process sampler. The machine's energy
over each window is shared out to the job by its resources
(:mod:`zuinig.meter.attribution`); ``tracking_mode = "machine"`` charges it all.

Importing this module does not import CodeCarbon; on a machine whose hardware probe is
cached (:class:`ProbeCache`), no window imports it either.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from zuinig.config import Settings
from zuinig.meter.base import (
    ATTRIBUTION_MACHINE,
    ATTRIBUTION_RESOURCE_SHARE,
    CPU_METHOD_NONE,
    Meter,
    Method,
    Window,
)
from zuinig.meter.process import ProcessSampler
from zuinig.meter.sources.codecarbon import (
    PROBE_CACHE_FILE,
    CodeCarbonSource,
    GridIntensity,
    HardwareProbe,
    ProbeCache,
    RaplDomain,
    codecarbon_version,
    probe_key,
    resolve_intensity,
    resolve_market_intensity,
)
from zuinig.meter.window import SourceWindow


class CodeCarbonMeter(Meter):
    """Measures energy with CodeCarbon's detection and counters, the process tree with psutil.

    Args:
        settings: country, tracking mode, PUE and calibration (CPU and RAM watts,
            carbon intensity).
        cache_dir: where the hardware probe is cached; the user cache directory by default.
        sample_interval_s: seconds between background samples of the process tree.
    """

    name = "codecarbon"

    def __init__(
        self,
        settings: Settings,
        *,
        cache_dir: Path | None = None,
        sample_interval_s: float | None = None,
    ) -> None:
        self.settings = settings
        self.source = CodeCarbonSource(settings, cache_dir=cache_dir)
        self._sample_interval_s = sample_interval_s
        self._failed: Method | None = None

    def _sampler(self, context: Mapping[str, Any]) -> ProcessSampler:
        pid = context.get("pid")
        kwargs = {} if self._sample_interval_s is None else {"interval_s": self._sample_interval_s}
        return ProcessSampler(pid if isinstance(pid, int) else None, **kwargs)

    def begin(self, context: Mapping[str, Any] | None = None) -> Window:
        """Open a window: read the machine's counters, then start the process sampler.

        Args:
            context: ``{"paths": [...]}`` files the work was called with (recorded as
                inputs); ``{"pid": n}`` charges that process's tree instead of this one's.

        Never raises.
        """
        context = context or {}
        return SourceWindow(
            self.source, self._sampler(context), context, failed_method=self._failed_method()
        )

    def _failed_method(self) -> Method:
        """What a window records when the source cannot read: no CPU method, the rest known."""
        if self._failed is None:
            settings = self.settings
            intensity: GridIntensity | None = None
            market: GridIntensity | None = None
            version = "(not loaded)"
            year = time.gmtime().tm_year
            with contextlib.suppress(Exception):
                version = codecarbon_version()
                intensity = resolve_intensity(settings, version, year)
                market = resolve_market_intensity(settings, year, intensity)
            self._failed = Method(
                meter=f"codecarbon {version}",
                cpu_method=CPU_METHOD_NONE,
                tracking_mode=settings.tracking_mode,
                pue=settings.pue,
                intensity_g_per_kwh=None if intensity is None else intensity.g_per_kwh,
                intensity_source=None if intensity is None else intensity.source,
                intensity_year=None if intensity is None else intensity.year,
                intensity_name=None if intensity is None else intensity.name,
                intensity_boundary=None if intensity is None else intensity.boundary,
                market_intensity_g_per_kwh=None if market is None else market.g_per_kwh,
                market_intensity_source=None if market is None else market.source,
                market_intensity_year=None if market is None else market.year,
                market_intensity_name=None if market is None else market.name,
                market_intensity_boundary=None if market is None else market.boundary,
                country_iso_code=settings.country_iso_code,
                attribution=(
                    ATTRIBUTION_MACHINE
                    if settings.tracking_mode == "machine"
                    else ATTRIBUTION_RESOURCE_SHARE
                ),
            )
        return self._failed

    def method(self) -> Method:
        """The method a window would use now (detecting the hardware if needed), no measuring."""
        return self.source.method()


__all__ = [
    "PROBE_CACHE_FILE",
    "CodeCarbonMeter",
    "GridIntensity",
    "HardwareProbe",
    "ProbeCache",
    "RaplDomain",
    "probe_key",
    "resolve_intensity",
    "resolve_market_intensity",
]
