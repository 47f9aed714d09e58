"""One ``measure(job=...)`` object entered in several threads or asyncio tasks at once:
each entry gets its own run and parent, and each exception lands on its own run (issue 10,
item 6)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from zuinig import measure
from zuinig.config import Settings
from zuinig.ledger import Ledger, RunFilter
from zuinig.measure import Recorder
from zuinig.meter.null import NullMeter

THREADS = 8


@pytest.fixture
def recorder(sqlite_url: str) -> Recorder:
    opened = Recorder(Settings(), ledger_url=sqlite_url, meter=NullMeter())
    opened.ledger()  # direct writes: every state is in the ledger when a block ends
    return opened


def runs_by_job(url: str) -> dict[str, list[object]]:
    with Ledger.open(url) as ledger:
        runs = ledger.list_runs(RunFilter())
    grouped: dict[str, list[object]] = {}
    for run in runs:
        grouped.setdefault(run.job, []).append(run)
    return grouped


def test_one_object_in_eight_threads(recorder: Recorder, sqlite_url: str) -> None:
    shared = measure(job="shared", recorder=recorder)
    all_inside = threading.Barrier(THREADS)
    seen: dict[int, tuple[str, str]] = {}  # thread -> (outer run id, shared run id)

    def work(number: int) -> None:
        with measure(job=f"outer-{number}", recorder=recorder) as outer:
            try:
                with shared as handle:
                    assert outer.run_id is not None and handle.run_id is not None
                    seen[number] = (outer.run_id, handle.run_id)
                    # Every thread is inside the shared block before any leaves it.
                    all_inside.wait(timeout=30)
                    if number % 2:
                        raise ValueError(f"thread {number} failed")
            except ValueError as error:
                assert str(error) == f"thread {number} failed"  # passes through unchanged

    threads = [threading.Thread(target=work, args=(number,)) for number in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(seen) == THREADS
    grouped = runs_by_job(sqlite_url)
    shared_runs = {run.run_id: run for run in grouped["shared"]}  # type: ignore[attr-defined]
    assert len(shared_runs) == THREADS
    for number, (outer_id, shared_id) in seen.items():
        run = shared_runs[shared_id]
        assert run.parent_run_id == outer_id  # its own thread's outer run
        if number % 2:
            assert (run.status, run.error_message) == ("error", f"thread {number} failed")
        else:
            assert (run.status, run.error_message) == ("ok", None)
        [outer] = grouped[f"outer-{number}"]
        assert outer.status == "ok"  # type: ignore[attr-defined]
        assert outer.parent_run_id is None  # type: ignore[attr-defined]


def test_one_object_in_two_asyncio_tasks(recorder: Recorder, sqlite_url: str) -> None:
    shared = measure(job="shared-async", recorder=recorder)
    seen: dict[str, tuple[str, str]] = {}

    async def task(name: str, fail: bool, other_inside: asyncio.Event, inside: asyncio.Event):
        with measure(job=f"outer-{name}", recorder=recorder) as outer:
            async with shared as handle:
                assert outer.run_id is not None and handle.run_id is not None
                seen[name] = (outer.run_id, handle.run_id)
                inside.set()
                await other_inside.wait()  # both tasks are inside before either leaves
                await asyncio.sleep(0.01 if fail else 0.02)
                if fail:
                    raise RuntimeError(f"task {name} failed")

    async def main() -> list[BaseException | None]:
        first, second = asyncio.Event(), asyncio.Event()
        return await asyncio.gather(
            task("a", True, second, first), task("b", False, first, second), return_exceptions=True
        )

    outcomes = asyncio.run(main())
    assert isinstance(outcomes[0], RuntimeError) and str(outcomes[0]) == "task a failed"
    assert outcomes[1] is None
    grouped = runs_by_job(sqlite_url)
    shared_runs = {run.run_id: run for run in grouped["shared-async"]}  # type: ignore[attr-defined]
    assert len(shared_runs) == 2
    for name, status, message in (("a", "error", "task a failed"), ("b", "ok", None)):
        outer_id, shared_id = seen[name]
        run = shared_runs[shared_id]
        assert (run.parent_run_id, run.status, run.error_message) == (outer_id, status, message)


def test_the_same_object_nested_in_one_thread(recorder: Recorder, sqlite_url: str) -> None:
    shared = measure(job="nested", recorder=recorder)
    with shared as outer:
        with shared as inner:
            pass
        assert inner.run is not None and inner.run.status == "ok"
        assert outer.run is not None and outer.run.status == "running"
    assert inner.run.parent_run_id == outer.run_id
    assert outer.run.status == "ok"
