"""The control plane of the test environment, on the real services."""

import subprocess
import time

import pytest

pytestmark = pytest.mark.integration


def deployment(name, image, replicas=2):
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "app", "image": image}]},
            },
        },
    }


def wait_for(check, what, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def condition(obj, kind):
    for c in obj.get("status", {}).get("conditions", []):
        if c["type"] == kind:
            return c
    return None


def test_a_deployment_becomes_available(kube, namespace):
    path = f"/apis/apps/v1/namespaces/{namespace}/deployments"
    kube.post(path, json=deployment("web", "registry.invalid/web:1.2.3")).raise_for_status()

    def available():
        d = kube.get(f"{path}/web").json()
        c = condition(d, "Available")
        return d if c and c["status"] == "True" and d["status"].get("readyReplicas") == 2 else None

    d = wait_for(available, "Deployment web to become Available")
    assert d["status"]["availableReplicas"] == 2
    pods = kube.get(
        f"/api/v1/namespaces/{namespace}/pods", params={"labelSelector": "app=web"}
    ).json()
    assert {p["status"]["phase"] for p in pods["items"]} == {"Running"}
    assert all(p["spec"]["nodeName"].startswith("kwok-node-") for p in pods["items"])


def test_a_pod_with_a_broken_image_never_becomes_ready(kube, namespace):
    path = f"/apis/apps/v1/namespaces/{namespace}/deployments"
    kube.post(
        path, json=deployment("bad", "registry.invalid/web:1.2.4-broken", replicas=1)
    ).raise_for_status()
    pods_path = f"/api/v1/namespaces/{namespace}/pods"

    def waiting_pod():
        items = kube.get(pods_path, params={"labelSelector": "app=bad"}).json()["items"]
        statuses = items[0].get("status", {}).get("containerStatuses") if items else None
        return items[0] if statuses else None

    pod = wait_for(waiting_pod, "the broken pod to get container statuses")
    status = pod["status"]["containerStatuses"][0]
    assert status["ready"] is False
    assert status["state"]["waiting"]["reason"] == "ImagePullBackOff"
    assert condition(pod, "Ready")["status"] == "False"
    d = kube.get(f"{path}/bad").json()
    assert d["status"].get("readyReplicas", 0) == 0
    assert d["status"]["unavailableReplicas"] == 1


def test_kubectl_reaches_the_cluster_with_the_generated_kubeconfig(testenv):
    out = subprocess.run(
        [
            str(testenv.cluster.kubectl),
            f"--kubeconfig={testenv.cluster.kubeconfig}",
            "get",
            "nodes",
            "-o",
            "name",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert out == [f"node/{n}" for n in testenv.cluster.nodes]


def test_the_apiserver_reports_the_built_version(kube):
    assert kube.get("/version").json()["gitVersion"].startswith("v1.36.")
