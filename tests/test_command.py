"""``run_command``: any command as one measured run, with its exit code, streams and signals."""

from __future__ import annotations

import os
import shlex
import signal
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from zuinig.config import PARENT_RUN_ENV, Settings
from zuinig.errors import ConfigError, LedgerURLError, UsageError
from zuinig.ledger import Ledger
from zuinig.ledger.model import KIND_COMMAND, STATUS_ERROR, STATUS_OK, Run
from zuinig.measure import Recorder
from zuinig.measure.command import (
    EXIT_CANNOT_EXECUTE,
    EXIT_NOT_FOUND,
    _should_forward,
    default_job_name,
    run_command,
)
from zuinig.meter import ReplayMeter
from zuinig.meter.base import Window


@pytest.fixture
def meter() -> ReplayMeter:
    return ReplayMeter(energy_kwh=2e-6, intensity_g_per_kwh=268.0)


@pytest.fixture
def recorder(sqlite_url: str, meter: ReplayMeter) -> Recorder:
    return Recorder(Settings(), ledger_url=sqlite_url, meter=meter)


def stored(url: str, run_id: str) -> Run:
    with Ledger.open(url) as ledger:
        return ledger.get_run(run_id)


@pytest.fixture(params=["signal-wait", "popen"])
def both_ways(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with the sigtimedwait runner and with the portable Popen runner."""
    if request.param == "popen":
        monkeypatch.delattr(signal, "sigtimedwait", raising=False)
    elif not hasattr(signal, "sigtimedwait"):
        pytest.skip("no sigtimedwait on this platform")
    return str(request.param)


def test_exit_code_is_the_commands_and_the_run_is_stored(
    recorder: Recorder, sqlite_url: str, both_ways: str
) -> None:
    result = run_command(["sh", "-c", "exit 3"], recorder=recorder)

    assert result.exit_code == 3
    assert result.problem is None
    run = stored(sqlite_url, result.run.run_id)
    assert run.status == STATUS_ERROR
    assert run.exit_code == 3
    assert run.kind == KIND_COMMAND
    assert run.job == "sh"
    assert run.command == "sh -c 'exit 3'"
    assert run.error_message is not None and "3" in run.error_message
    assert run.energy_kwh is not None  # the replay meter's figures were stored


def test_success_is_ok_with_exit_code_zero(recorder: Recorder, sqlite_url: str) -> None:
    result = run_command(["true"], job="nachtrun", tags={"team": "ruimte"}, recorder=recorder)

    assert result.exit_code == 0
    run = stored(sqlite_url, result.run.run_id)
    assert (run.status, run.exit_code, run.job, dict(run.tags)) == (
        STATUS_OK,
        0,
        "nachtrun",
        {"team": "ruimte"},
    )
    assert run.error_type is None


def test_a_password_in_the_command_line_is_not_stored(recorder: Recorder, sqlite_url: str) -> None:
    argv = ["true", "postgresql://analist:geheim-wachtwoord@db.example/metingen", "--rows=5"]
    result = run_command(argv, recorder=recorder)

    run = stored(sqlite_url, result.run.run_id)
    assert run.command == "true 'postgresql://analist:***@db.example/metingen' --rows=5"
    assert "geheim-wachtwoord" not in repr(run)


def test_the_command_learns_its_parent_run_and_ledger(
    recorder: Recorder, sqlite_url: str, tmp_path: Path, both_ways: str
) -> None:
    out = tmp_path / "env.txt"
    script = f'printf "%s\\n%s\\n" "${PARENT_RUN_ENV}" "$ZUINIG_LEDGER" > {out}'

    result = run_command(["sh", "-c", script], recorder=recorder)

    parent, ledger = out.read_text().splitlines()
    assert parent == result.run.run_id
    assert ledger == sqlite_url


def test_extra_environment_reaches_the_command(recorder: Recorder, tmp_path: Path) -> None:
    out = tmp_path / "env.txt"
    run_command(
        ["sh", "-c", f'printf "%s" "$EXTRA" > {out}'], recorder=recorder, env={"EXTRA": "yes"}
    )
    assert out.read_text() == "yes"


def test_a_missing_command_exits_127_and_is_recorded(
    recorder: Recorder, sqlite_url: str, both_ways: str
) -> None:
    result = run_command(["zuinig-no-such-command-xyz", "--flag"], recorder=recorder)

    assert result.exit_code == EXIT_NOT_FOUND
    assert result.problem is not None
    assert "command not found: zuinig-no-such-command-xyz" in result.problem
    run = stored(sqlite_url, result.run.run_id)
    assert run.status == STATUS_ERROR
    assert run.exit_code == EXIT_NOT_FOUND
    assert run.error_type == "FileNotFoundError"


def test_a_file_that_is_not_executable_exits_126(
    recorder: Recorder, sqlite_url: str, tmp_path: Path, both_ways: str
) -> None:
    script = tmp_path / "job.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(stat.S_IRUSR | stat.S_IWUSR)

    result = run_command([str(script)], recorder=recorder)

    assert result.exit_code == EXIT_CANNOT_EXECUTE
    assert result.problem is not None and "cannot execute" in result.problem
    assert stored(sqlite_url, result.run.run_id).error_type == "PermissionError"


def test_a_command_killed_by_a_signal_exits_128_plus_n(
    recorder: Recorder, sqlite_url: str, both_ways: str
) -> None:
    result = run_command(["sh", "-c", "kill -TERM $$"], recorder=recorder)

    assert result.exit_code == 128 + signal.SIGTERM
    run = stored(sqlite_url, result.run.run_id)
    assert run.status == STATUS_ERROR
    assert run.exit_code == 128 + signal.SIGTERM
    assert run.error_type == "zuinig.command.CommandSignalled"
    assert run.error_message is not None and "SIGTERM" in run.error_message


def test_exit_code_130_from_the_command_is_not_taken_for_a_signal(
    recorder: Recorder, sqlite_url: str
) -> None:
    result = run_command(["sh", "-c", "exit 130"], recorder=recorder)
    assert result.exit_code == 130
    assert stored(sqlite_url, result.run.run_id).error_type == "ExitCode"


def test_the_signal_mask_and_handlers_are_restored(recorder: Recorder) -> None:
    mask_before = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    handlers_before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

    run_command(["true"], recorder=recorder)

    assert signal.pthread_sigmask(signal.SIG_BLOCK, []) == mask_before
    assert {s: signal.getsignal(s) for s in handlers_before} == handlers_before


def test_file_arguments_are_given_to_the_meter_as_inputs(
    recorder: Recorder, meter: ReplayMeter, tmp_path: Path
) -> None:
    data = tmp_path / "data.csv"
    data.write_text("a,b\n1,2\n")

    run_command(["cat", str(data), "--not-a-file"], recorder=recorder)

    assert meter.contexts == [
        {"paths": [str(data.resolve())], "command": ["cat", str(data), "--not-a-file"]}
    ]


def test_the_childs_cpu_time_is_in_the_run(sqlite_url: str, both_ways: str) -> None:
    """The window covers the command's process tree, grandchildren included."""
    meter = ReplayMeter(energy_kwh=2e-6, sample_process=True)
    recorder = Recorder(Settings(), ledger_url=sqlite_url, meter=meter)
    busy = "import time\nend = time.process_time() + 0.6\nwhile time.process_time() < end: pass\n"
    # sh starts python (a grandchild of zuinig) and waits for it.
    script = f"{shlex.quote(sys.executable)} -c {shlex.quote(busy)}; true"

    run = run_command(["sh", "-c", script], recorder=recorder).run

    assert run.cpu_s is not None and run.cpu_s >= 0.55, run.cpu_s
    assert stored(sqlite_url, run.run_id).cpu_s == pytest.approx(run.cpu_s)


def test_an_interrupt_while_the_meter_starts_means_the_command_never_starts(
    sqlite_url: str, tmp_path: Path
) -> None:
    if not hasattr(signal, "sigtimedwait"):
        pytest.skip("no sigtimedwait on this platform")
    marker = tmp_path / "ran"

    class InterruptedWhileStarting(ReplayMeter):
        def begin(self, context: Any = None) -> Window:
            signal.pthread_kill(threading.get_ident(), signal.SIGINT)  # Ctrl-C, now
            return super().begin(context)

    recorder = Recorder(
        Settings(), ledger_url=sqlite_url, meter=InterruptedWhileStarting(energy_kwh=1e-6)
    )
    result = run_command(["touch", str(marker)], recorder=recorder)

    assert not marker.exists()
    assert result.exit_code == 128 + signal.SIGINT
    assert result.problem is not None and "SIGINT" in result.problem
    run = stored(sqlite_url, result.run.run_id)
    assert (run.status, run.exit_code) == (STATUS_ERROR, 130)
    assert run.error_type == "zuinig.command.CommandSignalled"


def test_no_command_is_a_usage_error(recorder: Recorder) -> None:
    with pytest.raises(UsageError, match="no command given"):
        run_command([], recorder=recorder)


def test_a_bad_ledger_url_stops_before_the_command_runs(tmp_path: Path, meter: ReplayMeter) -> None:
    marker = tmp_path / "ran"
    recorder = Recorder(Settings(), ledger_url="nonsense://x", meter=meter)
    with pytest.raises(LedgerURLError):
        run_command(["touch", str(marker)], recorder=recorder)
    assert not marker.exists()


def test_bad_settings_stop_before_the_command_runs(
    tmp_path: Path, meter: ReplayMeter, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "ran"
    monkeypatch.setenv("ZUINIG_PUE", "abc")
    with pytest.raises(ConfigError):
        run_command(["touch", str(marker)], recorder=Recorder(meter=meter))
    assert not marker.exists()


def test_default_job_name_is_the_programs_base_name() -> None:
    assert default_job_name(["/usr/bin/python3", "job.py"]) == "python3"
    assert default_job_name(["sh"]) == "sh"


def test_which_signals_are_forwarded() -> None:
    me = os.getpid()  # a process of zuinig's own process group stands in for the command
    assert not _should_forward(0x80, 0, me)  # SI_KERNEL: the terminal sent it to the group
    assert _should_forward(0, 4242, me)  # SI_USER: kill(2) from elsewhere, to zuinig alone
    assert _should_forward(-6, 4242, me)  # SI_TKILL
    assert not _should_forward(0, me, me)  # sent by the command itself: it has it already


def test_a_terminal_signal_is_forwarded_to_a_command_in_another_process_group() -> None:
    with subprocess.Popen(["sleep", "5"], start_new_session=True) as other:
        try:
            assert _should_forward(0x80, 0, other.pid)
        finally:
            other.kill()


@pytest.mark.slow
def test_real_meter_counts_the_childs_cpu_work(sqlite_url: str) -> None:
    """The window covers the child: its CPU seconds and their energy are in the run."""
    from zuinig.config import load_settings

    recorder = Recorder(load_settings(), ledger_url=sqlite_url)
    busy = "import time\nend = time.process_time() + 2.0\nwhile time.process_time() < end: pass\n"
    idle = "import time; time.sleep(2.0)"

    busy_run = run_command([sys.executable, "-c", busy], recorder=recorder).run
    idle_run = run_command([sys.executable, "-c", idle], recorder=recorder).run

    assert busy_run.status == STATUS_OK, busy_run.measurement_error
    assert busy_run.cpu_s is not None and busy_run.cpu_s >= 1.8
    assert idle_run.cpu_s is not None and idle_run.cpu_s < 0.5
    assert busy_run.energy_kwh is not None and busy_run.energy_kwh > 0
    assert busy_run.cpu_energy_kwh is not None and idle_run.cpu_energy_kwh is not None
    # Same duration, so only the child's CPU work can make the busy run's CPU energy larger.
    assert busy_run.cpu_energy_kwh > 2 * idle_run.cpu_energy_kwh
    assert busy_run.co2_kg == pytest.approx(
        busy_run.energy_kwh * (busy_run.intensity_g_per_kwh or 0) / 1000, rel=1e-6
    )


@pytest.mark.slow
def test_real_meter_cpu_energy_follows_the_childs_cpu_seconds(sqlite_url: str) -> None:
    """The resource-share rule: the command's tree is charged by its share of CPU time.

    A child that spins for 0.4 s gets a real part of the machine's CPU energy; one that
    sleeps as long gets next to none (its tree used no CPU time).
    """
    from zuinig.config import load_settings

    settings = load_settings()
    if settings.tracking_mode != "process":
        pytest.skip("tracking_mode is machine here: every run is charged the whole machine")
    recorder = Recorder(settings, ledger_url=sqlite_url)
    busy = "import time\nend = time.process_time() + 0.4\nwhile time.process_time() < end: pass\n"
    spinning = run_command([sys.executable, "-c", busy], recorder=recorder).run
    sleeping = run_command(
        [sys.executable, "-c", "import time; time.sleep(0.4)"], recorder=recorder
    ).run
    assert spinning.cpu_s is not None and spinning.cpu_s >= 0.4
    assert spinning.cpu_energy_kwh and sleeping.cpu_energy_kwh is not None
    # Per second of the run, the spinning child's CPU energy is far above the sleeper's
    # (the sleeper's interpreter start-up still costs it some CPU time).
    spinning_w = spinning.cpu_energy_kwh / spinning.duration_s
    sleeping_w = sleeping.cpu_energy_kwh / sleeping.duration_s
    assert sleeping_w < spinning_w / 2
