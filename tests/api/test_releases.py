"""The release routes over a real ReleaseManager (git server, control plane), served by uvicorn
on a loopback port and driven through the real `conveyor` CLI verbs."""

import contextlib
import json
import threading
import time

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from typer.testing import CliRunner

from conveyor.api.auth import bearer_token_check
from conveyor.api.releases import release_router
from conveyor.cli.main import app as cli_app
from conveyor.testing.procs import free_port
from tests.daemon.release_repo import (
    API_IMAGE,
    WEB_IMAGE,
    RepoReader,
    live_annotations,
    live_image,
    release_manager,
    target_fixture,
    write_seed,
)

pytestmark = pytest.mark.integration

TOKEN = "release-api-token"
NEW_WEB = "registry.invalid/app:1.1.0"
BROKEN_WEB = "registry.invalid/app:1.1.0-broken"


target = target_fixture("verbs")


@pytest.fixture
def repo(config_repo, tmp_path, target):
    return config_repo(write_seed(tmp_path / "seed", target))


@pytest.fixture
def url(testenv, repo, target, tmp_path):
    """The release routes of a small app over a real manager (seed synced), served by uvicorn."""
    running = {}

    @contextlib.asynccontextmanager
    async def lifespan(app):
        async with release_manager(
            testenv, repo, tmp_path / "state", sync_name=target, health_timeout=10.0
        ) as manager:
            await manager.sync()
            running["manager"] = manager
            yield

    app = FastAPI(lifespan=lifespan)
    app.include_router(
        release_router(manager=lambda: running.get("manager"), auth=bearer_token_check(TOKEN))
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, ws="none")
    )
    thread = threading.Thread(target=server.run, name="release api", daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "the API server stopped before it started"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=60)


def conveyor(*args, url, token=TOKEN):
    return CliRunner().invoke(cli_app, [*args, "--url", url, "--token", token])


def as_json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_dry_run_changes_nothing_and_prints_the_plan_and_live_diff(url, repo, target, kube):
    reader = RepoReader(repo.path)
    head = reader.head()
    web = f"{target}:deployment/web"

    shown = conveyor("release", "-w", web, "-i", NEW_WEB, "--dry-run", "--user", "alice", url=url)
    assert shown.exit_code == 0, shown.output
    assert "dry run: release would change 1 value; nothing was written" in shown.stdout
    assert "against the live cluster" in shown.stdout
    diff_table = shown.stdout.split("against the live cluster:")[1]
    row = next(line.split() for line in diff_table.splitlines() if line.startswith(web))
    assert row == [web, "app", WEB_IMAGE, WEB_IMAGE, NEW_WEB]

    planned = as_json(
        conveyor("release", "-w", web, "-i", NEW_WEB, "--dry-run", "-o", "json", url=url)
    )
    assert planned["dryRun"] and planned["commit"] is None and planned["sync"] is None
    assert planned["diff"] == [
        {
            "workload": web,
            "container": "app",
            "repoImage": WEB_IMAGE,
            "liveImage": WEB_IMAGE,
            "plannedImage": NEW_WEB,
            "liveDiffers": True,
        }
    ]
    assert reader.head() == head
    assert live_image(kube, target, "web") == WEB_IMAGE
    assert as_json(conveyor("history", "-o", "json", url=url)) == []


def test_release_then_rollback_two_commits_original_image_and_history(url, repo, target, kube):
    reader = RepoReader(repo.path)
    seed = reader.head()
    web = f"{target}:deployment/web"

    released = conveyor(
        "release",
        "-w",
        web,
        "-i",
        NEW_WEB,
        "--user",
        "alice",
        "-m",
        "ship the fix",
        "--watch",
        url=url,
    )
    assert released.exit_code == 0, released.output
    assert f"release: committed {reader.head()}" in released.stdout
    assert f"{web}: Healthy" in released.stdout
    assert f"watching {web}" in released.stderr
    assert live_image(kube, target, "web") == NEW_WEB
    assert live_image(kube, target, "api") == API_IMAGE
    release_commit = reader.head()

    rolled = as_json(
        conveyor("rollback", web, "--user", "bob", "-m", "too slow", "-o", "json", url=url)
    )
    assert rolled["kind"] == "rollback" and not rolled["rolledBack"]
    assert rolled["notApplied"] is None
    assert [(c["oldImage"], c["newImage"]) for c in rolled["changes"]] == [(NEW_WEB, WEB_IMAGE)]
    assert [h["healthy"] for h in rolled["health"]] == [True]
    assert reader.revisions()[:3] == [rolled["commit"], release_commit, seed]
    assert live_image(kube, target, "web") == WEB_IMAGE

    history = as_json(conveyor("history", web, "-o", "json", url=url))
    assert [(e["kind"], e["user"], e["message"], e["commit"], e["result"]) for e in history] == [
        ("rollback", "bob", "too slow", rolled["commit"], "succeeded"),
        ("release", "alice", "ship the fix", release_commit, "succeeded"),
    ]
    table = conveyor("history", url=url)
    assert table.exit_code == 0
    assert "alice" in table.stdout and "ship the fix" in table.stdout and "too slow" in table.stdout


