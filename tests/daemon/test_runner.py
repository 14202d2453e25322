"""Acceptance: the daemon on the real git server, registry and control plane.

- In-process (``Daemon.running``), intervals of 300 s so nothing is polled within the test: the
  initial sync applies the Deployment; a pushed tag plus a signed generic image webhook makes one
  commit and the Deployment runs the new image; a tampered webhook and a bad token get 401.
- As ``conveyor daemon`` in a subprocess, webhooks off and intervals of 3 s: the pushed tag is
  committed and running after a poll; SIGTERM ends the process cleanly with JSON logs that
  never show the API token.
"""

import asyncio
import json

import httpx
import pytest
from typer.testing import CliRunner

from conveyor.api.app import create_app
from conveyor.cli.main import app as cli_app
from conveyor.core.webhooks_verify import CONVEYOR_SIGNATURE_HEADER, sign_body
from conveyor.daemon.runner import Daemon
from conveyor.daemon.settings import parse_settings
from conveyor.testing.demo import running_image

from .automation_repo import changed_lines, revisions, write_tree
from .daemon_process import daemon_argv, running_daemon
from .polling import eventually

pytestmark = pytest.mark.integration

TOKEN = "integration-api-token-0123"
SECRET = "integration-webhook-secret-4567"
DEADLINE = 90.0  # seconds for a request; well under the 300 s intervals of the webhook test


def manifest(namespace: str, image: str) -> str:
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: {namespace}
  annotations:
    conveyor.dev/automated: "true"
    conveyor.dev/tag.app: "semver:*"
spec:
  replicas: 1
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
        - name: app
          image: {image}  # released by conveyor
