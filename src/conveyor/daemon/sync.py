"""One sync: a checked-out tree at a revision -> the cluster.

The steps, in order:

1. read the manifest files under the synced paths (kustomize directories built) and load them
   (pure core): documents that are not objects become failures naming file and document;
2. read the inventory and marker this sync recorded last time (``sync_state``);
3. stage by stage (namespaces and CRDs, config, workloads, custom resources): resolve each kind
   through discovery (fixing up namespaces), record new objects in the inventory *before*
   creating them, then apply with bounded concurrency (``sync_apply``); after the first stage,
   wait for new CRDs to be Established;
4. prune what the inventory holds and the repo no longer does (skipped when some file could not
   be read, since its objects would look removed);
5. wait (with a deadline) for the workloads to become healthy (``sync_health``);
6. record the new inventory and the marker in one write.

``ApiUnavailable`` from any step aborts the sync with the previous marker still in place.

``record_refusal`` is the other way a sync ends: the revision is not applied at all (its commit
signature is not trusted) and only the marker changes, saying why; the inventory is kept as is.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from conveyor.adapters.kube import KubeClient, Rejected, UnknownKind, WaitTimeout
from conveyor.core.sync.inventory import InventoryEntry, plan_prune
from conveyor.core.sync.loading import load_manifests
from conveyor.core.sync.objects import SYNC_LABEL, Manifest, ObjectRef
from conveyor.core.sync.ordering import Stage, order_into_stages
from conveyor.core.sync.record import (
    Action,
    ObjectResult,
    SyncFailure,
    SyncMarker,
    outcome_of,
)
from conveyor.core.sync.refusal import refused_marker
from conveyor.daemon.sync_apply import ObjectOutcome, apply_stage, failed, prune
from conveyor.daemon.sync_files import read_manifest_texts
from conveyor.daemon.sync_health import wait_for_health
from conveyor.daemon.sync_state import read_state, write_state

_SYNC_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$")


@dataclass(frozen=True)
class SyncSource:
    """A checked-out tree, the revision it holds, and the paths in it to sync."""

    directory: Path
    revision: str
    paths: tuple[str, ...] = (".",)


@dataclass(frozen=True)
class SyncSettings:
    """How to sync. ``name`` keys the inventory: two syncs with different names never prune
    each other's objects. ``health_timeout`` 0 skips waiting for health."""

    name: str = "default"
    prune: bool = True
    dry_run: bool = False
    health_timeout: float = 120.0
    crd_timeout: float = 60.0
    concurrency: int = 24
    default_namespace: str = "default"
    kustomize: Path | None = None

    def __post_init__(self) -> None:
        if not _SYNC_NAME.match(self.name):
            raise ValueError(
                f"sync name {self.name!r}: use 1-40 lowercase letters, digits and dashes"
            )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


async def read_status(kube: KubeClient, name: str = "default") -> SyncMarker | None:
    """The marker of the last sync called ``name`` (None when it never ran)."""
    return (await read_state(kube, name)).marker


async def sync_once(
    kube: KubeClient,
    source: SyncSource,
    settings: SyncSettings | None = None,
    *,
    clock: Callable[[], str] = _now,
) -> SyncMarker:
    """Run one sync and return its marker (also recorded in the cluster unless dry-run)."""
    settings = settings or SyncSettings()
    files = await read_manifest_texts(
        source.directory, source.paths, kustomize_binary=settings.kustomize
    )
    loaded = load_manifests(files.texts)
    unreadable = files.problems + loaded.problems
    failures = [SyncFailure(p.source.file, p.source.document, p.reason) for p in unreadable]
    state = await read_state(kube, settings.name)
    inventory = state.inventory
    results: list[ObjectResult] = []
    desired: set[ObjectRef] = set()
    limit = asyncio.Semaphore(settings.concurrency)
    defined_kinds = _kinds_defined_by_crds(loaded.manifests)
    new_namespaces: set[str] = set()

    for stage, manifests in order_into_stages(loaded.manifests):
        resolved, unresolved = await _resolve(kube, manifests, settings)
        desired.update(m.ref for m in resolved)
        for manifest, reason in unresolved:
            desired.update(_possible_refs(manifest.ref, settings.default_namespace))
            if settings.dry_run and (manifest.ref.group, manifest.ref.kind) in defined_kinds:
                results.append(_would_create_with_crd(manifest))
            else:
                _collect(failed(manifest, reason), results, failures)
        new = [InventoryEntry(m.ref) for m in resolved if m.ref not in inventory]
        if new and not settings.dry_run:
            inventory = inventory.merged(new)
            await write_state(kube, settings.name, inventory=inventory, marker=state.marker)
        outcomes = await apply_stage(
            kube, resolved, inventory=inventory, sync_name=settings.name,
            dry_run=settings.dry_run, limit=limit, new_namespaces=frozenset(new_namespaces),
        )  # fmt: skip
        if stage is Stage.FOUNDATION and not settings.dry_run:
            outcomes = await _wait_for_crds(kube, resolved, outcomes, settings.crd_timeout)
        for outcome in outcomes:
            if outcome.result.ref.kind == "Namespace" and outcome.result.action is Action.CREATED:
                new_namespaces.add(outcome.result.ref.name)
            _collect(outcome, results, failures)
            if outcome.entry is not None:
                inventory = inventory.merged([outcome.entry])

    ignored = [r for ref in loaded.ignored for r in _possible_refs(ref, settings.default_namespace)]
    leaving = plan_prune(inventory, desired, kept=ignored)
    inventory = inventory.without(ignored)
    if leaving and (unreadable or not settings.prune):
        why = "pruning is off" if not settings.prune else "pruning skipped: some files failed"
        results += [ObjectResult(ref, Action.KEPT, reason=why) for ref in leaving]
    elif leaving:
        for outcome in await prune(kube, leaving, dry_run=settings.dry_run, limit=limit):
            _collect(outcome, results, failures)
            if outcome.result.action is not Action.FAILED:
                inventory = inventory.without([outcome.result.ref])

    if settings.health_timeout > 0 and not settings.dry_run:
        results = await _with_health(kube, results, settings)
    marker = SyncMarker(
        name=settings.name,
        revision=source.revision,
        time=clock(),
        outcome=outcome_of(tuple(results), tuple(failures)),
        results=tuple(results),
        failures=tuple(failures),
        dry_run=settings.dry_run,
    )
    if not settings.dry_run:
        await write_state(kube, settings.name, inventory=inventory, marker=marker)
    return marker


