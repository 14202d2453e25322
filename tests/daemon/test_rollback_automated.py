"""A rollback of an automated workload locks it in the same commit (real git server and control
plane): otherwise the next automation pass would release the newer image again and quietly undo
the rollback. A workload that is not automated is left unlocked."""

import pytest

from conveyor.core.release import ReleaseRequest, RollbackRequest, WorkloadSelector
from conveyor.core.release_history import HistoryKind
from conveyor.core.release_message import parse_operation_kind
from conveyor.core.workload_settings import LOCKED_ANNOTATION, LOCKED_BY_ANNOTATION
from conveyor.core.workloads import scan_manifest
from tests.daemon.release_repo import (
    WEB_IMAGE,
    RepoReader,
    deployment_text,
    live_image,
    release_manager,
    target_fixture,
    write_seed,
)

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

NEW_WEB = "registry.invalid/app:1.1.0"
AUTOMATION = """  annotations:
    conveyor.dev/automated: "true"
    conveyor.dev/tag.app: "semver:~1"
"""

target = target_fixture("rollback")


@pytest.fixture
def repo(config_repo, tmp_path, target):
    seed = write_seed(tmp_path / "seed", target)
    automated = deployment_text("web", target, WEB_IMAGE).replace(
        "  labels:\n    app: web", AUTOMATION + "  labels:\n    app: web", 1
    )
    assert AUTOMATION in automated
    (seed / "apps" / "web.yaml").write_text(automated)
    return config_repo(seed)


def annotations(text: str) -> dict[str, str]:
    [workload] = scan_manifest(text, source="apps/web.yaml").workloads
    return {a.key: a.value for a in workload.annotations}


async def test_rolling_back_an_automated_workload_locks_it_in_the_same_commit(
    testenv, repo, target, tmp_path, kube
):
    reader = RepoReader(repo.path)
    web_id = f"{target}:deployment/web"
    async with release_manager(testenv, repo, tmp_path / "state", sync_name=target) as manager:
        await manager.sync()
        original = reader.file("apps/web.yaml")
        released = await manager.release(
            ReleaseRequest(WorkloadSelector(ids=(web_id,)), image=NEW_WEB, user="alice")
        )
        assert released.commit == reader.head()

        rolled = await manager.rollback(RollbackRequest(web_id, user="bob", message="too slow"))

        assert reader.revisions()[:2] == [rolled.commit, released.commit]
        text = reader.file("apps/web.yaml")
        found = annotations(text)
        assert found[LOCKED_ANNOTATION] == "true"
        assert found[LOCKED_BY_ANNOTATION] == "bob"
        assert found["conveyor.dev/automated"] == "true"  # still automated, held by the lock
        # Only the lock lines were added; everything else is the seed, byte for byte.
        added = [line for line in text.splitlines() if line not in original.splitlines()]
        assert added and all("conveyor.dev/locked" in line for line in added)
        message = reader.message(rolled.commit)
        assert parse_operation_kind(message) is HistoryKind.ROLLBACK
        assert f"Locked {web_id}" in message
        assert live_image(kube, target, "web") == WEB_IMAGE
        [workload] = [w for w in await manager.list_workloads() if w.id == web_id]
        assert workload.locked and workload.locked_by == "bob"


async def test_rolling_back_a_workload_that_is_not_automated_does_not_lock_it(
    testenv, config_repo, target, tmp_path, kube
):
    repo = config_repo(write_seed(tmp_path / "seed", target))
    reader = RepoReader(repo.path)
    web_id = f"{target}:deployment/web"
    async with release_manager(testenv, repo, tmp_path / "state", sync_name=target) as manager:
        await manager.sync()
        original = reader.file("apps/web.yaml")
        await manager.release(ReleaseRequest(WorkloadSelector(ids=(web_id,)), image=NEW_WEB))
        rolled = await manager.rollback(RollbackRequest(web_id, user="bob"))

        assert reader.file("apps/web.yaml") == original
        assert "Locked" not in reader.message(rolled.commit)
        assert live_image(kube, target, "web") == WEB_IMAGE
