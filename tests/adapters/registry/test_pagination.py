"""Link-header pagination of tag lists.

The test environment's registry (distribution 2.8) ignores ``n`` on tag lists and always answers
with one page, so following ``Link`` across pages is checked here with httpx's in-memory transport
answering the way distribution 3, Docker Hub and GHCR do. The real-registry tests check the rest.
"""

import httpx
import pytest

from conveyor.adapters.registry import ProtocolError, RegistryClient
from conveyor.adapters.registry.client import next_page_url

TAGS = [f"v{i}" for i in range(23)]


@pytest.fixture
def anyio_backend():
    return "asyncio"


def paging_registry(seen):
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        size = int(request.url.params["n"])
        last = request.url.params.get("last")
        start = TAGS.index(last) + 1 if last else 0
        page = TAGS[start : start + size]
        headers = {}
        if start + size < len(TAGS):
            headers["Link"] = f'</v2/team/app/tags/list?last={page[-1]}&n={size}>; rel="next"'
        return httpx.Response(200, json={"name": "team/app", "tags": page}, headers=headers)

    return handle


@pytest.mark.anyio
async def test_every_link_page_is_followed_and_counted():
    seen = []
    async with RegistryClient(
        page_size=10,
        insecure_hosts=["registry.test"],
        transport=httpx.MockTransport(paging_registry(seen)),
    ) as client:
        listing = await client.list_tags("registry.test/team/app")
    assert listing.tags == tuple(TAGS)
    assert listing.pages == 3
    assert seen[0] == "http://registry.test/v2/team/app/tags/list?n=10"
    assert seen[2] == "http://registry.test/v2/team/app/tags/list?last=v19&n=10"
    assert client.counter.total(host="registry.test", operation="tags") == 3


@pytest.mark.anyio
async def test_a_link_that_points_back_to_a_visited_page_is_a_protocol_error():
    def loop(request):
        return httpx.Response(
            200,
            json={"tags": ["a"]},
            headers={"Link": '</v2/app/tags/list?n=5>; rel="next"'},
        )

    async with RegistryClient(
        page_size=5, insecure_hosts=["registry.test"], transport=httpx.MockTransport(loop)
    ) as client:
        with pytest.raises(ProtocolError, match="loop"):
            await client.list_tags("registry.test/app")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('</v2/a/tags/list?last=x&n=2>; rel="next"', "https://r.io/v2/a/tags/list?last=x&n=2"),
        (
            "<https://cdn.r.io/v2/a/tags/list?last=x>; rel=next",
            "https://cdn.r.io/v2/a/tags/list?last=x",
        ),
        ('</prev>; rel="prev", </next>; rel="next"', "https://r.io/next"),
        ('</prev>; rel="prev"', None),
        (None, None),
    ],
)
def test_the_next_link_is_found_and_resolved_against_the_current_url(header, expected):
    current = httpx.URL("https://r.io/v2/a/tags/list?n=2")
    assert next_page_url(header, current) == expected
