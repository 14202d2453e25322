"""429 + Retry-After on a real registry behind the throttling proxy of conveyor.testing.throttle.

The proxy records when each request arrived; these are protocol checks on the client (did it
come back before it was allowed to?), not performance assertions.
"""

import asyncio

import pytest

from conveyor.adapters.registry import RateLimited, RegistryClient, RetryPolicy

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

RETRY_AFTER = 2.0


async def test_a_429_is_waited_for_as_long_as_retry_after_says_then_succeeds(
    pusher, registry_repo, throttle_proxy
):
    pusher("anonymous").push_image(registry_repo, "1.0.0")
    throttle_proxy.throttle_next(1)
    async with RegistryClient(insecure_hosts=[throttle_proxy.host]) as client:
        listing = await client.list_tags(f"{throttle_proxy.host}/{registry_repo}")
    assert listing.tags == ("1.0.0",)
    refused, retried = throttle_proxy.arrivals
    assert (refused.status, retried.status) == (429, 200)
    assert retried.at - refused.at >= RETRY_AFTER
    assert client.counter.total(host=throttle_proxy.host, status="4xx") == 1


async def test_a_paused_host_holds_back_every_request_to_it_not_just_the_refused_one(
    pusher, registry_repo, throttle_proxy
):
    p = pusher("anonymous")
    p.push_image(registry_repo, "1.0.0")
    p.retag(registry_repo, "1.0.0", "1.0.1")
    throttle_proxy.throttle_next(1)
    name = f"{throttle_proxy.host}/{registry_repo}"
    async with RegistryClient(insecure_hosts=[throttle_proxy.host]) as client:
        first = asyncio.create_task(client.head_manifest(name, "1.0.0"))
        while not throttle_proxy.arrivals:  # the 429 has been answered
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)  # let the client read the 429 and pause the host
        second = await client.head_manifest(name, "1.0.1")
        await first
    assert second.digest
    refused, *later = throttle_proxy.arrivals
    assert refused.status == 429
    assert [a.status for a in later] == [200, 200]
    assert all(a.at - refused.at >= RETRY_AFTER for a in later)


async def test_a_host_that_keeps_throttling_raises_rate_limited_with_retry_after(
    pusher, registry_repo, throttle_proxy
):
    pusher("anonymous").push_image(registry_repo, "1.0.0")
    throttle_proxy.throttle_for(30)
    async with RegistryClient(
        insecure_hosts=[throttle_proxy.host], retry=RetryPolicy(max_attempts=2)
    ) as client:
        with pytest.raises(RateLimited, match="rate limiting") as raised:
            await client.list_tags(f"{throttle_proxy.host}/{registry_repo}")
    assert raised.value.retry_after == RETRY_AFTER
    first, second = throttle_proxy.arrivals
    assert second.at - first.at >= RETRY_AFTER


async def test_a_throttled_host_does_not_stall_requests_to_another_host(
    testenv, pusher, registry_repo, throttle_proxy
):
    pusher("anonymous").push_image(registry_repo, "1.0.0")
    direct = testenv.registries["anonymous"].host
    throttle_proxy.throttle_next(1)
    async with RegistryClient(insecure_hosts=[throttle_proxy.host, direct]) as client:
        throttled = asyncio.create_task(client.list_tags(f"{throttle_proxy.host}/{registry_repo}"))
        while not throttle_proxy.arrivals:
            await asyncio.sleep(0.01)
        other = await client.list_tags(f"{direct}/{registry_repo}")
        # The other host answered while the throttled one was still paused.
        assert len(throttle_proxy.arrivals) == 1
        assert (await throttled).tags == other.tags == ("1.0.0",)
