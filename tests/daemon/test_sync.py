import asyncio
import subprocess
import time

import pytest
import yaml

from conveyor.adapters.kube import ApiUnavailable, KubeClient, RetryPolicy
from conveyor.core.sync.health import HealthStatus
from conveyor.core.sync.objects import SYNC_LABEL
from conveyor.core.sync.record import Action, Outcome
from conveyor.daemon.sync import SyncSettings, SyncSource, read_status, sync_once
from conveyor.daemon.sync_state import STATE_NAMESPACE, state_object_name
from conveyor.testing.fixtures import unique_name
from tests.adapters.kube.tcp_proxy import TcpProxy
from tests.daemon.sync_repo import configmap, deployment, dump, service, write_mixed_repo

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def target(kube):
    """A unique name used as the namespace, the sync name and the CRD group; all cleaned up."""
    name = unique_name("sync")
    yield name
    kube.delete(f"/api/v1/namespaces/{name}")
    kube.delete(
        f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.{name}.example.com"
    )
    kube.delete(f"/api/v1/namespaces/{STATE_NAMESPACE}/configmaps/{state_object_name(name)}")


def settings(name, **overrides):
    return SyncSettings(name=name, **{"health_timeout": 60.0, **overrides})


def connect(testenv, **kwargs):
    return KubeClient.connect(testenv.cluster.kubeconfig, **kwargs)


def by_name(marker):
    return {(r.ref.kind, r.ref.name): r for r in marker.results}


def kubectl(testenv, *args):
    command = [str(testenv.cluster.kubectl), f"--kubeconfig={testenv.cluster.kubeconfig}", *args]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def image_of(kube, namespace, name):
    found = kube.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}").json()
    return found["spec"]["template"]["spec"]["containers"][0]["image"]


async def test_a_mixed_repo_with_a_crd_syncs_from_empty_and_reports_its_revision(
    testenv, target, tmp_path, kube
):
    count = write_mixed_repo(tmp_path, target, f"{target}.example.com")
    async with await connect(testenv) as client:
        marker = await sync_once(client, SyncSource(tmp_path, "rev-1"), settings(target))
        assert marker.outcome is Outcome.SUCCEEDED, marker.failures
        assert len(marker.results) == count == 30
        assert {r.action for r in marker.results} == {Action.CREATED}
        deployments = [r for r in marker.results if r.ref.kind == "Deployment"]
        assert len(deployments) == 4
        assert all(r.health == HealthStatus.HEALTHY for r in deployments), deployments
        assert by_name(marker)["Job", "migrate"].health == HealthStatus.HEALTHY
        widget = kube.get(f"/apis/{target}.example.com/v1/namespaces/{target}/widgets/w4").json()
        assert widget["spec"] == {"size": 4}
        available = kube.get(f"/apis/apps/v1/namespaces/{target}/deployments/web").json()
        conditions = {c["type"]: c["status"] for c in available["status"]["conditions"]}
        assert conditions["Available"] == "True"

        status = await read_status(client, target)
        assert status is not None
        assert (status.revision, status.outcome) == ("rev-1", Outcome.SUCCEEDED)
        assert len(status.results) == count

        again = await sync_once(client, SyncSource(tmp_path, "rev-2"), settings(target))
        assert {r.action for r in again.results} == {Action.UNCHANGED}
        assert (await read_status(client, target)).revision == "rev-2"


