"""Leader election for replicas of the daemon: only the leader syncs, automates and writes.

:meth:`LeaderElection.run` campaigns for the Lease until it is cancelled. Every retry period it
reads the Lease, lets the core decide (``conveyor.core.leader.decide``) and writes what the core
says to write, conditionally on the version read. Once it holds the Lease it starts ``lead()``
(the runner's sync and automation loops) as a task and keeps renewing; it stops leading when:

- a read shows another holder with a live lease (someone took over: ``lost``), or
- no renewal has succeeded for ``renew_deadline`` seconds (the apiserver is unreachable, or
  every write conflicted). The lease lasts longer than that, so the leader has stopped before
  any follower may take over.

Stopping means: leadership is given up *first* (the API answers writes with 503 and the
``conveyor_leader`` gauge reads 0 from that moment), then the loops are cancelled and awaited.
A cancelled loop never leaves a half commit: its git writes run as jobs of the per-branch queue,
and a job that has started runs to its end while one that has not is skipped. Then the
campaign starts again, as a follower.

:meth:`LeaderElection.release` (at shutdown, after the job queues drained) clears the holder so
that a follower takes over at its next read instead of waiting out the lease.

In a pod (``POD_NAME`` from the downward API, see :func:`own_pod_label`) the leader also labels
its Pod ``conveyor.dev/leader: "true"``, and the API Service selects that label, so writes and
webhooks reach the leader. The label follows ``leading`` from a task of its own, never from the
renewal: a label that cannot be written is logged and tried again every retry period, and never
costs leadership. While it is stale (the old leader could not take it off, or the new one could
not put it on yet) some requests reach a follower, which answers writes with 503 and
Retry-After, as without the label. A follower takes the label off when it starts, in case its
pod's previous container led.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import random
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from conveyor.adapters.kube import (
    KubeClient,
    KubeError,
    LeaderPodLabel,
    LeaseConflict,
    LeaseState,
)
from conveyor.core.leader import (
    Decision,
    Instant,
    LeaderTimings,
    LeaseRecord,
    Observation,
    Step,
    decide,
    released,
    renew_overdue,
)
from conveyor.daemon.metrics import DaemonMetrics
from conveyor.daemon.runner_state import Readiness

__all__ = [
    "LeaderElection",
    "LeaderStatus",
    "LeaseStore",
    "PodLabel",
    "own_pod_label",
    "system_clock",
]

log = logging.getLogger("conveyor.daemon.leader")

# Followers retry at jittered times so that replicas started together do not keep colliding.
_JITTER = 0.2


class LeaseStore(Protocol):
    """What the election needs of the Lease (``conveyor.adapters.kube.LeaseClient``)."""

    namespace: str
    name: str

    async def read(self) -> LeaseState | None: ...

    async def create(self, record: LeaseRecord) -> LeaseState: ...

    async def update(self, record: LeaseRecord, *, resource_version: str) -> LeaseState: ...


class PodLabel(Protocol):
    """The leader's label on its own Pod (``conveyor.adapters.kube.LeaderPodLabel``)."""

    async def mark(self, *, leading: bool) -> None: ...


def own_pod_label(
    kube: KubeClient, environ: Mapping[str, str], *, namespace: str
) -> LeaderPodLabel | None:
    """The label of this process's Pod, named by the downward API's ``POD_NAME`` (in
    ``POD_NAMESPACE``, else ``namespace``); None outside a pod, where there is nothing to label."""
    pod = environ.get("POD_NAME", "").strip()
    if not pod:
        return None
    pod_namespace = environ.get("POD_NAMESPACE", "").strip() or namespace
    return LeaderPodLabel(kube, namespace=pod_namespace, pod=pod)


@dataclass(frozen=True)
class LeaderStatus:
    """What the API and readiness report about the election, as of the last read."""

    leading: bool
    identity: str
    holder: str
    """The leader as last seen ("" when none is known)."""
    lease: str
    """``namespace/name`` of the Lease."""
    reachable: bool
    """The last read or write of the Lease got an answer from the apiserver."""
    problem: str = ""

    def readiness(self, work: Readiness) -> tuple[bool, tuple[str, ...]]:
        """Whether to answer ``/readyz`` with 200, and the problems to list. A leader is ready
        when its work is (git fetched, cluster answered); a follower when it can read the
        lease, since it has nothing else to do until it leads."""
        if self.leading:
            return work.ready, work.problems
        return self.reachable, (self.problem,) if self.problem else ()


