"""``KubeClient``: raw REST calls through kubernetes_asyncio's ApiClient, for any kind.

Typed API classes are not used on purpose: conveyor applies whatever kinds the repo holds,
custom resources included, so every call goes through discovery and the generic REST paths, with
bodies as plain dicts. Transient failures (connection refused or reset, timeouts, 5xx, 429) are
retried with exponential backoff until the ``RetryPolicy`` deadline, then raised as
``ApiUnavailable``; every other error status is translated once, here, into the error tree.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiohttp
from kubernetes_asyncio import client as k8s_client
from kubernetes_asyncio import config as k8s_config
from kubernetes_asyncio.config.config_exception import ConfigException

from conveyor.adapters.kube.discovery import Discovery, ResourceInfo
from conveyor.adapters.kube.errors import (
    ApiUnavailable,
    KubeError,
    NotFound,
    Rejected,
    WaitTimeout,
)

FIELD_MANAGER = "conveyor"
APPLY_CONTENT_TYPE = "application/apply-patch+yaml"
MERGE_PATCH_CONTENT_TYPE = "application/merge-patch+json"
METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
_TRANSIENT = (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, asyncio.TimeoutError)


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff for transient failures: ``first_delay`` doubling up to ``max_delay`` (with
    jitter), giving up once ``deadline`` seconds have passed since the first attempt."""

    deadline: float = 60.0
    first_delay: float = 0.2
    max_delay: float = 5.0
    request_timeout: float = 30.0