async def record_refusal(
    kube: KubeClient,
    revision: str,
    settings: SyncSettings | None = None,
    *,
    status: str,
    detail: str,
    signer: str = "",
    clock: Callable[[], str] = _now,
) -> SyncMarker:
    """Record that ``revision`` was refused (nothing applied) and return that marker.

    Nothing is written on a dry run. The inventory is written back unchanged: the write replaces
    the whole state object, and the objects of the revision still running must stay prunable.
    """
    settings = settings or SyncSettings()
    state = await read_state(kube, settings.name)
    marker = refused_marker(
        state.marker,
        name=settings.name,
        revision=revision,
        time=clock(),
        status=status,
        detail=detail,
        signer=signer,
        dry_run=settings.dry_run,
    )
    if not settings.dry_run:
        await write_state(kube, settings.name, inventory=state.inventory, marker=marker)
    return marker


def _collect(
    outcome: ObjectOutcome, results: list[ObjectResult], failures: list[SyncFailure]
) -> None:
    results.append(outcome.result)
    if outcome.failure is not None:
        failures.append(outcome.failure)


async def _resolve(
    kube: KubeClient, manifests: Iterable[Manifest], settings: SyncSettings
) -> tuple[list[Manifest], list[tuple[Manifest, str]]]:
    """Manifests with their namespace settled by discovery (default for namespaced kinds,
    none for cluster-scoped ones) and the sync label added; and those whose kind is unknown."""
    resolved: list[Manifest] = []
    unresolved: list[tuple[Manifest, str]] = []
    for manifest in manifests:
        ref = manifest.ref
        try:
            info = await kube.resource_for(ref.api_version, ref.kind)
        except UnknownKind as e:
            unresolved.append((manifest, str(e)))
            continue
        namespace = (ref.namespace or settings.default_namespace) if info.namespaced else ""
        metadata = dict(manifest.body["metadata"])
        metadata["labels"] = {**(metadata.get("labels") or {}), SYNC_LABEL: settings.name}
        if namespace:
            metadata["namespace"] = namespace
        else:
            metadata.pop("namespace", None)
        body = {**manifest.body, "metadata": metadata}
        resolved.append(replace(manifest, ref=ref.with_namespace(namespace), body=body))
    return resolved, unresolved


def _possible_refs(ref: ObjectRef, default_namespace: str) -> list[ObjectRef]:
    """Without discovery the scope is unknown: an object without a namespace may be
    cluster-scoped or in the default namespace. Both count, so neither is pruned by mistake."""
    if ref.namespace:
        return [ref]
    return [ref, ref.with_namespace(default_namespace)]


def _kinds_defined_by_crds(manifests: Iterable[Manifest]) -> set[tuple[str, str]]:
    kinds: set[tuple[str, str]] = set()
    for manifest in manifests:
        if (manifest.ref.group, manifest.ref.kind) == (
            "apiextensions.k8s.io",
            "CustomResourceDefinition",
        ):
            spec = manifest.body.get("spec") or {}
            kinds.add((str(spec.get("group")), str((spec.get("names") or {}).get("kind"))))
    return kinds


def _would_create_with_crd(manifest: Manifest) -> ObjectResult:
    source = manifest.source
    reason = "would create, once its CustomResourceDefinition (in this sync) exists"
    return ObjectResult(manifest.ref, Action.CREATED, source.file, source.document, reason)


async def _wait_for_crds(
    kube: KubeClient, manifests: list[Manifest], outcomes: list[ObjectOutcome], timeout: float
) -> list[ObjectOutcome]:
    by_ref = {m.ref: m for m in manifests}

    async def settle(outcome: ObjectOutcome) -> ObjectOutcome:
        ref = outcome.result.ref
        if ref.kind != "CustomResourceDefinition" or outcome.result.action in (
            Action.FAILED,
            Action.UNCHANGED,
            Action.DRIFTED,
        ):
            return outcome
        try:
            await kube.wait_established(ref.name, timeout=timeout)
        except (WaitTimeout, Rejected) as e:
            return failed(by_ref[ref], str(e))
        return outcome

    return list(await asyncio.gather(*(settle(o) for o in outcomes)))


async def _with_health(
    kube: KubeClient, results: list[ObjectResult], settings: SyncSettings
) -> list[ObjectResult]:
    live = [r.ref for r in results if r.action not in (Action.FAILED, Action.PRUNED, Action.KEPT)]
    health = await wait_for_health(
        kube, live, sync_name=settings.name, timeout=settings.health_timeout
    )
    return [
        replace(r, health=str(h.status), health_reason=h.reason)
        if (h := health.get(r.ref.key())) is not None
        else r
        for r in results
    ]