"""


@pytest.fixture
def app_repo(tmp_path, testenv, config_repo, registry_repo, namespace, pusher):
    """A config repo with one automated Deployment on ``:1.0.0``; the pusher for more tags."""
    host = testenv.registries["anonymous"].host
    image = f"{host}/{registry_repo}"
    push = pusher("anonymous")
    push.push_image(registry_repo, "1.0.0")
    seed = {"apps/web.yaml": manifest(namespace, f"{image}:1.0.0")}
    repo = config_repo(write_tree(tmp_path / "seed", seed))
    return repo, image, push


def flags(testenv, repo, tmp_path, namespace, *, interval):
    return {
        "repo": repo.ssh_url,
        "ssh_key": testenv.git.deploy_key,
        "known_hosts": testenv.git.known_hosts,
        "kubeconfig": testenv.cluster.kubeconfig,
        "state_dir": tmp_path / "state",
        "sync_name": namespace,
        "sync_interval": interval,
        "scan_interval": interval,
        "health_timeout": "60s",
        "insecure_registries": [testenv.registries["anonymous"].host],
        "listen": "127.0.0.1:0",
    }


def signed_push(repository, tag, *, secret):
    body = json.dumps(
        {
            "specversion": "1.0",
            "type": "dev.conveyor.image.push",
            "source": "https://ci.example.com/pipelines/7",
            "id": f"{repository}:{tag}",
            "data": {"repository": repository, "tag": tag},
        }
    ).encode()
    headers = {
        "Content-Type": "application/cloudevents+json",
        CONVEYOR_SIGNATURE_HEADER: sign_body(secret, body),
    }
    return body, headers


@pytest.mark.anyio
async def test_a_signed_image_webhook_is_committed_and_running_without_polling(
    testenv, kube, tmp_path, app_repo, registry_repo, namespace
):
    repo, image, push = app_repo
    settings = parse_settings(
        flags=flags(testenv, repo, tmp_path, namespace, interval="300s"),
        environ={"CONVEYOR_API_TOKEN": TOKEN, "CONVEYOR_WEBHOOK_SECRET": SECRET},
        home=tmp_path,
    )
    environ = {"CONVEYOR_API_TOKEN": TOKEN, "CONVEYOR_WEBHOOK_SECRET": SECRET}
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with (
        Daemon.running(settings, create_app=create_app, environ=environ) as daemon,
        httpx.AsyncClient(base_url=daemon.url, timeout=DEADLINE) as http,
    ):
        ready = await eventually(lambda: httpx.get(f"{daemon.url}/readyz").is_success, "ready")
        assert ready
        seeded = revisions(repo.path)
        status = (await http.get("/api/v1/status", headers=auth)).json()
        assert (status["revision"], status["outcome"]) == (seeded[0], "succeeded")
        assert running_image(kube, namespace) == f"{image}:1.0.0"
        identity = (await http.get("/api/v1/identity", headers=auth)).json()["publicKey"]
        deploy_key = testenv.git.deploy_key.with_suffix(".pub").read_text()
        assert identity.split()[:2] == deploy_key.split()[:2]
        # The CLI's blocking client must not run on the loop that serves the daemon.
        printed = await asyncio.to_thread(
            CliRunner().invoke, cli_app, ["identity", "--url", daemon.url, "--token", TOKEN]
        )
        assert printed.exit_code == 0, printed.output
        assert printed.output.split()[:2] == deploy_key.split()[:2]
        # One automation pass on record: from here on only a trigger can start another.
        nothing = (await http.post("/api/v1/automate", headers=auth)).json()
        assert (nothing["committed"], nothing["changes"]) == (False, [])

        await asyncio.to_thread(push.push_image, registry_repo, "1.1.0")
        body, headers = signed_push(image, "1.1.0", secret=SECRET)
        tampered = await http.post("/hooks/image/generic", content=body + b" ", headers=headers)
        assert tampered.status_code == 401
        _, wrongly_signed = signed_push(image, "1.1.0", secret="x" * 20)
        wrong_key = await http.post("/hooks/image/generic", content=body, headers=wrongly_signed)
        assert wrong_key.status_code == 401
        bad_token = await http.get("/api/v1/status", headers={"Authorization": "Bearer nope"})
        assert bad_token.status_code == 401
        assert revisions(repo.path) == seeded, "a rejected webhook changes nothing"

        accepted = await http.post("/hooks/image/generic", content=body, headers=headers)
        assert accepted.status_code == 202, accepted.text
        running = await eventually(
            lambda: running_image(kube, namespace) == f"{image}:1.1.0", "the new image to run"
        )
        assert running

        history = revisions(repo.path)
        assert history[1:] == seeded, "exactly one commit, on top of the seed"
        assert changed_lines(repo.path, seeded[0], history[0]) == [
            f"-          image: {image}:1.0.0  # released by conveyor",
            f"+          image: {image}:1.1.0  # released by conveyor",
        ]
        # The rollout can be complete a moment before the sync records its marker.
        status = await eventually(
            lambda: marker_at(daemon.url, auth, history[0]), "the marker of the new commit"
        )
        assert status["outcome"] == "succeeded"
        metrics = (await http.get("/metrics", headers=auth)).text
        assert (
            'conveyor_webhooks_total{action="scan",kind="image",provider="generic"} 1.0' in metrics
        )
        assert 'conveyor_automation_runs_total{result="committed"} 1.0' in metrics
        recorded = (await http.get("/api/v1/history", headers=auth)).json()
        assert [(e["kind"], e["user"], e["commit"]) for e in recorded] == [
            ("release", "conveyor (automation)", history[0])
        ]
        assert daemon.state.sync_loop.interval == 300.0


def test_with_webhooks_off_a_push_is_released_by_polling_and_sigterm_stops_cleanly(
    testenv, kube, tmp_path, app_repo, registry_repo, namespace
):
    repo, image, push = app_repo
    token_file = tmp_path / "api-token"
    token_file.write_text(TOKEN + "\n")
    given = flags(testenv, repo, tmp_path, namespace, interval="3s")
    argv = daemon_argv(given, "--api-token-file", str(token_file))
    with running_daemon(argv, tmp_path / "daemon.log") as daemon:
        url = daemon.url
        auth = {"Authorization": f"Bearer {TOKEN}"}
        assert (
            httpx.get(f"{url}/api/v1/status", headers={"Authorization": "Bearer x"}).status_code
            == 401
        )
        asyncio.run(eventually(lambda: running_image(kube, namespace) == f"{image}:1.0.0", "1.0.0"))
        seeded = revisions(repo.path)

        push.push_image(registry_repo, "1.1.0")
        body, headers = signed_push(image, "1.1.0", secret=SECRET)
        off = httpx.post(f"{url}/hooks/image/generic", content=body, headers=headers)
        assert off.status_code == 404, "no webhook secret configured: webhooks are off"
        asyncio.run(eventually(lambda: running_image(kube, namespace) == f"{image}:1.1.0", "1.1.0"))
        assert revisions(repo.path)[1:] == seeded
        head = revisions(repo.path)[0]
        assert asyncio.run(eventually(lambda: marker_at(url, auth, head), "the new marker"))
    assert daemon.process.returncode == 0
    assert "signal received: shutting down" in daemon.events()
    assert TOKEN not in daemon.log_text()


def marker_at(url, auth, revision):
    status = httpx.get(f"{url}/api/v1/status", headers=auth).json()
    return status if status["revision"] == revision else None
