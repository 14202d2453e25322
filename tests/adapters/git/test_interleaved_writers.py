"""Acceptance: conveyor's automation and another git client push to one repo at the same time.

20 automation runs go through the per-repo job queue (each sets one distinct line of a shared
file through the edit function) while a plain ``git`` client in a thread pushes 20 commits of its
own over the same SSH server. Every change must land exactly once, with no force-push (every
update of the branch is a fast-forward) and no corrupted file.
"""

import asyncio
import random
import threading

import pytest

from conveyor.adapters.git import EditOutcome, GitMirror, Remote, RepoWriter, SshAuth
from conveyor.daemon.jobs import QueueDepth, QueueKey, RepoJobQueues
from conveyor.testing.gitserver import git

from .conftest import OtherClient, assert_fast_forwards_only, history, parent_counts

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

RUNS = 20
SLOTS = "".join(f"slot-{n:02d}: empty\n" for n in range(RUNS))


def fill_slot(n: int):
    """The automation's edit: decided afresh on whatever head it is given."""

    def edit(worktree):
        path = worktree / "slots.txt"
        before = path.read_text()
        after = before.replace(f"slot-{n:02d}: empty\n", f"slot-{n:02d}: automation run {n}\n")
        path.write_text(after)
        return EditOutcome(changed=after != before, message=f"Automation run {n:02d}")

    return edit


async def test_automation_and_another_client_interleave_without_loss(
    testenv, config_repo, state_dir, tmp_path
):
    seed = tmp_path / "seed"
    seed.mkdir()
    (seed / "slots.txt").write_text(SLOTS)
    repo = config_repo(seed)
    git("config", "core.logAllRefUpdates", "true", cwd=repo.path)
    git("config", "receive.denyNonFastForwards", "true", cwd=repo.path)

    remote = Remote.parse(
        repo.ssh_url, auth=SshAuth(testenv.git.deploy_key, testenv.git.known_hosts)
    )
    writer = RepoWriter(GitMirror(remote, branch="main", state_dir=state_dir), max_attempts=20)
    other = OtherClient(
        repo.ssh_url, tmp_path / "other", env={"GIT_SSH_COMMAND": testenv.git.ssh_command()}
    )
    rng = random.Random(20)
    stop = threading.Event()

    def other_client_pushes():
        for n in range(RUNS):
            if stop.is_set():
                return
            other.push_file(
                f"other/{n:02d}.txt",
                f"other client change {n}\n",
                message=f"Other client change {n:02d}",
            )
            stop.wait(rng.random() * 0.05)  # vary the timing against the automation

    key = QueueKey(remote.url, "main")
    async with RepoJobQueues() as queues:
        pushes = asyncio.ensure_future(asyncio.to_thread(other_client_pushes))
        results = [queues.submit(key, lambda n=n: writer.write(fill_slot(n))) for n in range(RUNS)]
        assert queues.depth(key) == QueueDepth(waiting=RUNS, running=False)
        try:
            results = await asyncio.gather(*results)
        except BaseException:
            stop.set()  # do not leave the other client pushing after a failure
            raise
        finally:
            await pushes

    assert all(r.committed for r in results)
    retries = sum(r.attempts - 1 for r in results)

    subjects = history(repo.path)
    expected = (
        ["Seed config"]
        + [f"Automation run {n:02d}" for n in range(RUNS)]
        + [f"Other client change {n:02d}" for n in range(RUNS)]
    )
    assert sorted(subjects[1:]) == sorted(expected[1:]), f"{retries} automation retries"
    assert len(subjects) == 1 + 2 * RUNS  # each change exactly once
    # Linear history, every ref update a fast-forward: nothing was force-pushed.
    assert parent_counts(repo.path) == [1] * (2 * RUNS) + [0]
    assert assert_fast_forwards_only(repo.path) == 2 * RUNS  # the reflog starts after the seed
    # No corrupted file: exact contents, and the object store is sound.
    final_slots = git("--git-dir", str(repo.path), "show", "main:slots.txt")
    assert final_slots == "".join(f"slot-{n:02d}: automation run {n}\n" for n in range(RUNS))
    for n in range(RUNS):
        text = git("--git-dir", str(repo.path), "show", f"main:other/{n:02d}.txt")
        assert text == f"other client change {n}\n"
    git("--git-dir", str(repo.path), "fsck", "--strict", "--no-dangling")
    # And conveyor's own copy ends where the remote is.
    assert (
        await writer.mirror.fetch() == git("--git-dir", str(repo.path), "rev-parse", "main").strip()
    )
