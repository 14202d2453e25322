"""Scanning repositories with the real registry client and cache, on the real test registries."""

import datetime as dt

import pytest

from conveyor.adapters.registry import RegistryClient, RegistryUnavailable, RetryPolicy
from conveyor.adapters.store import MetadataCache
from conveyor.daemon.scan import RepositoryScan, ScanFailure, ScanTarget, scan_repositories
from conveyor.testing.procs import free_port

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

OLD = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
NEW = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def anonymous(testenv):
    return testenv.registries["anonymous"].host


def client_for(*hosts, **options):
    return RegistryClient(insecure_hosts=hosts, **options)


async def test_without_metadata_a_scan_only_reads_tag_list_pages(
    tmp_path, pusher, registry_repo, anonymous
):
    p = pusher("anonymous")
    p.push_image(registry_repo, "1.0.0")
    p.retag(registry_repo, "1.0.0", "1.0.1")
    target = ScanTarget(f"{anonymous}/{registry_repo}")
    async with (
        client_for(anonymous) as client,
        await MetadataCache.open(tmp_path / "c.db") as cache,
    ):
        [cold] = await scan_repositories([target], registry=client, cache=cache)
        [warm] = await scan_repositories([target], registry=client, cache=cache)
        requests = client.counter.total()
    assert isinstance(cold, RepositoryScan)
    assert sorted(cold.tags) == ["1.0.0", "1.0.1"]
    assert (cold.tags_changed, warm.tags_changed) == (True, False)
    assert cold.images == {}
    assert requests == cold.stats.tag_pages + warm.stats.tag_pages


async def test_created_times_and_labels_are_read_once_per_digest(
    tmp_path, pusher, registry_repo, anonymous
):
    p = pusher("anonymous")
    p.push_image(registry_repo, "1.0.0", created=OLD, labels={"v": "1"})
    p.retag(registry_repo, "1.0.0", "stable")
    p.push_index(registry_repo, "2.0.0", created=NEW)
    target = ScanTarget(f"{anonymous}/{registry_repo}", needs_metadata=True)
    async with (
        client_for(anonymous) as client,
        await MetadataCache.open(tmp_path / "c.db") as cache,
    ):
        [scan] = await scan_repositories([target], registry=client, cache=cache)
        blobs = client.counter.total(operation="blob")
    assert scan.images["1.0.0"].created == OLD
    assert scan.images["1.0.0"].labels == {"v": "1"}
    assert scan.images["stable"].digest == scan.images["1.0.0"].digest
    assert scan.images["2.0.0"].created == NEW
    assert scan.stats.manifest_heads == 3
    assert scan.stats.configs_fetched == blobs == 2  # two digests, three tags


async def test_a_moved_tag_is_noticed_and_only_its_new_image_is_read(
    tmp_path, pusher, registry_repo, anonymous
):
    p = pusher("anonymous")
    p.push_image(registry_repo, "1.0.0", created=OLD)
    p.push_image(registry_repo, "1.1.0", created=NEW)
    p.retag(registry_repo, "1.0.0", "stable")
    target = ScanTarget(f"{anonymous}/{registry_repo}", needs_metadata=True)
    async with (
        client_for(anonymous) as client,
        await MetadataCache.open(tmp_path / "c.db") as cache,
    ):
        [before] = await scan_repositories([target], registry=client, cache=cache)
        p.push_image(registry_repo, "stable", created=NEW + dt.timedelta(days=1))
        blobs_before = client.counter.total(operation="blob")
        [after] = await scan_repositories([target], registry=client, cache=cache)
        new_blobs = client.counter.total(operation="blob") - blobs_before
    assert before.images["stable"].created == OLD
    assert after.moved_tags == ("stable",)
    assert after.images["stable"].created == NEW + dt.timedelta(days=1)
    assert after.images["1.0.0"].created == OLD
    assert new_blobs == after.stats.configs_fetched == 1


async def test_a_restart_on_the_same_cache_file_fetches_no_config_blob_again(
    tmp_path, pusher, registry_repo, anonymous
):
    p = pusher("anonymous")
    for i, tag in enumerate(["1.0.0", "1.0.1", "1.0.2"]):
        p.push_image(registry_repo, tag, created=OLD + dt.timedelta(days=i))
    target = ScanTarget(f"{anonymous}/{registry_repo}", needs_metadata=True)
    path = tmp_path / "c.db"
    async with client_for(anonymous) as client, await MetadataCache.open(path) as cache:
        [first] = await scan_repositories([target], registry=client, cache=cache)
        assert client.counter.total(operation="blob") == 3
    # A new process: new client, new cache object on the same file.
    async with client_for(anonymous) as client, await MetadataCache.open(path) as cache:
        [second] = await scan_repositories([target], registry=client, cache=cache)
        assert client.counter.total(operation="blob") == 0
        assert client.counter.total(operation="manifest_get") == 0
    assert second.images == first.images
    assert second.stats.configs_fetched == 0


async def test_recently_confirmed_tags_are_not_headed_again(
    tmp_path, pusher, registry_repo, anonymous
):
    pusher("anonymous").push_image(registry_repo, "1.0.0", created=OLD)
    target = ScanTarget(f"{anonymous}/{registry_repo}", needs_metadata=True)
    async with (
        client_for(anonymous) as client,
        await MetadataCache.open(tmp_path / "c.db") as cache,
    ):
        await scan_repositories([target], registry=client, cache=cache)
        heads = client.counter.total(operation="manifest_head")
        [again] = await scan_repositories(
            [target], registry=client, cache=cache, recheck_after=dt.timedelta(hours=1)
        )
        assert client.counter.total(operation="manifest_head") == heads
    assert again.images["1.0.0"].created == OLD


