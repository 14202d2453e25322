"""Apply one stage of manifests, and prune what left the repo.

For each object the decision is made from three facts: the inventory entry of the last apply,
the desired body's digest, and the live object's metadata (one metadata-only list per kind):

- repo unchanged and conveyor's field set unchanged: nothing to do (no request at all);
- repo unchanged but the live object differs (a field taken over, or the object gone): drift.
  The difference is computed with a server-side dry-run apply against the live object; it is
  reverted (self-heal) unless the manifest says ``conveyor.dev/self-heal: disabled``;
- otherwise (new or changed in the repo): server-side apply.

Per-object errors (unknown kind, rejected) become failed results; an unreachable apiserver
(``ApiUnavailable``) aborts the sync.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from conveyor.adapters.kube import KubeClient, NotFound, Rejected, UnknownKind
from conveyor.core.sync.drift import FieldChange, diff_objects, redacted
from conveyor.core.sync.inventory import (
    Inventory,
    InventoryEntry,
    fields_fingerprint,
    prune_allowed,
)
from conveyor.core.sync.objects import SYNC_LABEL, Manifest, ObjectRef, body_hash
from conveyor.core.sync.ordering import stage_of
from conveyor.core.sync.record import Action, ObjectResult, SyncFailure

MISSING = FieldChange("(object)", "exists", "missing")


@dataclass(frozen=True)
class ObjectOutcome:
    """One object's result, and the inventory entry to record for it (None: keep the old one)."""

    result: ObjectResult
    entry: InventoryEntry | None = None
    failure: SyncFailure | None = None


async def live_metadata(
    kube: KubeClient, manifests: Iterable[Manifest], *, sync_name: str
) -> dict[str, dict[str, Any]]:
    """Metadata of the live objects this sync labelled, for the kinds in ``manifests``."""
    kinds = sorted({(m.ref.api_version, m.ref.kind) for m in manifests})

    async def one_kind(api_version: str, kind: str) -> list[tuple[str, dict[str, Any]]]:
        try:
            items = await kube.list(
                api_version, kind, label_selector=f"{SYNC_LABEL}={sync_name}", metadata_only=True
            )
        except (UnknownKind, Rejected):
            return []  # each apply of this kind reports why
        refs = (
            ObjectRef(
                api_version, kind, (i["metadata"].get("namespace") or ""), i["metadata"]["name"]
            )
            for i in items
        )
        return [(ref.key(), item) for ref, item in zip(refs, items, strict=True)]

    found: dict[str, dict[str, Any]] = {}
    for pairs in await asyncio.gather(*(one_kind(v, k) for v, k in kinds)):
        found.update(pairs)
    return found


async def apply_stage(
    kube: KubeClient,
    manifests: Sequence[Manifest],
    *,
    inventory: Inventory,
    sync_name: str,
    dry_run: bool,
    limit: asyncio.Semaphore,
    new_namespaces: frozenset[str] = frozenset(),
) -> list[ObjectOutcome]:
    """``new_namespaces``: on dry-run, namespaces this sync would create (and so cannot
    validate objects in yet)."""
    live = await live_metadata(kube, manifests, sync_name=sync_name)

    async def bounded(manifest: Manifest) -> ObjectOutcome:
        async with limit:
            try:
                return await _sync_object(
                    kube, manifest, entry=inventory.get(manifest.ref),
                    live=live.get(manifest.ref.key()), dry_run=dry_run,
                    new_namespaces=new_namespaces,
                )  # fmt: skip
            except (UnknownKind, Rejected) as e:
                return failed(manifest, str(e))

    return list(await asyncio.gather(*(bounded(m) for m in manifests)))


def failed(manifest: Manifest, reason: str) -> ObjectOutcome:
    source = manifest.source
    return ObjectOutcome(
        result=ObjectResult(
            manifest.ref, Action.FAILED, source.file, source.document, reason=reason
        ),
        failure=SyncFailure(source.file, source.document, reason, object=str(manifest.ref)),
    )


