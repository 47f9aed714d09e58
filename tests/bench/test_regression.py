"""``zuinig bench --compare`` and ``--fail-if-worse``: the rule on made-up trial energies
whose answer is known, and two real tiny sessions through the CLI (slow)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from zuinig.bench import stats
from zuinig.bench.regression import clearly_worse, compare, format_comparison, parse_percent
from zuinig.bench.results import Configuration
from zuinig.errors import UsageError

HELPERS = Path(__file__).parent
DUCKDB = Configuration("parquet-zstd", "duckdb", "default", 2)
PANDAS = Configuration("csv", "pandas", "default", 2)
EARLIER = [1.00e-6, 1.02e-6, 0.98e-6, 1.01e-6, 0.99e-6]


def test_clearly_worse_needs_the_whole_interval_above_the_threshold() -> None:
    assert clearly_worse(stats.Estimate(1.5, 1.3, 1.7, 5), 10)
    assert not clearly_worse(stats.Estimate(1.5, 1.3, 1.7, 5), 30)  # low end 1.3 is not above 1.3
    assert not clearly_worse(stats.Estimate(1.5, 1.05, 1.7, 5), 10)  # noisy: could be 5 %
    assert not clearly_worse(stats.Estimate(1.5, 1.5, 1.5, 1), 10)  # one trial: no interval
    assert clearly_worse(stats.Estimate(1.02, 1.01, 1.03, 5), 0)


def test_the_gate_fails_exactly_the_configuration_that_is_clearly_worse() -> None:
    comparison = compare(
        {DUCKDB: [e * 1.5 for e in EARLIER], PANDAS: [e * 1.01 for e in reversed(EARLIER)]},
        {DUCKDB: EARLIER, PANDAS: EARLIER, Configuration("csv", "polars", "lazy", 2): EARLIER},
        session_id="b" * 36,
        earlier_session_id="a" * 36,
        fail_if_worse_pct=10,
    )
    by_label = {c.configuration: c for c in comparison.changes}
    assert by_label[DUCKDB].ratio.value == pytest.approx(1.5)
    assert by_label[DUCKDB].ratio.low > 1.1
    assert [c.configuration for c in comparison.worse] == [DUCKDB]
    assert comparison.only_earlier == ("csv + polars/lazy x2",)
    document = comparison.to_dict()
    fails = {row["label"]: row["fails"] for row in document["configurations"]}
    assert fails == {DUCKDB.label: True, PANDAS.label: False}
    assert document["configurations"][0]["ratio_ci"][0] <= document["configurations"][0]["ratio"]
    text = "\n".join(format_comparison(comparison))
    assert "more energy than session aaaaaaaa" in text and "a clear difference" in text
    assert "gate: 1 configuration(s) clearly worse by more than 10%" in text
    # The same figures under a 60 % gate: 1.5x is not more than 60 % worse.
    lenient = compare(
        {DUCKDB: [e * 1.5 for e in EARLIER]},
        {DUCKDB: EARLIER},
        session_id="b",
        earlier_session_id="a",
        fail_if_worse_pct=60,
    )
    assert lenient.worse == []
    assert (
        compare({DUCKDB: EARLIER}, {DUCKDB: EARLIER}, session_id="b", earlier_session_id="a").worse
        == []
    )


def test_no_common_configuration_and_bad_percentages_are_refused() -> None:
    with pytest.raises(UsageError, match="no configuration with figures in common"):
        compare({DUCKDB: EARLIER}, {PANDAS: EARLIER}, session_id="b", earlier_session_id="a")
    assert parse_percent("10") == 10.0 and parse_percent("2.5%") == 2.5
    for bad in ("ten", "-1", "nan", "1e9", ""):
        with pytest.raises(UsageError, match="is not a percentage"):
            parse_percent(bad)


def _bench(sqlite_url: str, *args: str, burn_s: float = 0.0) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HELPERS), *sys.path]),
        "BENCH_HELPERS_BURN_S": str(burn_s),
    }
    command = [sys.executable, "-m", "zuinig", "--ledger", sqlite_url, "bench"]
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, timeout=600, env=env, check=False
    )


TINY = (
    *("--workload", "groupby", "--rows", "2000", "--queries", "q1"),
    *("--formats", "parquet-zstd", "--engines", "bench_helpers:BurnEngine"),
    *("--threads", "1", "--repeat", "3", "--idle", "0"),
)


@pytest.fixture(scope="module")
def earlier_ledger(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A ledger holding one real TINY session, made once; each test compares against a copy.

    Returns the ledger file and the session's id.
    """
    path = tmp_path_factory.mktemp("earlier") / "ledger.sqlite"
    first = _bench(f"sqlite:///{path}", *TINY, "--json")
    assert first.returncode == 0, first.stderr
    return path, json.loads(first.stdout)["session_id"]


