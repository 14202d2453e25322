"""Scan image repositories: the registry client and the metadata cache, put together.

For each repository: list its tags (one request per tag-list page: that is how new tags are
noticed), unless the target says it need not be listed again and the cache has a complete
picture of it (its tag list and, when the policy needs them, every tag's image): then the scan
sends no request at all. That is how a webhook for one repository avoids re-listing all the
others (:class:`ScanScope` decides which repositories are listed). When an event said a tag was
pushed and the listing does not show it yet (registries may list a push a moment late), the
tag's manifest is HEADed and the tag kept if it exists.

When the repository's policy needs created times or labels, also HEAD the tags that are new (or
not confirmed for ``recheck_after``) to learn their digests, and read config blobs only for
digests the cache has never seen: a moved tag shows up as a new digest, a restart re-reads
nothing it already knows. Repositories are scanned concurrently and independently: one failing
registry gives that repository a :class:`ScanFailure`, the others still get results.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

# The submodules with plain data and errors only: the daemon never depends on the HTTP client
# itself, just on the operations below (RegistryClient has them).
from conveyor.adapters.registry.errors import NotFound, RegistryError
from conveyor.adapters.registry.manifests import ImageConfig, ManifestInfo, Platform, TagList
from conveyor.adapters.registry.names import RepositoryName
from conveyor.adapters.store import (
    CachedImage,
    CachedTag,
    MetadataCache,
    StoreError,
    TagDigest,
)

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_CONCURRENCY = 16


class RegistryReader(Protocol):
    """The registry operations a scan uses (``conveyor.adapters.registry.RegistryClient``)."""

    @property
    def platform(self) -> Platform: ...

    async def list_tags(self, repository: RepositoryName | str) -> TagList: ...

    async def head_manifest(
        self, repository: RepositoryName | str, reference: str
    ) -> ManifestInfo: ...

    async def image_config(
        self, repository: RepositoryName | str, reference: str, *, platform: Platform | None = None
    ) -> ImageConfig: ...


@dataclass(frozen=True)
class ScanTarget:
    """A repository to scan (``nginx``, ``ghcr.io/org/app``, ``127.0.0.1:5000/team/app``)."""

    repository: str
    needs_metadata: bool = False  # the policy sorts by created time or reads labels
    relist: bool = True
    """List the tags from the registry; False: serve the scan from the cache when it can."""
    pushed_tags: tuple[str, ...] = ()
    """Tags an event said were pushed: kept (after a manifest HEAD) if the listing lags."""


@dataclass(frozen=True)
class PushedImage:
    """A tag an accepted image-push event named (canonical repository name)."""

    repository: str
    tag: str


@dataclass(frozen=True)
class ScanScope:
    """Which repositories a scan lists from the registry; the others come from the cache.

    ``everything`` lists them all (the periodic pass, a pass asked for by hand); otherwise only
    the repositories of ``pushed`` are listed (plus, by :func:`scan_repository`, any the cache
    cannot answer for).
    """

    everything: bool = True
    pushed: frozenset[PushedImage] = frozenset()

    @classmethod
    def full(cls, pushed: Collection[PushedImage] = ()) -> ScanScope:
        return cls(everything=True, pushed=frozenset(pushed))

    @classmethod
    def only(cls, pushed: Collection[PushedImage]) -> ScanScope:
        return cls(everything=False, pushed=frozenset(pushed))

    @property
    def repositories(self) -> frozenset[str]:
        """The repositories the events named."""
        return frozenset(image.repository for image in self.pushed)

    def target(self, repository: str, *, needs_metadata: bool = False) -> ScanTarget:
        """How to scan ``repository`` (a canonical name, as the plan and the events spell it)."""
        tags = sorted({image.tag for image in self.pushed if image.repository == repository})
        return ScanTarget(
            repository,
            needs_metadata=needs_metadata,
            relist=self.everything or repository in self.repositories,
            pushed_tags=tuple(tags),
        )


@dataclass(frozen=True)
class TagImage:
    tag: str
    digest: str
    media_type: str
    created: dt.datetime | None
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ScanStats:
    tag_pages: int = 0
    manifest_heads: int = 0  # including those confirming pushed tags the listing missed
    configs_fetched: int = 0
    configs_cached: int = 0  # digests of HEADed tags whose metadata was already known


@dataclass(frozen=True)
class RepositoryScan:
    """The tags of one repository (and their images when the policy needs them)."""

    target: ScanTarget
    repository: str  # canonical: docker.io/library/nginx
    tags: tuple[str, ...]
    tags_changed: bool  # the tag list differs from the cached one (or there was none)
    images: Mapping[str, TagImage] = field(default_factory=dict)  # by tag, with needs_metadata
    moved_tags: tuple[str, ...] = ()  # known tags now pointing at a different digest
    stats: ScanStats = ScanStats()
    listed: bool = True  # the tags came from the registry now; False: from the cache


@dataclass(frozen=True)
class ScanFailure:
    target: ScanTarget
    error: RegistryError | StoreError


ScanResult = RepositoryScan | ScanFailure


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def _bounded(
    items: Iterable[T], operation: Callable[[T], Awaitable[R]], *, limit: int
) -> list[R]:
    """``operation`` over ``items`` with at most ``limit`` running at once, results in order."""
    slots = asyncio.Semaphore(limit)

    async def one(item: T) -> R:
        async with slots:
            return await operation(item)

    return list(await asyncio.gather(*(one(item) for item in items)))


async def scan_repositories(
    targets: Sequence[ScanTarget],
    *,
    registry: RegistryReader,
    cache: MetadataCache,
    concurrency: int = DEFAULT_CONCURRENCY,
    recheck_after: dt.timedelta = dt.timedelta(0),
    now: Callable[[], dt.datetime] = _utcnow,
) -> list[ScanResult]:
    """Scan every target, ``concurrency`` repositories at a time; results in target order."""

    async def one(target: ScanTarget) -> ScanResult:
        return await scan_repository(
            target,
            registry=registry,
            cache=cache,
            concurrency=concurrency,
            recheck_after=recheck_after,
            now=now,
        )

    return await _bounded(targets, one, limit=concurrency)


async def scan_repository(
    target: ScanTarget,
    *,
    registry: RegistryReader,
    cache: MetadataCache,
    concurrency: int = DEFAULT_CONCURRENCY,
    recheck_after: dt.timedelta = dt.timedelta(0),
    now: Callable[[], dt.datetime] = _utcnow,
) -> ScanResult:
    """Scan one repository; registry and store errors become a :class:`ScanFailure`."""
    try:
        name = RepositoryName.parse(target.repository)
        if not target.relist:
            cached = await _from_cache(target, str(name), cache, platform=str(registry.platform))
            if cached is not None:
                return cached
        started = now()
        listing = await registry.list_tags(name)
        unlisted = [tag for tag in target.pushed_tags if tag not in listing.tags]
        tags = (*listing.tags, *await _confirm_pushed(registry, name, unlisted))
        changed = await cache.save_tag_list(str(name), tags, fetched_at=started)
        scan = RepositoryScan(
            target=target,
            repository=str(name),
            tags=tags,
            tags_changed=changed,
            stats=ScanStats(tag_pages=listing.pages, manifest_heads=len(unlisted)),
        )
        if not target.needs_metadata:
            return scan
        return await _read_images(
            scan,
            name,
            registry=registry,
            cache=cache,
            concurrency=concurrency,
            recheck_before=started - recheck_after,
            seen_at=started,
        )
    except (RegistryError, StoreError) as e:
        return ScanFailure(target=target, error=e)


async def _confirm_pushed(
    registry: RegistryReader, name: RepositoryName, unlisted: Sequence[str]
) -> tuple[str, ...]:
    """The pushed tags the listing did not show yet whose manifest exists (one HEAD each).

    A push is announced once the registry stored the manifest, but its tag list may lag (an
    eventually consistent index, a cache in front of it); without this the event's tag would
    wait for the next periodic scan.
    """
    found = []
    for tag in unlisted:
        try:
            await registry.head_manifest(name, tag)
        except NotFound:
            continue  # deleted again since, or the event named a tag that never existed
        found.append(tag)
    return tuple(found)


async def _from_cache(
    target: ScanTarget, repository: str, cache: MetadataCache, *, platform: str
) -> RepositoryScan | None:
    """The scan the cache can answer alone, or None when it lacks something (then: list).

    It lacks something when the repository was never listed, or when the policy needs images
    and some listed tag has no known digest or no image metadata yet.
    """
    listed = await cache.tag_list(repository)
    if listed is None:
        return None
    scan = RepositoryScan(
        target=target, repository=repository, tags=listed.tags, tags_changed=False, listed=False
    )
    if not target.needs_metadata:
        return scan
    known = await cache.tags(repository, platform=platform)
    images: dict[str, TagImage] = {}
    for tag in listed.tags:
        entry = known.get(tag)
        if entry is None or entry.image is None:
            return None
        images[tag] = TagImage(
            tag=tag,
            digest=entry.digest,
            media_type=entry.media_type,
            created=entry.image.created,
            labels=entry.image.labels,
        )
    return RepositoryScan(
        target=target,
        repository=repository,
        tags=listed.tags,
        tags_changed=False,
        images=images,
        listed=False,
    )


async def _read_images(
    scan: RepositoryScan,
    name: RepositoryName,
    *,
    registry: RegistryReader,
    cache: MetadataCache,
    concurrency: int,
    recheck_before: dt.datetime,
    seen_at: dt.datetime,
) -> RepositoryScan:
    platform = str(registry.platform)
    known = await cache.tags(scan.repository, platform=platform)
    to_check = [
        tag for tag in scan.tags if tag not in known or known[tag].last_seen <= recheck_before
    ]

    async def head(tag: str) -> ManifestInfo | None:
        try:
            return await registry.head_manifest(name, tag)
        except NotFound:
            return None  # deleted between the tag list and now: gone for this scan

    heads = dict(zip(to_check, await _bounded(to_check, head, limit=concurrency), strict=True))
    confirmed = {tag: info for tag, info in heads.items() if info is not None}
    digests = {tag: entry.digest for tag, entry in known.items()}
    digests.update({tag: info.digest for tag, info in confirmed.items()})
    moved = tuple(
        t for t, info in confirmed.items() if t in known and known[t].digest != info.digest
    )

    images = {e.digest: e.image for e in known.values() if e.image is not None}
    unknown = {digests[t] for t in confirmed} - images.keys()
    from_cache = await cache.images(scan.repository, unknown, platform=platform)
    images.update(from_cache)
    to_fetch = sorted(unknown - from_cache.keys())

    async def read_config(digest: str) -> ImageConfig:
        return await registry.image_config(name, digest)

    configs = await _bounded(to_fetch, read_config, limit=concurrency)
    fetched = [
        CachedImage(scan.repository, digest, platform, config.created, config.labels)
        for digest, config in zip(to_fetch, configs, strict=True)
    ]
    images.update({image.digest: image for image in fetched})
    await cache.save_tags(
        scan.repository,
        [TagDigest(t, info.digest, info.media_type) for t, info in confirmed.items()],
        images=fetched,
        seen_at=seen_at,
    )
    return RepositoryScan(
        target=scan.target,
        repository=scan.repository,
        tags=scan.tags,
        tags_changed=scan.tags_changed,
        images=_tag_images(scan.tags, confirmed, known, images),
        moved_tags=moved,
        stats=ScanStats(
            tag_pages=scan.stats.tag_pages,
            manifest_heads=scan.stats.manifest_heads + len(to_check),
            configs_fetched=len(fetched),
            configs_cached=len({info.digest for info in confirmed.values()}) - len(fetched),
        ),
    )


def _tag_images(
    tags: Sequence[str],
    confirmed: Mapping[str, ManifestInfo],
    known: Mapping[str, CachedTag],
    images: Mapping[str, CachedImage],
) -> dict[str, TagImage]:
    result: dict[str, TagImage] = {}
    for tag in tags:
        if tag in confirmed:
            digest, media_type = confirmed[tag].digest, confirmed[tag].media_type
        elif tag in known:
            digest, media_type = known[tag].digest, known[tag].media_type
        else:
            continue  # vanished during the scan
        image = images.get(digest)
        result[tag] = TagImage(
            tag=tag,
            digest=digest,
            media_type=media_type,
            created=image.created if image else None,
            labels=image.labels if image else {},
        )
    return result
