import asyncio

import pytest

from conveyor.adapters.kube import (
    ApiUnavailable,
    KubeClient,
    KubeError,
    NotFound,
    Rejected,
    RetryPolicy,
    UnknownKind,
)
from conveyor.testing.fixtures import unique_name
from tests.adapters.kube.tcp_proxy import TcpProxy
from tests.daemon.sync_repo import crd, widget

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


def configmap(name, namespace, **data):
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": data,
    }


async def test_server_side_apply_get_list_delete(testenv, namespace):
    async with await KubeClient.connect(testenv.cluster.kubeconfig) as kube:
        created = await kube.apply(configmap("a", namespace, k="1"))
        managers = [m["manager"] for m in created["metadata"]["managedFields"]]
        assert managers == ["conveyor"]
        assert created["metadata"]["managedFields"][0]["operation"] == "Apply"

        dry = await kube.apply(configmap("a", namespace, k="2"), dry_run=True)
        assert dry["data"] == {"k": "2"}
        assert (await kube.get("v1", "ConfigMap", "a", namespace=namespace))["data"] == {"k": "1"}

        listed = await kube.list("v1", "ConfigMap", namespace=namespace, metadata_only=True)
        assert "a" in {item["metadata"]["name"] for item in listed}

        await kube.delete("v1", "ConfigMap", "a", namespace=namespace)
        with pytest.raises(NotFound):
            await kube.get("v1", "ConfigMap", "a", namespace=namespace)
        assert await kube.get_or_none("v1", "ConfigMap", "a", namespace=namespace) is None


async def test_apply_takes_over_fields_another_manager_changed(testenv, namespace, kube):
    async with await KubeClient.connect(testenv.cluster.kubeconfig) as client:
        await client.apply(configmap("b", namespace, k="mine"))
        patch = {"data": {"k": "theirs"}}
        response = kube.patch(
            f"/api/v1/namespaces/{namespace}/configmaps/b?fieldManager=someone",
            json=patch,
            headers={"Content-Type": "application/merge-patch+json"},
        )
        response.raise_for_status()
        again = await client.apply(configmap("b", namespace, k="mine"))
        assert again["data"] == {"k": "mine"}


async def test_errors_are_translated_with_the_apiservers_message(testenv, namespace):
    async with await KubeClient.connect(testenv.cluster.kubeconfig) as kube:
        with pytest.raises(UnknownKind, match="no kind 'Gadget'"):
            await kube.apply({"apiVersion": "v1", "kind": "Gadget", "metadata": {"name": "x"}})
        with pytest.raises(UnknownKind):
            await kube.resource_for("nowhere.example.com/v1", "Thing")
        with pytest.raises(Rejected) as rejected:
            await kube.apply(configmap("Not_Valid", namespace))
        assert rejected.value.status == 422
        assert "metadata.name: Invalid value" in rejected.value.message


async def test_discovery_finds_a_crd_installed_after_the_first_lookup(testenv, kube):
    group = f"{unique_name('g')}.example.com"
    async with await KubeClient.connect(testenv.cluster.kubeconfig) as client:
        with pytest.raises(UnknownKind):
            await client.resource_for(f"{group}/v1", "Widget")
        definition = crd(group)
        try:
            await client.apply(definition)
            await client.wait_established(definition["metadata"]["name"], timeout=30)
            info = await client.resource_for(f"{group}/v1", "Widget")
            assert (info.plural, info.namespaced) == ("widgets", True)
            made = await client.apply(widget(group, "w", "default", 3))
            assert made["spec"] == {"size": 3}
        finally:
            kube.delete(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.{group}")


async def test_unreachable_apiserver_is_retried_until_the_deadline(testenv, tmp_path):
    proxy = TcpProxy(testenv.cluster.server)  # never started: connections are refused
    kubeconfig = proxy.kubeconfig(testenv.cluster.kubeconfig, tmp_path / "kubeconfig")
    policy = RetryPolicy(deadline=1.0, first_delay=0.05)
    async with await KubeClient.connect(kubeconfig, retry=policy) as kube:
        with pytest.raises(ApiUnavailable, match="gave up after") as unavailable:
            await kube.get("v1", "Namespace", "default")
    assert isinstance(unavailable.value, KubeError)
    assert "check that the apiserver is up" in str(unavailable.value)


async def test_a_request_succeeds_once_the_apiserver_comes_back(testenv, tmp_path):
    proxy = TcpProxy(testenv.cluster.server)
    kubeconfig = proxy.kubeconfig(testenv.cluster.kubeconfig, tmp_path / "kubeconfig")
    policy = RetryPolicy(deadline=30.0, first_delay=0.05, max_delay=0.5)
    async with await KubeClient.connect(kubeconfig, retry=policy) as kube:
        request = asyncio.create_task(kube.get("v1", "Namespace", "default"))
        await asyncio.sleep(1.0)
        assert not request.done()  # still retrying against the closed port
        await proxy.start()
        try:
            namespace = await asyncio.wait_for(request, 30)
        finally:
            await proxy.stop()
    assert namespace["metadata"]["name"] == "default"
    assert proxy.connections >= 1


async def test_a_kubeconfig_that_does_not_exist_is_a_kube_error(tmp_path):
    with pytest.raises(KubeError, match="cannot load the kubeconfig"):
        await KubeClient.connect(tmp_path / "missing")
