"""Benchmark: sync 1,000 objects (Deployments, Services, ConfigMaps in 20 namespaces) with
conveyor and with ``kubectl apply --server-side -f DIR -R``, from empty and again with nothing
changed, on the same control plane in the same run (each into its own fresh namespaces).

    CONVEYOR_TESTENV_DIR=/tmp/env .venv/bin/python bench/bench_sync.py

Without CONVEYOR_TESTENV_DIR a test environment is started for the run and stopped after it.
Prints two lines, ``bench sync-cold: ...`` and ``bench sync-noop: ...``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from statistics import median

import yaml

from conveyor.adapters.kube import KubeClient
from conveyor.daemon.sync import SyncSettings, SyncSource, sync_once
from conveyor.daemon.sync_state import STATE_NAMESPACE, state_object_name
from conveyor.testing import env as testenv_module
from conveyor.testing.env import TestEnv

NAMESPACES = 20
PER_NAMESPACE = {"Deployment": 17, "Service": 17, "ConfigMap": 16}  # 50 x 20 = 1,000
NOOP_RUNS = 5


def _objects(namespace: str) -> Iterator[dict[str, object]]:
    for i in range(PER_NAMESPACE["Deployment"]):
        labels = {"app": f"app-{i}"}
        yield {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": f"app-{i}", "namespace": namespace},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "app", "image": f"example/app-{i}:1.0"}]},
                },
            },
        }
    for i in range(PER_NAMESPACE["Service"]):
        yield {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": f"app-{i}", "namespace": namespace},
            # Headless: the test cluster's service IP range (a /24) cannot hold 680 ClusterIPs.
            "spec": {
                "clusterIP": "None",
                "selector": {"app": f"app-{i}"},
                "ports": [{"port": 80, "targetPort": 8080}],
            },
        }
    for i in range(PER_NAMESPACE["ConfigMap"]):
        yield {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"settings-{i}", "namespace": namespace},
            "data": {"LOG_LEVEL": "info", "INDEX": str(i)},
        }


def write_repo(root: Path, prefix: str) -> list[str]:
    """The repo: one namespaces file (first in path order, as kubectl needs) and one file per
    namespace and kind. Returns the namespace names."""
    names = [f"{prefix}-{n:02d}" for n in range(NAMESPACES)]
    root.mkdir(parents=True)
    namespaces = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in names]
    (root / "00-namespaces.yaml").write_text(yaml.safe_dump_all(namespaces))
    for name in names:
        directory = root / name
        directory.mkdir()
        by_kind: dict[str, list[dict[str, object]]] = {}
        for obj in _objects(name):
            by_kind.setdefault(str(obj["kind"]), []).append(obj)
        for kind, objects in by_kind.items():
            (directory / f"{kind.lower()}s.yaml").write_text(yaml.safe_dump_all(objects))
    return names


async def conveyor_sync(env: TestEnv, root: Path, name: str) -> float:
    settings = SyncSettings(name=name, health_timeout=0, concurrency=32)
    async with await KubeClient.connect(env.cluster.kubeconfig, concurrency=32) as kube:
        began = time.perf_counter()
        marker = await sync_once(kube, SyncSource(root, "bench"), settings)
        elapsed = time.perf_counter() - began
    if marker.failures:
        raise SystemExit(f"conveyor sync failed: {marker.failures[0]}")
    return elapsed


def kubectl_apply(env: TestEnv, root: Path) -> float:
    command = [
        str(env.cluster.kubectl),
        f"--kubeconfig={env.cluster.kubeconfig}",
        "apply",
        "--server-side",
        "-f",
        str(root),
        "-R",
    ]
    began = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - began


async def wait_settled(env: TestEnv, namespaces: list[str], timeout: float = 300) -> None:
    """Wait until every Deployment is available, so the controllers' work after one run does
    not slow down the next."""
    deadline = time.monotonic() + timeout
    wanted = set(namespaces)
    async with await KubeClient.connect(env.cluster.kubeconfig) as kube:
        while time.monotonic() < deadline:
            items = await kube.list("apps/v1", "Deployment")
            ours = [d for d in items if d["metadata"]["namespace"] in wanted]
            ready = [d for d in ours if (d.get("status") or {}).get("availableReplicas") == 1]
            if len(ours) == len(ready) == len(namespaces) * PER_NAMESPACE["Deployment"]:
                return
            await asyncio.sleep(1)
    print("bench: deployments did not all become available; timing anyway", file=sys.stderr)


def cleanup(env: TestEnv, namespaces: list[str], sync_name: str) -> None:
    with env.cluster.client(timeout=30) as client:
        for name in namespaces:
            client.delete(f"/api/v1/namespaces/{name}")
        client.delete(
            f"/api/v1/namespaces/{STATE_NAMESPACE}/configmaps/{state_object_name(sync_name)}"
        )


def ratio_line(label: str, conveyor: float, kubectl: float, target: str) -> str:
    return (
        f"bench {label}: conveyor {conveyor:.2f} s, kubectl {kubectl:.2f} s, "
        f"ratio {kubectl / conveyor:.1f}x (target {target})"
    )


async def run(env: TestEnv, workdir: Path) -> None:
    run_id = secrets.token_hex(3)
    sync_name = f"bench-{run_id}"
    ours, theirs = workdir / "conveyor", workdir / "kubectl"
    our_namespaces = write_repo(ours, f"bc-{run_id}")
    their_namespaces = write_repo(theirs, f"bk-{run_id}")
    try:
        conveyor_cold = await conveyor_sync(env, ours, sync_name)
        await wait_settled(env, our_namespaces)
        kubectl_cold = kubectl_apply(env, theirs)
        await wait_settled(env, their_namespaces)
        # A no-op run is short, so one sample is at the mercy of the machine's noise: take the
        # median of a few, alternating the two tools so both see the same conditions.
        conveyor_runs, kubectl_runs = [], []
        for _ in range(NOOP_RUNS):
            conveyor_runs.append(await conveyor_sync(env, ours, sync_name))
            kubectl_runs.append(kubectl_apply(env, theirs))
        conveyor_noop, kubectl_noop = median(conveyor_runs), median(kubectl_runs)
    finally:
        cleanup(env, our_namespaces + their_namespaces, sync_name)
    print(ratio_line("sync-cold", conveyor_cold, kubectl_cold, ">= 3x"))
    print(
        ratio_line("sync-noop", conveyor_noop, kubectl_noop, "< 1 s and >= 10x")
        + f" (median of {NOOP_RUNS})"
    )


def main() -> None:
    configured = os.environ.get("CONVEYOR_TESTENV_DIR")
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as scratch:
        workdir = Path(scratch)
        if configured and (Path(configured) / testenv_module.STATE_FILE).exists():
            asyncio.run(run(testenv_module.load(Path(configured)), workdir))
            return
        env = testenv_module.up(workdir / "env")
        try:
            asyncio.run(run(env, workdir))
        finally:
            with contextlib.suppress(Exception):
                testenv_module.down(workdir / "env")


if __name__ == "__main__":
    main()
