"""Edit, commit, push, and redo on a moved remote: real git repos in temp directories."""

import shutil

import pytest

from conveyor.adapters.git import (
    CommitSettings,
    EditOutcome,
    GitMirror,
    Identity,
    PushFailedError,
    Remote,
    RepoWriter,
)
from conveyor.testing.gitserver import git

from .conftest import OtherClient, assert_fast_forwards_only, history, parent_counts

pytestmark = pytest.mark.anyio


def remote_head(bare) -> str:
    return git("--git-dir", str(bare), "rev-parse", "main").strip()


@pytest.fixture
def mirror(bare_repo, state_dir) -> GitMirror:
    return GitMirror(Remote.parse(str(bare_repo)), branch="main", state_dir=state_dir)


def set_image(tag: str):
    def edit(worktree):
        path = worktree / "apps" / "web.yaml"
        before = path.read_text()
        after = f"image: web:{tag}\n"
        path.write_text(after)
        return EditOutcome(changed=before != after, message=f"Release web:{tag}")

    return edit


def assert_no_local_divergence(writer: RepoWriter, bare) -> None:
    head = remote_head(bare)
    assert git("rev-parse", "HEAD", cwd=writer.path).strip() == head
    assert git("status", "--porcelain", cwd=writer.path) == ""
    tracking = git("--git-dir", str(writer.mirror.path), "rev-parse", writer.mirror.tracking_ref)
    assert tracking.strip() == head


async def test_a_change_is_committed_and_pushed(mirror, bare_repo):
    settings = CommitSettings(
        author=Identity("Release Bot", "bot@example.invalid"),
        committer=Identity("Conveyor", "conveyor@example.invalid"),
    )
    writer = RepoWriter(mirror, commit=settings)
    result = await writer.write(set_image("2"))
    assert result.committed
    assert result.attempts == 1
    assert result.message == "Release web:2"
    assert result.revision == remote_head(bare_repo)
    assert git("--git-dir", str(bare_repo), "show", "main:apps/web.yaml") == "image: web:2\n"
    people = git("--git-dir", str(bare_repo), "log", "-1", "--format=%an <%ae>|%cn <%ce>", "main")
    assert people.strip() == "Release Bot <bot@example.invalid>|Conveyor <conveyor@example.invalid>"
    assert history(bare_repo) == ["Seed", "Release web:2"]
    assert_no_local_divergence(writer, bare_repo)


async def test_nothing_changed_means_no_commit(mirror, bare_repo):
    before = remote_head(bare_repo)
    writer = RepoWriter(mirror)
    result = await writer.write(set_image("1"))
    assert not result.committed
    assert result.revision == before
    assert remote_head(bare_repo) == before


async def test_an_edit_that_claims_a_change_but_made_none_commits_nothing(mirror, bare_repo):
    before = remote_head(bare_repo)
    result = await RepoWriter(mirror).write(lambda worktree: EditOutcome(True, "Nothing really"))
    assert not result.committed
    assert remote_head(bare_repo) == before


async def test_an_async_edit_function(mirror, bare_repo):
    async def edit(worktree):
        (worktree / "new.txt").write_text("new\n")
        return EditOutcome(True, "Add new.txt")

    result = await RepoWriter(mirror).write(edit)
    assert result.committed
    assert git("--git-dir", str(bare_repo), "show", "main:new.txt") == "new\n"


async def test_a_moved_remote_reruns_the_edit_on_the_new_head(mirror, bare_repo, tmp_path):
    other = OtherClient(str(bare_repo), tmp_path / "other")
    seen = []

    def edit(worktree):
        seen.append((worktree / "other.txt").exists())
        if len(seen) == 1:
            # The remote moves between our fetch and our push.
            other.push_file("other.txt", "other\n")
        with (worktree / "README").open("a") as f:
            f.write("conveyor was here\n")
        return EditOutcome(True, "Conveyor edits README")

    writer = RepoWriter(mirror)
    result = await writer.write(edit)
    assert result.attempts == 2
    assert seen == [False, True]  # the second run saw the other client's commit
    assert history(bare_repo) == ["Seed", "Other client writes other.txt", "Conveyor edits README"]
    assert git("--git-dir", str(bare_repo), "show", "main:README") == "seed\nconveyor was here\n"
    assert parent_counts(bare_repo) == [1, 1, 0]
    assert assert_fast_forwards_only(bare_repo) == 3
    assert_no_local_divergence(writer, bare_repo)


async def test_a_remote_that_keeps_moving_fails_after_bounded_attempts(mirror, bare_repo, tmp_path):
    other = OtherClient(str(bare_repo), tmp_path / "other")
    calls = []

    def edit(worktree):
        calls.append(1)
        other.push_file(f"other-{len(calls)}.txt", "x\n")
        (worktree / "mine.txt").write_text("mine\n")
        return EditOutcome(True, "Conveyor adds mine.txt")

    writer = RepoWriter(mirror, max_attempts=3)
    with pytest.raises(PushFailedError, match="rejected 3 times") as raised:
        await writer.write(edit)
    assert raised.value.attempts == 3
    assert "fetch first" in raised.value.remote_said
    assert "never force-pushed" in str(raised.value)
    assert len(calls) == 3
    assert "Conveyor adds mine.txt" not in history(bare_repo)
    assert_no_local_divergence(writer, bare_repo)


async def test_a_refusal_that_is_not_a_race_is_not_retried(mirror, bare_repo):
    hook = bare_repo / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'main is protected by the test' >&2\nexit 1\n")
    hook.chmod(0o755)
    before = remote_head(bare_repo)
    writer = RepoWriter(mirror)
    with pytest.raises(PushFailedError, match="refused by the remote") as raised:
        await writer.write(set_image("3"))
    assert raised.value.attempts == 1
    assert "main is protected by the test" in raised.value.remote_said
    assert "pre-receive hook declined" in str(raised.value)
    assert remote_head(bare_repo) == before
    assert_no_local_divergence(writer, bare_repo)


async def test_an_edit_that_raises_leaves_a_clean_worktree(mirror, bare_repo):
    def edit(worktree):
        (worktree / "half-written.txt").write_text("oops")
        raise RuntimeError("the edit broke")

    writer = RepoWriter(mirror)
    with pytest.raises(RuntimeError, match="the edit broke"):
        await writer.write(edit)
    assert not (writer.path / "half-written.txt").exists()
    assert_no_local_divergence(writer, bare_repo)
    assert (await writer.write(set_image("4"))).committed  # and the next write works


async def test_a_lost_worktree_is_recreated(mirror, bare_repo):
    writer = RepoWriter(mirror)
    await writer.write(set_image("5"))
    shutil.rmtree(writer.path)
    result = await writer.write(set_image("6"))
    assert result.committed
    assert git("--git-dir", str(bare_repo), "show", "main:apps/web.yaml") == "image: web:6\n"
