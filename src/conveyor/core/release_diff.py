"""The live side of a release: what the cluster runs, and how a plan differs from it.

A dry run shows, per container it would change, three images: what the repo says, what the
cluster runs (the live object's pod template; it may differ after an out-of-band ``kubectl set
image``), and what the release would set. Also: the container images of any live workload,
for ``list-workloads``, and the health verdicts of a release's workloads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from conveyor.core.release import LiveDiff, LocatedWorkload, WorkloadHealth
from conveyor.core.release_plan import PlannedEdit
from conveyor.core.sync.health import Health
from conveyor.core.sync.objects import ObjectRef
from conveyor.core.workloads import POD_SPEC_PATHS

__all__ = ["live_container_images", "live_diff", "object_ref", "workload_health"]


def live_container_images(live: Mapping[str, Any] | None) -> dict[str, str] | None:
    """container name -> image of a live workload (initContainers too); None when absent."""
    if live is None:
        return None
    spec: Any = live
    for key in POD_SPEC_PATHS.get(str(live.get("kind")), ()):
        spec = spec.get(key) if isinstance(spec, Mapping) else None
    if not isinstance(spec, Mapping):
        return {}
    images: dict[str, str] = {}
    for field in ("initContainers", "containers"):
        for container in spec.get(field) or []:
            if isinstance(container, Mapping) and container.get("name") and container.get("image"):
                images[str(container["name"])] = str(container["image"])
    return images


def live_diff(
    edits: Sequence[PlannedEdit], live: Mapping[str, Mapping[str, str] | None]
) -> tuple[LiveDiff, ...]:
    """One entry per planned edit; ``live`` maps workload ids to their live images."""
    return tuple(
        LiveDiff(
            workload_id=edit.workload_id,
            container=edit.container,
            repo_image=edit.old_image,
            live_image=(live.get(edit.workload_id) or {}).get(edit.container),
            planned_image=edit.new_image,
        )
        for edit in edits
    )


def object_ref(located: LocatedWorkload, *, default_namespace: str) -> ObjectRef:
    """The workload's object in the cluster (its namespace, or the sync's default)."""
    workload = located.workload
    return ObjectRef(
        workload.api_version, workload.kind, workload.namespace or default_namespace, workload.name
    )


def workload_health(
    refs: Mapping[str, ObjectRef], verdicts: Mapping[str, Health]
) -> tuple[WorkloadHealth, ...]:
    """Health per workload id, from verdicts keyed by ``ObjectRef.key()``; no verdict: Missing."""
    found = []
    for workload_id, ref in refs.items():
        health = verdicts.get(ref.key())
        status, reason = (
            (str(health.status), health.reason) if health else ("Missing", "not checked")
        )
        found.append(WorkloadHealth(workload_id, status, reason))
    return tuple(found)
