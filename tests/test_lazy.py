"""Package names loaded on first use (zuinig.lazy), on a throwaway package."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest


def test_a_lazy_name_loads_its_module_once_asked_and_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "lazypkg"
    package.mkdir()
    (package / "__init__.py").write_text(
        "from zuinig.lazy import lazy_exports\n"
        "__all__ = ['heavy_value']\n"
        "__getattr__, __dir__ = lazy_exports(__name__, {'heavy_value': 'heavy'}, __all__)\n"
    )
    (package / "heavy.py").write_text("heavy_value = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "lazypkg", raising=False)
    monkeypatch.delitem(sys.modules, "lazypkg.heavy", raising=False)

    import lazypkg  # type: ignore[import-not-found]

    assert "lazypkg.heavy" not in sys.modules
    assert "heavy_value" in dir(lazypkg)
    assert lazypkg.heavy_value == 42
    assert "lazypkg.heavy" in sys.modules
    assert vars(lazypkg)["heavy_value"] == 42  # kept: later look-ups are plain reads
    with pytest.raises(AttributeError, match="module 'lazypkg' has no attribute 'other'"):
        _ = lazypkg.other
    monkeypatch.delitem(sys.modules, "lazypkg.heavy")
    monkeypatch.delitem(sys.modules, "lazypkg")
