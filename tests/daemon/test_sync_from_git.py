"""Syncing from the real git server (SSH with the deploy key, HTTP with basic auth) into the real
control plane: new commits, removed files, and the signature gate."""

import asyncio

import anyio
import pytest

from conveyor.adapters.git import HttpAuth, Remote, SshAuth
from conveyor.adapters.kube import KubeClient
from conveyor.core.sync.health import HealthStatus
from conveyor.core.sync.record import Action, Outcome
from conveyor.daemon.git_source import GitSource
from conveyor.daemon.sync import SyncSettings, read_status
from conveyor.testing.gitserver import git
from tests.daemon.git_commits import WorkClone, allowed_signers, ssh_signing_key
from tests.daemon.release_repo import target_fixture
from tests.daemon.sync_repo import configmap, deployment, dump, service

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


target = target_fixture("gitsync")


@pytest.fixture
def seed(tmp_path, target):
    """A small config repo: a namespace, a Deployment with its Service, and two ConfigMaps."""
    ns = target
    root = tmp_path / "seed"
    (root / "apps").mkdir(parents=True)
    (root / "namespace.yaml").write_text(
        dump({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    )
    (root / "apps" / "web.yaml").write_text(dump(deployment("web", ns), service("web", ns)))
    (root / "apps" / "settings.yaml").write_text(dump(configmap("settings", ns, color="blue")))
    (root / "apps" / "extra.yaml").write_text(dump(configmap("extra", ns)))
    (root / "README.md").write_text("# config repo\n")
    return root


def ssh_source(testenv, repo, state_dir, **kwargs) -> GitSource:
    auth = SshAuth(testenv.git.deploy_key, testenv.git.known_hosts)
    return GitSource(Remote.parse(repo.ssh_url, auth=auth), state_dir=state_dir, **kwargs)


def ssh_clone(testenv, repo, work) -> WorkClone:
    return WorkClone(repo.ssh_url, work, env={"GIT_SSH_COMMAND": testenv.git.ssh_command()})


def head_of(repo) -> str:
    return git("--git-dir", str(repo.path), "rev-parse", "main").strip()


def connect(testenv):
    return KubeClient.connect(testenv.cluster.kubeconfig)


def color_of(kube, namespace):
    response = kube.get(f"/api/v1/namespaces/{namespace}/configmaps/settings")
    return response.json()["data"]["color"] if response.status_code == 200 else None


async def test_syncs_over_ssh_then_follows_new_commits_and_prunes_removed_files(
    testenv, config_repo, seed, target, tmp_path, kube
):
    repo = config_repo(seed)
    source = ssh_source(testenv, repo, tmp_path / "state")
    settings = SyncSettings(name=target, health_timeout=60.0)
    async with await connect(testenv) as client:
        first = await source.sync(client, settings)
        assert first.outcome is Outcome.SUCCEEDED, first.failures
        assert first.revision == head_of(repo)
        actions = {(r.ref.kind, r.ref.name): r.action for r in first.results}
        assert actions == {
            ("Namespace", target): Action.CREATED,
            ("Deployment", "web"): Action.CREATED,
            ("Service", "web"): Action.CREATED,
            ("ConfigMap", "settings"): Action.CREATED,
            ("ConfigMap", "extra"): Action.CREATED,
        }
        web = next(r for r in first.results if r.ref.kind == "Deployment")
        assert web.health == HealthStatus.HEALTHY

        clone = ssh_clone(testenv, repo, tmp_path / "clone")
        clone.write("apps/settings.yaml", dump(configmap("settings", target, color="green")))
        changed = clone.commit_and_push("Turn settings green")
        second = await source.sync(client, settings)
        assert second.revision == changed
        assert {(r.ref.name, r.action) for r in second.results if r.ref.kind == "ConfigMap"} == {
            ("settings", Action.CONFIGURED),
            ("extra", Action.UNCHANGED),
        }
        assert color_of(kube, target) == "green"
        status = await read_status(client, target)
        assert status is not None and status.revision == changed

        clone.remove("apps/extra.yaml")
        removed = clone.commit_and_push("Remove extra")
        third = await source.sync(client, settings)
        assert third.revision == removed
        pruned = [r.ref.name for r in third.results if r.action is Action.PRUNED]
        assert pruned == ["extra"]
        extra = kube.get(f"/api/v1/namespaces/{target}/configmaps/extra")
        assert extra.status_code == 404 or extra.json()["metadata"].get("deletionTimestamp")
        assert color_of(kube, target) == "green"


async def test_syncs_over_http_with_basic_auth(testenv, config_repo, seed, target, tmp_path):
    repo = config_repo(seed)
    auth = HttpAuth(testenv.git.http_user, testenv.git.http_password)
    source = GitSource(
        Remote.parse(repo.http_url, auth=auth), paths=("apps",), state_dir=tmp_path / "state"
    )
    # Only apps/: the namespace file is outside the synced path, so create it first.
    async with await connect(testenv) as client:
        await client.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": target}})
        marker = await source.sync(client, SyncSettings(name=target, health_timeout=0))
    assert marker.outcome is Outcome.SUCCEEDED, marker.failures
    assert marker.revision == head_of(repo)
    assert {r.ref.kind for r in marker.results} == {"Deployment", "Service", "ConfigMap"}
    assert testenv.git.http_password not in repr(source)


async def test_the_run_loop_syncs_each_fetch_and_a_trigger_brings_in_a_push_early(
    testenv, config_repo, seed, target, tmp_path, kube
):
    repo = config_repo(seed)
    source = ssh_source(testenv, repo, tmp_path / "state")
    settings = SyncSettings(name=target, health_timeout=0)
    seeded = head_of(repo)
    synced: list[str] = []
    done = asyncio.Event()
    async with await connect(testenv) as client:

        async def on_revision(revision: str) -> None:
            marker = await source.sync(client, settings, revision=revision)
            assert marker.outcome is Outcome.SUCCEEDED, marker.failures
            synced.append(marker.revision)
            done.set()

        with anyio.fail_after(120):  # a safety net against a hang, not a timing assertion
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(source.run, 3600.0, on_revision)
                await done.wait()
                done.clear()
                clone = ssh_clone(testenv, repo, tmp_path / "clone")
                clone.write("apps/settings.yaml", dump(configmap("settings", target, color="red")))
                pushed = clone.commit_and_push("Turn settings red")
                source.trigger()
                await done.wait()
                tasks.cancel_scope.cancel()
    assert synced == [seeded, pushed]
    assert color_of(kube, target) == "red"


async def test_only_heads_signed_by_a_trusted_key_are_applied(
    testenv, config_repo, seed, target, tmp_path, kube
):
    release_key = ssh_signing_key(tmp_path / "release_key")
    stranger_key = ssh_signing_key(tmp_path / "stranger_key")
    trust = allowed_signers(tmp_path / "allowed_signers", release_key)
    repo = config_repo(seed)  # the seed commit is unsigned
    source = ssh_source(testenv, repo, tmp_path / "state", trust=trust)
    settings = SyncSettings(name=target, health_timeout=0)
    async with await connect(testenv) as client:
        unsigned = await source.sync(client, settings)
        assert unsigned.outcome is Outcome.REFUSED
        assert unsigned.results == ()
        assert unsigned.refusal is not None and unsigned.refusal.status == "unsigned"
        assert kube.get(f"/api/v1/namespaces/{target}").status_code == 404
        recorded = await read_status(client, target)
        assert recorded == unsigned
        assert (recorded.revision, recorded.refusal.applied_revision) == (head_of(repo), "")

        clone = ssh_clone(testenv, repo, tmp_path / "clone")
        clone.write("apps/settings.yaml", dump(configmap("settings", target, color="signed")))
        signed = clone.commit_and_push("Signed release", signing_key=release_key)
        applied = await source.sync(client, settings)
        assert (applied.outcome, applied.revision, applied.refusal) == (
            Outcome.SUCCEEDED,
            signed,
            None,
        )
        assert color_of(kube, target) == "signed"

        clone.write("apps/settings.yaml", dump(configmap("settings", target, color="evil")))
        clone.remove("apps/extra.yaml")
        forged = clone.commit_and_push("Not ours", signing_key=stranger_key)
        refused = await source.sync(client, settings)
        assert (refused.outcome, refused.revision) == (Outcome.REFUSED, forged)
        assert refused.refusal is not None
        assert refused.refusal.status == "bad"
        assert "not signed by an allowed signer" in refused.refusal.detail
        assert refused.refusal.applied_revision == signed
        # Nothing of the refused commit reached the cluster: no edit, no prune.
        assert color_of(kube, target) == "signed"
        assert kube.get(f"/api/v1/namespaces/{target}/configmaps/extra").status_code == 200
        assert await read_status(client, target) == refused
