"""API discovery: from ``apiVersion`` + ``kind`` to the REST resource that serves it.

One request per group-version (``/api/v1``, ``/apis/apps/v1``...), cached; a kind missing from
the cache triggers one refresh of its group-version (a CRD may have been installed since), and
only then is it unknown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from conveyor.adapters.kube.errors import NotFound, UnknownKind


@dataclass(frozen=True)
class ResourceInfo:
    """The REST resource for one kind."""

    api_version: str
    kind: str
    plural: str
    namespaced: bool

    def path(self, *, namespace: str = "", name: str = "") -> str:
        """The collection path (all namespaces when ``namespace`` is "" on a namespaced kind), or
        an object's path when ``name`` is given."""
        root = (
            f"/api/{self.api_version}"
            if "/" not in self.api_version
            else f"/apis/{self.api_version}"
        )
        scope = f"/namespaces/{quote(namespace, safe='')}" if self.namespaced and namespace else ""
        item = f"/{quote(name, safe='')}" if name else ""
        return f"{root}{scope}/{self.plural}{item}"


def group_version_path(api_version: str) -> str:
    """``v1`` is served under /api, every named group under /apis."""
    return f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"


Fetch = Callable[[str], Awaitable[dict[str, Any]]]


class Discovery:
    """The cache; ``fetch`` GETs a path and returns the decoded JSON (raising NotFound on 404)."""

    def __init__(self, fetch: Fetch) -> None:
        self._fetch = fetch
        self._known: dict[str, dict[str, ResourceInfo]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def resource_for(self, api_version: str, kind: str) -> ResourceInfo:
        known = self._known.get(api_version)
        if known is not None and kind in known:
            return known[kind]
        lock = self._locks.setdefault(api_version, asyncio.Lock())
        async with lock:
            # Another caller may have refreshed this group-version while we waited.
            refreshed = self._known.get(api_version)
            if refreshed is None or refreshed is known:
                refreshed = await self._load(api_version)
            if kind in refreshed:
                return refreshed[kind]
        raise UnknownKind(
            f"the apiserver serves no kind {kind!r} in {api_version}: check the spelling, or"
            " that its CustomResourceDefinition is installed (or in the synced paths)"
        )

    def forget(self, api_version: str) -> None:
        self._known.pop(api_version, None)

    async def _load(self, api_version: str) -> dict[str, ResourceInfo]:
        path = group_version_path(api_version)
        try:
            listing = await self._fetch(path)
        except NotFound:
            listing = {"resources": []}
        found: dict[str, ResourceInfo] = {}
        for resource in listing.get("resources") or []:
            name = str(resource.get("name", ""))
            if "/" in name:  # subresources such as deployments/scale
                continue
            found[str(resource["kind"])] = ResourceInfo(
                api_version=api_version,
                kind=str(resource["kind"]),
                plural=name,
                namespaced=bool(resource.get("namespaced")),
            )
        self._known[api_version] = found
        return found
