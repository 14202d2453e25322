"""The inventory: which objects conveyor applied for a sync, so it prunes only those.

Each entry remembers two fingerprints taken at the last apply:

- ``desired``: a digest of the body conveyor sent, so an unchanged manifest is recognised;
- ``fields``: a digest of the field set the apiserver recorded for conveyor's field manager. When
  anyone else changes a field conveyor owns (``kubectl set image``, ``kubectl scale``, an edit),
  server-side apply moves that field to the other manager, so conveyor's field set, and this
  digest, change. Comparing it with the live object's is a cheap "has this drifted?" test.

An object whose two fingerprints both match needs no apply: that is the fast no-op path.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from conveyor.core.sync.objects import DISABLED, PRUNE_ANNOTATION, ObjectRef, body_hash
from conveyor.core.sync.ordering import prune_order

FIELD_MANAGER = "conveyor"


@dataclass(frozen=True)
class InventoryEntry:
    ref: ObjectRef
    desired: str = ""
    fields: str = ""


@dataclass(frozen=True)
class Inventory:
    """Entries keyed by ``ObjectRef.key()``."""

    entries: Mapping[str, InventoryEntry]

    @classmethod
    def empty(cls) -> Inventory:
        return cls({})

    @classmethod
    def of(cls, entries: Iterable[InventoryEntry]) -> Inventory:
        return cls({entry.ref.key(): entry for entry in entries})

    def get(self, ref: ObjectRef) -> InventoryEntry | None:
        return self.entries.get(ref.key())

    def __contains__(self, ref: object) -> bool:
        return isinstance(ref, ObjectRef) and ref.key() in self.entries

    def __len__(self) -> int:
        return len(self.entries)

    def refs(self) -> list[ObjectRef]:
        return [entry.ref for entry in self.entries.values()]

    def merged(self, entries: Iterable[InventoryEntry]) -> Inventory:
        """This inventory with ``entries`` added or replaced."""
        combined = dict(self.entries)
        combined.update((entry.ref.key(), entry) for entry in entries)
        return Inventory(combined)

    def without(self, refs: Iterable[ObjectRef]) -> Inventory:
        dropped = {ref.key() for ref in refs}
        return Inventory({k: v for k, v in self.entries.items() if k not in dropped})

    def to_data(self) -> list[dict[str, str]]:
        return [
            {
                "apiVersion": e.ref.api_version,
                "kind": e.ref.kind,
                "namespace": e.ref.namespace,
                "name": e.ref.name,
                "desired": e.desired,
                "fields": e.fields,
            }
            for e in sorted(self.entries.values(), key=lambda e: e.ref)
        ]

    @classmethod
    def from_data(cls, data: Iterable[Mapping[str, str]]) -> Inventory:
        return cls.of(
            InventoryEntry(
                ref=ObjectRef(item["apiVersion"], item["kind"], item["namespace"], item["name"]),
                desired=item.get("desired", ""),
                fields=item.get("fields", ""),
            )
            for item in data
        )


def plan_prune(
    previous: Inventory, desired: Iterable[ObjectRef], *, kept: Iterable[ObjectRef] = ()
) -> list[ObjectRef]:
    """What left the repo since the last sync, in delete order.

    Only inventory entries are candidates: an object conveyor never applied is never pruned.
    ``kept`` are objects still in the repo but not applied (ignored ones): they are not deleted.
    """
    staying = {ref.key() for ref in desired} | {ref.key() for ref in kept}
    gone = [entry.ref for key, entry in previous.entries.items() if key not in staying]
    return prune_order(gone)


def fields_fingerprint(live: Mapping[str, Any], manager: str = FIELD_MANAGER) -> str:
    """A digest of the fields ``manager`` owns on ``live`` through apply ("" when it owns none)."""
    owned = [
        entry.get("fieldsV1")
        for entry in (live.get("metadata") or {}).get("managedFields") or []
        if entry.get("manager") == manager
        and entry.get("operation") == "Apply"
        and not entry.get("subresource")
    ]
    if not owned or owned == [None]:
        return ""
    return body_hash({"owned": owned})


def prune_allowed(live: Mapping[str, Any], *, manager: str = FIELD_MANAGER) -> str | None:
    """None when a live object may be pruned, else why not.

    Two checks on the live object itself, not just the inventory: the ``conveyor.dev/prune:
    disabled`` annotation, and that conveyor still manages some of its fields (an object
    re-created by hand under the same name is someone else's).
    """
    metadata = live.get("metadata") or {}
    annotations = metadata.get("annotations") or {}
    if annotations.get(PRUNE_ANNOTATION) == DISABLED:
        return "annotated conveyor.dev/prune: disabled"
    managers = {entry.get("manager") for entry in metadata.get("managedFields") or []}
    if manager not in managers:
        return f"not managed by {manager} any more (re-created by someone else?)"
    return None
