"""What a sync did: per-object results, failures, and the sync marker recorded in the cluster.

The marker is plain data with a JSON form (``to_data``/``from_data``), so the same record serves
the cluster (where a restarted daemon and ``conveyor status`` read it) and ``-o json|yaml``.
A sync whose revision was refused (its commit signature is not trusted) records outcome
``refused`` and a ``refusal`` entry; markers written before refusals existed read unchanged.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from conveyor.core.sync.drift import FieldChange
from conveyor.core.sync.objects import ObjectRef


class Action(enum.StrEnum):
    CREATED = "created"
    CONFIGURED = "configured"  # changed in the repo, or drifted and healed
    UNCHANGED = "unchanged"
    DRIFTED = "drifted"  # differs from the repo, left alone (self-heal disabled)
    PRUNED = "pruned"
    KEPT = "kept"  # left the repo but not pruned (pruning off, or annotated)
    FAILED = "failed"


class Outcome(enum.StrEnum):
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"  # some objects failed, the rest were applied
    FAILED = "failed"  # nothing could be applied
    REFUSED = "refused"  # the revision was not applied at all: its signature is not trusted


@dataclass(frozen=True)
class ObjectResult:
    ref: ObjectRef
    action: Action
    file: str = ""
    document: int = -1
    reason: str = ""
    health: str = ""
    health_reason: str = ""
    drift: tuple[FieldChange, ...] = ()


@dataclass(frozen=True)
class SyncFailure:
    """Something that could not be applied: the file and document it came from, the object when
    one was identified, and the reason."""

    file: str
    document: int
    reason: str
    object: str = ""

    def __str__(self) -> str:
        what = f" {self.object}" if self.object else ""
        return f"{self.file} (document {self.document}){what}: {self.reason}"


@dataclass(frozen=True)
class Refusal:
    """Why a revision was not applied: the signature ``status`` (``unsigned`` or ``bad``), the
    ``signer`` when one was identified, the verifier's ``detail``, and ``applied_revision``, the
    revision the cluster still runs (empty when nothing was ever applied)."""

    status: str
    detail: str
    signer: str = ""
    applied_revision: str = ""

    def __str__(self) -> str:
        by = f" (signer {self.signer})" if self.signer else ""
        return f"signature {self.status}{by}: {self.detail}"


@dataclass(frozen=True)
class SyncMarker:
    name: str
    revision: str
    time: str
    outcome: Outcome
    results: tuple[ObjectResult, ...] = ()
    failures: tuple[SyncFailure, ...] = ()
    dry_run: bool = False
    counts: Mapping[str, int] = field(default_factory=dict)
    refusal: Refusal | None = None

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "revision": self.revision,
            "time": self.time,
            "outcome": str(self.outcome),
            "dryRun": self.dry_run,
            "counts": dict(self.counts) or count_actions(self.results),
            "failures": [
                {"file": f.file, "document": f.document, "object": f.object, "reason": f.reason}
                for f in self.failures
            ],
            "objects": [_result_to_data(r) for r in self.results],
        }
        if self.refusal is not None:  # only when set, so older readers see the format they know
            data["refusal"] = {
                "status": self.refusal.status,
                "signer": self.refusal.signer,
                "detail": self.refusal.detail,
                "appliedRevision": self.refusal.applied_revision,
            }
        return data

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> SyncMarker:
        return cls(
            name=data["name"],
            revision=data["revision"],
            time=data["time"],
            outcome=Outcome(data["outcome"]),
            dry_run=bool(data.get("dryRun", False)),
            counts=dict(data.get("counts") or {}),
            failures=tuple(
                SyncFailure(f["file"], int(f["document"]), f["reason"], f.get("object", ""))
                for f in data.get("failures") or []
            ),
            results=tuple(_result_from_data(r) for r in data.get("objects") or []),
            refusal=_refusal_from_data(data.get("refusal")),
        )


def count_actions(results: tuple[ObjectResult, ...]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for result in results:
        counts[str(result.action)] = counts.get(str(result.action), 0) + 1
    return dict(sorted(counts.items()))


def outcome_of(results: tuple[ObjectResult, ...], failures: tuple[SyncFailure, ...]) -> Outcome:
    if not failures:
        return Outcome.SUCCEEDED
    applied = any(r.action not in (Action.FAILED, Action.KEPT) for r in results)
    return Outcome.PARTIAL if applied else Outcome.FAILED


def _refusal_from_data(data: Mapping[str, Any] | None) -> Refusal | None:
    if not data:
        return None
    return Refusal(
        status=data["status"],
        detail=data.get("detail", ""),
        signer=data.get("signer") or "",
        applied_revision=data.get("appliedRevision") or "",
    )


def _result_to_data(result: ObjectResult) -> dict[str, Any]:
    data: dict[str, Any] = {
        "apiVersion": result.ref.api_version,
        "kind": result.ref.kind,
        "namespace": result.ref.namespace,
        "name": result.ref.name,
        "action": str(result.action),
    }
    if result.file:
        data["file"], data["document"] = result.file, result.document
    for key, value in (
        ("reason", result.reason),
        ("health", result.health),
        ("healthReason", result.health_reason),
    ):
        if value:
            data[key] = value
    if result.drift:
        data["drift"] = [
            {"path": c.path, "desired": c.desired, "live": c.live} for c in result.drift
        ]
    return data


def _result_from_data(data: Mapping[str, Any]) -> ObjectResult:
    return ObjectResult(
        ref=ObjectRef(data["apiVersion"], data["kind"], data["namespace"], data["name"]),
        action=Action(data["action"]),
        file=data.get("file", ""),
        document=int(data.get("document", -1)),
        reason=data.get("reason", ""),
        health=data.get("health", ""),
        health_reason=data.get("healthReason", ""),
        drift=tuple(
            FieldChange(c["path"], c.get("desired"), c.get("live")) for c in data.get("drift") or []
        ),
    )