def test_lock_and_unlock_are_one_commit_each(url, repo, target, kube):
    reader = RepoReader(repo.path)
    seed = reader.head()
    web = f"{target}:deployment/web"

    locked = conveyor("lock", "-w", web, "-m", "freeze for the demo", "--user", "carol", url=url)
    assert locked.exit_code == 0, locked.output
    assert reader.revisions()[:2] == [reader.head(), seed]
    [workload] = [
        w for w in as_json(conveyor("list-workloads", "-o", "json", url=url)) if w["id"] == web
    ]
    assert workload["locked"] and workload["lockReason"] == "freeze for the demo"
    assert workload["lockedBy"] == "carol"
    assert any("locked" in key for key in live_annotations(kube, target, "web"))
    assert "locked by carol: freeze for the demo" in conveyor("list-workloads", url=url).stdout

    refused = as_json(
        conveyor("release", "-w", web, "-i", NEW_WEB, "--dry-run", "-o", "json", url=url)
    )
    assert refused["changes"] == [] and [s["workload"] for s in refused["skipped"]] == [web]

    lock_commit = reader.head()
    unlocked = as_json(conveyor("unlock", "-w", web, "--user", "carol", "-o", "json", url=url))
    assert reader.revisions()[:3] == [unlocked["commit"], lock_commit, seed]
    assert unlocked["notApplied"] is None
    [workload] = [
        w for w in as_json(conveyor("list-workloads", "-o", "json", url=url)) if w["id"] == web
    ]
    assert not workload["locked"]
    kinds = [e["kind"] for e in as_json(conveyor("history", web, "-o", "json", url=url))]
    assert kinds == ["unlock", "lock"]


def test_a_bad_token_is_401_and_exit_code_2_naming_the_token(url, repo):
    response = httpx.get(f"{url}/api/v1/workloads", headers={"Authorization": "Bearer wrong"})
    assert response.status_code == 401
    head = RepoReader(repo.path).head()

    result = conveyor("lock", "--all", url=url, token="wrong")
    assert result.exit_code == 2
    assert "401" in result.stderr and "--token" in result.stderr and "wrong" not in result.stderr
    assert RepoReader(repo.path).head() == head


def test_an_unreachable_url_is_exit_code_2_naming_the_url():
    nowhere = f"http://127.0.0.1:{free_port()}"
    result = conveyor("list-workloads", url=nowhere)
    assert result.exit_code == 2
    assert "--url" in result.stderr and nowhere in result.stderr


def test_a_request_the_daemon_refuses_is_exit_code_2_with_its_message(url, target):
    web = f"{target}:deployment/web"
    result = conveyor("release", "-w", web, "-i", "registry.invalid/app", url=url)
    assert result.exit_code == 2
    assert "has no tag" in result.stderr


def test_list_images_says_clearly_when_the_daemon_does_not_serve_it(url):
    result = conveyor("list-images", url=url)
    assert result.exit_code == 2
    assert "does not serve GET /api/v1/images" in result.stderr


def test_a_release_that_fails_its_health_check_is_rolled_back_and_exits_1(url, repo, target, kube):
    reader = RepoReader(repo.path)
    seed = reader.head()
    web = f"{target}:deployment/web"

    result = conveyor("release", "-w", web, "-i", BROKEN_WEB, "--user", "dave", url=url)
    assert result.exit_code == 1, result.output
    assert "failed its health check and was rolled back" in result.stdout
    [revert, release, first] = reader.revisions()[:3]
    assert first == seed and f"release: committed {release}" in result.stdout
    assert f"rolled back in {revert}" in result.stdout
    assert live_image(kube, target, "web") == WEB_IMAGE
    [workload] = [
        w for w in as_json(conveyor("list-workloads", "-o", "json", url=url)) if w["id"] == web
    ]
    assert workload["locked"]
