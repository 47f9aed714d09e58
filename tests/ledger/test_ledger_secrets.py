"""Passwords in ledger URLs are never printed, logged or written, even with no server at all.

``test_ledger_team.py`` checks the same against a live PostgreSQL server (and its tables);
these run everywhere psycopg is installed, against a port nobody listens on.
"""

from __future__ import annotations

import logging
import socket
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from zuinig import measure
from zuinig.cli import AppState, cli
from zuinig.config import Settings
from zuinig.errors import LedgerURLError
from zuinig.ledger import Ledger, display_url, spool
from zuinig.ledger.paths import user_data_dir
from zuinig.measure import Recorder
from zuinig.meter import ReplayMeter

SENTINEL = "Pw-sentinel-90210"


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql+psycopg://analist:{SENTINEL[:6]}@{SENTINEL[6:]}@db.example/zuinig",
        f"postgresql+psycopg://analist:{SENTINEL[:3]}@{SENTINEL[3:9]}@{SENTINEL[9:]}@db/zuinig",
        f"not a url://analist:{SENTINEL[:6]}@{SENTINEL[6:]}@db.example/zuinig",
    ],
)
def test_a_password_with_a_bare_at_sign_is_masked_whole(url: str) -> None:
    shown = display_url(url)
    assert "analist:***@" in shown
    for piece in SENTINEL.split("-"):
        assert piece not in shown


def test_a_url_with_a_bare_at_sign_is_refused_before_any_driver_sees_it() -> None:
    url = f"postgresql+psycopg://analist:{SENTINEL[:6]}@{SENTINEL[6:]}@127.0.0.1:1/zuinig"
    with pytest.raises(LedgerURLError, match="percent-encode it as %40") as caught:
        Ledger.open(url)
    assert SENTINEL[6:] not in str(caught.value)


@pytest.fixture
def unreachable_url() -> str:
    pytest.importorskip("psycopg")
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"postgresql+psycopg://analist:{SENTINEL}@127.0.0.1:{port}/zuinig?connect_timeout=2"


def test_no_output_log_or_file_holds_the_password(
    unreachable_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    meter = ReplayMeter(energy_kwh=1e-6, intensity_g_per_kwh=268.0)
    recorder = Recorder(Settings(ledger=unreachable_url), meter=meter)
    with caplog.at_level(logging.DEBUG):
        assert measure(job="offline", recorder=recorder)(lambda: 7)() == 7
        # The run went to the spool first; the ledger is opened in the background.
        assert not recorder.flush(timeout_s=30)
    assert spool.has_pending(unreachable_url)
    assert "analist:***@127.0.0.1" in caplog.text  # the warnings name the ledger, masked

    csv_path = tmp_path / "emissions.csv"
    csv_path.write_text(
        "timestamp,project_name,run_id,duration,emissions,energy_consumed\n"
        "2026-11-01T10:00:00+00:00,p,cc-1,1.5,0.001,0.004\n"
    )
    laptop = f"sqlite:///{(tmp_path / 'laptop.sqlite').as_posix()}"
    runner = CliRunner()
    state = AppState(ledger=unreachable_url, meter=meter)
    results = []
    with caplog.at_level(logging.DEBUG):
        for args, obj in (
            (["runs", "list"], state),
            (["--debug", "runs", "list"], state),
            (["doctor"], state),
            (["doctor", "--json"], state),
            (["import", "codecarbon", str(csv_path)], state),
            (["run", "--", sys.executable, "-c", "pass"], state),
            (["ledger", "sync", "--to", unreachable_url], AppState(ledger=laptop)),
            (["ledger", "sync", "--to", unreachable_url, "--dry-run"], AppState(ledger=laptop)),
        ):
            results.append(runner.invoke(cli, args, obj=obj))
    assert [result.exit_code for result in results] == [1, 1, 0, 0, 1, 0, 1, 1]
    for result in results:
        assert SENTINEL not in result.output
    assert "analist:***@127.0.0.1" in results[0].stderr
    assert "Traceback" in results[1].stderr  # --debug: the whole chain, still masked
    assert SENTINEL not in caplog.text
    # The spool files, and every other file zuinig keeps (the local ledger included).
    files = [path for path in user_data_dir().rglob("*") if path.is_file()]
    assert any(path.suffix in {".json", ".jsonl"} for path in files)  # spool files, journals
    for path in files:
        assert SENTINEL.encode() not in path.read_bytes(), path
    with Ledger.open(laptop) as ledger:
        stored = "\n".join(repr(run.to_dict()) for run in ledger.list_runs())
    assert SENTINEL not in stored