def system_clock() -> Instant:
    return Instant(wall=datetime.now(UTC), monotonic=time.monotonic())


class _Attempt(enum.Enum):
    HELD = "held"  # we hold the lease after this attempt
    OTHER = "other"  # someone else holds a live lease
    FAILED = "failed"  # no answer, or our write lost a race: unknown until the next read


class LeaderElection:
    """One replica's campaign for the Lease (see the module docstring)."""

    def __init__(
        self,
        lease: LeaseStore,
        *,
        identity: str,
        timings: LeaderTimings,
        metrics: DaemonMetrics | None = None,
        clock: Callable[[], Instant] = system_clock,
        pod: PodLabel | None = None,
    ) -> None:
        self._lease = lease
        self._pod = pod
        self._pod_marked: bool | None = None
        """Whether the Pod carries the leader label, as last written (None: not known)."""
        self._pod_problem = ""
        self._leading_changed = asyncio.Event()
        self.identity = identity
        self.timings = timings
        self._metrics = metrics
        self._clock = clock
        self.leading = False
        self._holder = ""
        self._observed: Observation | None = None
        self._held: LeaseState | None = None
        self._last_renewed = 0.0
        self._reachable = False
        self._problem = "the lease was not read yet"
        self.terms = 0
        """How many times this process became the leader."""

    def __repr__(self) -> str:
        return f"LeaderElection({self.lease_name}, identity={self.identity!r})"

    @property
    def lease_name(self) -> str:
        return f"{self._lease.namespace}/{self._lease.name}"

    def status(self) -> LeaderStatus:
        return LeaderStatus(
            leading=self.leading,
            identity=self.identity,
            holder=self.identity if self.leading else self._holder,
            lease=self.lease_name,
            reachable=self._reachable,
            problem=self._problem,
        )

    async def run(self, lead: Callable[[], Coroutine[object, object, None]]) -> None:
        """Campaign, lead while holding the lease, follow otherwise; until cancelled."""
        self._set_leading(False)
        labelling = None
        if self._pod is not None:
            labelling = asyncio.create_task(self._keep_pod_label(), name="leader label")
        try:
            await self._campaign(lead)
        finally:
            if labelling is not None:
                labelling.cancel()
                await asyncio.gather(labelling, return_exceptions=True)

    async def release(self) -> None:
        """Give the lease up if this process still holds it, and take the leader label off its
        Pod if it may be there (best effort; at shutdown, after :meth:`run` was cancelled)."""
        await self._release_lease()
        self._set_leading(False)
        await self._label_pod()

    # -- the campaign ---------------------------------------------------------------------

    async def _campaign(self, lead: Callable[[], Coroutine[object, object, None]]) -> None:
        while True:
            await self._until_leading()
            work = asyncio.create_task(lead(), name="leader work")
            try:
                await self._while_leading(work)
            finally:
                await self._stop_leading(work)
            if work.done() and not work.cancelled():
                # Work that fails at once would otherwise be restarted in a tight loop.
                await asyncio.sleep(self.timings.retry_period)

    async def _release_lease(self) -> None:
        held, self._held = self._held, None
        if held is None or held.record.holder != self.identity:
            return
        record = released(held.record, now=self._clock().wall)
        try:
            async with asyncio.timeout(self.timings.renew_deadline):
                await self._lease.update(record, resource_version=held.resource_version)
        except LeaseConflict:
            log.info("lease %s changed hands already; nothing to release", self.lease_name)
        except (KubeError, TimeoutError) as e:
            log.warning("releasing lease %s failed; it expires on its own: %s", self.lease_name, e)
        else:
            log.info("released lease %s", self.lease_name)

    async def _until_leading(self) -> None:
        while await self._attempt() is not _Attempt.HELD:
            period = self.timings.retry_period
            await asyncio.sleep(period * (1 + random.uniform(0, _JITTER)))  # noqa: S311
        self.terms += 1
        self._set_leading(True)
        log.info("became the leader (lease %s, identity %s)", self.lease_name, self.identity)

    async def _while_leading(self, work: asyncio.Task[None]) -> None:
        """Renew every retry period; return when leadership is lost or the work ended."""
        while True:
            done, _ = await asyncio.wait({work}, timeout=self.timings.retry_period)
            if done:
                # The loops only end by cancellation: this is a bug, but never a reason to keep
                # the lease while doing nothing. Give it up; the campaign starts again.
                problem = "cancelled" if work.cancelled() else work.exception() or "returned"
                log.error("the leader's work ended (%s); stepping down", problem)
                return
            attempt = await self._attempt()
            if attempt is _Attempt.OTHER:
                log.warning("lost lease %s to %s; stopping", self.lease_name, self._holder)
                return
            if attempt is _Attempt.FAILED and renew_overdue(
                self._last_renewed, now=self._clock().monotonic, timings=self.timings
            ):
                log.warning(
                    "could not renew lease %s for %.1f s; stopping: %s",
                    self.lease_name,
                    self.timings.renew_deadline,
                    self._problem,
                )
                return

    async def _stop_leading(self, work: asyncio.Task[None]) -> None:
        # Writes are refused from here on, before the loops are even told to stop.
        self._set_leading(False)
        work.cancel()
        await asyncio.gather(work, return_exceptions=True)
        log.info("stopped the leader's work")

    async def _attempt(self) -> _Attempt:
        """Read the lease, decide, write: one step of the protocol, bounded in time."""
        now = self._clock()
        # A request that hangs past the deadline is worth nothing (the lease may be gone).
        bound = self.timings.renew_deadline
        if self.leading:
            bound = max(0.0, self._last_renewed + self.timings.renew_deadline - now.monotonic)
        try:
            async with asyncio.timeout(bound):
                return await self._read_decide_write(now)
        except TimeoutError:
            self._unreachable(f"no answer from the apiserver within {bound:.1f} s")
            return _Attempt.FAILED

    async def _read_decide_write(self, now: Instant) -> _Attempt:
        try:
            found = await self._lease.read()
        except KubeError as e:
            self._unreachable(f"reading lease {self.lease_name} failed: {e}")
            return _Attempt.FAILED
        self._reachable, self._problem = True, ""
        decision = decide(
            found.record if found is not None else None,
            now=now,
            identity=self.identity,
            timings=self.timings,
            leading=self.leading,
            previous=self._observed,
        )
        self._observed = decision.observation
        self._holder = decision.holder
        if decision.write is None:
            return _Attempt.OTHER
        return await self._write(decision, found=found, now=now)

    async def _write(
        self, decision: Decision, *, found: LeaseState | None, now: Instant
    ) -> _Attempt:
        assert decision.write is not None
        try:
            if found is None:
                written = await self._lease.create(decision.write)
            else:
                written = await self._lease.update(
                    decision.write, resource_version=found.resource_version
                )
        except LeaseConflict:
            # Another replica wrote first; the next read shows who holds it now.
            return _Attempt.FAILED
        except KubeError as e:
            self._unreachable(f"writing lease {self.lease_name} failed: {e}")
            return _Attempt.FAILED
        if decision.step is Step.ACQUIRE:
            log.info("took lease %s (transition %d)", self.lease_name, decision.write.transitions)
        self._held = written
        self._observed = Observation(written.record, seen_at=now.monotonic)
        self._holder = self.identity
        self._last_renewed = now.monotonic
        return _Attempt.HELD

    def _unreachable(self, problem: str) -> None:
        if self._reachable or problem != self._problem:  # once, not at every retry
            log.warning("%s", problem)
        self._reachable, self._problem = False, problem

    # -- the Pod's label -------------------------------------------------------------------

    async def _keep_pod_label(self) -> None:
        """Bring the label in line with ``leading`` whenever that changes, and again every
        retry period while the last attempt failed."""
        while True:
            # Cleared before reading ``leading``: a change while the patch runs is not missed.
            self._leading_changed.clear()
            await self._label_pod()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.timings.retry_period):
                    await self._leading_changed.wait()

    async def _label_pod(self) -> None:
        leading = self.leading
        if self._pod is None or self._pod_marked == leading:
            return
        try:
            async with asyncio.timeout(self.timings.renew_deadline):
                await self._pod.mark(leading=leading)
        except (KubeError, TimeoutError) as e:
            self._pod_marked = None
            problem = str(e) or f"no answer within {self.timings.renew_deadline:.1f} s"
            if problem != self._pod_problem:  # once, not at every retry
                log.warning(
                    "could not %s the leader label of %s; trying again: %s",
                    "set" if leading else "remove",
                    self._pod,
                    problem,
                )
            self._pod_problem = problem
            return
        self._pod_marked, self._pod_problem = leading, ""
        log.info("%s the leader label of %s", "set" if leading else "removed", self._pod)

    def _set_leading(self, leading: bool) -> None:
        self.leading = leading
        self._leading_changed.set()
        if self._metrics is not None:
            self._metrics.set_leader(leading)