async def test_removing_a_file_prunes_exactly_its_objects(testenv, target, tmp_path, kube):
    write_mixed_repo(tmp_path, target, f"{target}.example.com")
    kept = configmap("kept", target)
    kept["metadata"]["annotations"] = {"conveyor.dev/prune": "disabled"}
    (tmp_path / "kept.yaml").write_text(dump(kept))
    async with await connect(testenv) as client:
        first = await sync_once(client, SyncSource(tmp_path, "r1"), settings(target))
        assert first.outcome is Outcome.SUCCEEDED
        # Made by hand, with the very labels the synced ConfigMaps carry: not conveyor's.
        by_hand = configmap("by-hand", target)
        by_hand["metadata"]["labels"][SYNC_LABEL] = target
        kube.post(f"/api/v1/namespaces/{target}/configmaps", json=by_hand).raise_for_status()

        (tmp_path / "config" / "more.yaml").unlink()
        (tmp_path / "apps" / "worker.yaml").unlink()
        (tmp_path / "kept.yaml").unlink()
        second = await sync_once(client, SyncSource(tmp_path, "r2"), settings(target))

    pruned = {(r.ref.kind, r.ref.name) for r in second.results if r.action is Action.PRUNED}
    expected = {("ConfigMap", f"cm-{i}") for i in range(6)} | {
        ("Secret", "creds"),
        ("Deployment", "worker"),
        ("Deployment", "cron"),
    }
    assert pruned == expected
    assert [r.reason for r in second.results if r.action is Action.KEPT] == [
        "annotated conveyor.dev/prune: disabled"
    ]
    for kind, name in expected:
        path = "apis/apps/v1" if kind == "Deployment" else "api/v1"
        plural = kind.lower() + "s"
        response = kube.get(f"/{path}/namespaces/{target}/{plural}/{name}")
        gone = response.status_code == 404 or response.json()["metadata"].get("deletionTimestamp")
        assert gone, (kind, name)
    for name in ("by-hand", "kept", "list-0"):
        assert kube.get(f"/api/v1/namespaces/{target}/configmaps/{name}").status_code == 200


