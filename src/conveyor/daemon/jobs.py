"""One serialized job queue per (repository URL, branch).

Writers to a branch must never overlap: two automation runs committing at once would race on the
worktree and on the push. Jobs submitted for the same key run one at a time, in submission order;
jobs for different keys run concurrently. Each submission returns a future that gets the job's
result or exception.

A lane (one key's queue) has a worker task only while it has work, so idle repositories cost
nothing. Cancelling a submission's future before the job starts skips it; once started, a job
runs to its end (stopping a git write halfway would only leave work to undo) and its result is
dropped. ``close()`` refuses new jobs and either drains the queues or cancels what is left.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

log = logging.getLogger("conveyor.daemon.jobs")

T = TypeVar("T")

Job = Callable[[], Awaitable[T]]


@dataclass(frozen=True, order=True)
class QueueKey:
    """What a queue serializes: one branch of one repository (URL without credentials)."""

    repo_url: str
    branch: str


@dataclass(frozen=True)
class QueueDepth:
    """How busy one queue is: jobs waiting, and whether one is running."""

    waiting: int
    running: bool


class QueueClosedError(RuntimeError):
    """A job was submitted after ``close()`` began."""


@dataclass
class _Entry:
    job: Job[Any]
    future: asyncio.Future[Any]


@dataclass
class _Lane:
    waiting: deque[_Entry] = field(default_factory=deque)
    current: _Entry | None = None
    worker: asyncio.Task[None] | None = None


class RepoJobQueues:
    """Serialized job queues keyed by :class:`QueueKey` (see the module docstring)."""

    def __init__(self) -> None:
        self._lanes: dict[QueueKey, _Lane] = {}
        self._closed = False

    def submit(self, key: QueueKey, job: Job[T]) -> asyncio.Future[T]:
        """Queue ``job`` behind the others of ``key``; await the returned future for its result."""
        if self._closed:
            raise QueueClosedError(f"the job queues are shut down; not queueing a job for {key}")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        lane = self._lanes.setdefault(key, _Lane())
        lane.waiting.append(_Entry(job, future))
        if lane.worker is None:
            lane.worker = asyncio.create_task(self._work(key, lane), name=f"jobs {key}")
        return future

    async def run(self, key: QueueKey, job: Job[T]) -> T:
        """Submit ``job`` and wait for its result (its exception is raised here)."""
        return await self.submit(key, job)

    def depth(self, key: QueueKey) -> QueueDepth:
        lane = self._lanes.get(key)
        if lane is None:
            return QueueDepth(waiting=0, running=False)
        return QueueDepth(waiting=len(lane.waiting), running=lane.current is not None)

    def depths(self) -> dict[QueueKey, QueueDepth]:
        """The depth of every queue that has work (for metrics)."""
        return {key: self.depth(key) for key in self._lanes}

    @property
    def closed(self) -> bool:
        return self._closed

    async def close(self, *, drain: bool = True) -> None:
        """Refuse new jobs; then wait for every queued job (``drain``) or cancel them all."""
        self._closed = True
        lanes = list(self._lanes.values())
        if not drain:
            for lane in lanes:
                while lane.waiting:
                    lane.waiting.popleft().future.cancel()
                if lane.worker is not None:
                    lane.worker.cancel()
        workers = [lane.worker for lane in lanes if lane.worker is not None]
        await asyncio.gather(*workers, return_exceptions=True)

    async def __aenter__(self) -> RepoJobQueues:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close(drain=exc_info[0] is None)

    async def _work(self, key: QueueKey, lane: _Lane) -> None:
        try:
            while lane.waiting:
                entry = lane.waiting.popleft()
                if entry.future.cancelled():
                    continue
                lane.current = entry
                try:
                    result = await entry.job()
                except asyncio.CancelledError:
                    # Only close(drain=False) cancels the worker: the job's submitter hears of it.
                    entry.future.cancel()
                    raise
                except Exception as e:
                    if entry.future.cancelled():
                        log.warning("job for %s failed after its submitter left: %s", key, e)
                    else:
                        entry.future.set_exception(e)
                else:
                    if not entry.future.cancelled():
                        entry.future.set_result(result)
                finally:
                    lane.current = None
        finally:
            # No await since the last check of lane.waiting: nothing can have been queued since.
            for entry in lane.waiting:
                entry.future.cancel()
            lane.waiting.clear()
            if self._lanes.get(key) is lane:
                del self._lanes[key]
