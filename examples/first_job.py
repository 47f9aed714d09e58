"""A first measured job: the smallest use of ``@zuinig.measure``.

``zuinig demo`` (``make demo``) shows the whole tool in a folder of its own; this
script is the decorator alone, and its runs go to your ledger.

It writes a small table of made-up municipal building permits as CSV, runs a
pandas job on it three times under ``@zuinig.measure``, and shows the runs the
ledger now holds, with how their figures were obtained.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

import zuinig

MUNICIPALITIES = ["Utrecht", "Amersfoort", "Veenendaal", "Zeist", "Nieuwegein", "Houten"]


def write_permits(path: Path, rows: int = 400_000) -> None:
    """A synthetic permits table; generated here, nothing downloaded."""
    rng = np.random.default_rng(2026)
    frame = pd.DataFrame(
        {
            "municipality": rng.choice(MUNICIPALITIES, rows),
            "dwellings": rng.integers(1, 200, rows),
            "floor_area_m2": rng.gamma(2.0, 60.0, rows).round(1),
            "year": rng.integers(2015, 2027, rows),
        }
    )
    frame.to_csv(path, index=False)


@zuinig.measure(job="woningbouwmonitor", tags={"team": "ruimte"})
def dwellings_per_municipality(path: Path) -> pd.DataFrame:
    """The analyst's job: dwellings and floor area per municipality and year."""
    permits = pd.read_csv(path)
    return permits.groupby(["municipality", "year"], as_index=False).agg(
        dwellings=("dwellings", "sum"), floor_area_m2=("floor_area_m2", "sum")
    )


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="zuinig-demo-") as folder:
        data = Path(folder) / "permits.csv"
        print(f"Writing sample data to {data} ...")
        write_permits(data)
        for attempt in range(1, 4):
            result = dwellings_per_municipality(data)
            run = dwellings_per_municipality.last_run  # type: ignore[attr-defined]
            print(
                f"run {attempt}: {len(result)} rows, {run.duration_s:.2f} s, "
                f"{run.energy_kwh or 0:.3g} kWh, {run.co2_kg or 0:.3g} kg CO2e "
                f"({'estimated' if run.is_estimated else 'measured'})"
            )
    last = dwellings_per_municipality.last_run.run_id  # type: ignore[attr-defined]
    print("\nThe ledger now holds:\n")
    zuinig_cli = [sys.executable, "-m", "zuinig"]
    subprocess.run(
        [*zuinig_cli, "runs", "list", "--job", "woningbouwmonitor", "--limit", "5"], check=True
    )
    print()
    subprocess.run([*zuinig_cli, "runs", "show", last], check=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
