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


class Told:
    """Work for a targeted loop: records the wakeup of every pass; can hold a pass open."""

    def __init__(self):
        self.wakeups = []
        self.release = asyncio.Event()
        self.release.set()
        self.entered = asyncio.Event()

    async def __call__(self, wakeup):
        self.wakeups.append(wakeup)
        self.entered.set()
        await self.release.wait()
        return len(self.wakeups)


async def test_the_first_pass_is_full_and_a_targeted_trigger_names_its_subjects():
    work = Told()
    task = PeriodicTask.targeted("test", work, interval=LONG)
    runner = await running(task)
    await work.entered.wait()
    work.entered.clear()
    assert task.trigger("web") is False
    await work.entered.wait()
    await stop(runner)
    first, second = work.wakeups
    assert first.full and first.triggers == 0
    assert (second.full, second.subjects, second.triggers) == (False, frozenset({"web"}), 1)


async def test_triggers_before_a_pass_starts_coalesce_into_one_pass_with_their_union():
    work = Told()
    work.release.clear()
    task = PeriodicTask.targeted("test", work, interval=LONG)
    runner = await running(task)
    await work.entered.wait()  # pass 1 is under way: what comes now is for pass 2
    coalesced = [task.trigger(f"repo-{i % 3}") for i in range(20)]
    assert coalesced == [False] + [True] * 19, "the first asks for a pass, the rest join it"
    assert task.coalesced == 19
    assert task.pending_subjects == frozenset({"repo-0", "repo-1", "repo-2"})
    work.entered.clear()
    work.release.set()
    await work.entered.wait()
    assert task.pending_subjects == frozenset(), "taken by pass 2 as it started"
    work.entered.clear()
    assert task.trigger("late") is False, "during pass 2: asks for pass 3"
    await work.entered.wait()
    await stop(runner)
    assert [(w.full, w.subjects, w.triggers) for w in work.wakeups[1:3]] == [
        (False, frozenset({"repo-0", "repo-1", "repo-2"}), 20),
        (False, frozenset({"late"}), 1),
    ]


async def test_run_now_asks_for_a_full_pass_and_keeps_the_subjects_pending():
    work = Told()
    work.release.clear()
    task = PeriodicTask.targeted("test", work, interval=LONG)
    runner = await running(task)
    await work.entered.wait()
    task.trigger("web")
    answered = asyncio.create_task(task.run_now())
    await asyncio.sleep(0)
    work.release.set()
    assert await answered == 2
    await stop(runner)
    assert (work.wakeups[1].full, work.wakeups[1].subjects) == (True, frozenset({"web"}))


async def test_a_stream_of_targeted_triggers_does_not_put_off_the_full_pass():
    work = Told()
    task = PeriodicTask.targeted("test", work, interval=0.2)
    runner = await running(task)
    # Trigger after every pass, so no wait ever runs to its end; a full pass must still come.
    for _ in range(10_000):
        await work.entered.wait()
        work.entered.clear()
        if len(work.wakeups) > 1 and work.wakeups[-1].full:
            break
        task.trigger("busy")
        await asyncio.sleep(0.01)
    await stop(runner)
    assert any(w.full for w in work.wakeups[1:]), "the interval's full pass came"
    assert any(not w.full for w in work.wakeups[1:]), "and targeted passes ran before it"


async def test_a_plain_loop_gets_full_wakeups_too():
    work = Work()
    task = PeriodicTask("test", work, interval=LONG)
    runner = await running(task)
    await task.run_now()
    task.trigger()
    await task.run_now()
    await stop(runner)
    assert task.wakeup is not None and task.wakeup.full


async def test_a_cancel_that_comes_with_a_trigger_still_stops_the_loop():
    work = Told()
    task = PeriodicTask.targeted("test", work, interval=LONG)
    runner = await running(task)
    await work.entered.wait()  # pass 1 ran to its end at once: the loop waits for a trigger
    task.trigger("web")
    runner.cancel()  # in the same step as the wake-up: both reach the waiting loop together
    done, _ = await asyncio.wait({runner}, timeout=30)
    assert runner in done and runner.cancelled(), "the loop stopped instead of running on"
