"""Acceptance: automation runs on the real registry and git server.

A registry push of ``app:1.2.4`` makes exactly one commit moving the ``~1.2`` workload and nothing
else; a dry run writes nothing; a remote that moves between planning and pushing is handled by
re-planning on the new head; runs started at once on one repo commit each change once.
"""

import asyncio
import threading

import pytest

from conveyor.adapters.store import MetadataCache
from conveyor.core.commit_message import parse_change_trailers
from conveyor.core.config import AutomationConfig
from conveyor.core.plan import Outcome
from conveyor.daemon.automation import run_automation
from conveyor.daemon.automation_setup import registry_client
from conveyor.daemon.jobs import RepoJobQueues
from conveyor.testing.errors import ServiceError
from conveyor.testing.gitserver import git

from .automation_repo import (
    Automation,
    changed_lines,
    deployment,
    file_at,
    is_linear,
    message_of,
    revisions,
    ssh_target,
    write_tree,
)

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

SEMVER_12 = {"conveyor.dev/automated": "true", "conveyor.dev/tag.app": "semver:~1.2"}


def shop(image: str) -> str:
    return "---\n".join(
        [
            deployment("web", f"{image}:1.2.3", **SEMVER_12),
            deployment("pinned", f"{image}:1.2.3", **SEMVER_12, **{"conveyor.dev/locked": "true"}),
            deployment(
                "next",
                f"{image}:1.3.0",
                **{"conveyor.dev/automated": "true", "conveyor.dev/tag.app": "semver:~1.3"},
            ),
        ]
    )


@pytest.fixture
def anonymous(testenv):
    return testenv.registries["anonymous"].host


@pytest.fixture
def shop_repo(tmp_path, config_repo, registry_repo, anonymous, pusher):
    """A config repo with the three acceptance workloads; 1.2.3, 1.3.0 and 1.4.0 pushed."""
    p = pusher("anonymous")
    for tag in ("1.2.3", "1.3.0", "1.4.0"):
        p.push_image(registry_repo, tag, labels={"version": tag})
    image = f"{anonymous}/{registry_repo}"
    repo = config_repo(write_tree(tmp_path / "seed", {"apps/shop.yaml": shop(image)}))
    return repo, image, p


async def test_a_new_patch_release_makes_one_commit_that_moves_only_the_matching_workload(
    testenv, tmp_path, shop_repo, registry_repo, anonymous
):
    repo, image, p = shop_repo
    target = ssh_target(testenv, repo, "apps")
    config = AutomationConfig().with_insecure_hosts([anonymous])
    seeded = revisions(repo.path)
    async with RepoJobQueues() as queues:
        automation = Automation(tmp_path / "state", queues)
        nothing = await automation.run(target, config)
        assert (nothing.committed, nothing.changes, nothing.revision) == (False, (), seeded[0])
        assert revisions(repo.path) == seeded

        p.push_image(registry_repo, "1.2.4", labels={"version": "1.2.4"})
        released = await automation.run(target, config)

    history = revisions(repo.path)
    assert history[1:] == seeded, "exactly one new commit, on top of the old head"
    assert released.committed and released.commit == history[0] and released.attempts == 1
    assert changed_lines(repo.path, seeded[0], history[0]) == [
        f"-          image: {image}:1.2.3  # released by conveyor",
        f"+          image: {image}:1.2.4  # released by conveyor",
    ]
    assert {d.subject: d.outcome for d in released.plan.decisions} == {
        "shop:deployment/web container app": Outcome.UPDATE,
        "shop:deployment/pinned container app": Outcome.LOCKED,
        "shop:deployment/next container app": Outcome.UP_TO_DATE,
    }
    [change] = released.changes
    assert (change.workload_id, change.old_image, change.new_image) == (
        "shop:deployment/web",
        f"{image}:1.2.3",
        f"{image}:1.2.4",
    )
    message = message_of(repo.path, history[0])
    assert message.startswith(f"Release {image}:1.2.4 to 1 workload")
    assert f"Conveyor-Change: shop:deployment/web app {image}:1.2.3 -> {image}:1.2.4" in message
    assert released.complete


async def test_a_dry_run_reports_the_changes_and_writes_nothing(
    testenv, tmp_path, shop_repo, registry_repo, anonymous
):
    repo, image, p = shop_repo
    p.push_image(registry_repo, "1.2.4")
    seeded = revisions(repo.path)
    async with RepoJobQueues() as queues:
        result = await Automation(tmp_path / "state", queues).run(
            ssh_target(testenv, repo),
            AutomationConfig().with_insecure_hosts([anonymous]),
            dry_run=True,
        )
    assert revisions(repo.path) == seeded
    assert (result.dry_run, result.committed, result.commit) == (True, False, None)
    assert [c.new_image for c in result.changes] == [f"{image}:1.2.4"]
    assert result.message is not None and "Conveyor-Change: shop:deployment/web" in result.message


class MovingRemote:
    """The real registry client, plus another git client pushing while the scan runs."""

    def __init__(self, registry, move) -> None:
        self._registry = registry
        self._move = move
        self.platform = registry.platform

    async def list_tags(self, repository):
        await asyncio.to_thread(self._move)
        return await self._registry.list_tags(repository)

    async def head_manifest(self, repository, reference):
        return await self._registry.head_manifest(repository, reference)

    async def image_config(self, repository, reference, *, platform=None):
        return await self._registry.image_config(repository, reference, platform=platform)


