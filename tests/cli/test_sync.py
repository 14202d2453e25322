import json
import subprocess

import pytest
import yaml
from typer.testing import CliRunner

from conveyor.cli.main import app
from conveyor.daemon.sync_state import STATE_NAMESPACE, state_object_name
from conveyor.testing.fixtures import unique_name
from tests.daemon.sync_repo import deployment, dump

pytestmark = pytest.mark.integration


@pytest.fixture
def target(kube):
    name = unique_name("cli")
    yield name
    kube.delete(f"/api/v1/namespaces/{name}")
    kube.delete(f"/api/v1/namespaces/{STATE_NAMESPACE}/configmaps/{state_object_name(name)}")


@pytest.fixture
def repo(tmp_path, target):
    (tmp_path / "app.yaml").write_text(
        dump(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": target}},
            deployment("web", target),
        )
    )
    return tmp_path


def invoke(testenv, *args):
    return CliRunner().invoke(app, [*args, "--kubeconfig", str(testenv.cluster.kubeconfig)])


def test_sync_then_status_as_json_and_yaml(testenv, target, repo):
    synced = invoke(
        testenv, "sync", str(repo), "--revision", "abc123", "--name", target, "-o", "json"
    )
    assert synced.exit_code == 0, synced.output
    data = json.loads(synced.output)
    assert data["revision"] == "abc123"
    assert data["outcome"] == "succeeded"
    assert {o["name"]: o["action"] for o in data["objects"]} == {
        target: "created",
        "web": "created",
    }
    web = next(o for o in data["objects"] if o["name"] == "web")
    assert web["health"] == "Healthy"
    assert (web["file"], web["document"]) == ("app.yaml", 1)

    status = invoke(testenv, "status", "--name", target, "-o", "yaml")
    assert status.exit_code == 0, status.output
    recorded = yaml.safe_load(status.output)
    assert recorded["revision"] == "abc123"
    assert recorded["counts"] == {"created": 2}

    table = invoke(testenv, "status", "--name", target)
    assert f"sync {target}: revision abc123" in table.output
    assert "Deployment" in table.output and "Healthy" in table.output


def test_diff_shows_drift_and_exits_1_and_dry_run_changes_nothing(testenv, target, repo, kube):
    assert (
        invoke(testenv, "sync", str(repo), "--name", target, "--health-timeout", "0").exit_code == 0
    )
    subprocess.run(
        [
            str(testenv.cluster.kubectl),
            f"--kubeconfig={testenv.cluster.kubeconfig}",
            "-n",
            target,
            "set",
            "image",
            "deployment/web",
            "app=nginx:other",
        ],
        check=True,
        capture_output=True,
    )
    diff = invoke(testenv, "diff", str(repo), "--name", target, "-o", "json")
    assert diff.exit_code == 1, diff.output
    (changed,) = json.loads(diff.output)["objects"]
    assert changed["name"] == "web"
    assert changed["drift"] == [
        {
            "path": "spec.template.spec.containers[app].image",
            "desired": "nginx:1.25",
            "live": "nginx:other",
        }
    ]
    dry = invoke(testenv, "sync", str(repo), "--name", target, "--dry-run")
    assert "would revert drift" in dry.output
    live = kube.get(f"/apis/apps/v1/namespaces/{target}/deployments/web").json()
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:other"


def test_status_of_a_sync_that_never_ran_exits_1(testenv):
    result = invoke(testenv, "status", "--name", unique_name("never"))
    assert result.exit_code == 1
    assert "has never run" in result.output


def test_an_unreachable_cluster_exits_2_with_a_hint(tmp_path):
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    }
    (tmp_path / "kubeconfig").write_text(json.dumps(config))
    result = CliRunner().invoke(
        app,
        ["status", "--kubeconfig", str(tmp_path / "kubeconfig")],
        env={"CONVEYOR_KUBE_RETRY_SECONDS": "1"},
    )
    assert result.exit_code == 2
    assert "cannot reach the apiserver" in result.output
