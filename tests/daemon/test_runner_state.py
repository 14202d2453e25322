"""Which webhook events wake which loop: only pushes this daemon's repo and images care about."""

import pytest

from conveyor.adapters.git import Remote
from conveyor.adapters.notify import Notifier
from conveyor.core.events import GitProvider, GitPushEvent, ImageProvider, ImagePushEvent
from conveyor.daemon.automation import AutomationTarget
from conveyor.daemon.git_source import GitSource
from conveyor.daemon.jobs import RepoJobQueues
from conveyor.daemon.metrics import DaemonMetrics
from conveyor.daemon.runner_state import AutomationSetup, DaemonState
from conveyor.daemon.sync import SyncSettings

pytestmark = pytest.mark.anyio

URL = "ssh://git@git.example.com/org/config.git"
IMAGE = "registry.example.com/shop/web"


@pytest.fixture
def state(tmp_path):
    remote = Remote.parse(URL)
    automation = AutomationSetup(
        target=AutomationTarget(remote),
        config=None,
        registry=None,
        cache=None,
        state_dir=tmp_path / "automation",
        scan_interval=300.0,
    )
    return DaemonState(
        source=GitSource(remote, state_dir=tmp_path / "sync"),
        kube=None,
        sync_settings=SyncSettings(),
        sync_interval=300.0,
        queues=RepoJobQueues(),
        metrics=DaemonMetrics(),
        notifier=Notifier([]),
        automation=automation,
        repo_url=URL,
        branch="main",
        public_key=None,
    )


def actions(state, kind):
    return {
        sample.labels["action"]: sample.value
        for metric in state.metrics.webhooks.collect()
        for sample in metric.samples
        if sample.name.endswith("_total") and sample.labels["kind"] == kind
    }


def git_push(url, branch):
    return GitPushEvent((url,), branch, None, GitProvider.GENERIC)


def image_push(repository):
    return ImagePushEvent(repository, "1.2.4", None, ImageProvider.GENERIC)


async def test_a_push_to_this_repo_and_branch_fetches_at_once(state):
    await state.on_git_push(git_push("https://git.example.com/org/config", "main"))
    await state.on_git_push(git_push(URL, "feature"))
    await state.on_git_push(git_push("https://git.example.com/org/other.git", "main"))
    assert actions(state, "git") == {"fetch": 1.0, "ignored": 2.0}


async def test_before_the_first_plan_any_image_push_runs_automation(state):
    await state.on_image_push(image_push("quay.io/someone/else"))
    assert actions(state, "image") == {"scan": 1.0}


async def test_after_a_plan_only_the_repositories_it_uses_run_automation(state):
    state.repositories = frozenset({IMAGE})
    await state.on_image_push(image_push(IMAGE))
    await state.on_image_push(image_push("quay.io/someone/else"))
    assert actions(state, "image") == {"scan": 1.0, "ignored": 1.0}


async def test_readiness_needs_a_fetch_and_the_cluster(state):
    assert not state.readiness().ready
    state.git_fetched = state.cluster_reachable = True
    assert state.readiness().ready
