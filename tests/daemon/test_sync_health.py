import itertools

import pytest

from conveyor.adapters.kube import KubeClient
from conveyor.core.sync.health import HealthStatus
from conveyor.core.sync.objects import ObjectRef
from conveyor.daemon.sync import SyncSettings, SyncSource, sync_once
from conveyor.daemon.sync_health import (
    NAMESPACE_LISTS_MAX,
    PollBackoff,
    list_scopes,
    wait_for_health,
)
from conveyor.daemon.sync_state import STATE_NAMESPACE, state_object_name
from conveyor.testing.fixtures import unique_name
from tests.daemon.sync_repo import deployment, dump


def web(namespace: str, name: str = "web") -> ObjectRef:
    return ObjectRef("apps/v1", "Deployment", namespace, name)


def test_polls_start_fast_and_grow_up_to_the_ceiling():
    delays = list(itertools.islice(PollBackoff(first=0.1, factor=2, ceiling=1.0).delays(), 7))
    assert delays == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0])


def test_the_default_backoff_reaches_its_ceiling_within_a_few_seconds():
    delays = list(itertools.islice(PollBackoff().delays(), 20))
    assert delays[0] <= 0.1
    assert delays == sorted(delays)
    reached = delays.index(max(delays))
    assert max(delays) == PollBackoff().ceiling
    assert sum(delays[:reached]) < 5


@pytest.mark.parametrize(
    ("first", "factor", "ceiling"), [(0.0, 2, 1.0), (2.0, 2, 1.0), (-1.0, 2, 1.0), (0.1, 0.5, 1.0)]
)
def test_a_backoff_that_would_not_wait_or_would_shrink_is_refused(first, factor, ceiling):
    with pytest.raises(ValueError, match="first <= ceiling"):
        PollBackoff(first=first, factor=factor, ceiling=ceiling)


def test_workloads_in_a_few_namespaces_are_listed_per_namespace_and_kind():
    refs = [web("a"), web("a", "api"), web("b"), ObjectRef("batch/v1", "Job", "a", "migrate")]
    assert list_scopes(refs) == [
        ("apps/v1", "Deployment", "a"),
        ("apps/v1", "Deployment", "b"),
        ("batch/v1", "Job", "a"),
    ]


def test_workloads_in_many_namespaces_are_one_list_across_all_of_them():
    refs = [web(f"ns{i}") for i in range(NAMESPACE_LISTS_MAX + 1)]
    assert list_scopes([*refs, *refs]) == [("apps/v1", "Deployment", "")]


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def spread(kube):
    """A sync name, and more namespaces than are listed one by one; all cleaned up."""
    name = unique_name("health")
    namespaces = [f"{name}-{i}" for i in range(NAMESPACE_LISTS_MAX + 1)]
    yield name, namespaces
    for namespace in namespaces:
        kube.delete(f"/api/v1/namespaces/{namespace}")
    kube.delete(f"/api/v1/namespaces/{STATE_NAMESPACE}/configmaps/{state_object_name(name)}")


@pytest.mark.integration
@pytest.mark.anyio
async def test_health_is_read_per_namespace_or_across_all_and_a_missing_one_times_out(
    testenv, spread, tmp_path
):
    name, namespaces = spread
    documents = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}} for ns in namespaces
    ]
    (tmp_path / "all.yaml").write_text(
        dump(*documents, *(deployment("web", ns) for ns in namespaces))
    )
    every = [web(ns) for ns in namespaces]
    async with await KubeClient.connect(testenv.cluster.kubeconfig) as client:
        await sync_once(
            client, SyncSource(tmp_path, "r1"), SyncSettings(name=name, health_timeout=0)
        )
        across = await wait_for_health(client, every, sync_name=name, timeout=60)
        one = await wait_for_health(client, every[:1], sync_name=name, timeout=60)
        absent = await wait_for_health(
            client, [every[0], web(namespaces[0], "absent")], sync_name=name, timeout=1
        )

    assert {h.status for h in across.values()} == {HealthStatus.HEALTHY}
    assert set(across) == {ref.key() for ref in every}
    assert one[every[0].key()].status is HealthStatus.HEALTHY
    assert absent[every[0].key()].status is HealthStatus.HEALTHY
    missing = absent[web(namespaces[0], "absent").key()]
    assert missing.status is HealthStatus.MISSING
    assert "still not healthy after 1 s" in missing.reason