async def test_when_the_remote_moves_after_planning_the_edit_is_made_on_the_new_head(
    testenv, tmp_path, shop_repo, registry_repo, anonymous
):
    repo, image, p = shop_repo
    p.push_image(registry_repo, "1.2.4")
    seeded = revisions(repo.path)
    other = tmp_path / "other"

    def another_client_prepends_a_workload():
        git("clone", "-q", str(repo.path), str(other))
        shop_file = other / "apps" / "shop.yaml"
        before = shop_file.read_text()
        extra = deployment("cart", "busybox:1.36") + "---\n"
        shop_file.write_text(extra + before)  # every line of the planned file moves down
        git("commit", "-qam", "Add the cart", cwd=other)
        git("push", "-q", "origin", "HEAD:main", cwd=other)

    config = AutomationConfig().with_insecure_hosts([anonymous])
    async with (
        RepoJobQueues() as queues,
        registry_client(config) as registry,
        await MetadataCache.open(tmp_path / "metadata.db") as cache,
    ):
        result = await run_automation(
            ssh_target(testenv, repo),
            config=config,
            registry=MovingRemote(registry, another_client_prepends_a_workload),
            cache=cache,
            state_dir=tmp_path / "state",
            queues=queues,
        )
    history = revisions(repo.path)
    assert len(history) == len(seeded) + 2 and history[2:] == seeded
    assert result.committed and result.revision == history[0] and is_linear(repo.path)
    text = file_at(repo.path, history[0], "apps/shop.yaml").decode()
    assert text.startswith("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: cart\n")
    assert text.count(f"{image}:1.2.4") == 1 and text.count(f"{image}:1.2.3") == 1
    assert [line[0] for line in changed_lines(repo.path, history[1], history[0])] == ["-", "+"]
    assert result.complete


async def test_runs_started_together_on_one_repo_commit_the_change_once(
    testenv, tmp_path, shop_repo, registry_repo, anonymous
):
    repo, image, p = shop_repo
    p.push_image(registry_repo, "1.2.4")
    seeded = revisions(repo.path)
    target = ssh_target(testenv, repo)
    config = AutomationConfig().with_insecure_hosts([anonymous])
    async with (
        RepoJobQueues() as queues,
        registry_client(config) as registry,
        await MetadataCache.open(tmp_path / "metadata.db") as cache,
    ):
        # One client, one cache, one set of queues: as the daemon runs them.
        results = await asyncio.gather(
            *(
                run_automation(
                    target,
                    config=config,
                    registry=registry,
                    cache=cache,
                    state_dir=tmp_path / "state",
                    queues=queues,
                )
                for _ in range(4)
            )
        )
    history = revisions(repo.path)
    assert history[1:] == seeded
    assert sum(result.committed for result in results) == 1
    assert {result.revision for result in results} == {history[0]}
    assert [len(result.changes) for result in results].count(1) == 1
    text = file_at(repo.path, history[0], "apps/shop.yaml").decode()
    assert text.count(f"{image}:1.2.4") == 1


def push_with_retries(work, name: str, text: str) -> None:
    """Another client: commit one file and push, rebasing when the remote moved."""
    (work / name).write_text(text)
    git("add", name, cwd=work)
    git("commit", "-qm", f"Other client writes {name}", cwd=work)
    for _ in range(50):
        try:
            git("push", "-q", "origin", "HEAD:main", cwd=work)
            return
        except ServiceError:
            git("pull", "-q", "--rebase", "origin", "main", cwd=work)
    raise AssertionError(f"the other client could not push {name}")


async def test_releases_interleaved_with_another_client_pushing_each_land_once(
    testenv, tmp_path, shop_repo, registry_repo, anonymous
):
    repo, image, p = shop_repo
    seeded = revisions(repo.path)
    other = tmp_path / "other"
    git("clone", "-q", str(repo.path), str(other))
    stop = threading.Event()

    def other_client_pushes():
        for n in range(10):
            if stop.is_set():
                return
            push_with_retries(other, f"notes-{n}.txt", f"note {n}\n")

    target = ssh_target(testenv, repo, "apps")
    config = AutomationConfig().with_insecure_hosts([anonymous])
    patches = [f"1.2.{n}" for n in range(4, 9)]
    async with RepoJobQueues() as queues:
        automation = Automation(tmp_path / "state", queues)
        pushes = asyncio.ensure_future(asyncio.to_thread(other_client_pushes))
        try:
            results = []
            for tag in patches:
                await asyncio.to_thread(p.push_image, registry_repo, tag)
                results.append(await automation.run(target, config, max_attempts=20))
        finally:
            stop.set()
            await pushes
    history = revisions(repo.path)
    assert history[-len(seeded) :] == seeded and is_linear(repo.path)
    assert all(result.committed for result in results)
    released = [
        change
        for revision in reversed(history[: -len(seeded)])
        for change in parse_change_trailers(message_of(repo.path, revision))
    ]
    moves = [(c.old_image.rsplit(":", 1)[1], c.new_image.rsplit(":", 1)[1]) for c in released]
    assert moves == list(zip(["1.2.3", *patches[:-1]], patches, strict=True))
    assert {c.workload_id for c in released} == {"shop:deployment/web"}
    tree = git("--git-dir", str(repo.path), "ls-tree", "--name-only", "main")
    assert sorted(n for n in tree.split() if n.startswith("notes-")) == [
        f"notes-{n}.txt" for n in range(10)
    ]
    text = file_at(repo.path, history[0], "apps/shop.yaml").decode()
    assert text.count(f"{image}:1.2.8") == 1 and text.count(f"{image}:1.2.3") == 1
