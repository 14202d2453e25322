"""Plain data shared by the sync engine: object references, manifests, and load problems."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

# Annotations and labels conveyor reads from (or writes onto) the objects it syncs.
IGNORE_ANNOTATIONS = ("conveyor.dev/ignore", "fluxcd.io/ignore")
PRUNE_ANNOTATION = "conveyor.dev/prune"
SELF_HEAL_ANNOTATION = "conveyor.dev/self-heal"
SYNC_LABEL = "conveyor.dev/sync"
DISABLED = "disabled"


@dataclass(frozen=True, order=True)
class ObjectRef:
    """Names one Kubernetes object; ``namespace`` is "" for cluster-scoped objects."""

    api_version: str
    kind: str
    namespace: str
    name: str

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def group_kind(self) -> str:
        return f"{self.kind}.{self.group}" if self.group else self.kind

    def with_namespace(self, namespace: str) -> ObjectRef:
        return ObjectRef(self.api_version, self.kind, namespace, self.name)

    def key(self) -> str:
        """A stable text key (group/kind/namespace/name); the version is left out on purpose,
        because the same object is reachable under every served version."""
        return f"{self.group}/{self.kind}/{self.namespace}/{self.name}"

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.group_kind} {where}{self.name}"


@dataclass(frozen=True)
class Source:
    """Where a manifest came from: a file path (relative to the synced tree) and a document index
    (0-based, counting every ``---`` separated document in the file)."""

    file: str
    document: int

    def __str__(self) -> str:
        return f"{self.file} (document {self.document})"


@dataclass(frozen=True)
class Manifest:
    """One desired object, as found in the repo."""

    ref: ObjectRef
    body: dict[str, Any] = field(compare=False, repr=False)
    source: Source

    @property
    def annotations(self) -> dict[str, str]:
        metadata = self.body.get("metadata") or {}
        found = metadata.get("annotations") or {}
        return {str(k): str(v) for k, v in found.items()}

    @property
    def self_heal(self) -> bool:
        return self.annotations.get(SELF_HEAL_ANNOTATION, "") != DISABLED


@dataclass(frozen=True)
class LoadProblem:
    """A document that could not become a manifest, and why."""

    source: Source
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: {self.reason}"


def ref_of(body: dict[str, Any]) -> ObjectRef:
    """The reference of a well-formed object body (one that passed loading)."""
    metadata = body["metadata"]
    return ObjectRef(
        api_version=str(body["apiVersion"]),
        kind=str(body["kind"]),
        namespace=str(metadata.get("namespace") or ""),
        name=str(metadata["name"]),
    )


def body_hash(body: dict[str, Any]) -> str:
    """A digest of an object body that ignores key order: equal digests mean equal bodies."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]
