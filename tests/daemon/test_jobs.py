"""The per-repo job queues: order, isolation between keys, results, depth, shutdown."""

import asyncio

import pytest

from conveyor.daemon.jobs import QueueClosedError, QueueDepth, QueueKey, RepoJobQueues

pytestmark = pytest.mark.anyio

MAIN = QueueKey("ssh://git@example.invalid/config.git", "main")
STAGING = QueueKey("ssh://git@example.invalid/config.git", "staging")


async def test_jobs_of_one_key_run_one_at_a_time_in_submission_order():
    queues = RepoJobQueues()
    log = []
    running = 0
    most_at_once = 0

    def job(n):
        async def run():
            nonlocal running, most_at_once
            running += 1
            most_at_once = max(most_at_once, running)
            log.append(("start", n))
            for _ in range(3):
                await asyncio.sleep(0)  # give any other job of this key a chance to interleave
            log.append(("end", n))
            running -= 1
            return n * 10

        return run

    futures = [queues.submit(MAIN, job(n)) for n in range(10)]
    assert await asyncio.gather(*futures) == [n * 10 for n in range(10)]
    assert most_at_once == 1
    assert log == [(edge, n) for n in range(10) for edge in ("start", "end")]


async def test_different_keys_run_concurrently():
    queues = RepoJobQueues()
    main_started = asyncio.Event()
    staging_started = asyncio.Event()

    async def main_job():
        main_started.set()
        await staging_started.wait()  # would never return if the keys shared one queue
        return "main"

    async def staging_job():
        staging_started.set()
        await main_started.wait()
        return "staging"

    both = asyncio.gather(queues.submit(MAIN, main_job), queues.submit(STAGING, staging_job))
    assert await asyncio.wait_for(both, timeout=10) == ["main", "staging"]


async def test_an_exception_goes_to_its_submitter_and_the_queue_goes_on():
    queues = RepoJobQueues()

    async def broken():
        raise ValueError("no such image")

    async def fine():
        return "ok"

    failing = queues.submit(MAIN, broken)
    after = queues.submit(MAIN, fine)
    with pytest.raises(ValueError, match="no such image"):
        await failing
    assert await after == "ok"
    assert await queues.run(MAIN, fine) == "ok"


async def test_depth_is_observable():
    queues = RepoJobQueues()
    release = asyncio.Event()

    async def blocked():
        await release.wait()

    first = queues.submit(MAIN, blocked)
    rest = [queues.submit(MAIN, blocked) for _ in range(2)]
    assert queues.depth(MAIN) == QueueDepth(waiting=3, running=False)
    await asyncio.sleep(0)  # the worker starts the first job
    assert queues.depth(MAIN) == QueueDepth(waiting=2, running=True)
    assert queues.depths() == {MAIN: QueueDepth(waiting=2, running=True)}
    assert queues.depth(STAGING) == QueueDepth(waiting=0, running=False)
    release.set()
    await asyncio.gather(first, *rest)
    await asyncio.sleep(0)  # the idle worker exits
    assert queues.depths() == {}


async def test_a_cancelled_waiting_job_is_skipped():
    queues = RepoJobQueues()
    release = asyncio.Event()
    ran = []

    async def blocked():
        await release.wait()

    async def record():
        ran.append("ran")

    first = queues.submit(MAIN, blocked)
    skipped = queues.submit(MAIN, record)
    skipped.cancel()
    last = queues.submit(MAIN, blocked)
    release.set()
    await asyncio.gather(first, last)
    assert ran == []


async def test_a_started_job_finishes_even_if_its_submitter_stops_waiting():
    queues = RepoJobQueues()
    started = asyncio.Event()
    release = asyncio.Event()
    finished = []

    async def write():
        started.set()
        await release.wait()
        finished.append("pushed")

    waiter = asyncio.ensure_future(queues.run(MAIN, write))
    await started.wait()
    waiter.cancel()
    release.set()
    await queues.close()
    assert finished == ["pushed"]
    assert waiter.cancelled()


async def test_close_drains_then_refuses_new_jobs():
    queues = RepoJobQueues()
    done = []

    def job(n):
        async def run():
            await asyncio.sleep(0)
            done.append(n)

        return run

    futures = [queues.submit(key, job(i)) for i, key in enumerate([MAIN, STAGING, MAIN])]
    await queues.close()
    assert sorted(done) == [0, 1, 2]
    assert all(f.done() and not f.cancelled() for f in futures)
    assert queues.closed
    with pytest.raises(QueueClosedError, match="shut down"):
        queues.submit(MAIN, job(3))


async def test_close_without_draining_cancels_running_and_waiting_jobs():
    queues = RepoJobQueues()
    started = asyncio.Event()
    interrupted = []

    async def long_job():
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            interrupted.append(True)
            raise

    running = queues.submit(MAIN, long_job)
    waiting = queues.submit(MAIN, long_job)
    await started.wait()
    await queues.close(drain=False)
    assert running.cancelled()
    assert waiting.cancelled()
    assert interrupted == [True]


async def test_the_context_manager_drains_on_exit():
    done = []

    async def job():
        await asyncio.sleep(0)
        done.append(True)

    async with RepoJobQueues() as queues:
        future = queues.submit(MAIN, job)
    assert done == [True]
    assert future.done()
