"""The store thread runs work in order, hands back results and errors, and survives callers
that give up."""

from __future__ import annotations

import asyncio
import threading

import pytest

from store.worker import StoreThread


async def test_work_runs_off_the_event_loop_in_arrival_order() -> None:
    worker, seen = StoreThread(), []
    names = await asyncio.gather(*(worker.run(lambda n=n: seen.append(n) or
                                               threading.current_thread().name)
                                   for n in range(5)))
    await worker.stop()
    assert seen == [0, 1, 2, 3, 4]
    assert set(names) == {"store"} and threading.current_thread().name != "store"


async def test_an_error_in_the_work_reaches_the_caller() -> None:
    worker = StoreThread()

    def fail() -> None:
        raise ValueError("disk full")

    with pytest.raises(ValueError, match="disk full"):
        await worker.run(fail)
    assert await worker.run(lambda: 42) == 42
    await worker.stop()


async def test_a_caller_that_times_out_leaves_the_thread_working() -> None:
    worker, release = StoreThread(), threading.Event()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(worker.run(lambda: release.wait(5)), 0.05)
    release.set()
    assert await worker.run(lambda: "next") == "next"
    await worker.stop()


async def test_stop_lets_queued_work_finish() -> None:
    worker, done = StoreThread(), []
    pending = asyncio.ensure_future(worker.run(lambda: done.append("queued")))
    await asyncio.sleep(0)
    await worker.stop()
    await pending
    assert done == ["queued"]


async def test_work_submitted_while_stopping_is_refused_and_stop_returns() -> None:
    worker, release = StoreThread(), threading.Event()
    busy = asyncio.ensure_future(worker.run(lambda: release.wait(5)))
    await asyncio.sleep(0.01)
    stopping = asyncio.ensure_future(worker.stop())
    await asyncio.sleep(0.01)
    with pytest.raises(RuntimeError, match="closing"):
        await worker.run(lambda: "late")
    release.set()
    await asyncio.wait_for(stopping, 5)
    await busy
    assert await worker.run(lambda: "after") == "after"  # usable again once stopped
    await worker.stop()
