"""Dependency order: which objects must exist before which.

Four stages, applied one after the other (objects within a stage are independent):

1. ``FOUNDATION``: Namespaces and CustomResourceDefinitions (and the few cluster-wide kinds other
   objects refer to by name, such as PriorityClass and StorageClass);
2. ``CONFIG``: RBAC, ServiceAccounts, ConfigMaps, Secrets, Services, volumes, policies: what
   workloads mount, reference or sit behind;
3. ``WORKLOADS``: Deployments, StatefulSets, DaemonSets, Jobs, CronJobs, Pods, and what points
   at workloads (autoscalers, ingresses);
4. ``CUSTOM``: custom resources, whose definitions (stage 1) must be Established first.

Pruning walks the stages backwards, so a namespace goes after what is in it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from conveyor.core.sync.objects import Manifest, ObjectRef


class Stage(enum.IntEnum):
    FOUNDATION = 0
    CONFIG = 1
    WORKLOADS = 2
    CUSTOM = 3


_FOUNDATION_KINDS = {
    ("", "Namespace"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("scheduling.k8s.io", "PriorityClass"),
    ("storage.k8s.io", "StorageClass"),
    ("node.k8s.io", "RuntimeClass"),
}
_WORKLOAD_KINDS = {
    ("apps", "Deployment"),
    ("apps", "StatefulSet"),
    ("apps", "DaemonSet"),
    ("apps", "ReplicaSet"),
    ("batch", "Job"),
    ("batch", "CronJob"),
    ("", "Pod"),
    ("", "ReplicationController"),
    ("autoscaling", "HorizontalPodAutoscaler"),
    ("networking.k8s.io", "Ingress"),
    ("policy", "PodDisruptionBudget"),
}
# Groups served by Kubernetes itself; kinds in any other group are custom resources.
_BUILTIN_GROUPS = {
    "",
    "apps",
    "batch",
    "autoscaling",
    "policy",
    "extensions",
}


def is_builtin_group(group: str) -> bool:
    return group in _BUILTIN_GROUPS or group.endswith(".k8s.io")


def stage_of(ref: ObjectRef) -> Stage:
    group_kind = (ref.group, ref.kind)
    if group_kind in _FOUNDATION_KINDS:
        return Stage.FOUNDATION
    if group_kind in _WORKLOAD_KINDS:
        return Stage.WORKLOADS
    if is_builtin_group(ref.group):
        return Stage.CONFIG
    return Stage.CUSTOM


def order_into_stages(manifests: Iterable[Manifest]) -> list[tuple[Stage, tuple[Manifest, ...]]]:
    """The non-empty stages in apply order; the original order is kept within a stage."""
    buckets: dict[Stage, list[Manifest]] = {stage: [] for stage in Stage}
    for manifest in manifests:
        buckets[stage_of(manifest.ref)].append(manifest)
    return [(stage, tuple(items)) for stage, items in buckets.items() if items]


def prune_order(refs: Iterable[ObjectRef]) -> list[ObjectRef]:
    """Refs in delete order: custom resources first, namespaces and definitions last."""
    return sorted(refs, key=lambda ref: (-stage_of(ref), ref))