async def _sync_object(
    kube: KubeClient,
    manifest: Manifest,
    *,
    entry: InventoryEntry | None,
    live: dict[str, Any] | None,
    dry_run: bool,
    new_namespaces: frozenset[str],
) -> ObjectOutcome:
    ref, source = manifest.ref, manifest.source
    desired = body_hash(manifest.body)

    def outcome(
        action: Action, *, reason: str = "", drift: tuple[FieldChange, ...] = (), fields: str = ""
    ) -> ObjectOutcome:
        result = ObjectResult(ref, action, source.file, source.document, reason=reason, drift=drift)
        new_entry = InventoryEntry(ref, desired, fields) if fields else None
        return ObjectOutcome(result, new_entry)

    if entry is not None and entry.desired == desired:
        if live is not None and entry.fields and entry.fields == fields_fingerprint(live):
            return outcome(Action.UNCHANGED)
        drift, live_fields = await _drift(kube, manifest, present=live is not None)
        if not drift:
            # The field set moved without changing a value (e.g. a no-op update): re-baseline.
            return outcome(Action.UNCHANGED, fields=live_fields or entry.fields)
        if not manifest.self_heal:
            return outcome(Action.DRIFTED, reason="self-heal disabled: drift left", drift=drift)
        if dry_run:
            return outcome(Action.CONFIGURED, reason="would revert drift", drift=drift)
        applied = await kube.apply(manifest.body)
        action = Action.CREATED if drift == (MISSING,) else Action.CONFIGURED
        return outcome(
            action, reason="drift reverted", drift=drift, fields=fields_fingerprint(applied)
        )

    if dry_run and ref.namespace in new_namespaces:
        result = ObjectResult(ref, Action.CREATED, source.file, source.document)
        return ObjectOutcome(replace(result, reason="would create, with its namespace"))
    if dry_run:
        return await _dry_run(kube, manifest)
    applied = await kube.apply(manifest.body)
    fields = fields_fingerprint(applied)
    if live is None:  # nothing carrying this sync's label was there
        return outcome(Action.CREATED, fields=fields)
    return outcome(Action.CONFIGURED, reason="changed in the repo", fields=fields)


async def _drift(
    kube: KubeClient, manifest: Manifest, *, present: bool
) -> tuple[tuple[FieldChange, ...], str]:
    """How the live object differs from what applying the manifest would make of it."""
    ref = manifest.ref
    current = await kube.get_or_none(ref.api_version, ref.kind, ref.name, namespace=ref.namespace)
    if current is None:
        return (MISSING,), ""
    expected = await kube.apply(manifest.body, dry_run=True)
    return _diff(manifest, expected, current), fields_fingerprint(current)


def _diff(
    manifest: Manifest, expected: dict[str, Any], live: dict[str, Any]
) -> tuple[FieldChange, ...]:
    changes = diff_objects(expected, live, subset=False)
    return redacted(changes) if manifest.ref.kind == "Secret" else changes


async def _dry_run(kube: KubeClient, manifest: Manifest) -> ObjectOutcome:
    ref, source = manifest.ref, manifest.source
    current = await kube.get_or_none(ref.api_version, ref.kind, ref.name, namespace=ref.namespace)
    expected = await kube.apply(manifest.body, dry_run=True)  # also validates the object
    if current is None:
        result = ObjectResult(ref, Action.CREATED, source.file, source.document, "would create")
        return ObjectOutcome(result)
    changes = _diff(manifest, expected, current)
    action = Action.CONFIGURED if changes else Action.UNCHANGED
    reason = "would change" if changes else ""
    result = ObjectResult(ref, action, source.file, source.document, reason, drift=changes)
    return ObjectOutcome(result)


async def prune(
    kube: KubeClient, refs: Sequence[ObjectRef], *, dry_run: bool, limit: asyncio.Semaphore
) -> list[ObjectOutcome]:
    """Delete ``refs`` (already in delete order), one stage at a time, checking each live
    object first (see ``prune_allowed``). Failed ones stay in the inventory, to be retried."""
    outcomes: list[ObjectOutcome] = []
    stages = sorted({stage_of(ref) for ref in refs}, reverse=True)
    for stage in stages:
        batch = [ref for ref in refs if stage_of(ref) == stage]

        async def bounded(ref: ObjectRef) -> ObjectOutcome:
            async with limit:
                return await _prune_one(kube, ref, dry_run=dry_run)

        outcomes += await asyncio.gather(*(bounded(ref) for ref in batch))
    return outcomes


async def _prune_one(kube: KubeClient, ref: ObjectRef, *, dry_run: bool) -> ObjectOutcome:
    try:
        live = await kube.get_or_none(ref.api_version, ref.kind, ref.name, namespace=ref.namespace)
    except UnknownKind:
        live = None  # its kind is gone (CRD deleted), and the object with it
    if live is None:
        return ObjectOutcome(ObjectResult(ref, Action.PRUNED, reason="already gone"))
    refusal = prune_allowed(live)
    if refusal is not None:
        return ObjectOutcome(ObjectResult(ref, Action.KEPT, reason=refusal))
    if dry_run:
        return ObjectOutcome(ObjectResult(ref, Action.PRUNED, reason="would prune"))
    try:
        await kube.delete(ref.api_version, ref.kind, ref.name, namespace=ref.namespace)
    except NotFound:
        pass
    except Rejected as e:
        reason = f"prune failed: {e}"
        failure = SyncFailure("", -1, reason, object=str(ref))
        return ObjectOutcome(ObjectResult(ref, Action.FAILED, reason=reason), failure=failure)
    return ObjectOutcome(ObjectResult(ref, Action.PRUNED, reason="left the repo"))
