"""A piece of work repeated on an interval, run early on request, whose next result can be awaited.

The daemon has two such loops: the sync (fetch the branch, apply it) and automation (scan the
registries, commit new images). Both are woken early by webhooks, and the API's ``POST
/api/v1/sync`` and ``POST /api/v1/automate`` must answer with the result of a pass that began
*after* the request: a pass already under way may have fetched before the push the caller
wants applied. :meth:`PeriodicTask.run_now` waits for exactly that pass.

Passes never overlap, and triggers coalesce: however many arrive before a pass starts, they lead
to one pass. A trigger may name *subjects* (for automation: the pushed images); a loop built with
:meth:`PeriodicTask.targeted` is told, in a :class:`Wakeup` taken at the start of each pass, the
subjects of every trigger folded into it, so it can do just that part of its work. A trigger
during a pass goes to the next pass, never to the one under way (which may have read its inputs
already). The first pass, a trigger naming nothing (``run_now``), and the pass due
``interval`` seconds after the end of the last full pass are *full* passes: the work does
everything. Targeted passes never put that one off, however many webhooks keep arriving.

A pass that raises is logged and handed to the callers waiting for it; the loop goes on at the
next tick (a git host or an apiserver that is down for a while must not end the daemon). Only
cancellation stops :meth:`PeriodicTask.run`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["PeriodicTask", "Wakeup"]

log = logging.getLogger("conveyor.daemon.runner")

T = TypeVar("T")


@dataclass(frozen=True)
class Wakeup:
    """Why a pass runs: what a targeted loop's work is handed at the start of each pass."""

    full: bool
    """Do everything: the first pass, the interval ran out, or a trigger named nothing."""
    subjects: frozenset[Hashable] = frozenset()
    """What the triggers folded into this pass named (also set for a full pass)."""
    triggers: int = 0
    """Triggers folded into this pass (0: the interval or the first pass started it)."""


class PeriodicTask(Generic[T]):
    """Runs ``work`` every ``interval`` seconds, or at once after :meth:`trigger`."""

    def __init__(self, name: str, work: Callable[[], Awaitable[T]], *, interval: float) -> None:
        self._setup(name, lambda _wakeup: work(), interval)

    @classmethod
    def targeted(
        cls, name: str, work: Callable[[Wakeup], Awaitable[T]], *, interval: float
    ) -> PeriodicTask[T]:
        """A loop whose work is told, at each pass, why it runs and what the triggers named."""
        task: PeriodicTask[T] = cls.__new__(cls)
        task._setup(name, work, interval)
        return task

    def _setup(self, name: str, work: Callable[[Wakeup], Awaitable[T]], interval: float) -> None:
        if interval <= 0:
            raise ValueError(f"{name}: the interval must be more than 0 seconds")
        self.name = name
        self.interval = interval
        self._work = work
        self._wake = asyncio.Event()
        self._started = 0
        self._waiters: list[tuple[int, asyncio.Future[T]]] = []
        # What the triggers since the last pass started asked for; taken at the next start.
        self._pending: set[Hashable] = set()
        self._pending_everything = False
        self._pending_triggers = 0
        self.passes = 0
        """Passes finished, with a result or an error."""
        self.coalesced = 0
        """Triggers that joined a pass already pending instead of asking for one more."""
        self.last_error: BaseException | None = None
        self.wakeup: Wakeup | None = None
        """Why the current (or the last) pass ran."""

    def __repr__(self) -> str:
        return f"PeriodicTask({self.name!r}, interval={self.interval}, passes={self.passes})"

    @property
    def pending_subjects(self) -> frozenset[Hashable]:
        """What triggers named for the next pass (not yet taken by a pass)."""
        return frozenset(self._pending)

    def trigger(self, *subjects: Hashable) -> bool:
        """Start the next pass now instead of at the end of the interval (or, during a pass,
        right after it). With ``subjects``, the next pass is told them; with none, it is full.

        Returns True when the trigger was coalesced: a pass was already pending (not started
        yet) and this trigger joined it.
        """
        coalesced = self._wake.is_set()
        if subjects:
            self._pending.update(subjects)
        else:
            self._pending_everything = True
        self._pending_triggers += 1
        if coalesced:
            self.coalesced += 1
        self._wake.set()
        return coalesced

    async def run_now(self) -> T:
        """Trigger a full pass and return its result (or raise its error).

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
        clock = asyncio.get_running_loop().time
        full_due = clock()  # the first pass does everything, like one on the interval
        try:
            while True:
                wakeup = self._take_wakeup(full=clock() >= full_due)
                self._started += 1
                await self._one_pass(self._started, wakeup)
                if wakeup.full:
                    full_due = clock() + self.interval
                # Measured from the last full pass, not the last pass: a steady trickle of
                # targeted triggers must not put off the full pass for ever. (asyncio.timeout,
                # not wait_for: on 3.11 wait_for can swallow a cancel that comes as the wake
                # event is set, and the loop would then never stop.)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(0.0, full_due - clock())):
                        await self._wake.wait()
        finally:
            for _, future in self._waiters:
                future.cancel()
            self._waiters.clear()

    def _take_wakeup(self, *, full: bool) -> Wakeup:
        """What the triggers so far asked for, cleared in the same step (no await in between):
        a trigger from now on wakes the next wait and lands in the next pass."""
        self._wake.clear()
        wakeup = Wakeup(
            full=full or self._pending_everything,
            subjects=frozenset(self._pending),
            triggers=self._pending_triggers,
        )
        self._pending = set()
        self._pending_everything = False
        self._pending_triggers = 0
        self.wakeup = wakeup
        return wakeup

    async def _one_pass(self, number: int, wakeup: Wakeup) -> None:
        try:
            result = await self._work(wakeup)
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