async def test_a_broken_registry_does_not_stop_the_scan_of_a_good_one(
    tmp_path, pusher, registry_repo, anonymous
):
    pusher("anonymous").push_image(registry_repo, "1.0.0")
    closed = f"127.0.0.1:{free_port()}"
    targets = [
        ScanTarget(f"{closed}/team/app", needs_metadata=True),
        ScanTarget(f"{anonymous}/{registry_repo}", needs_metadata=True),
        ScanTarget("Not A Name"),
    ]
    async with (
        client_for(anonymous, closed, retry=RetryPolicy(max_attempts=2, base_delay=0.1)) as client,
        await MetadataCache.open(tmp_path / "c.db") as cache,
    ):
        broken, good, invalid = await scan_repositories(targets, registry=client, cache=cache)
    assert isinstance(broken, ScanFailure)
    assert isinstance(broken.error, RegistryUnavailable)
    assert closed in str(broken.error)
    assert isinstance(good, RepositoryScan)
    assert good.tags == ("1.0.0",)
    assert isinstance(invalid, ScanFailure)
    assert "not a repository name" in str(invalid.error)


async def test_a_repository_not_to_relist_is_served_from_the_cache_with_no_request(
    tmp_path, pusher, registry_repo, anonymous
):
    p = pusher("anonymous")
    p.push_image(registry_repo, "1.0.0", created=OLD)
    repository = f"{anonymous}/{registry_repo}"
    async with (
        client_for(anonymous) as client,
        await MetadataCache.open(tmp_path / "c.db") as cache,
    ):
        # Never listed: the cache cannot answer, so it is listed after all.
        [first] = await scan_repositories(
            [ScanTarget(repository, relist=False)], registry=client, cache=cache
        )
        assert first.listed and client.counter.total(operation="tags") == 1
        p.push_image(registry_repo, "1.1.0", created=NEW)
        before = client.counter.total()
        [cached] = await scan_repositories(
            [ScanTarget(repository, relist=False)], registry=client, cache=cache
        )
        assert client.counter.total() == before, "no request at all"
        [relisted] = await scan_repositories([ScanTarget(repository)], registry=client, cache=cache)
    assert (cached.listed, cached.tags, cached.tags_changed) == (False, ("1.0.0",), False)
    assert cached.stats.tag_pages == 0
    assert relisted.listed and sorted(relisted.tags) == ["1.0.0", "1.1.0"]


async def test_images_come_from_the_cache_only_when_it_knows_every_listed_tag(
    tmp_path, pusher, registry_repo, anonymous
):
    p = pusher("anonymous")
    p.push_image(registry_repo, "1.0.0", created=OLD, labels={"v": "1"})
    repository = f"{anonymous}/{registry_repo}"
    from_cache = ScanTarget(repository, needs_metadata=True, relist=False)
    async with (
        client_for(anonymous) as client,
        await MetadataCache.open(tmp_path / "c.db") as cache,
    ):
        # Listed once without metadata: the cache has the tags but not their images.
        await scan_repositories([ScanTarget(repository)], registry=client, cache=cache)
        [incomplete] = await scan_repositories([from_cache], registry=client, cache=cache)
        before = client.counter.total()
        [complete] = await scan_repositories([from_cache], registry=client, cache=cache)
        assert client.counter.total() == before
    assert incomplete.listed, "images unknown: listed and read from the registry"
    assert not complete.listed
    assert complete.images == incomplete.images
    assert complete.images["1.0.0"].created == OLD
    assert complete.images["1.0.0"].labels == {"v": "1"}


class LaggingListing:
    """The real client, but its tag lists are read before a push the caller announces."""

    def __init__(self, registry, push):
        self._registry = registry
        self._push = push
        self.platform = registry.platform

    async def list_tags(self, repository):
        listing = await self._registry.list_tags(repository)
        self._push()  # lands after the listing: the listing does not show it
        return listing

    async def head_manifest(self, repository, reference):
        return await self._registry.head_manifest(repository, reference)

    async def image_config(self, repository, reference, *, platform=None):
        return await self._registry.image_config(repository, reference, platform=platform)


@pytest.mark.parametrize("needs_metadata", [False, True])
async def test_a_pushed_tag_the_listing_lags_behind_is_confirmed_and_kept(
    tmp_path, pusher, registry_repo, anonymous, needs_metadata
):
    p = pusher("anonymous")
    p.push_image(registry_repo, "1.0.0", created=OLD)
    target = ScanTarget(
        f"{anonymous}/{registry_repo}",
        needs_metadata=needs_metadata,
        pushed_tags=("1.0.0", "1.1.0", "9.9.9"),  # 9.9.9: an event naming a tag never pushed
    )
    async with (
        client_for(anonymous) as client,
        await MetadataCache.open(tmp_path / "c.db") as cache,
    ):
        lagging = LaggingListing(client, lambda: p.push_image(registry_repo, "1.1.0", created=NEW))
        [scan] = await scan_repositories([target], registry=lagging, cache=cache)
        saved = await cache.tag_list(str(scan.repository))
    assert scan.tags == ("1.0.0", "1.1.0"), "1.1.0 confirmed by a HEAD; 9.9.9 dropped"
    assert saved is not None and saved.tags == scan.tags, "the next pass from the cache has it"
    if needs_metadata:
        assert scan.images["1.1.0"].created == NEW
