"""The in-cluster manifests in ``deploy/``, built with kustomize, against the real apiserver.

The build is accepted by a server-side dry-run apply (every object valid as the apiserver
sees it), in both RBAC options. Then the RBAC objects are applied for real and ``kubectl auth
can-i``, impersonating conveyor's service account, shows the scoped option grants what conveyor
needs and nothing beyond: the Lease, its ConfigMaps and its own pods' labels in conveyor-system,
Deployments in the team namespace, and not Secrets in kube-system nor writes in any other
namespace.
"""

import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.integration

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SERVICE_ACCOUNT = "system:serviceaccount:conveyor-system:conveyor"
RBAC_KINDS = {"ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"}
TEAM_NAMESPACE = "apps"  # the example namespace of deploy/rbac-team.yaml


def run(*argv, stdin=None):
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{' '.join(map(str, argv))}:\n{done.stderr}"
    return done.stdout


def build(testenv, directory):
    return run(testenv.cluster.kustomize, "build", directory)


def kubectl(testenv, *args, stdin=None, check=True):
    argv = [testenv.cluster.kubectl, "--kubeconfig", testenv.cluster.kubeconfig, *args]
    if check:
        return run(*argv, stdin=stdin)
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False)


def objects(text):
    return [doc for doc in yaml.safe_load_all(text) if doc]


def the(found, kind, name):
    [match] = [o for o in found if o["kind"] == kind and o["metadata"]["name"] == name]
    return match


def gone_or_active(kube, name):
    """Wait out a namespace still being deleted (by an earlier run of these tests)."""
    deadline = time.monotonic() + 120
    while (found := kube.get(f"/api/v1/namespaces/{name}")).is_success:
        if found.json()["status"].get("phase") != "Terminating":
            return "active"
        if time.monotonic() > deadline:
            pytest.fail(f"namespace {name} is still being deleted")
        time.sleep(0.5)
    return "gone"


@pytest.fixture(scope="module")
def namespaces(testenv):
    """conveyor-system and the example team namespace, which the build expects to exist."""
    made = []
    with testenv.cluster.client() as kube:
        for name in ("conveyor-system", TEAM_NAMESPACE):
            if gone_or_active(kube, name) == "gone":
                body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
                kube.post("/api/v1/namespaces", json=body).raise_for_status()
                made.append(name)
        yield
        # conveyor-system is shared with every sync's recorded state: only the team one goes.
        if TEAM_NAMESPACE in made:
            kube.delete(f"/api/v1/namespaces/{TEAM_NAMESPACE}")


