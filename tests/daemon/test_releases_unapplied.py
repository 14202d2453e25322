"""A release the sync does not apply, on the real git server and control plane: with signature
verification on, conveyor's own unsigned commit is refused, so the release fails at once with
the refusal's reason (no health wait, no automatic rollback, no revert commit); with a trusted
signing key for conveyor's commits the same release goes through. Policy changes (a lock here)
whose sync is refused are recorded as failed the same way, saying the lock still holds in git."""

import pytest

from conveyor.adapters.git import CommitSettings, SshSigningKey
from conveyor.core.release import PolicyRequest, ReleaseRequest, WorkloadSelector
from conveyor.core.release_history import HistoryKind, HistoryResult
from conveyor.core.sync.record import Outcome
from tests.daemon.git_commits import allowed_signers, ssh_signing_key
from tests.daemon.release_repo import (
    WEB_IMAGE,
    RepoReader,
    live_annotations,
    live_image,
    release_manager,
    signed_config_repo,
    target_fixture,
)

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

NEW_WEB = "registry.invalid/app:1.1.0"
# Long enough that a release waiting for health of a change never applied would stand out in
# the test's run time; the assertions are on results, never on time.
HEALTH_TIMEOUT = 120.0

target = target_fixture("unapplied")


@pytest.fixture
def signing(tmp_path):
    """A release key and the allowed_signers file that trusts it."""
    key = ssh_signing_key(tmp_path / "release_key")
    return key, allowed_signers(tmp_path / "allowed_signers", key)


@pytest.fixture
def signed_repo(config_repo, tmp_path, target, signing):
    """The seed, with a signed commit on top so the verifying sync applies it."""
    return signed_config_repo(config_repo, tmp_path, target, signing_key=signing[0])


def verifying_manager(testenv, repo, state_dir, *, sync_name, trust, commit=None):
    return release_manager(
        testenv,
        repo,
        state_dir,
        sync_name=sync_name,
        health_timeout=HEALTH_TIMEOUT,
        trust=trust,
        commit=commit,
    )


async def test_a_release_the_sync_refuses_fails_at_once_and_is_not_rolled_back(
    testenv, signed_repo, target, tmp_path, kube, signing
):
    reader = RepoReader(signed_repo.path)
    web_id = f"{target}:deployment/web"
    async with verifying_manager(
        testenv, signed_repo, tmp_path / "state", sync_name=target, trust=signing[1]
    ) as manager:
        applied = await manager.sync()
        assert applied.outcome is Outcome.SUCCEEDED
        signed_head = reader.head()

        result = await manager.release(
            ReleaseRequest(WorkloadSelector(ids=(web_id,)), image=NEW_WEB, user="alice")
        )

        assert result.commit == reader.head() and result.commit != signed_head
        assert reader.revisions()[:2] == [result.commit, signed_head], "no revert commit"
        assert not result.rolled_back and result.revert_commit is None
        assert result.health is None, "nothing applied: nothing to wait for"
        assert result.sync is not None and result.sync.outcome is Outcome.REFUSED
        assert result.not_applied.startswith(
            f"the sync refused commit {result.commit[:12]}: signature unsigned"
        )
        assert f"the cluster still runs {signed_head[:12]}" in result.not_applied
        assert live_image(kube, target, "web") == WEB_IMAGE
        assert 'conveyor.dev/locked: "true"' not in reader.file("apps/web.yaml")

        [entry] = await manager.history(web_id)
        assert (entry.kind, entry.user, entry.commit, entry.result) == (
            HistoryKind.RELEASE,
            "alice",
            result.commit,
            HistoryResult.FAILED,
        )
        assert entry.detail == result.not_applied


async def test_a_release_signed_with_a_trusted_key_is_applied_and_waited_for(
    testenv, signed_repo, target, tmp_path, kube, signing
):
    key, trust = signing
    web_id = f"{target}:deployment/web"
    async with verifying_manager(
        testenv,
        signed_repo,
        tmp_path / "state",
        sync_name=target,
        trust=trust,
        commit=CommitSettings(signing=SshSigningKey(key)),
    ) as manager:
        await manager.sync()
        result = await manager.release(
            ReleaseRequest(WorkloadSelector(ids=(web_id,)), image=NEW_WEB, user="alice")
        )

        assert result.not_applied == ""
        assert result.sync is not None and result.sync.outcome is Outcome.SUCCEEDED
        assert result.health is not None and all(h.healthy for h in result.health)
        assert live_image(kube, target, "web") == NEW_WEB
        [entry] = await manager.history(web_id)
        assert entry.result is HistoryResult.SUCCEEDED


async def test_a_lock_the_sync_refuses_is_recorded_as_failed_and_still_holds_in_git(
    testenv, signed_repo, target, tmp_path, kube, signing
):
    reader = RepoReader(signed_repo.path)
    web_id = f"{target}:deployment/web"
    selector = WorkloadSelector(ids=(web_id,))
    async with verifying_manager(
        testenv, signed_repo, tmp_path / "state", sync_name=target, trust=signing[1]
    ) as manager:
        await manager.sync()
        signed_head = reader.head()

        locked = await manager.change_policy(
            PolicyRequest(selector, "lock", user="carol", message="incident 42")
        )

        assert locked.commit == reader.head() and locked.commit != signed_head
        assert 'conveyor.dev/locked: "true"' in reader.file("apps/web.yaml")
        assert "conveyor.dev/locked" not in live_annotations(kube, target, "web")
        assert locked.sync is not None and locked.sync.outcome is Outcome.REFUSED
        assert locked.not_applied.startswith(f"the sync refused commit {locked.commit[:12]}")
        assert f"The lock itself holds: commit {locked.commit[:12]} is in git" in (
            locked.not_applied
        )
        [entry] = await manager.history(web_id)
        assert (entry.kind, entry.user, entry.commit, entry.result) == (
            HistoryKind.LOCK,
            "carol",
            locked.commit,
            HistoryResult.FAILED,
        )
        assert entry.workloads == (web_id,)
        assert entry.detail == locked.not_applied

        # The lock is in the files conveyor reads: a release now skips the workload.
        planned = await manager.release(
            ReleaseRequest(selector, image=NEW_WEB, user="alice", dry_run=True)
        )
        assert planned.changes == () and [s.workload_id for s in planned.skipped] == [web_id]


async def test_a_lock_the_sync_applies_is_recorded_as_succeeded(
    testenv, signed_repo, target, tmp_path, kube, signing
):
    key, trust = signing
    web_id = f"{target}:deployment/web"
    async with verifying_manager(
        testenv,
        signed_repo,
        tmp_path / "state",
        sync_name=target,
        trust=trust,
        commit=CommitSettings(signing=SshSigningKey(key)),
    ) as manager:
        await manager.sync()
        locked = await manager.change_policy(
            PolicyRequest(WorkloadSelector(ids=(web_id,)), "lock", user="carol")
        )

        assert locked.not_applied == ""
        assert live_annotations(kube, target, "web")["conveyor.dev/locked"] == "true"
        [entry] = await manager.history(web_id)
        assert (entry.kind, entry.result, entry.workloads) == (
            HistoryKind.LOCK,
            HistoryResult.SUCCEEDED,
            (web_id,),
        )