class KubeClient:
    """One connection pool to one apiserver. Use ``connect`` and ``async with``."""

    def __init__(self, api: Any, *, server: str, retry: RetryPolicy) -> None:
        self._api = api
        self.server = server
        self.retry = retry
        self.discovery = Discovery(self._get_path)

    @classmethod
    async def connect(
        cls,
        kubeconfig: Path | None = None,
        *,
        context: str | None = None,
        retry: RetryPolicy | None = None,
        concurrency: int = 32,
    ) -> KubeClient:
        """A client for ``kubeconfig`` (default: $KUBECONFIG, ~/.kube/config, or in-cluster)."""
        configuration = type.__call__(k8s_client.Configuration)
        try:
            if kubeconfig is None and not os.environ.get("KUBECONFIG") and _in_cluster():
                k8s_config.load_incluster_config(  # type: ignore[no-untyped-call]
                    client_configuration=configuration
                )
            else:
                await k8s_config.load_kube_config(
                    config_file=str(kubeconfig) if kubeconfig else None,
                    context=context,
                    client_configuration=configuration,
                    persist_config=False,
                )
        except (ConfigException, OSError) as e:
            where = kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
            raise KubeError(f"cannot load the kubeconfig {where}: {e}") from e
        configuration.connection_pool_maxsize = concurrency
        api = k8s_client.ApiClient(configuration=configuration)
        return cls(api, server=configuration.host, retry=retry or RetryPolicy())

    async def close(self) -> None:
        await self._api.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- objects --------------------------------------------------------------------------

    async def resource_for(self, api_version: str, kind: str) -> ResourceInfo:
        return await self.discovery.resource_for(api_version, kind)

    async def apply(self, body: Mapping[str, Any], *, dry_run: bool = False) -> dict[str, Any]:
        """Server-side apply ``body`` as field manager ``conveyor``, taking over conflicting
        fields (``force``), and return the object as stored (or as it would be, on dry-run)."""
        info = await self.resource_for(str(body.get("apiVersion")), str(body.get("kind")))
        metadata = body.get("metadata") or {}
        path = info.path(namespace=str(metadata.get("namespace") or ""), name=metadata["name"])
        query = [("fieldManager", FIELD_MANAGER), ("force", "true")]
        if dry_run:
            query.append(("dryRun", "All"))
        return await self._request(
            "PATCH", path, query=query, body=body, content_type=APPLY_CONTENT_TYPE
        )

    async def get(
        self, api_version: str, kind: str, name: str, *, namespace: str = ""
    ) -> dict[str, Any]:
        info = await self.resource_for(api_version, kind)
        return await self._request("GET", info.path(namespace=namespace, name=name))

    async def get_or_none(
        self, api_version: str, kind: str, name: str, *, namespace: str = ""
    ) -> dict[str, Any] | None:
        try:
            return await self.get(api_version, kind, name, namespace=namespace)
        except NotFound:
            return None

    async def list(
        self,
        api_version: str,
        kind: str,
        *,
        namespace: str = "",
        label_selector: str = "",
        metadata_only: bool = False,
    ) -> list[dict[str, Any]]:
        """Every object of a kind (in ``namespace``, or in all namespaces when it is "").

        ``metadata_only`` asks for metadata (names, labels, managedFields) without specs.
        """
        info = await self.resource_for(api_version, kind)
        selector = [("labelSelector", label_selector)] if label_selector else []
        accept = METADATA_LIST if metadata_only else "application/json"
        items: list[dict[str, Any]] = []
        token = ""
        while True:
            query = [*selector, ("limit", "500")] + ([("continue", token)] if token else [])
            path = info.path(namespace=namespace)
            page = await self._request("GET", path, query=query, accept=accept)
            items.extend(page.get("items") or [])
            token = (page.get("metadata") or {}).get("continue") or ""
            if not token:
                return items

    async def delete(self, api_version: str, kind: str, name: str, *, namespace: str = "") -> None:
        """Delete one object, its dependents in the background (like kubectl)."""
        info = await self.resource_for(api_version, kind)
        await self._request(
            "DELETE",
            info.path(namespace=namespace, name=name),
            body={"propagationPolicy": "Background"},
        )

    async def wait_established(self, crd_name: str, *, timeout: float) -> None:
        """Wait until a CustomResourceDefinition is Established and its kind is discoverable."""
        deadline = time.monotonic() + timeout
        api_version = "apiextensions.k8s.io/v1"
        while True:
            crd = await self.get(api_version, "CustomResourceDefinition", crd_name)
            conditions = (crd.get("status") or {}).get("conditions") or []
            if any(
                c.get("type") == "Established" and c.get("status") == "True" for c in conditions
            ):
                spec = crd.get("spec") or {}
                versions = [v["name"] for v in spec.get("versions") or [] if v.get("served")]
                kind = (spec.get("names") or {}).get("kind", "")
                if await self._served(f"{spec.get('group')}/{versions[0]}", kind):
                    return
            if time.monotonic() > deadline:
                raise WaitTimeout(
                    f"CustomResourceDefinition {crd_name} not Established after {timeout:.0f} s:"
                    " check its status conditions (`kubectl describe crd`)"
                )
            await asyncio.sleep(0.2)

    async def _served(self, api_version: str, kind: str) -> bool:
        self.discovery.forget(api_version)
        try:
            await self.resource_for(api_version, kind)
        except KubeError:
            return False
        return True

    # -- transport ------------------------------------------------------------------------

    async def _get_path(self, path: str) -> dict[str, Any]:
        return await self._request("GET", path)

    async def send_json(self, method: str, path: str, *, body: Any = None) -> dict[str, Any]:
        """One plain JSON request (``POST`` create, ``PUT`` replace with a resourceVersion) with
        this client's retries and error translation, for what server-side apply cannot say:
        "create only" and "replace only if unchanged" (the Lease of leader election)."""
        return await self._request(method, path, body=body)

    async def merge_patch(
        self, path: str, patch: Mapping[str, Any], *, field_manager: str
    ) -> dict[str, Any]:
        """A JSON merge patch (RFC 7386: ``None`` removes a key) of the object at ``path``,
        recorded under ``field_manager``: for one small edit of an object conveyor does not
        own, such as the leader's label on its own Pod, with no apply configuration to keep."""
        return await self._request(
            "PATCH",
            path,
            query=[("fieldManager", field_manager)],
            body=patch,
            content_type=MERGE_PATCH_CONTENT_TYPE,
        )

    async def _request(
        self,
        method: str,
        path: str,
        *,
        query: Sequence[tuple[str, str]] = (),
        body: Any = None,
        content_type: str = "application/json",
        accept: str = "application/json",
    ) -> dict[str, Any]:
        policy = self.retry
        started = time.monotonic()
        delay = policy.first_delay
        headers = {"Content-Type": content_type, "Accept": accept}
        while True:
            try:
                response = await self._api.call_api(
                    path,
                    method,
                    query_params=list(query),
                    header_params=dict(headers),
                    body=body,
                    auth_settings=["BearerToken"],
                    _preload_content=False,
                    _request_timeout=policy.request_timeout,
                )
                try:
                    status, payload = response.status, await response.read()
                    retry_after = response.headers.get("Retry-After")
                finally:
                    response.release()
            except _TRANSIENT as e:
                problem = f"cannot reach the apiserver at {self.server}: {e or type(e).__name__}"
                retry_after = None
            else:
                if 200 <= status < 300:
                    return json.loads(payload) if payload else {}
                if status != 429 and status < 500:
                    raise _rejection(status, payload, f"{method} {path}")
                problem = f"the apiserver at {self.server} answered {status}: {_message(payload)}"
            elapsed = time.monotonic() - started
            wait = _retry_after_seconds(retry_after) or delay * (0.5 + random.random())  # noqa: S311
            if elapsed + wait > policy.deadline:
                raise ApiUnavailable(
                    f"{problem} (gave up after {elapsed:.1f} s of retries; check that the"
                    " apiserver is up and the kubeconfig points at it)"
                )
            await asyncio.sleep(wait)
            delay = min(delay * 2, policy.max_delay)


def _in_cluster() -> bool:
    home_config = Path("~/.kube/config").expanduser()
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and not home_config.exists()


def _message(payload: bytes) -> str:
    try:
        status = json.loads(payload)
    except ValueError:
        return payload.decode(errors="replace")[:500]
    if isinstance(status, dict) and status.get("message"):
        return str(status["message"])
    return payload.decode(errors="replace")[:500]


def _rejection(status: int, payload: bytes, what: str) -> Rejected:
    message = _message(payload)
    if status == 404:
        return NotFound(message or f"{what}: not found")
    reason = ""
    try:
        reason = str(json.loads(payload).get("reason", ""))
    except (ValueError, AttributeError):
        reason = ""
    return Rejected(message or f"{what}: HTTP {status}", status=status, reason=reason)


def _retry_after_seconds(header: str | None) -> float | None:
    if not header:
        return None
    try:
        return min(float(header), 30.0)
    except ValueError:
        return None
