"""PeriodicTask: passes on an interval or on request, and callers get a pass that began later."""

import asyncio

import pytest

from conveyor.daemon.runner_loop import PeriodicTask

pytestmark = pytest.mark.anyio

LONG = 3600.0  # never reached: every pass in these tests is triggered


class Work:
    def __init__(self, *, fail_on=()):
        self.calls = 0
        self.fail_on = set(fail_on)
        self.release = asyncio.Event()
        self.release.set()
        self.entered = asyncio.Event()

    async def __call__(self):
        self.calls += 1
        self.entered.set()
        await self.release.wait()
        if self.calls in self.fail_on:
            raise RuntimeError(f"pass {self.calls} failed")
        return self.calls


async def running(task):
    return asyncio.create_task(task.run())


async def stop(runner):
    runner.cancel()
    with pytest.raises(asyncio.CancelledError):
        await runner


async def test_the_first_pass_starts_at_once_and_run_now_gets_a_fresh_one():
    work = Work()
    task = PeriodicTask("test", work, interval=LONG)
    runner = await running(task)
    assert await task.run_now() == 1  # asked before the first pass began: that pass answers
    assert await task.run_now() == 2
    await stop(runner)
    assert task.passes == 2


async def test_a_request_during_a_pass_waits_for_the_next_pass():
    work = Work()
    work.release.clear()
    task = PeriodicTask("test", work, interval=LONG)
    runner = await running(task)
    await work.entered.wait()  # pass 1 is under way, holding
    waiting = asyncio.create_task(task.run_now())
    await asyncio.sleep(0)
    work.release.set()
    assert await waiting == 2, "pass 1 began before the request: pass 2 answers it"
    await stop(runner)


async def test_a_failed_pass_raises_for_its_callers_and_the_loop_goes_on():
    work = Work(fail_on={2})
    task = PeriodicTask("test", work, interval=LONG)
    runner = await running(task)
    assert await task.run_now() == 1
    with pytest.raises(RuntimeError, match="pass 2 failed"):
        await task.run_now()
    assert isinstance(task.last_error, RuntimeError)
    assert await task.run_now() == 3
    assert task.last_error is None
    await stop(runner)


async def test_a_trigger_wakes_the_loop_before_its_interval():
    work = Work()
    task = PeriodicTask("test", work, interval=LONG)
    runner = await running(task)
    await task.run_now()
    work.entered.clear()
    task.trigger()
    await work.entered.wait()
    assert work.calls == 2
    await stop(runner)


async def test_waiters_are_cancelled_when_the_loop_stops():
    work = Work()
    work.release.clear()
    task = PeriodicTask("test", work, interval=LONG)
    runner = await running(task)
    await work.entered.wait()
    waiting = asyncio.create_task(task.run_now())
    await asyncio.sleep(0)
    await stop(runner)
    with pytest.raises(asyncio.CancelledError):
        await waiting


def test_the_interval_must_be_positive():
    with pytest.raises(ValueError, match="more than 0"):
        PeriodicTask("test", Work(), interval=0)
