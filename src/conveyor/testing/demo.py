"""``make demo``: conveyor's main job on the sandbox, with progress shown.

On a running test environment (``scripts/demo`` brings it up and takes it down): seed a config repo
with a small app, start ``conveyor daemon`` against it, push a new image tag and tell conveyor
through a signed webhook, show the commit conveyor made and the rollout finishing, roll back with
one CLI command, and print where to look. Then wait until Ctrl-C.

Run as ``python -m conveyor.testing.demo --dir ENVDIR``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from conveyor.core.sync.health import HealthStatus, evaluate_health
from conveyor.core.webhooks_verify import CONVEYOR_SIGNATURE_HEADER, sign_body
from conveyor.testing import env as testenv
from conveyor.testing.gitserver import create_repo, git
from conveyor.testing.images import ImagePusher

NAMESPACE = "demo"
IMAGE_REPO = "demo/web"
WORKLOAD = f"{NAMESPACE}:deployment/web"

NAMESPACE_YAML = """\
apiVersion: v1
kind: Namespace
metadata:
  name: demo
"""

WEB_YAML = """\
# The demo app. conveyor releases new 1.x tags of its image and records every change here.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: demo
  annotations:
    conveyor.dev/automated: "true"
    conveyor.dev/tag.web: "semver:~1.0"
spec:
  replicas: 2
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
        - name: web
          image: {image}:1.0.0
"""


def step(text: str) -> None:
    print(f"\n[demo] {text}", flush=True)


def detail(text: str) -> None:
    print(f"       {text}", flush=True)


def wait_for(check: Callable[[], object], what: str, timeout: float = 120.0) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise SystemExit(f"[demo] gave up after {timeout:.0f}s waiting for {what}")
        time.sleep(0.2)


def running_image(kube: httpx.Client, namespace: str = NAMESPACE, name: str = "web") -> str | None:
    """The Deployment's image once it is Available and its rollout is complete, else None."""
    response = kube.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}")
    if response.status_code != 200:
        return None
    deployment = response.json()
    available = any(
        c["type"] == "Available" and c["status"] == "True"
        for c in (deployment.get("status") or {}).get("conditions", [])
    )
    if not available or evaluate_health(deployment).status is not HealthStatus.HEALTHY:
        return None
    image: str = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    return image


def repo_log(bare: Path) -> list[str]:
    return git("--git-dir", str(bare), "log", "--format=%h %s", "main").splitlines()


def start_daemon(
    env: testenv.TestEnv,
    bare_name: str,
    demo_dir: Path,
    *,
    interval: str = "60s",
    log_name: str = "conveyor-daemon.log",
) -> tuple[subprocess.Popen[bytes], str, str, str]:
    """Start ``conveyor daemon``; return it, its API URL, the API token and the webhook secret."""
    token, secret = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    (demo_dir / "api-token").write_text(token + "\n")
    (demo_dir / "webhook-secret").write_text(secret + "\n")
    argv = [
        sys.executable, "-m", "conveyor", "daemon",
        "--repo", env.git.ssh_url(bare_name),
        "--ssh-key", str(env.git.deploy_key), "--known-hosts", str(env.git.known_hosts),
        "--kubeconfig", str(env.cluster.kubeconfig), "--state-dir", str(demo_dir / "state"),
        "--sync-interval", interval, "--scan-interval", interval, "--health-timeout", "60s",
        "--insecure-registries", env.registries["anonymous"].host,
        "--api-token-file", str(demo_dir / "api-token"),
        "--webhook-secret-file", str(demo_dir / "webhook-secret"),
        "--listen", "127.0.0.1:0",
    ]  # fmt: skip
    log_path = env.workdir / "logs" / log_name
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CONVEYOR_")}
    with log_path.open("w") as log:
        daemon = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=environ)

    def served() -> str | None:
        if daemon.poll() is not None:
            raise SystemExit(f"[demo] conveyor daemon exited:\n{log_path.read_text()[-3000:]}")
        for line in log_path.read_text().splitlines():
            if "conveyor daemon serving on " in line:
                return str(json.loads(line)["event"]).split("serving on ", 1)[1].split()[0]
        return None

    url = str(wait_for(served, "the daemon to serve its API"))
    return daemon, url, token, secret


