"""Shared test set-up: every test runs with its own user dirs, never the real user's ledger."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# Set before any zuinig import so platformdirs, and every subprocess the tests start,
# see a private home: tests must never read or write the developer's real ledger.
_SESSION_HOME = Path(tempfile.mkdtemp(prefix="zuinig-tests-"))
os.environ["HOME"] = str(_SESSION_HOME)
os.environ["XDG_DATA_HOME"] = str(_SESSION_HOME / "data")
os.environ["XDG_CACHE_HOME"] = str(_SESSION_HOME / "cache")
os.environ["XDG_CONFIG_HOME"] = str(_SESSION_HOME / "config")
for _name in [name for name in os.environ if name.startswith(("ZUINIG_", "CODECARBON_"))]:
    del os.environ[_name]

# A CI runner's or scheduler's own variables (GITLAB_CI, CI_JOB_NAME, ...) would become
# tags and job names of the runs tests make (zuinig.run_context): tests set their own.
from zuinig.measure.recorder import reset_for_tests  # noqa: E402  (after the home is set)
from zuinig.run_context import ENVIRONMENT_VARIABLES  # noqa: E402  (after the home is set)

for _name in ENVIRONMENT_VARIABLES:
    os.environ.pop(_name, None)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite ledger URL in the test's temporary directory."""
    return f"sqlite:///{tmp_path / 'ledger.sqlite'}"


@pytest.fixture(autouse=True)
def _fresh_zuinig_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts in an empty working directory with no process-wide recorder."""
    monkeypatch.chdir(tmp_path)
    reset_for_tests()
    yield
    reset_for_tests()
