"""Operations whose commit the sync does not apply, through the API and the `conveyor` verbs:
the daemon verifies commit signatures and conveyor's own commits are unsigned, so every sync of
one is refused. The answer carries `notApplied`, the CLI says so in a line of its own and ends
with exit code 1, and the history records the operation as failed."""

import contextlib
import json
import threading
import time

import pytest
import uvicorn
from fastapi import FastAPI
from typer.testing import CliRunner

from conveyor.api.auth import bearer_token_check
from conveyor.api.releases import release_router
from conveyor.cli.main import app as cli_app
from conveyor.testing.procs import free_port
from tests.daemon.git_commits import allowed_signers, ssh_signing_key
from tests.daemon.release_repo import (
    WEB_IMAGE,
    RepoReader,
    live_image,
    signed_config_repo,
    target_fixture,
)
from tests.daemon.test_releases_unapplied import verifying_manager

pytestmark = pytest.mark.integration

TOKEN = "unapplied-api-token"
NEW_WEB = "registry.invalid/app:1.1.0"

target = target_fixture("notapplied")


@pytest.fixture
def release_key(tmp_path):
    return ssh_signing_key(tmp_path / "release_key")


@pytest.fixture
def repo(config_repo, tmp_path, target, release_key):
    """The seed with a signed commit on top, so the verifying daemon applies it at first."""
    return signed_config_repo(config_repo, tmp_path, target, signing_key=release_key)


@pytest.fixture
def url(testenv, repo, target, tmp_path, release_key):
    """The release routes over a verifying manager (the signed seed synced), served by uvicorn."""
    running = {}

    @contextlib.asynccontextmanager
    async def lifespan(app):
        async with verifying_manager(
            testenv,
            repo,
            tmp_path / "state",
            sync_name=target,
            trust=allowed_signers(tmp_path / "allowed_signers", release_key),
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
    thread = threading.Thread(target=server.run, name="unapplied api", daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "the API server stopped before it started"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=60)


def conveyor(*args, url):
    return CliRunner().invoke(cli_app, [*args, "--url", url, "--token", TOKEN])


def history(url, workload):
    shown = conveyor("history", workload, "-o", "json", url=url)
    assert shown.exit_code == 0, shown.output
    return json.loads(shown.stdout)


def test_a_release_not_applied_says_why_and_exits_1(url, repo, target, kube):
    reader = RepoReader(repo.path)
    web = f"{target}:deployment/web"

    released = conveyor("release", "-w", web, "-i", NEW_WEB, "--user", "alice", url=url)

    assert released.exit_code == 1, released.output
    commit = reader.head()
    assert f"release: committed {commit}" in released.stdout
    [line] = [x for x in released.stdout.splitlines() if x.startswith("NOT APPLIED: ")]
    assert "the commit is in the repo but the cluster does not run it" in line
    assert f"the sync refused commit {commit[:12]}" in line
    assert "rolled back" not in released.stdout
    assert live_image(kube, target, "web") == WEB_IMAGE

    [entry] = history(url, web)
    assert (entry["kind"], entry["commit"], entry["result"]) == ("release", commit, "failed")
    assert f"the sync refused commit {commit[:12]}" in entry["detail"]


def test_the_json_answer_carries_not_applied_for_a_release_and_a_lock(url, repo, target):
    reader = RepoReader(repo.path)
    web = f"{target}:deployment/web"

    released = conveyor("release", "-w", web, "-i", NEW_WEB, "-o", "json", url=url)
    assert released.exit_code == 1, released.output
    answer = json.loads(released.stdout)
    assert answer["commit"] == reader.head()
    assert answer["notApplied"].startswith(f"the sync refused commit {answer['commit'][:12]}")
    assert answer["health"] is None and not answer["rolledBack"]

    locked = conveyor("lock", "-w", web, "-m", "incident 42", "-o", "json", url=url)
    lock = json.loads(locked.stdout)
    assert lock["kind"] == "lock" and lock["commit"] == reader.head()
    assert "The lock itself holds" in lock["notApplied"]
    newest = history(url, web)[0]
    assert (newest["kind"], newest["result"], newest["detail"]) == (
        "lock",
        "failed",
        lock["notApplied"],
    )