def cli(url: str, token: str, *args: str) -> None:
    environ = {**os.environ, "CONVEYOR_URL": url, "CONVEYOR_TOKEN": token}
    detail("$ conveyor " + " ".join(args))
    result = subprocess.run([sys.executable, "-m", "conveyor", *args], env=environ, check=False)
    if result.returncode != 0:
        raise SystemExit(f"[demo] conveyor {args[0]} failed with exit code {result.returncode}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", type=Path, required=True, help="the running test environment")
    args = parser.parse_args()
    env = testenv.load(args.dir)
    demo_dir = env.workdir / "demo"
    demo_dir.mkdir(exist_ok=True)
    registry = env.registries["anonymous"]
    image = f"{registry.host}/{IMAGE_REPO}"
    pusher = ImagePusher(registry)

    step(f"CI pushes {image}:1.0.0 and the config repo describes the app")
    pusher.push_image(IMAGE_REPO, "1.0.0")
    seed = demo_dir / "seed"
    (seed / "apps").mkdir(parents=True, exist_ok=True)
    (seed / "apps" / "namespace.yaml").write_text(NAMESPACE_YAML)
    (seed / "apps" / "web.yaml").write_text(WEB_YAML.format(image=image))
    bare = create_repo(env.git, "demo-config", seed=seed)
    detail(f"config repo: {env.git.ssh_url('demo-config')}")

    step("starting conveyor daemon (sync + automation + API + dashboard)")
    daemon, url, token, secret = start_daemon(env, "demo-config", demo_dir)
    try:
        detail(f"API: {url}  (token in {demo_dir / 'api-token'})")
        with env.cluster.client() as kube:
            wait_for(lambda: running_image(kube) == f"{image}:1.0.0", "web to run 1.0.0")
            detail(f"synced: deployment/web is Available on {image}:1.0.0")

            step(f"CI pushes {image}:1.0.1 and tells conveyor with a signed webhook")
            pusher.push_image(IMAGE_REPO, "1.0.1")
            began = time.monotonic()
            body = json.dumps(
                {"specversion": "1.0", "type": "dev.conveyor.image.push", "id": "demo-1",
                 "source": "make-demo", "data": {"repository": image, "tag": "1.0.1"}}
            ).encode()  # fmt: skip
            hook = httpx.post(
                f"{url}/hooks/image/generic",
                content=body,
                headers={
                    "Content-Type": "application/cloudevents+json",
                    CONVEYOR_SIGNATURE_HEADER: sign_body(secret, body),
                },
            )
            detail(f"webhook answered {hook.status_code}")
            wait_for(lambda: len(repo_log(bare)) > 1, "conveyor's commit")
            detail(f"conveyor committed: {repo_log(bare)[0]}")
            wait_for(lambda: running_image(kube) == f"{image}:1.0.1", "web to run 1.0.1")
            detail(f"released: web runs 1.0.1, {time.monotonic() - began:.1f}s after the push")

            step("rolling back with one command (a commit to the config repo; nothing rebuilt)")
            cli(url, token, "rollback", WORKLOAD, "--message", "demo: roll back 1.0.1")
            wait_for(lambda: running_image(kube) == f"{image}:1.0.0", "web back on 1.0.0")
            detail(f"rolled back: web runs {image}:1.0.0 again")
            detail(
                "the same commit locked web, so automation does not release 1.0.1 again;"
                f" `conveyor unlock --workload {WORKLOAD}` resumes it"
            )

            step("history, as conveyor recorded it")
            cli(url, token, "history", WORKLOAD)
        step("where to look")
        detail(f"repo log:  git --git-dir {bare} log --stat")
        for line in repo_log(bare):
            detail(f"           {line}")
        detail(f"dashboard: {url}/ui/  (log in with the token in {demo_dir / 'api-token'})")
        detail(f"API:       curl -H 'Authorization: Bearer {token}' {url}/api/v1/status")
        detail(f"CLI:       CONVEYOR_URL={url} CONVEYOR_TOKEN={token} conveyor list-workloads")
        detail(f"cluster:   export KUBECONFIG={env.cluster.kubeconfig}")
        detail(f"logs:      {env.workdir / 'logs'}")
        seconds = os.environ.get("CONVEYOR_DEMO_SECONDS")
        step("the sandbox keeps running; press Ctrl-C to stop and clean up")
        if seconds:
            time.sleep(float(seconds))
        else:
            signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            daemon.kill()
        pusher.close()


if __name__ == "__main__":
    main()
