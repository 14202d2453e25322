"""The release manager on the real git server and control plane: dry runs, releases, rollbacks
(by hand and automatic) and their history."""

import pytest

from conveyor.core.commit_message import ReleasedChange, parse_change_trailers
from conveyor.core.release import ReleaseRequest, RollbackRequest, WorkloadSelector
from conveyor.core.release_history import HistoryKind, HistoryResult
from conveyor.core.release_message import parse_operation_kind, parse_operation_user
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

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

NEW_WEB = "registry.invalid/app:1.1.0"
BROKEN_WEB = "registry.invalid/app:1.1.0-broken"


target = target_fixture("release")


@pytest.fixture
def repo(config_repo, tmp_path, target):
    return config_repo(write_seed(tmp_path / "seed", target))


def web(target: str) -> WorkloadSelector:
    return WorkloadSelector(ids=(f"{target}:deployment/web",))


async def test_dry_run_changes_nothing_and_shows_the_live_diff(
    testenv, repo, target, tmp_path, kube
):
    reader = RepoReader(repo.path)
    async with release_manager(testenv, repo, tmp_path / "state", sync_name=target) as manager:
        await manager.sync()
        head = reader.head()
        request = ReleaseRequest(web(target), image=NEW_WEB, dry_run=True, user="alice")
        result = await manager.release(request)

        assert result.dry_run and result.commit is None and result.sync is None
        assert result.changes == (
            ReleasedChange(f"{target}:deployment/web", "app", None, None, WEB_IMAGE, NEW_WEB),
        )
        [diff] = result.diff
        assert (diff.repo_image, diff.live_image, diff.planned_image) == (
            WEB_IMAGE,
            WEB_IMAGE,
            NEW_WEB,
        )
        assert reader.head() == head
        assert live_image(kube, target, "web") == WEB_IMAGE
        assert await manager.history() == []


async def test_release_then_rollback_leaves_two_commits_and_the_original_image(
    testenv, repo, target, tmp_path, kube
):
    reader = RepoReader(repo.path)
    web_id = f"{target}:deployment/web"
    async with release_manager(testenv, repo, tmp_path / "state", sync_name=target) as manager:
        await manager.sync()
        seed = reader.head()
        original = reader.file("apps/web.yaml")

        released = await manager.release(
            ReleaseRequest(web(target), image=NEW_WEB, user="alice", message="ship the fix")
        )
        assert released.commit == reader.head() and not released.rolled_back
        assert released.health is not None and all(h.healthy for h in released.health)
        assert live_image(kube, target, "web") == NEW_WEB
        assert live_image(kube, target, "api") == API_IMAGE
        assert reader.file("apps/web.yaml") == original.replace(WEB_IMAGE, NEW_WEB)
        message = reader.message(released.commit)
        assert parse_operation_kind(message) is HistoryKind.RELEASE
        assert parse_operation_user(message) == "alice"
        assert "ship the fix" in message
        assert [(c.old_image, c.new_image) for c in parse_change_trailers(message)] == [
            (WEB_IMAGE, NEW_WEB)
        ]

        rolled = await manager.rollback(RollbackRequest(web_id, user="bob", message="too slow"))
        assert rolled.commit == reader.head()
        assert reader.revisions()[:3] == [rolled.commit, released.commit, seed]
        assert reader.file("apps/web.yaml") == original
        assert live_image(kube, target, "web") == WEB_IMAGE
        assert parse_operation_kind(reader.message(rolled.commit)) is HistoryKind.ROLLBACK

        history = await manager.history(web_id)
        assert [(e.kind, e.user, e.message, e.commit) for e in history] == [
            (HistoryKind.ROLLBACK, "bob", "too slow", rolled.commit),
            (HistoryKind.RELEASE, "alice", "ship the fix", released.commit),
        ]
        assert all(e.result is HistoryResult.SUCCEEDED for e in history)


async def test_rollback_without_history_reads_the_commit_trailers(
    testenv, repo, target, tmp_path, kube
):
    reader = RepoReader(repo.path)
    async with release_manager(testenv, repo, tmp_path / "first", sync_name=target) as manager:
        await manager.sync()
        await manager.release(ReleaseRequest(web(target), image=NEW_WEB, user="alice"))
    # A fresh state directory: an empty history, so only git knows the previous image.
    async with release_manager(testenv, repo, tmp_path / "second", sync_name=target) as manager:
        rolled = await manager.rollback(RollbackRequest(f"{target}:deployment/web"))
        assert rolled.changes[0].new_image == WEB_IMAGE  # type: ignore[union-attr]
        assert reader.file("apps/web.yaml").count(WEB_IMAGE) == 1
        assert live_image(kube, target, "web") == WEB_IMAGE


async def test_rollback_to_a_revision_restores_the_image_written_there(
    testenv, repo, target, tmp_path, kube
):
    reader = RepoReader(repo.path)
    async with release_manager(testenv, repo, tmp_path / "state", sync_name=target) as manager:
        await manager.sync()
        seed = reader.head()
        await manager.release(ReleaseRequest(web(target), image=NEW_WEB))
        await manager.release(ReleaseRequest(web(target), image="registry.invalid/app:1.2.0"))
        rolled = await manager.rollback(RollbackRequest(f"{target}:deployment/web", to=seed[:12]))
        assert [(c.old_image, c.new_image) for c in rolled.changes] == [  # type: ignore[union-attr]
            ("registry.invalid/app:1.2.0", WEB_IMAGE)
        ]
        assert live_image(kube, target, "web") == WEB_IMAGE


async def test_a_release_that_never_becomes_healthy_is_rolled_back_and_locked(
    testenv, repo, target, tmp_path, kube
):
    reader = RepoReader(repo.path)
    web_id = f"{target}:deployment/web"
    async with release_manager(
        testenv, repo, tmp_path / "state", sync_name=target, health_timeout=8.0
    ) as manager:
        await manager.sync()
        seed = reader.head()
        original = reader.file("apps/web.yaml")
        result = await manager.release(ReleaseRequest(web(target), image=BROKEN_WEB, user="alice"))

        assert result.rolled_back and result.revert_commit == reader.head()
        assert result.health is not None and not result.health[0].healthy
        assert reader.revisions()[:3] == [result.revert_commit, result.commit, seed]
        revert = reader.message(result.revert_commit)
        assert revert.startswith('Revert "Release registry.invalid/app:1.1.0-broken')
        assert parse_operation_kind(revert) is HistoryKind.AUTO_ROLLBACK
        assert [(c.old_image, c.new_image) for c in parse_change_trailers(revert)] == [
            (BROKEN_WEB, WEB_IMAGE)
        ]
        restored = reader.file("apps/web.yaml")
        assert WEB_IMAGE in restored and BROKEN_WEB not in restored
        assert 'conveyor.dev/locked: "true"' in restored
        assert "conveyor.dev/locked-reason:" in restored
        assert live_image(kube, target, "web") == WEB_IMAGE
        assert live_annotations(kube, target, "web")["conveyor.dev/locked"] == "true"
        assert restored != original

        history = await manager.history(web_id)
        assert [(e.kind, e.result) for e in history] == [
            (HistoryKind.AUTO_ROLLBACK, HistoryResult.SUCCEEDED),
            (HistoryKind.RELEASE, HistoryResult.ROLLED_BACK),
        ]

        # Locked now: a release skips it unless forced.
        again = await manager.release(ReleaseRequest(web(target), image=NEW_WEB))
        assert again.commit is None and "locked" in again.skipped[0].reason
