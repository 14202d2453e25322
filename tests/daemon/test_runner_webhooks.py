"""Image webhooks scan just what they name, and a burst of them coalesces (the real daemon).

The daemon runs in-process (``Daemon.running``) on the real git server, registry and control
plane, with intervals of 300 s so that only webhooks start passes within a test. Three automated
Deployments use three registry repositories; the registry client's own request counter shows
which repositories a pass listed.
"""

import asyncio
import json

import httpx
import pytest

from conveyor.api.app import create_app
from conveyor.core.webhooks_verify import CONVEYOR_SIGNATURE_HEADER, sign_body
from conveyor.daemon.runner import Daemon
from conveyor.daemon.settings import parse_settings
from conveyor.testing.demo import running_image

from .automation_repo import file_at, revisions, write_tree
from .polling import eventually

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

TOKEN = "webhooks-api-token-0123"
SECRET = "webhooks-webhook-secret-4567"
ENVIRON = {"CONVEYOR_API_TOKEN": TOKEN, "CONVEYOR_WEBHOOK_SECRET": SECRET}
AUTH = {"Authorization": f"Bearer {TOKEN}"}
APPS = ("web", "api", "worker")
DEADLINE = 90.0  # seconds for a request; far below the 300 s intervals


def deployment(namespace: str, name: str, image: str) -> str:
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {namespace}
  annotations:
    conveyor.dev/automated: "true"
    conveyor.dev/tag.app: "semver:*"
spec:
  replicas: 1
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
        - name: app
          image: {image}
"""


@pytest.fixture
def shop(tmp_path, testenv, config_repo, registry_repo, namespace, pusher):
    """A config repo with three automated Deployments, each on ``:1.0.0`` of its repository."""
    host = testenv.registries["anonymous"].host
    push = pusher("anonymous")
    images = {}
    for app in APPS:
        push.push_image(f"{registry_repo}-{app}", "1.0.0")
        images[app] = f"{host}/{registry_repo}-{app}"
    text = "---\n".join(deployment(namespace, app, f"{images[app]}:1.0.0") for app in APPS)
    repo = config_repo(write_tree(tmp_path / "seed", {"apps/shop.yaml": text}))
    return repo, images, push


def settings_for(testenv, repo, tmp_path, namespace):
    flags = {
        "repo": repo.ssh_url,
        "ssh_key": testenv.git.deploy_key,
        "known_hosts": testenv.git.known_hosts,
        "kubeconfig": testenv.cluster.kubeconfig,
        "state_dir": tmp_path / "state",
        "sync_name": namespace,
        "sync_interval": "300s",
        "scan_interval": "300s",
        "health_timeout": "60s",
        "insecure_registries": [testenv.registries["anonymous"].host],
        "listen": "127.0.0.1:0",
    }
    return parse_settings(flags=flags, environ=ENVIRON, home=tmp_path)


def signed_push(repository, tag):
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
        CONVEYOR_SIGNATURE_HEADER: sign_body(SECRET, body),
    }
    return body, headers


def released(repo, images, tags):
    """Whether the branch head's manifest has every app on the tag ``tags`` gives it."""
    text = file_at(repo.path, revisions(repo.path)[0], "apps/shop.yaml").decode()
    return all(f"image: {images[app]}:{tags[app]}\n" in text for app in tags)


def metric(text, name, **labels):
    """The value of one sample of the exposition ``text`` (0 when absent)."""
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    prefix = f"{name}{{{wanted}}} " if labels else f"{name} "
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line.split()[-1])
    return 0.0


