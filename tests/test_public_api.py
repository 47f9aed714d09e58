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
