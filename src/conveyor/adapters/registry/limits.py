"""Per-host politeness: a token bucket, a concurrency cap, pauses, backoff, request counts.

Each registry host gets its own :class:`HostGate`, so a host that is slow, failing or paused
(429 + ``Retry-After``) only ever delays requests to itself. A pause holds back every request to
the host, including ones already queued, until the time the registry asked for: it is never
retried early.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class HostLimits:
    """How hard conveyor may hit one registry host."""

    requests_per_second: float = 20.0
    burst: int = 20
    concurrency: int = 8


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries for 429, 5xx and connection failures."""

    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 30.0
    # A Retry-After longer than this is not waited for inside one call: RateLimited is raised
    # (the host stays paused) and the daemon's next scan tries again.
    max_retry_after: float = 120.0


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    current = now or dt.datetime.now(dt.UTC)
    return max(0.0, (when - current).total_seconds())


def backoff_delay(attempt: int, policy: RetryPolicy, *, rng: random.Random | None = None) -> float:
    """Exponential backoff with full jitter for the ``attempt``-th failure (1-based)."""
    ceiling = min(policy.max_delay, policy.base_delay * 2 ** (attempt - 1))
    # Full jitter spreads many clients (or many repositories) that failed together.
    return (rng or random).uniform(ceiling / 2, ceiling)


Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class HostGate:
    """Admission to one host: pause, token bucket, concurrency cap."""

    def __init__(
        self, limits: HostLimits, *, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep
    ) -> None:
        self.limits = limits
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(limits.burst)
        self._refilled_at = clock()
        self._paused_until = 0.0
        self._slots = asyncio.Semaphore(limits.concurrency)

    @property
    def paused_until(self) -> float:
        return self._paused_until

    def pause(self, seconds: float) -> None:
        """Hold every request to this host for ``seconds`` (a longer pause is never shortened)."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    def _take_token(self) -> float:
        """Take a token if there is one (0.0), else how long until one is due."""
        now = self._clock()
        rate = self.limits.requests_per_second
        self._tokens = min(self.limits.burst, self._tokens + (now - self._refilled_at) * rate)
        self._refilled_at = now
        # The epsilon absorbs float rounding: a refill of exactly one token must count as one.
        if self._tokens >= 1.0 - 1e-9:
            self._tokens = max(0.0, self._tokens - 1.0)
            return 0.0
        return (1.0 - self._tokens) / rate

    async def _admit(self) -> None:
        while True:
            paused_for = self._paused_until - self._clock()
            if paused_for > 0:
                await self._sleep(paused_for)
                continue
            wait = self._take_token()
            if wait == 0.0:
                return
            await self._sleep(wait)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        async with self._slots:
            # Checked after taking a slot: a request queued before a pause must honour it too.
            await self._admit()
            yield


def status_class(status: int | None) -> str:
    """``2xx``..``5xx``, or ``error`` when no answer came back (connection failure, timeout)."""
    return "error" if status is None else f"{status // 100}xx"


@dataclass(frozen=True)
class RequestKey:
    host: str
    operation: str  # ping, token, tags, manifest_head, manifest_get, blob
    status_class: str


class RequestCounter:
    """Requests sent, per host, operation and status class (exported as metrics by the daemon)."""

    def __init__(self) -> None:
        self._counts: Counter[RequestKey] = Counter()

    def __repr__(self) -> str:
        return f"RequestCounter(total={self.total()})"

    def record(self, host: str, operation: str, status: int | None) -> None:
        self._counts[RequestKey(host, operation, status_class(status))] += 1

    def snapshot(self) -> dict[RequestKey, int]:
        return dict(self._counts)

    def total(
        self, *, host: str | None = None, operation: str | None = None, status: str | None = None
    ) -> int:
        return sum(
            count
            for key, count in self._counts.items()
            if (host is None or key.host == host)
            and (operation is None or key.operation == operation)
            and (status is None or key.status_class == status)
        )
