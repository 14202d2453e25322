"""Leader election on a Lease: what to do after each read of it, decided with no I/O.

Several conveyor replicas may run against one cluster; only one of them (the leader) may sync,
automate and write releases. They agree through one ``coordination.k8s.io/v1`` Lease, the way
client-go's ``leaderelection`` package does:

- the leader writes its identity (``holderIdentity``) and renews the lease (``renewTime``) every
  retry period, with an optimistic-concurrency update (the daemon's adapter sends the
  ``resourceVersion`` it read, so of two writers racing on one version only one wins);
- a follower re-reads the lease every retry period and takes it over once it has seen the *same*
  record for ``leaseDurationSeconds``: expiry is judged by when this process last saw the record
  change, on its own monotonic clock, never by comparing ``renewTime`` with the local clock, so
  skew between the replicas' clocks cannot hand the lease over early;
- a leader whose renewals keep failing steps down once ``renew_deadline`` has passed since its
  last successful renewal, which is shorter than the lease duration: it has stopped its work
  before any follower may take over.

:func:`decide` is one step of that protocol: given the lease as read (or ``None`` when there is
none), the time, this process's identity and what it observed before, it answers acquire, renew,
wait or lost, with the record to write and the observation to remember.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, replace
from datetime import datetime

__all__ = [
    "Decision",
    "Instant",
    "LeaderTimings",
    "LeaseRecord",
    "Observation",
    "Step",
    "decide",
    "released",
    "renew_overdue",
]

# client-go asks for renew_deadline > 1.2 x retry_period: the jittered retries must fit at least
# once into the deadline, or a single slow request would end a healthy leadership.
_JITTER_FACTOR = 1.2


@dataclass(frozen=True)
class LeaseRecord:
    """The election fields of a Lease's spec (``holder`` "" when nobody holds it)."""

    holder: str = ""
    duration_seconds: int = 0
    acquire_time: datetime | None = None
    renew_time: datetime | None = None
    transitions: int = 0


@dataclass(frozen=True)
class LeaderTimings:
    """How long a lease lasts, how long a leader keeps retrying a renewal, how often to try."""

    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0

    def __post_init__(self) -> None:
        if self.retry_period <= 0:
            raise ValueError("the retry period must be more than 0 seconds")
        if self.renew_deadline <= _JITTER_FACTOR * self.retry_period:
            raise ValueError(
                f"the renew deadline must be more than {_JITTER_FACTOR} x the retry period"
            )
        if self.lease_duration <= self.renew_deadline:
            raise ValueError("the lease duration must be more than the renew deadline")

    @property
    def duration_seconds(self) -> int:
        """The lease duration as the Lease stores it (whole seconds, rounded up)."""
        return max(1, math.ceil(self.lease_duration))


@dataclass(frozen=True)
class Instant:
    """One reading of the clocks: ``wall`` is written into the lease (for people and other
    tools to read), ``monotonic`` (seconds) judges expiry, immune to clock steps."""

    wall: datetime
    monotonic: float


@dataclass(frozen=True)
class Observation:
    """The record last read, and when (monotonic seconds) it was first seen as it is."""

    record: LeaseRecord
    seen_at: float


class Step(enum.StrEnum):
    ACQUIRE = "acquire"  # write ``Decision.write``: create the lease or take it over
    RENEW = "renew"  # write ``Decision.write``: we hold it, keep it
    WAIT = "wait"  # someone else holds a live lease; read again after the retry period
    LOST = "lost"  # we thought we led, but someone else holds a live lease: stop leading


@dataclass(frozen=True)
class Decision:
    step: Step
    observation: Observation
    """Remember it and pass it back as ``previous`` at the next read."""
    write: LeaseRecord | None = None
    """The record to write (acquire, renew); None for wait and lost."""
    holder: str = ""
    """Who leads as this read shows: the holder of a live lease, "" when there is none."""


def decide(
    lease: LeaseRecord | None,
    *,
    now: Instant,
    identity: str,
    timings: LeaderTimings,
    leading: bool,
    previous: Observation | None,
) -> Decision:
    """The next step after reading ``lease`` (None: no Lease object exists yet)."""
    record = lease if lease is not None else LeaseRecord()
    if previous is not None and previous.record == record:
        observation = previous
    else:
        observation = Observation(record, seen_at=now.monotonic)
    if lease is not None and lease.holder == identity:
        # Our own lease (also after a restart that kept the identity): keep it as it is.
        renewed = replace(
            lease,
            duration_seconds=timings.duration_seconds,
            renew_time=now.wall,
            acquire_time=lease.acquire_time or now.wall,
        )
        return Decision(Step.RENEW, observation, write=renewed, holder=identity)
    live = bool(record.holder) and (now.monotonic < observation.seen_at + record.duration_seconds)
    if live:
        step = Step.LOST if leading else Step.WAIT
        return Decision(step, observation, holder=record.holder)
    taken = LeaseRecord(
        holder=identity,
        duration_seconds=timings.duration_seconds,
        acquire_time=now.wall,
        renew_time=now.wall,
        # A new Lease starts at 0; each change of hands (also from a released lease) counts one.
        transitions=record.transitions + 1 if lease is not None else 0,
    )
    return Decision(Step.ACQUIRE, observation, write=taken, holder="")


def renew_overdue(last_renewed: float, *, now: float, timings: LeaderTimings) -> bool:
    """True once a leader has gone ``renew_deadline`` seconds (monotonic) without a renewal:
    it must stop leading before the lease can expire for the others."""
    return now - last_renewed >= timings.renew_deadline


def released(record: LeaseRecord, *, now: datetime) -> LeaseRecord:
    """The record a leader writes when it stops cleanly: nobody holds it, and it lasts 1 s, so
    the others take over at their next read instead of waiting out the lease duration."""
    return LeaseRecord(
        holder="",
        duration_seconds=1,
        acquire_time=now,
        renew_time=now,
        transitions=record.transitions,
    )
