"""A piece of work repeated on an interval, run early on request, whose next result can be awaited.

The daemon has two such loops: the sync (fetch the branch, apply it) and automation (scan the
registries, commit new images). Both are woken early by webhooks, and the API's ``POST
/api/v1/sync`` and ``POST /api/v1/automate`` must answer with the result of a pass that began
*after* the request: a pass already under way may have fetched before the push the caller
wants applied. :meth:`PeriodicTask.run_now` waits for exactly that pass.

Passes never overlap. A pass that raises is logged and handed to the callers waiting for it;
the loop goes on at the next tick (a git host or an apiserver that is down for a while must not
end the daemon). Only cancellation stops :meth:`PeriodicTask.run`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

__all__ = ["PeriodicTask"]

log = logging.getLogger("conveyor.daemon.runner")

T = TypeVar("T")


class PeriodicTask(Generic[T]):
    """Runs ``work`` every ``interval`` seconds, or at once after :meth:`trigger`."""

    def __init__(self, name: str, work: Callable[[], Awaitable[T]], *, interval: float) -> None:
        if interval <= 0:
            raise ValueError(f"{name}: the interval must be more than 0 seconds")
        self.name = name
        self.interval = interval
        self._work = work
        self._wake = asyncio.Event()
        self._started = 0
        self._waiters: list[tuple[int, asyncio.Future[T]]] = []
        self.passes = 0
        """Passes finished, with a result or an error."""
        self.last_error: BaseException | None = None

    def __repr__(self) -> str:
        return f"PeriodicTask({self.name!r}, interval={self.interval}, passes={self.passes})"

    def trigger(self) -> None:
        """Start the next pass now instead of at the end of the interval (or, during a pass,
        right after it)."""
        self._wake.set()

    async def run_now(self) -> T:
        """Trigger a pass and return its result (or raise its error).

        The pass is one that starts after this call: when a pass is running, the next one.
        """
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        entry = (self._started + 1, future)
        self._waiters.append(entry)
        self.trigger()
        try:
            # Shielded so a caller that gives up does not cancel the future others may share.
            return await asyncio.shield(future)
        finally:
            if entry in self._waiters:
                self._waiters.remove(entry)

    async def run(self) -> None:
        """Pass after pass until cancelled."""
        try:
            while True:
                # Cleared before the pass: a trigger during the pass wakes the very next wait.
                self._wake.clear()
                self._started += 1
                await self._one_pass(self._started)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.interval)
        finally:
            for _, future in self._waiters:
                future.cancel()
            self._waiters.clear()

    async def _one_pass(self, number: int) -> None:
        try:
            result = await self._work()
        except asyncio.CancelledError:
            raise
        except Exception as e:
            self.last_error = e
            log.warning("%s failed; next try in %ss: %s", self.name, self.interval, e)
            for future in self._due(number):
                future.set_exception(e)
        else:
            self.last_error = None
            for future in self._due(number):
                future.set_result(result)
        finally:
            self.passes += 1

    def _due(self, number: int) -> list[asyncio.Future[T]]:
        """The waiters pass ``number`` answers, taken off the list."""
        due = [(wanted, f) for wanted, f in self._waiters if wanted <= number and not f.done()]
        for entry in due:
            self._waiters.remove(entry)
        return [future for _, future in due]
