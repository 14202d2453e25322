"""Benchmark: scan 200 repositories x 500 tags on the local anonymous registry, cold and warm.

    CONVEYOR_TESTENV_DIR=/tmp/env .venv/bin/python bench/bench_scan.py

Setup (not timed, skipped for repositories that already have their tags): one image pushed per
repository, then the same manifest PUT under 500 tags over a few keep-alive connections. The scan
needs no created times, so the target is one request per tag-list page. Cold = empty cache and a
new client; warm = the same cache, nothing changed. The loopback registry gets a generous per-host
rate limit so the number measured is conveyor's, not the politeness default's (20 requests/s).

Then the pass one image webhook starts: the scope names one repository (and a tag it has), so
that repository is listed again and the other 199 come from the warm cache; a full pass lists
all 200 (the warm round above).

Prints two lines: ``bench scan: 200 repos x 500 tags: cold ... (target: ...)`` and
``bench scan-webhook: 200 repos, 1 webhook: N requests ... (full pass: M requests ...)``; setup
on stderr.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from conveyor.adapters.registry import HostLimits, NotFound, RegistryClient
from conveyor.adapters.store import MetadataCache
from conveyor.daemon.scan import (
    PushedImage,
    RepositoryScan,
    ScanScope,
    ScanTarget,
    scan_repositories,
)
from conveyor.testing import env as testenv_module
from conveyor.testing.images import ImagePusher
from conveyor.testing.registry import RegistryEndpoint

REPOSITORIES = 200
TAGS_PER_REPOSITORY = 500
SETUP_CONNECTIONS = 16


def _repo(index: int) -> str:
    return f"bench-scan/app-{index:03d}"


def _tag(index: int) -> str:
    return f"1.{index // 100}.{index % 100}"


def _push_first_images(endpoint: RegistryEndpoint, repos: list[str]) -> dict[str, bytes]:
    """One image per repository (blobs + manifest); returns each one's manifest bytes."""

    def push(repo: str) -> tuple[str, bytes]:
        pusher = ImagePusher(endpoint)
        try:
            pusher.push_image(repo, _tag(0))
            _, manifest = pusher.manifest(repo, _tag(0))
        finally:
            pusher.close()
        return repo, json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()

    with ThreadPoolExecutor(max_workers=8) as pool:
        return dict(pool.map(push, repos))


