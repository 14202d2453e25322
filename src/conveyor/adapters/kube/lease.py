"""``LeaseClient``: the one ``coordination.k8s.io/v1`` Lease a leader election runs on.

Reads give the election fields (:class:`~conveyor.core.leader.LeaseRecord`) with the object's
``resourceVersion``; writes are conditional on it. ``create`` fails with :class:`LeaseConflict`
when the Lease exists already, and ``update`` (a PUT carrying the version read) when anyone wrote
it since: of two replicas racing for one version, exactly one wins, and the other reads again.
The decision of what to write is the core's (``conveyor.core.leader``); this module only moves
records to and from the apiserver.

Requests go through :class:`~conveyor.adapters.kube.KubeClient`'s transport, so transient
failures are retried until *that client's* ``RetryPolicy`` deadline: give the election a client
of its own whose deadline is below the renew deadline (a renewal that is retried past it is
worth nothing), which also keeps renewals from queueing behind a large sync's requests.

:class:`LeaderPodLabel` marks the leader's own Pod with ``conveyor.dev/leader: "true"`` (and
takes the mark off again), so that a Service selecting the label sends writes to the leader.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from conveyor.adapters.kube.client import KubeClient
from conveyor.adapters.kube.errors import NotFound, Rejected
from conveyor.core.leader import LeaseRecord

__all__ = ["LEADER_LABEL", "LeaderPodLabel", "LeaseClient", "LeaseConflict", "LeaseState"]

_API_VERSION = "coordination.k8s.io/v1"
_MANAGED_BY = {"app.kubernetes.io/managed-by": "conveyor"}

LEADER_LABEL: Final = "conveyor.dev/leader"
"""The label on the leader's Pod (value ``"true"``) that the API Service selects."""
# Its own field manager, so that managedFields show who set the label, apart from the
# ``conveyor`` manager of everything a sync applies.
_LABEL_MANAGER = "conveyor-leader-election"


class LeaseConflict(Rejected):
    """The Lease was created or changed by someone else since it was read: read it again."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status=409, reason="Conflict")


@dataclass(frozen=True)
class LeaseState:
    """A Lease as read (or as written): its election fields and its ``resourceVersion``."""

    record: LeaseRecord
    resource_version: str


class LeaseClient:
    """Reads and conditionally writes the Lease ``namespace/name``."""

    def __init__(self, kube: KubeClient, *, namespace: str, name: str) -> None:
        self._kube = kube
        self.namespace = namespace
        self.name = name

    def __repr__(self) -> str:
        return f"LeaseClient({self.namespace}/{self.name})"

    @property
    def _collection(self) -> str:
        return f"/apis/{_API_VERSION}/namespaces/{self.namespace}/leases"

    async def read(self) -> LeaseState | None:
        """The Lease, or None when it does not exist yet."""
        try:
            found = await self._call("GET", f"{self._collection}/{self.name}")
        except NotFound:
            return None
        return _state_of(found)

    async def create(self, record: LeaseRecord) -> LeaseState:
        """Create the Lease holding ``record``; :class:`LeaseConflict` when it already exists."""
        try:
            return _state_of(await self._call("POST", self._collection, body=self._body(record)))
        except NotFound as e:
            raise NotFound(
                f"{self}: {e.message}; create the namespace {self.namespace} or choose another"
                " (--leader-election-namespace)"
            ) from e

    async def update(self, record: LeaseRecord, *, resource_version: str) -> LeaseState:
        """Replace the Lease's spec with ``record`` if it is still at ``resource_version``;
        :class:`LeaseConflict` when it is not.

        A Lease deleted since it was read is created again by the apiserver (Leases allow
        create-on-update); a replica creating it at the same moment then gets the conflict.
        """
        body = self._body(record)
        body["metadata"]["resourceVersion"] = resource_version
        return _state_of(await self._call("PUT", f"{self._collection}/{self.name}", body=body))

    async def _call(self, method: str, path: str, *, body: Any = None) -> dict[str, Any]:
        try:
            return await self._kube.send_json(method, path, body=body)
        except NotFound:
            raise
        except Rejected as e:
            if e.status == 409:
                raise LeaseConflict(f"{self}: changed by another writer ({e.message})") from e
            if e.status == 403:
                raise Rejected(
                    f"{self}: {e.message}; check that conveyor's service account may get,"
                    f" create and update leases in {self.namespace}"
                    " (deploy/rbac-conveyor-system.yaml)",
                    status=e.status,
                    reason=e.reason,
                ) from e
            raise

    def _body(self, record: LeaseRecord) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "holderIdentity": record.holder,
            "leaseDurationSeconds": record.duration_seconds,
            "leaseTransitions": record.transitions,
        }
        if record.acquire_time is not None:
            spec["acquireTime"] = _micro_time(record.acquire_time)
        if record.renew_time is not None:
            spec["renewTime"] = _micro_time(record.renew_time)
        return {
            "apiVersion": _API_VERSION,
            "kind": "Lease",
            "metadata": {"name": self.name, "namespace": self.namespace, "labels": _MANAGED_BY},
            "spec": spec,
        }


class LeaderPodLabel:
    """Sets or removes :data:`LEADER_LABEL` on the Pod ``namespace/pod`` (a JSON merge patch
    that touches that one label and nothing else of the Pod)."""

    def __init__(self, kube: KubeClient, *, namespace: str, pod: str) -> None:
        self._kube = kube
        self.namespace = namespace
        self.pod = pod

    def __repr__(self) -> str:
        return f"LeaderPodLabel(pod {self.namespace}/{self.pod})"

    async def mark(self, *, leading: bool) -> None:
        """Label the Pod as the leader's, or take the label off (also when it was not there)."""
        patch = {"metadata": {"labels": {LEADER_LABEL: "true" if leading else None}}}
        path = f"/api/v1/namespaces/{self.namespace}/pods/{self.pod}"
        try:
            await self._kube.merge_patch(path, patch, field_manager=_LABEL_MANAGER)
        except NotFound as e:
            raise NotFound(
                f"{self}: {e.message}; check that POD_NAME and POD_NAMESPACE come from the"
                " downward API (deploy/deployment.yaml)"
            ) from e
        except Rejected as e:
            if e.status != 403:
                raise
            raise Rejected(
                f"{self}: {e.message}; check that conveyor's service account may get and patch"
                f" pods in {self.namespace} (deploy/rbac-conveyor-system.yaml)",
                status=e.status,
                reason=e.reason,
            ) from e


def _state_of(lease: dict[str, Any]) -> LeaseState:
    spec = lease.get("spec") or {}
    record = LeaseRecord(
        holder=str(spec.get("holderIdentity") or ""),
        duration_seconds=_count(spec.get("leaseDurationSeconds")),
        acquire_time=_parse_time(spec.get("acquireTime")),
        renew_time=_parse_time(spec.get("renewTime")),
        transitions=_count(spec.get("leaseTransitions")),
    )
    return LeaseState(record, str((lease.get("metadata") or {}).get("resourceVersion") or ""))


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _micro_time(moment: datetime) -> str:
    """The apiserver's MicroTime: RFC 3339 in UTC with microseconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_time(value: object) -> datetime | None:
    # Written by other tools too (kubectl edits, client-go): unreadable times are as good as none.
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
