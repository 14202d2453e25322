from collections.abc import Iterator

import pytest

from conveyor.adapters.registry import Credentials, StaticCredentials
from conveyor.testing.throttle import ThrottleProxy


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def insecure_hosts(testenv):
    """The loopback test registries speak plain http: configured insecure, explicitly."""
    return [endpoint.host for endpoint in testenv.registries.values()]


@pytest.fixture
def good_credentials(testenv):
    """The test user for the basic and token registries (explicit credentials)."""
    return StaticCredentials(
        {
            endpoint.host: Credentials(endpoint.user, endpoint.password, source="test user")
            for endpoint in testenv.registries.values()
            if endpoint.user
        }
    )


@pytest.fixture
def throttle_proxy(testenv) -> Iterator[ThrottleProxy]:
    """A 429-answering proxy in front of the real anonymous registry (no throttling until told)."""
    with ThrottleProxy(testenv.registries["anonymous"].url, retry_after="2") as proxy:
        yield proxy
