"""Out-of-band image changes through the running daemon, on the real git server and control plane.

The daemon (in-process, ``Daemon.running``) syncs a repo with two Deployments on a short
interval; ``kubectl set image`` then changes both. With no request from the test, its sync loop
reports each change in the history, reverts the default one (``api``) to the repo's image, and
adopts the one annotated ``conveyor.dev/out-of-band: adopt`` (``web``): one commit marked
out-of-band in the bare repo, the new image kept running.
"""

import asyncio
from functools import partial

import httpx
import pytest

from conveyor.api.app import create_app
from conveyor.core.commit_message import parse_change_trailers
from conveyor.core.release_history import HistoryKind
from conveyor.core.release_message import parse_operation_kind
from conveyor.daemon.runner import Daemon
from conveyor.daemon.settings import parse_settings
from tests.daemon import polling
from tests.daemon.release_repo import (
    API_IMAGE,
    WEB_IMAGE,
    RepoReader,
    kubectl_set_image,
    live_image,
    target_fixture,
    write_adopting_seed,
)

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

TOKEN = "out-of-band-api-token-0123"
KUBECTL_WEB = "registry.invalid/app:1.0.1-hotfix"
KUBECTL_API = "registry.invalid/api:2.0.1-hotfix"
DEADLINE = 60.0  # seconds to wait for the daemon to notice; many sync intervals
eventually = partial(polling.eventually, patience=DEADLINE)

target = target_fixture("oobd")


@pytest.fixture
def repo(config_repo, tmp_path, target):
    """``web`` adopts out-of-band changes, ``api`` has them reverted (the default)."""
    return config_repo(write_adopting_seed(tmp_path / "seed", target))


def out_of_band_entries(url: str, workload: str) -> list[dict]:
    answer = httpx.get(
        f"{url}/api/v1/history",
        params={"workload": workload},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    answer.raise_for_status()
    return [e for e in answer.json() if e["kind"] == HistoryKind.OUT_OF_BAND.value]


async def test_the_daemon_reverts_or_adopts_a_kubectl_set_image_by_itself(
    testenv, kube, tmp_path, repo, target
):
    reader = RepoReader(repo.path)
    web_id, api_id = f"{target}:deployment/web", f"{target}:deployment/api"
    settings = parse_settings(
        flags={
            "repo": repo.ssh_url,
            "ssh_key": testenv.git.deploy_key,
            "known_hosts": testenv.git.known_hosts,
            "kubeconfig": testenv.cluster.kubeconfig,
            "state_dir": tmp_path / "state",
            "sync_name": target,
            "sync_interval": "1s",
            "automation": "false",
            "health_timeout": "30s",
            "listen": "127.0.0.1:0",
        },
        environ={"CONVEYOR_API_TOKEN": TOKEN},
        home=tmp_path,
    )
    async with Daemon.running(
        settings, create_app=create_app, environ={"CONVEYOR_API_TOKEN": TOKEN}
    ) as daemon:
        seed = reader.head()
        web_before, api_before = reader.file("apps/web.yaml"), reader.file("apps/api.yaml")
        await eventually(lambda: live_image(kube, target, "api") == API_IMAGE, "the first sync")

        await asyncio.to_thread(kubectl_set_image, testenv, target, "web", KUBECTL_WEB)
        await asyncio.to_thread(kubectl_set_image, testenv, target, "api", KUBECTL_API)

        # Reported and reverted: the repo's image is back and the history says who changed it.
        [api_entry] = await eventually(lambda: out_of_band_entries(daemon.url, api_id), "api")
        await eventually(lambda: live_image(kube, target, "api") == API_IMAGE, "api reverted")
        assert api_entry["commit"] == seed and api_entry["user"].startswith("kubectl")
        assert [(c["oldImage"], c["newImage"]) for c in api_entry["changes"]] == [
            (KUBECTL_API, API_IMAGE)
        ]

        # Adopted: one commit on the bare repo, marked out-of-band, a byte-exact edit.
        [web_entry] = await eventually(lambda: out_of_band_entries(daemon.url, web_id), "web")
        adopted = web_entry["commit"]
        assert reader.revisions()[:2] == [adopted, seed]
        message = reader.message(adopted)
        assert parse_operation_kind(message) is HistoryKind.OUT_OF_BAND
        assert [(c.old_image, c.new_image) for c in parse_change_trailers(message)] == [
            (WEB_IMAGE, KUBECTL_WEB)
        ]
        assert reader.file("apps/web.yaml") == web_before.replace(WEB_IMAGE, KUBECTL_WEB)
        assert reader.file("apps/api.yaml") == api_before

        # The sync applies the adopting commit; the cluster keeps the new image throughout.
        status = await eventually(
            lambda: (s := daemon_status(daemon.url)) and s["revision"] == adopted and s, "sync"
        )
        assert status["outcome"] == "succeeded"
        assert live_image(kube, target, "web") == KUBECTL_WEB
        assert live_image(kube, target, "api") == API_IMAGE

        # Settled: later passes write nothing and report nothing new.
        passes = daemon.state.sync_loop.passes
        await eventually(lambda: daemon.state.sync_loop.passes >= passes + 2, "two more passes")
        assert reader.revisions()[:2] == [adopted, seed]
        # The API is served by this event loop: its blocking client runs in a thread.
        for workload in (web_id, api_id):
            assert len(await asyncio.to_thread(out_of_band_entries, daemon.url, workload)) == 1


def daemon_status(url: str) -> dict | None:
    answer = httpx.get(f"{url}/api/v1/status", headers={"Authorization": f"Bearer {TOKEN}"})
    return answer.json() if answer.is_success else None
