"""Wait, with a deadline, for the synced workloads to become healthy.

Each round lists the workloads of each kind this sync labelled (one request per kind, not one
per object) and evaluates their status with the core's kstatus-like rules; it stops when every
object is settled (healthy or failed) or the deadline passes, and reports each one's last health.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

from conveyor.adapters.kube import KubeClient, Rejected, UnknownKind
from conveyor.core.sync.health import Health, HealthStatus, evaluate_health
from conveyor.core.sync.objects import SYNC_LABEL, ObjectRef

# Kinds whose status says whether a rollout finished; other objects are healthy once applied.
WAITED_KINDS = frozenset(
    {
        ("apps", "Deployment"),
        ("apps", "StatefulSet"),
        ("apps", "DaemonSet"),
        ("batch", "Job"),
    }
)
POLL_SECONDS = 1.0


def needs_waiting(ref: ObjectRef) -> bool:
    return (ref.group, ref.kind) in WAITED_KINDS


async def wait_for_health(
    kube: KubeClient, refs: Iterable[ObjectRef], *, sync_name: str, timeout: float
) -> dict[str, Health]:
    """Health of each workload in ``refs`` (keyed by ``ObjectRef.key()``), once all are settled
    or ``timeout`` seconds have passed; objects still progressing then say so in their reason."""
    waited = [ref for ref in refs if needs_waiting(ref)]
    deadline = time.monotonic() + timeout
    health: dict[str, Health] = {}
    while waited:
        health = await _evaluate(kube, waited, sync_name=sync_name)
        if all(h.settled for h in health.values()):
            return health
        if time.monotonic() + POLL_SECONDS > deadline:
            return {
                key: h
                if h.settled
                else Health(h.status, f"{h.reason} (still not healthy after {timeout:.0f} s)")
                for key, h in health.items()
            }
        await asyncio.sleep(POLL_SECONDS)
    return health


async def _evaluate(
    kube: KubeClient, refs: list[ObjectRef], *, sync_name: str
) -> dict[str, Health]:
    kinds = sorted({(ref.api_version, ref.kind) for ref in refs})

    async def one_kind(api_version: str, kind: str) -> dict[str, Health]:
        try:
            items = await kube.list(api_version, kind, label_selector=f"{SYNC_LABEL}={sync_name}")
        except (UnknownKind, Rejected):
            return {}
        found: dict[str, Health] = {}
        for item in items:
            metadata = item.get("metadata") or {}
            ref = ObjectRef(api_version, kind, metadata.get("namespace") or "", metadata["name"])
            # Items of a list carry no kind of their own; the health rules need it.
            found[ref.key()] = evaluate_health({**item, "kind": kind})
        return found

    live: dict[str, Health] = {}
    for found in await asyncio.gather(*(one_kind(v, k) for v, k in kinds)):
        live.update(found)
    missing = Health(HealthStatus.MISSING, "not found in the cluster")
    return {ref.key(): live.get(ref.key(), missing) for ref in refs}
