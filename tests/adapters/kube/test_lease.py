"""The Lease adapter against the real apiserver: round trips and optimistic concurrency; and the
leader's label on its own Pod."""

from datetime import UTC, datetime

import pytest

from conveyor.adapters.kube import (
    LEADER_LABEL,
    KubeClient,
    LeaderPodLabel,
    LeaseClient,
    LeaseConflict,
    NotFound,
)
from conveyor.core.leader import LeaseRecord

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

ACQUIRED = datetime(2026, 2, 1, 12, 0, 0, 123456, tzinfo=UTC)
RENEWED = datetime(2026, 2, 1, 12, 0, 9, 654321, tzinfo=UTC)


def record(holder, *, renewed=RENEWED, transitions=0):
    return LeaseRecord(
        holder=holder,
        duration_seconds=4,
        acquire_time=ACQUIRED,
        renew_time=renewed,
        transitions=transitions,
    )


async def test_a_lease_is_created_read_back_and_updated_at_the_version_read(testenv, namespace):
    async with await KubeClient.connect(testenv.cluster.kubeconfig) as kube:
        lease = LeaseClient(kube, namespace=namespace, name="conveyor-leader-x")
        assert await lease.read() is None

        created = await lease.create(record("pod-a_1"))
        assert created.record == record("pod-a_1")
        read = await lease.read()
        assert read == created, "times keep their microseconds; the version is the one created"

        renewed = await lease.update(
            record("pod-a_1", renewed=RENEWED.replace(second=11)),
            resource_version=read.resource_version,
        )
        assert renewed.resource_version != read.resource_version
        assert (await lease.read()).record.renew_time == RENEWED.replace(second=11)


async def test_writes_at_a_stale_version_and_second_creates_conflict(testenv, namespace):
    async with await KubeClient.connect(testenv.cluster.kubeconfig) as kube:
        lease = LeaseClient(kube, namespace=namespace, name="contended")
        first = await lease.create(record("pod-a_1"))
        with pytest.raises(LeaseConflict):
            await lease.create(record("pod-b_1"))
        renewal = record("pod-a_1", renewed=RENEWED.replace(second=12))
        await lease.update(renewal, resource_version=first.resource_version)
        # pod-b read the first version, then pod-a renewed: pod-b's takeover must fail.
        with pytest.raises(LeaseConflict) as raised:
            await lease.update(
                record("pod-b_1", transitions=1), resource_version=first.resource_version
            )
        assert raised.value.status == 409
        assert (await lease.read()).record == renewal


async def test_a_renewal_of_a_deleted_lease_recreates_it_and_a_racing_create_conflicts(
    testenv, namespace, kube
):
    async with await KubeClient.connect(testenv.cluster.kubeconfig) as client:
        lease = LeaseClient(client, namespace=namespace, name="gone")
        created = await lease.create(record("pod-a_1"))
        path = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/gone"
        kube.delete(path).raise_for_status()
        renewal = record("pod-a_1", renewed=RENEWED.replace(second=13))
        await lease.update(renewal, resource_version=created.resource_version)
        with pytest.raises(LeaseConflict):
            await lease.create(record("pod-b_1"))
        assert (await lease.read()).record == renewal


async def test_a_lease_written_by_another_tool_reads_with_defaults(testenv, namespace, kube):
    body = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "foreign", "namespace": namespace},
        "spec": {"holderIdentity": "kube-controller_abc"},
    }
    kube.post(
        f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases", json=body
    ).raise_for_status()
    async with await KubeClient.connect(testenv.cluster.kubeconfig) as client:
        found = await LeaseClient(client, namespace=namespace, name="foreign").read()
    assert found is not None
    assert found.record == LeaseRecord(holder="kube-controller_abc")
    assert found.resource_version


def create_pod(kube, namespace, name):
    """A Pod to label (it need not run: labels are metadata)."""
    body = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/name": "conveyor"}},
        "spec": {
            "automountServiceAccountToken": False,
            "containers": [{"name": "conveyor", "image": "conveyor:dev"}],
        },
    }
    kube.post(f"/api/v1/namespaces/{namespace}/pods", json=body).raise_for_status()


def pod_metadata(kube, namespace, name):
    found = kube.get(f"/api/v1/namespaces/{namespace}/pods/{name}")
    found.raise_for_status()
    return found.json()["metadata"]


async def test_the_leader_label_is_set_and_removed_leaving_the_pods_other_labels(
    testenv, namespace, kube
):
    create_pod(kube, namespace, "conveyor-a")
    async with await KubeClient.connect(testenv.cluster.kubeconfig) as client:
        label = LeaderPodLabel(client, namespace=namespace, pod="conveyor-a")
        await label.mark(leading=True)
        metadata = pod_metadata(kube, namespace, "conveyor-a")
        assert metadata["labels"] == {"app.kubernetes.io/name": "conveyor", LEADER_LABEL: "true"}
        managers = {entry["manager"] for entry in metadata["managedFields"]}
        assert "conveyor-leader-election" in managers

        await label.mark(leading=False)
        await label.mark(leading=False)  # taking off a label that is not there is no error
        labels = pod_metadata(kube, namespace, "conveyor-a")["labels"]
        assert labels == {"app.kubernetes.io/name": "conveyor"}


async def test_labelling_a_missing_pod_says_where_the_pods_name_comes_from(testenv, namespace):
    async with await KubeClient.connect(testenv.cluster.kubeconfig) as client:
        label = LeaderPodLabel(client, namespace=namespace, pod="no-such-pod")
        with pytest.raises(NotFound) as raised:
            await label.mark(leading=True)
    assert f"{namespace}/no-such-pod" in str(raised.value)
    assert "POD_NAME" in str(raised.value)
