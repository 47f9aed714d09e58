"""Where zuinig keeps its files: the user data directory (platformdirs)."""

from __future__ import annotations

from pathlib import Path

APP_NAME = "zuinig"


def user_data_dir() -> Path:
    """zuinig's per-user data directory, created if missing.

    ``~/.local/share/zuinig`` on Linux (or under ``$XDG_DATA_HOME``),
    ``~/Library/Application Support/zuinig`` on macOS, ``%LOCALAPPDATA%\\zuinig`` on Windows.
    """
    import platformdirs

    path = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path
