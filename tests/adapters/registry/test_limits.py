"""Retry-After, backoff, the per-host gate and request counts (pure, with a fake clock)."""

import datetime as dt
import random

import pytest

from conveyor.adapters.registry import HostLimits, RequestCounter, RetryPolicy
from conveyor.adapters.registry.limits import HostGate, backoff_delay, parse_retry_after

NOW = dt.datetime(2025, 1, 1, 12, 0, 0, tzinfo=dt.UTC)


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("2", 2.0),
        (" 120 ", 120.0),
        ("Wed, 01 Jan 2025 12:00:30 GMT", 30.0),
        ("Wed, 01 Jan 2025 11:59:00 GMT", 0.0),
        (None, None),
        ("", None),
        ("soon", None),
    ],
)
def test_retry_after_is_read_as_seconds_or_an_http_date(header, seconds):
    assert parse_retry_after(header, now=NOW) == seconds


def test_backoff_grows_exponentially_with_jitter_and_is_capped():
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0)
    rng = random.Random(7)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (9, 8.0)]:
        delay = backoff_delay(attempt, policy, rng=rng)
        assert ceiling / 2 <= delay <= ceiling


class FakeTime:
    def __init__(self):
        self.now = 100.0
        self.sleeps = []

    def clock(self):
        return self.now

    async def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.mark.anyio
async def test_the_token_bucket_lets_a_burst_through_then_paces_requests():
    fake = FakeTime()
    gate = HostGate(
        HostLimits(requests_per_second=10, burst=3, concurrency=5),
        clock=fake.clock,
        sleep=fake.sleep,
    )
    for _ in range(5):
        async with gate.slot():
            pass
    assert fake.sleeps == pytest.approx([0.1, 0.1])
    assert fake.now == pytest.approx(100.2)


@pytest.mark.anyio
async def test_a_paused_host_admits_nothing_until_the_pause_ends():
    fake = FakeTime()
    gate = HostGate(HostLimits(), clock=fake.clock, sleep=fake.sleep)
    gate.pause(2.0)
    gate.pause(1.0)  # a shorter pause never shortens the longer one
    async with gate.slot():
        admitted_at = fake.now
    assert admitted_at >= 102.0


def test_requests_are_counted_per_host_operation_and_status_class():
    counter = RequestCounter()
    counter.record("a:1", "tags", 200)
    counter.record("a:1", "tags", 429)
    counter.record("a:1", "blob", 200)
    counter.record("b:2", "tags", None)
    assert counter.total() == 4
    assert counter.total(host="a:1") == 3
    assert counter.total(host="a:1", operation="tags") == 2
    assert counter.total(status="4xx") == 1
    assert counter.total(host="b:2", status="error") == 1
