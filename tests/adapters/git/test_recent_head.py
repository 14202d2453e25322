"""Fewer round trips to the remote: a write starts from a head seen a moment ago, and a mirror
takes a newer head from another mirror of the same branch. Stale heads must never win: real git
repos in temp directories, with a second client moving the remote behind the mirror's back."""

import pytest

from conveyor.adapters.git import EditOutcome, GitMirror, Remote, RepoWriter
from conveyor.testing.gitserver import git

from .conftest import OtherClient, assert_fast_forwards_only, history

pytestmark = pytest.mark.anyio


def remote_head(bare) -> str:
    return git("--git-dir", str(bare), "rev-parse", "main").strip()


def mirror_of(bare, state_dir) -> GitMirror:
    return GitMirror(Remote.parse(str(bare)), branch="main", state_dir=state_dir)


def set_web(tag: str, seen: list[str]):
    def edit(worktree):
        path = worktree / "apps" / "web.yaml"
        before = path.read_text()
        seen.append(before)
        path.write_text(f"image: web:{tag}\n")
        return EditOutcome(changed=before != f"image: web:{tag}\n", message=f"Release web:{tag}")

    return edit


async def test_a_fetch_is_remembered_for_a_while(bare_repo, state_dir):
    mirror = mirror_of(bare_repo, state_dir)
    assert mirror.recent_head(max_age=60) is None
    head = await mirror.fetch()
    assert mirror.recent_head(max_age=60) == head
    assert mirror.recent_head(max_age=-1) is None  # older than asked for


async def test_a_write_from_a_stale_recent_head_is_redone_on_the_real_one(
    bare_repo, state_dir, tmp_path
):
    mirror = mirror_of(bare_repo, state_dir)
    await mirror.fetch()
    OtherClient(str(bare_repo), tmp_path / "other").push_file("other.txt", "other\n")
    seen: list[str] = []

    result = await RepoWriter(mirror).write(set_web("2", seen))

    # Started from the head the mirror had seen (no fetch), was rejected, redone after a fetch.
    assert result.committed and result.attempts == 2
    assert history(bare_repo) == ["Seed", "Other client writes other.txt", "Release web:2"]
    assert git("--git-dir", str(bare_repo), "show", "main:other.txt") == "other\n"
    assert assert_fast_forwards_only(bare_repo) == 3
    assert result.revision == remote_head(bare_repo)
    assert mirror.recent_head(max_age=60) == result.revision  # our push, recorded as the head


async def test_without_reuse_the_write_fetches_first(bare_repo, state_dir, tmp_path):
    mirror = mirror_of(bare_repo, state_dir)
    await mirror.fetch()
    OtherClient(str(bare_repo), tmp_path / "other").push_file("other.txt", "other\n")

    result = await RepoWriter(mirror, reuse_head_seconds=0).write(set_web("2", []))

    assert result.committed and result.attempts == 1


async def test_nothing_to_change_on_a_recent_head_is_checked_against_the_remote(
    bare_repo, state_dir, tmp_path
):
    mirror = mirror_of(bare_repo, state_dir)
    await mirror.fetch()  # web:1 here
    OtherClient(str(bare_repo), tmp_path / "other").push_file("apps/web.yaml", "image: web:9\n")
    seen: list[str] = []

    # Setting web:1 changes nothing on the head seen, but the remote moved to web:9 meanwhile.
    result = await RepoWriter(mirror).write(set_web("1", seen))

    assert seen == ["image: web:1\n", "image: web:9\n"]
    assert result.committed
    assert git("--git-dir", str(bare_repo), "show", "main:apps/web.yaml") == "image: web:1\n"


async def test_nothing_to_change_on_the_current_head_is_not_committed(bare_repo, state_dir):
    mirror = mirror_of(bare_repo, state_dir)
    before = await mirror.fetch()
    result = await RepoWriter(mirror).write(set_web("1", []))
    assert not result.committed and result.revision == before == remote_head(bare_repo)


async def test_a_mirror_takes_a_newer_head_from_another_mirror_without_the_remote(
    bare_repo, tmp_path
):
    writer_side = mirror_of(bare_repo, tmp_path / "automation")
    reader_side = mirror_of(bare_repo, tmp_path / "sync")
    seed = await reader_side.fetch()
    assert await reader_side.advance_from(writer_side) is None  # it has seen nothing yet

    pushed = (await RepoWriter(writer_side).write(set_web("2", []))).revision

    assert await reader_side.advance_from(writer_side) == pushed
    assert await reader_side.head() == pushed
    assert await reader_side.read_file(pushed, "apps/web.yaml") == b"image: web:2\n"
    assert await reader_side.is_ancestor(seed, pushed)
    assert await reader_side.advance_from(writer_side) is None  # nothing newer any more


async def test_a_mirror_never_goes_back_to_an_older_head_of_another(bare_repo, tmp_path):
    behind = mirror_of(bare_repo, tmp_path / "automation")
    ahead = mirror_of(bare_repo, tmp_path / "sync")
    await behind.fetch()
    OtherClient(str(bare_repo), tmp_path / "other").push_file("other.txt", "other\n")
    latest = await ahead.fetch()

    assert await ahead.advance_from(behind) is None
    assert await ahead.head() == latest