def _copy_of(earlier_ledger: tuple[Path, str], tmp_path: Path) -> tuple[str, str]:
    """This test's own copy of the earlier ledger (its URL), and the earlier session's id."""
    copy = tmp_path / "ledger.sqlite"
    # SQLite's backup, not a file copy: it also takes what is still in the WAL file.
    with (
        closing(sqlite3.connect(earlier_ledger[0])) as source,
        closing(sqlite3.connect(copy)) as target,
    ):
        source.backup(target)
    return f"sqlite:///{copy}", earlier_ledger[1]


@pytest.mark.slow
def test_compare_two_real_sessions_and_fail_when_clearly_worse(
    earlier_ledger: tuple[Path, str], tmp_path: Path
) -> None:
    sqlite_url, earlier = _copy_of(earlier_ledger, tmp_path)

    # The same code again: compared in words and JSON; a gate of 1000 % does not fail it.
    same = _bench(sqlite_url, *TINY, "--compare", earlier[:8], "--fail-if-worse", "1000")
    assert same.returncode == 0, same.stderr
    assert f"Against bench session {earlier[:8]}" in same.stdout
    assert "parquet-zstd + burn/default x1" in same.stdout
    assert "gate: no configuration clearly worse by more than 1000%" in same.stdout

    # A regression: every query burns 0.3 s of CPU more (a tiny job takes milliseconds).
    worse = _bench(
        sqlite_url, *TINY, "--compare", earlier, "--fail-if-worse", "10", "--json", burn_s=0.3
    )
    assert worse.returncode == 1, worse.stderr
    document = json.loads(worse.stdout)
    [row] = document["comparison"]["configurations"]
    assert row["label"] == "parquet-zstd + burn/default x1" and row["fails"] is True
    assert row["ratio_ci"][0] > 1.1 and row["repetitions"] == row["earlier_repetitions"] == 3
    assert document["comparison"]["earlier_session_id"] == earlier
    [line] = worse.stderr.strip().splitlines()
    assert "parquet-zstd + burn/default x1 is clearly worse by more than 10%" in line


@pytest.mark.slow
def test_compare_refuses_bad_input_in_one_line_before_running(
    earlier_ledger: tuple[Path, str], tmp_path: Path
) -> None:
    from zuinig.ledger import Ledger

    sqlite_url, earlier = _copy_of(earlier_ledger, tmp_path)
    cases = [
        (["--compare", "ffffffff"], "--compare 'ffffffff': no such bench session"),
        (["--compare", earlier, "--fail-if-worse", "lots"], "is not a percentage"),
        (["--fail-if-worse", "10"], "--fail-if-worse needs --compare"),
        (["--compare", earlier, "--formats", "csv"], "none of this bench's configurations"),
    ]
    for extra, says in cases:
        args = list(TINY) if "--formats" not in extra else _without_formats(TINY)
        done = _bench(sqlite_url, *args, *extra)
        assert done.returncode == 2, (extra, done.stdout, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and says in lines[0], (extra, lines)
    other = _bench(sqlite_url, *_with_rows(TINY, "3000"), "--compare", earlier)
    assert other.returncode == 2 and "measured other data" in other.stderr, other.stderr
    with Ledger.open(sqlite_url) as ledger:
        assert len(ledger.list_bench_sessions()) == 1  # nothing ran for the refusals


def _without_formats(args: tuple[str, ...]) -> list[str]:
    index = args.index("--formats")
    return [*args[:index], *args[index + 2 :]]


def _with_rows(args: tuple[str, ...], rows: str) -> list[str]:
    index = args.index("--rows")
    return [*args[: index + 1], rows, *args[index + 2 :]]
