"""Lock, unlock, automate and tag policy changes as one commit each (annotations only), and many
concurrent requests landing in git exactly once each, on the real git server and control plane."""

import asyncio

import pytest

from conveyor.core.release import PolicyRequest, ReleaseRequest, WorkloadSelector
from conveyor.core.release_history import HistoryKind
from conveyor.core.release_message import parse_operation_kind, parse_operation_user
from tests.daemon.release_repo import (
    WEB_IMAGE,
    RepoReader,
    live_annotations,
    live_image,
    release_manager,
    target_fixture,
    write_seed,
)

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


target = target_fixture("policy")


@pytest.fixture
def repo(config_repo, tmp_path, target):
    return config_repo(write_seed(tmp_path / "seed", target))


def only_annotation_lines_differ(before: str, after: str) -> bool:
    """True when ``after`` is ``before`` with annotation lines added or removed, nothing else."""
    added = [line for line in after.splitlines() if line not in before.splitlines()]
    removed = [line for line in before.splitlines() if line not in after.splitlines()]
    kept = [line for line in after.splitlines() if line not in added]
    return (
        kept == before.splitlines()
        and not removed
        and all(line.startswith("    conveyor.dev/") or line == "  annotations:" for line in added)
    )


async def test_each_policy_action_is_one_commit_changing_only_annotations(
    testenv, repo, target, tmp_path, kube
):
    reader = RepoReader(repo.path)
    selector = WorkloadSelector(ids=(f"{target}:deployment/web",))
    async with release_manager(testenv, repo, tmp_path / "state", sync_name=target) as manager:
        await manager.sync()
        original = reader.file("apps/web.yaml")
        api_file = reader.file("apps/api.yaml")

        locked = await manager.change_policy(
            PolicyRequest(selector, "lock", user="carol", message="hold: incident 42")
        )
        assert locked.commit == reader.head()
        text = reader.file("apps/web.yaml")
        assert only_annotation_lines_differ(original, text)
        assert '    conveyor.dev/locked: "true"\n' in text
        assert "    conveyor.dev/locked-reason: hold: incident 42\n" not in text  # ': ' quoted
        assert live_annotations(kube, target, "web")["conveyor.dev/locked-reason"] == (
            "hold: incident 42"
        )
        assert parse_operation_kind(reader.message(locked.commit)) is HistoryKind.LOCK
        assert parse_operation_user(reader.message(locked.commit)) == "carol"

        unlocked = await manager.change_policy(PolicyRequest(selector, "unlock", user="carol"))
        assert reader.parents(unlocked.commit) == [locked.commit]
        assert reader.file("apps/web.yaml") == original  # add then remove: the original bytes

        automated = await manager.change_policy(PolicyRequest(selector, "automate"))
        assert reader.parents(automated.commit) == [unlocked.commit]
        policy = await manager.change_policy(
            PolicyRequest(selector, "policy", container="app", pattern="semver:~1.0")
        )
        assert reader.parents(policy.commit) == [automated.commit]
        text = reader.file("apps/web.yaml")
        assert only_annotation_lines_differ(original, text)
        assert '    conveyor.dev/automated: "true"\n' in text
        assert '    conveyor.dev/tag.app: "semver:~1.0"\n' in text  # quoted like its neighbour
        assert reader.file("apps/api.yaml") == api_file

        # Asking again changes nothing: no commit.
        again = await manager.change_policy(PolicyRequest(selector, "automate"))
        assert again.commit is None and reader.head() == policy.commit

        # A tag policy blocks a release outside it, unless forced.
        outside = await manager.release(
            ReleaseRequest(selector, image="registry.invalid/app:2.0.0")
        )
        assert outside.commit is None and "semver" in outside.skipped[0].reason
        forced = await manager.release(
            ReleaseRequest(selector, image="registry.invalid/app:2.0.0", force=True)
        )
        assert forced.commit == reader.head()

        kinds = [e.kind for e in await manager.history(f"{target}:deployment/web")]
        assert kinds == [
            HistoryKind.RELEASE,
            HistoryKind.POLICY,
            HistoryKind.AUTOMATE,
            HistoryKind.UNLOCK,
            HistoryKind.LOCK,
        ]


async def test_concurrent_releases_and_locks_each_land_once_in_a_linear_history(
    testenv, repo, target, tmp_path, kube
):
    reader = RepoReader(repo.path)
    web = WorkloadSelector(ids=(f"{target}:deployment/web",))
    api = WorkloadSelector(ids=(f"{target}:deployment/api",))
    async with release_manager(testenv, repo, tmp_path / "state", sync_name=target) as manager:
        await manager.sync()
        seed = reader.head()
        requests = []
        for i in range(10):
            requests.append(
                manager.release(ReleaseRequest(web, image=f"registry.invalid/app:3.0.{i}"))
            )
            # Each lock gives a new reason, so each one changes the file.
            requests.append(manager.change_policy(PolicyRequest(api, "lock", message=f"hold {i}")))
        results = await asyncio.gather(*requests)

        commits = [r.commit for r in results]
        assert None not in commits and len(set(commits)) == 20
        history = reader.revisions()
        assert history[20] == seed and sorted(history[:20]) == sorted(commits)
        assert all(len(reader.parents(c)) == 1 for c in history[:20])
        reader.all_yaml_loads()
        # Releases were queued in order, so the last one requested is what the repo holds.
        assert "registry.invalid/app:3.0.9" in reader.file("apps/web.yaml")
        assert WEB_IMAGE not in reader.file("apps/web.yaml")
        assert live_image(kube, target, "web") == "registry.invalid/app:3.0.9"
        assert "hold 9" in reader.file("apps/api.yaml")
