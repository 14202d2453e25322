"""The kube adapter: the only module that talks to the Kubernetes API.

``KubeClient.connect(kubeconfig)`` gives a client that resolves any ``apiVersion``/``kind``
through discovery and offers server-side apply (field manager ``conveyor``, forced, optionally
dry-run), get, list, delete, and waiting for CRDs to be Established. ``LeaseClient`` reads and
conditionally writes the Lease a leader election runs on; ``LeaderPodLabel`` marks the leader's
own Pod for the Service that sends writes to it.

Errors::

    KubeError                 anything from this adapter (also: a kubeconfig that will not load)
    ├── ApiUnavailable        unreachable, or 5xx/429, until the retry deadline
    ├── Rejected              the apiserver said no; .status, .reason, .message (its words)
    │   ├── NotFound          404
    │   └── LeaseConflict     the Lease was written by someone else since it was read (409)
    ├── UnknownKind           discovery knows no such kind (missing CRD?)
    └── WaitTimeout           a CRD did not become Established in time
"""

from conveyor.adapters.kube.client import FIELD_MANAGER, KubeClient, RetryPolicy
from conveyor.adapters.kube.discovery import ResourceInfo
from conveyor.adapters.kube.errors import (
    ApiUnavailable,
    KubeError,
    NotFound,
    Rejected,
    UnknownKind,
    WaitTimeout,
)
from conveyor.adapters.kube.lease import (
    LEADER_LABEL,
    LeaderPodLabel,
    LeaseClient,
    LeaseConflict,
    LeaseState,
)

__all__ = [
    "FIELD_MANAGER",
    "LEADER_LABEL",
    "ApiUnavailable",
    "KubeClient",
    "KubeError",
    "LeaderPodLabel",
    "LeaseClient",
    "LeaseConflict",
    "LeaseState",
    "NotFound",
    "Rejected",
    "ResourceInfo",
    "RetryPolicy",
    "UnknownKind",
    "WaitTimeout",
]