async def test_failures_name_file_document_and_reason_and_the_rest_applies(
    testenv, target, tmp_path, kube
):
    ns = target
    (tmp_path / "namespace.yaml").write_text(
        dump({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    )
    (tmp_path / "apps.yaml").write_text(dump(deployment("web", ns), service("web", ns)))
    (tmp_path / "broken.yaml").write_text(dump(configmap("fine", ns)) + "---\nkind: [oops\n")
    (tmp_path / "unknown.yaml").write_text(
        dump(
            configmap("also-fine", ns),
            {"apiVersion": "v1", "kind": "Gizmo", "metadata": {"name": "g", "namespace": ns}},
        )
    )
    bad_service = service("bad", ns)
    bad_service["spec"]["ports"][0]["port"] = 99999
    (tmp_path / "rejected.yaml").write_text(dump(configmap("third", ns), bad_service))

    async with await connect(testenv) as client:
        marker = await sync_once(client, SyncSource(tmp_path, "r1"), settings(ns))
        recorded = await read_status(client, ns)

    assert marker.outcome is Outcome.PARTIAL
    failures = {(f.file, f.document): f for f in marker.failures}
    assert set(failures) == {("broken.yaml", 1), ("unknown.yaml", 1), ("rejected.yaml", 1)}
    assert failures["broken.yaml", 1].reason.startswith("not valid YAML")
    assert "no kind 'Gizmo'" in failures["unknown.yaml", 1].reason
    assert failures["unknown.yaml", 1].object == f"Gizmo {ns}/g"
    assert "99999" in failures["rejected.yaml", 1].reason
    applied = {r.ref.name for r in marker.results if r.action is Action.CREATED}
    assert applied == {ns, "web", "fine", "also-fine", "third"}
    for name in ("fine", "also-fine", "third"):
        assert kube.get(f"/api/v1/namespaces/{ns}/configmaps/{name}").status_code == 200
    assert recorded is not None
    assert recorded.outcome is Outcome.PARTIAL
    assert len(recorded.failures) == 3


async def test_drift_is_reported_and_reverted_unless_self_heal_is_disabled(
    testenv, target, tmp_path, kube
):
    ns = target
    manual = deployment("manual", ns, **{"conveyor.dev/self-heal": "disabled"})
    (tmp_path / "all.yaml").write_text(
        dump(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
            deployment("web", ns),
            manual,
        )
    )
    async with await connect(testenv) as client:
        await sync_once(client, SyncSource(tmp_path, "r1"), settings(ns, health_timeout=0))
        kubectl(testenv, "-n", ns, "set", "image", "deployment/web", "app=nginx:hotfix")
        kubectl(testenv, "-n", ns, "set", "image", "deployment/manual", "app=nginx:hotfix")
        marker = await sync_once(client, SyncSource(tmp_path, "r1"), settings(ns, health_timeout=0))

    results = by_name(marker)
    web, left = results["Deployment", "web"], results["Deployment", "manual"]
    image_path = "spec.template.spec.containers[app].image"
    assert web.action is Action.CONFIGURED
    assert web.reason == "drift reverted"
    assert [(c.path, c.desired, c.live) for c in web.drift] == [
        (image_path, "nginx:1.25", "nginx:hotfix")
    ]
    assert left.action is Action.DRIFTED
    assert [c.path for c in left.drift] == [image_path]
    assert image_of(kube, ns, "web") == "nginx:1.25"
    assert image_of(kube, ns, "manual") == "nginx:hotfix"
    assert results["Namespace", ns].action is Action.UNCHANGED


async def test_deleting_the_namespace_and_syncing_restores_everything(
    testenv, target, tmp_path, kube
):
    count = write_mixed_repo(tmp_path, target, f"{target}.example.com")
    async with await connect(testenv) as client:
        await sync_once(client, SyncSource(tmp_path, "r1"), settings(target, health_timeout=0))
        kube.delete(f"/api/v1/namespaces/{target}").raise_for_status()
        deadline = time.monotonic() + 90
        while kube.get(f"/api/v1/namespaces/{target}").status_code != 404:
            assert time.monotonic() < deadline, "the namespace was never deleted"
            await asyncio.sleep(0.5)
        marker = await sync_once(client, SyncSource(tmp_path, "r1"), settings(target))

    assert marker.outcome is Outcome.SUCCEEDED, marker.failures
    restored = [r for r in marker.results if r.action is Action.CREATED]
    # Everything in the namespace came back; the CRD (cluster-wide) was never gone.
    assert len(restored) == count - 1
    assert {r.ref.kind for r in marker.results if r.action is Action.UNCHANGED} == {
        "CustomResourceDefinition"
    }
    assert all(r.drift for r in restored if r.ref.kind != "Namespace")
    assert kube.get(f"/apis/apps/v1/namespaces/{target}/deployments/web").status_code == 200


async def test_health_waits_until_the_deadline_and_says_why(testenv, target, tmp_path):
    ns = target
    (tmp_path / "all.yaml").write_text(
        dump(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
            deployment("good", ns),
            deployment("bad", ns, image="registry.example/broken:1"),
        )
    )
    async with await connect(testenv) as client:
        marker = await sync_once(client, SyncSource(tmp_path, "r1"), settings(ns, health_timeout=4))
    results = by_name(marker)
    assert results["Deployment", "good"].health == HealthStatus.HEALTHY
    bad = results["Deployment", "bad"]
    assert bad.health == HealthStatus.PROGRESSING
    assert "still not healthy after 4 s" in bad.health_reason
    assert "available" in bad.health_reason


async def test_kustomize_directories_are_built_and_applied(testenv, target, tmp_path, kube):
    ns = target
    base = tmp_path / "overlay"
    base.mkdir()
    (base / "kustomization.yaml").write_text(
        yaml.safe_dump({"namespace": ns, "namePrefix": "k-", "resources": ["cm.yaml"]})
    )
    (base / "cm.yaml").write_text(dump(configmap("settings", "ignored")))
    (tmp_path / "ns.yaml").write_text(
        dump({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    )
    async with await connect(testenv) as client:
        marker = await sync_once(
            client,
            SyncSource(tmp_path, "r1"),
            settings(ns, kustomize=testenv.cluster.kustomize, health_timeout=0),
        )
    assert marker.outcome is Outcome.SUCCEEDED, marker.failures
    (built,) = [r for r in marker.results if r.ref.kind == "ConfigMap"]
    assert built.file == "overlay (kustomize build)"
    assert kube.get(f"/api/v1/namespaces/{ns}/configmaps/k-settings").status_code == 200


async def test_dry_run_changes_nothing_and_records_nothing(testenv, target, tmp_path, kube):
    count = write_mixed_repo(tmp_path, target, f"{target}.example.com")
    async with await connect(testenv) as client:
        marker = await sync_once(client, SyncSource(tmp_path, "r1"), settings(target, dry_run=True))
        assert await read_status(client, target) is None
    assert marker.dry_run
    assert len([r for r in marker.results if r.action is Action.CREATED]) == count
    assert kube.get(f"/api/v1/namespaces/{target}").status_code == 404


async def _wait_for(predicate, *, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(predicate):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)


async def test_apiserver_down_mid_sync_is_retried_and_the_sync_completes(
    testenv, target, tmp_path, kube
):
    count = write_mixed_repo(tmp_path, target, f"{target}.example.com")
    proxy = TcpProxy(testenv.cluster.server)
    kubeconfig = proxy.kubeconfig(testenv.cluster.kubeconfig, tmp_path.parent / "proxied")
    await proxy.start()
    policy = RetryPolicy(deadline=60, first_delay=0.1, max_delay=0.5)
    async with await KubeClient.connect(kubeconfig, retry=policy) as client:
        sync = asyncio.create_task(sync_once(client, SyncSource(tmp_path, "r1"), settings(target)))
        await _wait_for(lambda: kube.get(f"/api/v1/namespaces/{target}").status_code == 200)
        await proxy.stop()  # the apiserver "goes down" in the middle of the sync
        await asyncio.sleep(1.5)
        assert not sync.done()
        await proxy.start()
        marker = await asyncio.wait_for(sync, 120)
        await proxy.stop()
    assert marker.outcome is Outcome.SUCCEEDED, marker.failures
    assert len(marker.results) == count


async def test_apiserver_gone_for_good_leaves_the_previous_marker(testenv, target, tmp_path, kube):
    ns = target
    (tmp_path / "ns.yaml").write_text(
        dump({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    )
    async with await connect(testenv) as client:
        await sync_once(client, SyncSource(tmp_path, "r1"), settings(ns))
    (tmp_path / "apps.yaml").write_text(
        dump(deployment("slow", ns, image="registry.example/broken:1"), configmap("new", ns))
    )
    proxy = TcpProxy(testenv.cluster.server)
    kubeconfig = proxy.kubeconfig(testenv.cluster.kubeconfig, tmp_path.parent / "proxied")
    await proxy.start()
    policy = RetryPolicy(deadline=2, first_delay=0.1, max_delay=0.5)
    async with await KubeClient.connect(kubeconfig, retry=policy) as client:
        # The broken image never becomes healthy, so the sync is still waiting when we cut it.
        sync = asyncio.create_task(
            sync_once(client, SyncSource(tmp_path, "r2"), settings(ns, health_timeout=60))
        )
        # The Deployment is applied in the last stage, after the inventory listed both objects;
        # cutting earlier (once only the ConfigMap exists) would race that stage.
        await _wait_for(
            lambda: kube.get(f"/apis/apps/v1/namespaces/{ns}/deployments/slow").status_code == 200
        )
        await proxy.stop()
        with pytest.raises(ApiUnavailable):
            await asyncio.wait_for(sync, 60)
    async with await connect(testenv) as client:
        status = await read_status(client, ns)
        inventory_names = {r.name for r in (await _inventory(client, ns))}
    assert status is not None and status.revision == "r1"
    # The objects created before the cut are in the inventory, so a later sync can prune them.
    assert {"slow", "new"} <= inventory_names


async def _inventory(client, name):
    from conveyor.daemon.sync_state import read_state

    return (await read_state(client, name)).inventory.refs()
