"""A real Kubernetes control plane on loopback: etcd, kube-apiserver, kube-controller-manager,
kube-scheduler and kwok (fake nodes and kubelets), from binaries built by ``scripts/build-k8s``.

A Deployment applied to it becomes Available; a pod whose image contains ``broken`` never becomes
Ready (see ``kwok-stages.yaml``).
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import httpx

from conveyor.testing import procs
from conveyor.testing.errors import PrerequisiteError, ServiceError
from conveyor.testing.pki import ClusterPki, make_cluster_pki

BINARIES = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok",
    "kubectl",
)
REPO_ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class ClusterEndpoint:
    """How to reach the test cluster."""

    server: str
    kubeconfig: Path
    ca_cert: Path
    client_cert: Path
    client_key: Path
    bin_dir: Path
    nodes: tuple[str, ...]

    def client(self, timeout: float = 10.0) -> httpx.Client:
        """An HTTP client for the apiserver, authenticated as the admin user."""
        context = ssl.create_default_context(cafile=str(self.ca_cert))
        context.load_cert_chain(str(self.client_cert), str(self.client_key))
        return httpx.Client(base_url=self.server, verify=context, timeout=timeout)

    @property
    def kubectl(self) -> Path:
        return self.bin_dir / "kubectl"

    @property
    def kustomize(self) -> Path:
        return self.bin_dir / "kustomize"


def find_bin_dir() -> Path:
    """The directory of the built control-plane binaries, each with its completion stamp."""
    configured = os.environ.get("CONVEYOR_K8S_BIN")
    if configured:
        bin_dir = Path(configured)
    else:
        script = REPO_ROOT / "scripts" / "build-k8s"
        result = (
            subprocess.run([str(script), "--check"], capture_output=True, text=True)
            if script.exists()
            else None
        )
        if result is None or result.returncode != 0:
            raise PrerequisiteError(
                "the Kubernetes binaries are not built: run `scripts/build-k8s` (or `make k8s`),"
                " or set CONVEYOR_K8S_BIN to a directory holding " + ", ".join(BINARIES)
            )
        bin_dir = Path(result.stdout.strip())
    missing = [
        b for b in BINARIES if not (bin_dir / b).is_file() or not (bin_dir / f"{b}.ok").is_file()
    ]
    if missing:
        raise PrerequisiteError(
            f"{bin_dir} lacks complete builds of {', '.join(missing)}: run `scripts/build-k8s`"
        )
    return bin_dir


def write_kubeconfig(path: Path, server: str, pki: ClusterPki) -> None:
    """A kubeconfig (JSON is valid YAML) for the admin user."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "conveyor-test",
                "cluster": {"server": server, "certificate-authority": str(pki.ca_cert)},
            }
        ],
        "users": [
            {
                "name": "admin",
                "user": {
                    "client-certificate": str(pki.admin_cert),
                    "client-key": str(pki.admin_key),
                },
            }
        ],
        "contexts": [
            {"name": "conveyor-test", "context": {"cluster": "conveyor-test", "user": "admin"}}
        ],
        "current-context": "conveyor-test",
    }
    path.write_text(json.dumps(config, indent=2) + "\n")
    path.chmod(0o600)


def _ok(client: httpx.Client, path: str) -> bool:
    return client.get(path).status_code == 200


