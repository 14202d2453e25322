"""Benchmark: image push to running Deployment, driven by webhooks, through ``conveyor daemon``.

Seeds a config repo with the demo's automated Deployment (semver policy ``~1.0``), starts
``conveyor daemon`` on it the way ``make demo`` does, then 20 times: pushes the next tag, posts the
signed CloudEvents webhook, and measures from the moment the push completed until the Deployment
is Available with its rollout complete on that tag (the apiserver polled every 25 ms).

    CONVEYOR_TESTENV_DIR=/tmp/env .venv/bin/python bench/bench_push_to_running.py

Prints one line, ``bench push-to-running: ...``. Each run uses its own image repository and
config repo, and deletes the namespace and sync state it made, so runs can follow each other on
one environment.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from conveyor.core.webhooks_verify import CONVEYOR_SIGNATURE_HEADER, sign_body
from conveyor.daemon.sync_state import STATE_NAMESPACE, state_object_name
from conveyor.testing import env as testenv_module
from conveyor.testing.demo import (
    NAMESPACE,
    NAMESPACE_YAML,
    WEB_YAML,
    running_image,
    start_daemon,
    wait_for,
)
from conveyor.testing.env import TestEnv
from conveyor.testing.gitserver import create_repo
from conveyor.testing.images import ImagePusher

PUSHES = 20
POLL_SECONDS = 0.025
# The daemon's default sync name: its state object is one of the things cleaned up afterwards.
SYNC_NAME = "default"


def post_webhook(url: str, secret: str, *, image: str, tag: str) -> None:
    body = json.dumps(
        {"specversion": "1.0", "type": "dev.conveyor.image.push", "id": f"bench-{tag}",
         "source": "bench-push-to-running", "data": {"repository": image, "tag": tag}}
    ).encode()  # fmt: skip
    answer = httpx.post(
        f"{url}/hooks/image/generic",
        content=body,
        headers={
            "Content-Type": "application/cloudevents+json",
            CONVEYOR_SIGNATURE_HEADER: sign_body(secret, body),
        },
    )
    if answer.status_code >= 300:
        raise SystemExit(f"[bench] the webhook for {tag} was answered {answer.status_code}")


def wait_running(kube: httpx.Client, wanted: str, timeout: float = 60.0) -> None:
    """Poll the apiserver until the Deployment is Available on ``wanted``, rollout complete."""
    deadline = time.monotonic() + timeout
    while running_image(kube) != wanted:
        if time.monotonic() > deadline:
            raise SystemExit(f"[bench] gave up after {timeout:.0f}s waiting for {wanted}")
        time.sleep(POLL_SECONDS)


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile: with 20 samples p99 is the largest, as it honestly is."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * fraction // 1))
    return ordered[int(rank) - 1]


def clean_cluster(kube: httpx.Client) -> None:
    kube.delete(f"/api/v1/namespaces/{NAMESPACE}")
    kube.delete(f"/api/v1/namespaces/{STATE_NAMESPACE}/configmaps/{state_object_name(SYNC_NAME)}")
    # A later run recreates the namespace; wait until it is really gone.
    wait_for(
        lambda: kube.get(f"/api/v1/namespaces/{NAMESPACE}").status_code == 404,
        f"namespace {NAMESPACE} to be deleted",
    )


def measure(env: TestEnv, work: Path) -> list[float]:
    suffix = secrets.token_hex(4)
    registry = env.registries["anonymous"]
    image_repo = f"bench/web-{suffix}"
    image = f"{registry.host}/{image_repo}"
    pusher = ImagePusher(registry)
    try:
        pusher.push_image(image_repo, "1.0.0")
        seed = work / "seed"
        (seed / "apps").mkdir(parents=True)
        (seed / "apps" / "namespace.yaml").write_text(NAMESPACE_YAML)
        (seed / "apps" / "web.yaml").write_text(WEB_YAML.format(image=image))
        bare_name = f"bench-push-{suffix}"
        create_repo(env.git, bare_name, seed=seed)

        daemon, url, _token, secret = start_daemon(
            env, bare_name, work, interval="300s", log_name="bench-push-daemon.log"
        )
        latencies: list[float] = []
        try:
            with env.cluster.client() as kube:
                try:
                    wait_running(kube, f"{image}:1.0.0", timeout=120.0)
                    for patch in range(1, PUSHES + 1):
                        tag = f"1.0.{patch}"
                        pusher.push_image(image_repo, tag)
                        pushed = time.monotonic()
                        post_webhook(url, secret, image=image, tag=tag)
                        wait_running(kube, f"{image}:{tag}")
                        latencies.append(time.monotonic() - pushed)
                finally:
                    clean_cluster(kube)
        finally:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
        return latencies
    finally:
        pusher.close()


def main() -> None:
    envdir = os.environ.get("CONVEYOR_TESTENV_DIR")
    if not envdir:
        raise SystemExit("[bench] set CONVEYOR_TESTENV_DIR to a running test environment")
    env = testenv_module.load(Path(envdir))
    with tempfile.TemporaryDirectory(prefix="bench-push-") as tmp:
        latencies = measure(env, Path(tmp))
    print(
        f"bench push-to-running: {len(latencies)} pushes with webhooks: "
        f"p50 {statistics.median(latencies):.2f} s, p99 {percentile(latencies, 0.99):.2f} s, "
        f"max {max(latencies):.2f} s (target p50 < 1.5 s, p99 < 3 s)",
        flush=True,
    )


if __name__ == "__main__":
    main()
