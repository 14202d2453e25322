"""Where a sync's inventory and marker live: one ConfigMap per sync in ``conveyor-system``.

Keeping both in one object makes every record atomic: a reader (``conveyor status``, a restarted
daemon, a second replica) sees either the previous sync's inventory and marker or the new ones,
never half of each. The inventory is also written, without a new marker, before each stage that
creates objects not yet listed, so an object exists in the cluster only after it is in the
inventory: a sync cut off half-way can never leave behind objects a later sync would not prune.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from conveyor.adapters.kube import KubeClient
from conveyor.core.sync.inventory import Inventory
from conveyor.core.sync.record import SyncMarker

STATE_NAMESPACE = "conveyor-system"
STATE_PREFIX = "conveyor-sync-"
_INVENTORY_KEY = "inventory.json"
_MARKER_KEY = "marker.json"


@dataclass(frozen=True)
class SyncState:
    inventory: Inventory
    marker: SyncMarker | None


def state_object_name(sync_name: str) -> str:
    return f"{STATE_PREFIX}{sync_name}"


async def read_state(kube: KubeClient, sync_name: str) -> SyncState:
    """The recorded state (empty when this sync never ran)."""
    found = await kube.get_or_none(
        "v1", "ConfigMap", state_object_name(sync_name), namespace=STATE_NAMESPACE
    )
    data: dict[str, str] = (found or {}).get("data") or {}
    inventory = Inventory.from_data(json.loads(data.get(_INVENTORY_KEY) or "[]"))
    marker_text = data.get(_MARKER_KEY)
    marker = SyncMarker.from_data(json.loads(marker_text)) if marker_text else None
    return SyncState(inventory, marker)


async def write_state(
    kube: KubeClient, sync_name: str, *, inventory: Inventory, marker: SyncMarker | None
) -> None:
    """Record ``inventory`` and ``marker`` in one write.

    The write is a server-side apply, which drops keys it no longer sends: to keep the recorded
    marker while updating only the inventory, pass the recorded marker back.
    """
    await kube.apply(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": STATE_NAMESPACE}}
    )
    data: dict[str, Any] = {
        _INVENTORY_KEY: json.dumps(inventory.to_data(), separators=(",", ":")),
    }
    if marker is not None:
        data[_MARKER_KEY] = json.dumps(marker.to_data(), separators=(",", ":"))
    await kube.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": state_object_name(sync_name),
                "namespace": STATE_NAMESPACE,
                "labels": {"app.kubernetes.io/managed-by": "conveyor"},
            },
            "data": data,
        }
    )