def start_cluster(workdir: Path, *, nodes: int = 2) -> tuple[list[procs.Service], ClusterEndpoint]:
    """Start the control plane in ``workdir/k8s``; return once nodes are Ready and pods can run."""
    bin_dir = find_bin_dir()
    base = workdir / "k8s"
    base.mkdir(parents=True, exist_ok=True)
    pki = make_cluster_pki(base / "pki")
    services: list[procs.Service] = []

    etcd_port, peer_port, api_port = procs.free_port(), procs.free_port(), procs.free_port()
    etcd = procs.start(
        "etcd",
        [
            str(bin_dir / "etcd"),
            "--name=node0",
            f"--data-dir={base / 'etcd'}",
            f"--listen-client-urls=http://127.0.0.1:{etcd_port}",
            f"--advertise-client-urls=http://127.0.0.1:{etcd_port}",
            f"--listen-peer-urls=http://127.0.0.1:{peer_port}",
            f"--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}",
            f"--initial-cluster=node0=http://127.0.0.1:{peer_port}",
            "--unsafe-no-fsync=true",
            "--quota-backend-bytes=4294967296",
            "--log-level=warn",
        ],
        workdir=workdir,
    )
    services.append(etcd)
    procs.wait_until(
        lambda: httpx.get(f"http://127.0.0.1:{etcd_port}/health", timeout=1).status_code == 200,
        service=etcd,
        what=f"etcd health on port {etcd_port}",
    )

    server = f"https://127.0.0.1:{api_port}"
    apiserver = procs.start(
        "kube-apiserver",
        [
            str(bin_dir / "kube-apiserver"),
            f"--etcd-servers=http://127.0.0.1:{etcd_port}",
            "--bind-address=127.0.0.1",
            f"--secure-port={api_port}",
            "--advertise-address=127.0.0.1",
            "--endpoint-reconciler-type=none",
            f"--tls-cert-file={pki.admin_cert}",
            f"--tls-private-key-file={pki.admin_key}",
            f"--client-ca-file={pki.ca_cert}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki.admin_key}",
            f"--service-account-signing-key-file={pki.admin_key}",
            "--service-cluster-ip-range=10.0.0.0/16",
            "--authorization-mode=Node,RBAC",
            "--allow-privileged=true",
            "--profiling=false",
        ],
        workdir=workdir,
    )
    services.append(apiserver)
    kubeconfig = base / "kubeconfig"
    write_kubeconfig(kubeconfig, server, pki)
    endpoint = ClusterEndpoint(
        server=server,
        kubeconfig=kubeconfig,
        ca_cert=pki.ca_cert,
        client_cert=pki.admin_cert,
        client_key=pki.admin_key,
        bin_dir=bin_dir,
        nodes=tuple(f"kwok-node-{i}" for i in range(nodes)),
    )
    with endpoint.client(timeout=2.0) as client:
        procs.wait_until(
            lambda: _ok(client, "/readyz"), service=apiserver, what=f"{server}/readyz", timeout=60
        )
        kcm, scheduler, kwok = _start_controllers(workdir, bin_dir, kubeconfig, pki)
        services += [kcm, scheduler, kwok]
        for name in endpoint.nodes:
            _create_node(client, name)
        for name in endpoint.nodes:
            procs.wait_until(
                lambda n=name: _node_ready(client, n),  # type: ignore[misc]
                service=kwok,
                what=f"node {name} to become Ready",
                timeout=60,
            )
        procs.wait_until(
            lambda: _ok(client, "/api/v1/namespaces/default/serviceaccounts/default"),
            service=kcm,
            what="the default ServiceAccount",
            timeout=60,
        )
    return services, endpoint


def _start_controllers(
    workdir: Path, bin_dir: Path, kubeconfig: Path, pki: ClusterPki
) -> tuple[procs.Service, procs.Service, procs.Service]:
    stages = workdir / "k8s" / "kwok-stages.yaml"
    stages.write_text(resources.files("conveyor.testing").joinpath("kwok-stages.yaml").read_text())
    common = [f"--kubeconfig={kubeconfig}", "--bind-address=127.0.0.1", "--leader-elect=false"]
    kcm = procs.start(
        "kube-controller-manager",
        [
            str(bin_dir / "kube-controller-manager"),
            *common,
            f"--secure-port={procs.free_port()}",
            f"--root-ca-file={pki.ca_cert}",
            f"--service-account-private-key-file={pki.admin_key}",
            "--concurrent-deployment-syncs=10",
            "--concurrent-replicaset-syncs=10",
            "--kube-api-qps=500",
            "--kube-api-burst=1000",
        ],
        workdir=workdir,
    )
    scheduler = procs.start(
        "kube-scheduler",
        [str(bin_dir / "kube-scheduler"), *common, f"--secure-port={procs.free_port()}"],
        workdir=workdir,
    )
    kwok = procs.start(
        "kwok",
        [
            str(bin_dir / "kwok"),
            f"--kubeconfig={kubeconfig}",
            "--manage-all-nodes=true",
            f"--config={stages}",
            f"--server-address=127.0.0.1:{procs.free_port()}",
            "--cidr=10.128.0.0/16",
            "--node-ip=10.96.0.1",
        ],
        workdir=workdir,
    )
    return kcm, scheduler, kwok


def _create_node(client: httpx.Client, name: str) -> None:
    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "type": "kwok"},
            "annotations": {"node.alpha.kubernetes.io/ttl": "0", "kwok.x-k8s.io/node": "fake"},
        },
    }
    response = client.post("/api/v1/nodes", json=node)
    if response.status_code not in (201, 409):
        raise ServiceError(f"creating node {name}: {response.status_code} {response.text}")


def _node_ready(client: httpx.Client, name: str) -> bool:
    node = client.get(f"/api/v1/nodes/{name}").json()
    conditions = node.get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
