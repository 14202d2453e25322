"""Scan image repositories: the registry client and the metadata cache, put together.

For each repository: list its tags (one request per tag-list page, always: that is how new tags
are noticed). When the repository's policy needs created times or labels, also HEAD the tags that
are new (or not confirmed for ``recheck_after``) to learn their digests, and read config blobs
only for digests the cache has never seen: a moved tag shows up as a new digest, a restart
re-reads nothing it already knows. Repositories are scanned concurrently and independently: one
failing registry gives that repository a :class:`ScanFailure`, the others still get results.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
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
    manifest_heads: int = 0
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
        started = now()
        listing = await registry.list_tags(name)
        changed = await cache.save_tag_list(str(name), listing.tags, fetched_at=started)
        scan = RepositoryScan(
            target=target,
            repository=str(name),
            tags=listing.tags,
            tags_changed=changed,
            stats=ScanStats(tag_pages=listing.pages),
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
            manifest_heads=len(to_check),
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