def test_the_deployment_runs_two_locked_down_replicas_with_leader_election(testenv):
    found = objects(build(testenv, DEPLOY))
    assert not [o for o in found if o["kind"] == "Secret"], "Secrets are referenced, not created"
    deployment = the(found, "Deployment", "conveyor")
    pod = deployment["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert deployment["spec"]["replicas"] == 2
    assert "--leader-election" in container["args"]
    assert pod["serviceAccountName"] == "conveyor"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["resources"]["requests"] and container["resources"]["limits"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    [state] = [m for m in container["volumeMounts"] if m["mountPath"] == "/var/lib/conveyor"]
    assert "emptyDir" in volumes[state["name"]]
    assert volumes["git-ssh"]["secret"]["secretName"] == "conveyor-git-ssh"
    secret_refs = {
        e["valueFrom"]["secretKeyRef"]["name"]
        for e in container["env"]
        if "secretKeyRef" in e.get("valueFrom", {})
    }
    assert secret_refs == {"conveyor-api-token", "conveyor-webhook"}
    settings = yaml.safe_load(the(found, "ConfigMap", "conveyor-settings")["data"]["conveyor.yaml"])
    assert settings["stateDir"] == state["mountPath"]
    assert settings["leaderElection"] is True
    downward = {
        e["name"]: e["valueFrom"]["fieldRef"]["fieldPath"]
        for e in container["env"]
        if "fieldRef" in e.get("valueFrom", {})
    }
    assert downward == {"POD_NAME": "metadata.name", "POD_NAMESPACE": "metadata.namespace"}
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    # The API Service reaches the pod the leader labelled; conveyor-all reaches every replica.
    api = the(found, "Service", "conveyor")["spec"]
    leader = {"conveyor.dev/leader": "true"}
    assert api["selector"].items() - leader.items() <= labels.items()
    assert leader.items() <= api["selector"].items()
    assert "conveyor.dev/leader" not in labels, "the leader's pod is labelled at run time"
    every = the(found, "Service", "conveyor-all")["spec"]
    assert every["selector"].items() <= labels.items()
    for service in (api, every):
        [port] = service["ports"]
        assert port["targetPort"] in {p["name"] for p in container["ports"]}


def test_both_rbac_options_pass_a_server_side_dry_run(testenv, namespaces, tmp_path):
    scoped = build(testenv, DEPLOY)
    kubectl(testenv, "apply", "--server-side", "--dry-run=server", "-f", "-", stdin=scoped)

    # The cluster-wide option, switched on as deploy/kustomization.yaml says.
    copy = shutil.copytree(DEPLOY, tmp_path / "deploy")
    kustomization = copy / "kustomization.yaml"
    text = kustomization.read_text()
    switched = text.replace("# components:\n#   - components/", "components:\n  - components/")
    assert switched != text, "the component is offered, commented out, in the kustomization"
    kustomization.write_text(switched)
    cluster_wide = build(testenv, copy)
    kubectl(testenv, "apply", "--server-side", "--dry-run=server", "-f", "-", stdin=cluster_wide)
    added = {o["metadata"]["name"] for o in objects(cluster_wide)} - {
        o["metadata"]["name"] for o in objects(scoped)
    }
    assert added == {"conveyor-apply-cluster-wide"}


@pytest.fixture
def rbac_applied(testenv, namespaces):
    rbac = [o for o in objects(build(testenv, DEPLOY)) if o["kind"] in RBAC_KINDS]
    text = yaml.safe_dump_all(rbac)
    kubectl(testenv, "apply", "--server-side", "-f", "-", stdin=text)
    yield
    kubectl(testenv, "delete", "--ignore-not-found", "-f", "-", stdin=text)


def can_i(testenv, verb, resource, namespace):
    answer = kubectl(
        testenv,
        "auth",
        "can-i",
        verb,
        resource,
        "-n",
        namespace,
        "--as",
        SERVICE_ACCOUNT,
        check=False,
    )
    assert answer.stdout.strip() in ("yes", "no"), answer.stderr
    return answer.stdout.strip() == "yes"


GRANTED = [
    ("get", "leases.coordination.k8s.io", "conveyor-system"),
    ("create", "leases.coordination.k8s.io", "conveyor-system"),
    ("update", "leases.coordination.k8s.io", "conveyor-system"),
    ("patch", "configmaps", "conveyor-system"),
    ("get", "configmaps", "conveyor-system"),
    ("get", "pods", "conveyor-system"),  # the leader's label on its own pod
    ("patch", "pods", "conveyor-system"),
    ("create", "deployments.apps", TEAM_NAMESPACE),
    ("patch", "deployments.apps", TEAM_NAMESPACE),
    ("delete", "deployments.apps", TEAM_NAMESPACE),
    ("patch", "secrets", TEAM_NAMESPACE),
    ("list", "deployments.apps", "kube-system"),  # a sync lists its kinds cluster-wide
    ("patch", "namespaces/conveyor-system", "conveyor-system"),
]
REFUSED = [
    ("get", "secrets", "kube-system"),
    ("list", "secrets", "default"),
    ("patch", "deployments.apps", "kube-system"),
    ("create", "deployments.apps", "default"),
    ("update", "leases.coordination.k8s.io", "kube-system"),
    ("delete", "leases.coordination.k8s.io", "conveyor-system"),
    ("delete", "pods", "conveyor-system"),
    ("create", "pods", "conveyor-system"),
    ("patch", "pods", TEAM_NAMESPACE),
    ("patch", "pods", "kube-system"),
    ("create", "namespaces", "default"),
    ("create", "clusterrolebindings.rbac.authorization.k8s.io", "default"),
    ("patch", "rolebindings.rbac.authorization.k8s.io", TEAM_NAMESPACE),
]


def test_the_scoped_option_grants_what_conveyor_needs_and_nothing_more(testenv, rbac_applied):
    granted = {case: can_i(testenv, *case) for case in GRANTED}
    refused = {case: can_i(testenv, *case) for case in REFUSED}
    assert [case for case, yes in granted.items() if not yes] == []
    assert [case for case, yes in refused.items() if yes] == []