async def _put_tags(endpoint: RegistryEndpoint, work: list[tuple[str, str, bytes]]) -> None:
    """PUT manifests under tags over keep-alive HTTP/1.1 connections (setup only: raw is fast)."""
    host, port = endpoint.host.rsplit(":", 1)
    queue = list(reversed(work))

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while queue:
                repo, tag, body = queue.pop()
                media_type = json.loads(body)["mediaType"]
                writer.write(
                    f"PUT /v2/{repo}/manifests/{tag} HTTP/1.1\r\nHost: {endpoint.host}\r\n"
                    f"Content-Type: {media_type}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if length:
                    await reader.readexactly(length)
                if not head.startswith(b"HTTP/1.1 201"):
                    raise RuntimeError(f"PUT {repo}:{tag} failed: {head.splitlines()[0]!r}")
        finally:
            writer.close()
            await writer.wait_closed()

    await asyncio.gather(*(connection() for _ in range(SETUP_CONNECTIONS)))


async def _complete_repositories(endpoint: RegistryEndpoint) -> list[str]:
    repos = [_repo(i) for i in range(REPOSITORIES)]
    async with RegistryClient(
        insecure_hosts=[endpoint.host],
        host_limits={endpoint.host: HostLimits(requests_per_second=5000, burst=100)},
    ) as client:

        async def tag_count(repo: str) -> int:
            try:
                return len((await client.list_tags(f"{endpoint.host}/{repo}")).tags)
            except NotFound:  # not pushed yet
                return 0

        counts = await asyncio.gather(*(tag_count(r) for r in repos))
    return [r for r, n in zip(repos, counts, strict=True) if n >= TAGS_PER_REPOSITORY]


def setup(endpoint: RegistryEndpoint) -> None:
    began = time.monotonic()
    complete = set(asyncio.run(_complete_repositories(endpoint)))
    missing = [_repo(i) for i in range(REPOSITORIES) if _repo(i) not in complete]
    if missing:
        manifests = _push_first_images(endpoint, missing)
        work = [
            (repo, _tag(i), manifests[repo])
            for repo in missing
            for i in range(1, TAGS_PER_REPOSITORY)
        ]
        asyncio.run(_put_tags(endpoint, work))
    print(
        f"[bench] scan setup: {len(missing)} repositories pushed, {len(complete)} already there,"
        f" {time.monotonic() - began:.1f} s",
        file=sys.stderr,
    )


async def measure(endpoint: RegistryEndpoint, cache_path: Path) -> list[str]:
    repositories = [f"{endpoint.host}/{_repo(i)}" for i in range(REPOSITORIES)]
    targets = [ScanTarget(repository) for repository in repositories]
    async with (
        RegistryClient(
            insecure_hosts=[endpoint.host],
            host_limits={endpoint.host: HostLimits(requests_per_second=5000, burst=100)},
        ) as client,
        await MetadataCache.open(cache_path) as cache,
    ):
        rounds: list[tuple[float, int, int]] = []
        for _ in ("cold", "warm"):
            before = client.counter.total()
            began = time.monotonic()
            results = await scan_repositories(targets, registry=client, cache=cache)
            elapsed = time.monotonic() - began
            scans = [r for r in results if isinstance(r, RepositoryScan)]
            if len(scans) != REPOSITORIES or any(len(s.tags) != TAGS_PER_REPOSITORY for s in scans):
                raise SystemExit(f"bench scan: the scan came back incomplete: {results[:3]}")
            pages = sum(s.stats.tag_pages for s in scans)
            rounds.append((elapsed, client.counter.total() - before, pages))
        # One webhook for the first repository, naming a tag it has: what the daemon's pass does.
        scope = ScanScope.only([PushedImage(repositories[0], _tag(TAGS_PER_REPOSITORY - 1))])
        before = client.counter.total()
        began = time.monotonic()
        results = await scan_repositories(
            [scope.target(repository) for repository in repositories],
            registry=client,
            cache=cache,
        )
        webhook = time.monotonic() - began
        webhook_requests = client.counter.total() - before
        listed = [r for r in results if isinstance(r, RepositoryScan) and r.listed]
        if len(results) != REPOSITORIES or [r.repository for r in listed] != repositories[:1]:
            raise SystemExit(f"bench scan-webhook: expected only {repositories[0]} listed")
    (cold, cold_requests, pages), (warm, warm_requests, _) = rounds
    return [
        f"bench scan: {REPOSITORIES} repos x {TAGS_PER_REPOSITORY} tags: cold {cold:.2f} s"
        f" {cold_requests} requests, warm {warm:.2f} s {warm_requests} requests, tag-list pages"
        f" {pages} (target: one request per tag-list page)",
        f"bench scan-webhook: {REPOSITORIES} repos, 1 webhook: {webhook_requests} requests in"
        f" {webhook:.2f} s (full pass: {warm_requests} requests in {warm:.2f} s)",
    ]


def main() -> None:
    workdir = os.environ.get("CONVEYOR_TESTENV_DIR")
    if not workdir:
        raise SystemExit("bench scan: set CONVEYOR_TESTENV_DIR to a running `scripts/testenv up`")
    endpoint = testenv_module.load(Path(workdir)).registries["anonymous"]
    setup(endpoint)
    with tempfile.TemporaryDirectory(prefix="conveyor-bench-scan-") as tmp:
        for line in asyncio.run(measure(endpoint, Path(tmp) / "cache.db")):
            print(line)


if __name__ == "__main__":
    main()