async def test_a_webhook_for_one_repository_lists_only_that_one(
    testenv, kube, tmp_path, shop, registry_repo, namespace
):
    repo, images, push = shop
    settings = settings_for(testenv, repo, tmp_path, namespace)
    async with (
        Daemon.running(settings, create_app=create_app, environ=ENVIRON) as daemon,
        httpx.AsyncClient(base_url=daemon.url, timeout=DEADLINE) as http,
    ):
        loop = daemon.state.automation_loop
        counter = daemon.state.automation.registry.counter
        full = (await http.post("/api/v1/automate", headers=AUTH)).json()
        assert full["committed"] is False
        listed_by_full_pass = counter.total(operation="tags")
        assert listed_by_full_pass >= len(APPS), "the start and the full pass list all three"
        passes = loop.passes
        before = counter.total(operation="tags")

        await asyncio.to_thread(push.push_image, f"{registry_repo}-web", "1.1.0")
        body, headers = signed_push(images["web"], "1.1.0")
        accepted = await http.post("/hooks/image/generic", content=body, headers=headers)
        assert accepted.status_code == 202, accepted.text
        await eventually(lambda: loop.passes > passes, "the webhook's pass")

        assert counter.total(operation="tags") - before == 1, "only web's tag list was read"
        assert loop.wakeup is not None and not loop.wakeup.full
        assert released(repo, images, {"web": "1.1.0", "api": "1.0.0", "worker": "1.0.0"})
        running = await eventually(
            lambda: running_image(kube, namespace, "web") == f"{images['web']}:1.1.0",
            "web to run 1.1.0",
        )
        assert running
        metrics = (await http.get("/metrics", headers=AUTH)).text
        assert metric(metrics, "conveyor_automation_passes_total", scope="targeted") == 1.0
        assert metric(metrics, "conveyor_automation_passes_total", scope="full") == 2.0

        # A push for a repository this config repo does not use changes nothing.
        ignored_body, ignored_headers = signed_push(f"{images['web']}-unused", "2.0.0")
        ignored = await http.post(
            "/hooks/image/generic", content=ignored_body, headers=ignored_headers
        )
        assert ignored.status_code == 202
        assert loop.pending_subjects == frozenset()
        metrics = (await http.get("/metrics", headers=AUTH)).text
        assert (
            metric(
                metrics,
                "conveyor_webhooks_total",
                action="ignored",
                kind="image",
                provider="generic",
            )
            == 1.0
        )


async def test_a_burst_of_twenty_webhooks_makes_at_most_two_passes_and_releases_every_repo(
    testenv, kube, tmp_path, shop, registry_repo, namespace
):
    repo, images, push = shop
    pushed = [(APPS[i % 3], f"1.{1 + i // 3}.{i % 2}") for i in range(20)]
    newest = {app: max((t for a, t in pushed if a == app), key=semver_key) for app in APPS}
    settings = settings_for(testenv, repo, tmp_path, namespace)
    async with (
        Daemon.running(settings, create_app=create_app, environ=ENVIRON) as daemon,
        httpx.AsyncClient(base_url=daemon.url, timeout=DEADLINE) as http,
    ):
        state = daemon.state
        loop = state.automation_loop
        counter = state.automation.registry.counter
        await http.post("/api/v1/automate", headers=AUTH)  # the start-up passes are behind us
        for app, tag in pushed:
            await asyncio.to_thread(push.push_image, f"{registry_repo}-{app}", tag)
        passes = loop.passes
        before = counter.total(operation="tags")

        # A job holds the branch (as a release under way would) while the burst arrives, so
        # every webhook lands while a pass is pending or waiting: the test does not depend on
        # how fast this machine is.
        holding, let_go = asyncio.Event(), asyncio.Event()

        async def hold():
            holding.set()
            await let_go.wait()

        blocker = asyncio.create_task(state.queues.run(state.automation.target.queue_key, hold))
        await holding.wait()
        for app, tag in pushed:
            body, headers = signed_push(images[app], tag)
            accepted = await http.post("/hooks/image/generic", content=body, headers=headers)
            assert accepted.status_code == 202, accepted.text
        let_go.set()
        await blocker

        await eventually(lambda: released(repo, images, newest), "every repository's newest tag")
        await eventually(lambda: not loop.pending_subjects and loop.passes > passes, "quiet")
        burst_passes = loop.passes - passes
        listed = counter.total(operation="tags") - before
        metrics = (await http.get("/metrics", headers=AUTH)).text
        for app in APPS:
            running = await eventually(
                lambda app=app: (
                    running_image(kube, namespace, app) == f"{images[app]}:{newest[app]}"
                ),
                f"{app} to run {newest[app]}",
            )
            assert running

    assert 1 <= burst_passes <= 2, "the first webhook's pass, then one for all the rest"
    assert listed <= burst_passes * len(APPS), "each pass listed the named repositories once"
    assert listed < len(pushed), "far fewer listings than one full pass per webhook"
    coalesced = metric(
        metrics, "conveyor_loop_triggers_total", loop="automation", result="coalesced"
    )
    assert coalesced >= len(pushed) - 2
    scanned = metric(
        metrics, "conveyor_webhooks_total", action="scan", kind="image", provider="generic"
    )
    assert scanned == len(pushed)


def semver_key(tag):
    return tuple(int(part) for part in tag.split("."))
