"""The public interface: ``zuinig.__all__`` names exactly what the package offers."""

from __future__ import annotations

import subprocess
import sys

import zuinig


def test_all_is_complete_and_importable() -> None:
    public = {name for name in vars(zuinig) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(zuinig, name)).__name__ == "module"}
    assert set(zuinig.__all__) == (public - modules) | {"__version__"}
    for name in zuinig.__all__:
        assert hasattr(zuinig, name)


def test_importing_zuinig_does_not_load_codecarbon_or_sqlalchemy() -> None:
    # Decorating functions at import time must stay cheap: the heavy parts load on first use.
    code = "import sys, zuinig; print(sorted(m for m in ('codecarbon', 'sqlalchemy', 'pandas') if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "[]"


def test_zuinig_measure_stays_the_function_after_every_module_of_its_package_loads() -> None:
    # zuinig.measure is both the decorator (public) and the package it lives in: the
    # package must never shadow the function, whichever of its modules is imported.
    code = (
        "import importlib, pkgutil, zuinig, zuinig.measure.recorder\n"
        "package = importlib.import_module('zuinig.measure')\n"
        "for module in pkgutil.iter_modules(package.__path__):\n"
        "    if module.name != 'dask':\n"  # dask: imported below, through its public path
        "        importlib.import_module('zuinig.measure.' + module.name)\n"
        "import zuinig.dask\n"
        "from zuinig.measure import dask, measure\n"
        "print(zuinig.measure is measure, callable(zuinig.measure), type(package).__name__,\n"
        "      zuinig.dask.measure is dask.measure, zuinig.measure.__module__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.split() == ["True", "True", "module", "True", "zuinig.measure.decorator"]
