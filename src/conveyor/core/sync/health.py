"""Health of a live object from its status, with a reason a person can act on.

Rules follow kstatus (the status library Flux and kubectl use): a workload is healthy once the
controller observed the latest spec and every replica is updated and available; a Job once it
completed; a CustomResourceDefinition once Established. A ``Ready`` condition is honoured on any
kind; objects with nothing to wait for are healthy as soon as they exist.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class HealthStatus(enum.StrEnum):
    HEALTHY = "Healthy"
    PROGRESSING = "Progressing"
    FAILED = "Failed"
    MISSING = "Missing"


@dataclass(frozen=True)
class Health:
    status: HealthStatus
    reason: str

    @property
    def settled(self) -> bool:
        """True when waiting longer will not change the verdict by itself."""
        return self.status in (HealthStatus.HEALTHY, HealthStatus.FAILED)


def _healthy(reason: str) -> Health:
    return Health(HealthStatus.HEALTHY, reason)


def _progressing(reason: str) -> Health:
    return Health(HealthStatus.PROGRESSING, reason)


def _conditions(status: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {str(c.get("type")): c for c in status.get("conditions") or [] if isinstance(c, Mapping)}


def _int(status: Mapping[str, Any], key: str) -> int:
    value = status.get(key)
    return value if isinstance(value, int) else 0


def evaluate_health(live: Mapping[str, Any] | None) -> Health:
    """The health of ``live`` (None: the object does not exist)."""
    if live is None:
        return Health(HealthStatus.MISSING, "the object does not exist")
    kind = live.get("kind")
    status = live.get("status") or {}
    metadata = live.get("metadata") or {}
    if metadata.get("deletionTimestamp"):
        return _progressing("being deleted")
    generation = metadata.get("generation")
    observed = status.get("observedGeneration")
    stale = not isinstance(observed, int) or observed < (generation or 0)
    if kind in _GENERATION_TRACKED and isinstance(generation, int) and stale:
        return _progressing(f"waiting for the controller to observe generation {generation}")
    rule = _WORKLOAD_RULES.get(str(kind))
    if rule is not None:
        return rule(live.get("spec") or {}, status)
    return _generic(status)


def _deployment(spec: Mapping[str, Any], status: Mapping[str, Any]) -> Health:
    conditions = _conditions(status)
    progressing = conditions.get("Progressing", {})
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        return Health(HealthStatus.FAILED, f"rollout stuck: {progressing.get('message', '')}")
    wanted = spec.get("replicas", 1)
    updated, total = _int(status, "updatedReplicas"), _int(status, "replicas")
    available = _int(status, "availableReplicas")
    if updated < wanted:
        return _progressing(f"{updated} of {wanted} replicas updated")
    if total > updated:
        return _progressing(f"{total - updated} old replicas pending termination")
    if available < updated:
        return _progressing(f"{available} of {updated} updated replicas available")
    return _healthy(f"{available} of {wanted} replicas available")


def _statefulset(spec: Mapping[str, Any], status: Mapping[str, Any]) -> Health:
    wanted = spec.get("replicas", 1)
    ready, current = _int(status, "readyReplicas"), _int(status, "currentReplicas")
    if (spec.get("updateStrategy") or {}).get("type") == "OnDelete":
        return _healthy("updateStrategy OnDelete: pods are replaced by hand")
    if ready < wanted:
        return _progressing(f"{ready} of {wanted} replicas ready")
    if status.get("updateRevision") and status.get("currentRevision") != status.get(
        "updateRevision"
    ):
        updated = _int(status, "updatedReplicas")
        return _progressing(f"{updated} of {wanted} replicas at the new revision")
    if current < wanted and not status.get("updateRevision"):
        return _progressing(f"{current} of {wanted} replicas current")
    return _healthy(f"{ready} of {wanted} replicas ready")


def _daemonset(spec: Mapping[str, Any], status: Mapping[str, Any]) -> Health:
    desired = _int(status, "desiredNumberScheduled")
    updated = _int(status, "updatedNumberScheduled")
    available = _int(status, "numberAvailable")
    if updated < desired:
        return _progressing(f"{updated} of {desired} nodes updated")
    if available < desired:
        return _progressing(f"{available} of {desired} nodes available")
    return _healthy(f"{available} of {desired} nodes available")


def _job(spec: Mapping[str, Any], status: Mapping[str, Any]) -> Health:
    conditions = _conditions(status)
    for failed in ("Failed", "FailureTarget"):
        if conditions.get(failed, {}).get("status") == "True":
            message = conditions[failed].get("message") or conditions[failed].get("reason", "")
            return Health(HealthStatus.FAILED, f"job failed: {message}")
    if conditions.get("Complete", {}).get("status") == "True":
        return _healthy(f"completed ({_int(status, 'succeeded')} succeeded)")
    if spec.get("suspend"):
        return _healthy("suspended")
    return _progressing(f"running ({_int(status, 'active')} active)")


def _crd(spec: Mapping[str, Any], status: Mapping[str, Any]) -> Health:
    established = _conditions(status).get("Established", {})
    if established.get("status") == "True":
        return _healthy("established")
    return _progressing("waiting for the definition to be Established")


_GENERATION_TRACKED = frozenset({"Deployment", "StatefulSet", "DaemonSet"})
_WORKLOAD_RULES = {
    "Deployment": _deployment,
    "StatefulSet": _statefulset,
    "DaemonSet": _daemonset,
    "Job": _job,
    "CustomResourceDefinition": _crd,
}


def _generic(status: Mapping[str, Any]) -> Health:
    ready = _conditions(status).get("Ready")
    if ready is None:
        phase = status.get("phase")
        if phase == "Failed":
            return Health(HealthStatus.FAILED, "phase Failed")
        if phase == "Pending":
            return _progressing("phase Pending")
        return _healthy("exists" if not phase else f"phase {phase}")
    message = ready.get("message") or ready.get("reason") or ""
    if ready.get("status") == "True":
        return _healthy("ready")
    if ready.get("reason") in ("Failed", "Error"):
        return Health(HealthStatus.FAILED, f"not ready: {message}")
    return _progressing(f"not ready yet: {message}".rstrip(": "))
