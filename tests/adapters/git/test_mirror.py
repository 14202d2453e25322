"""The mirror of one branch, on real git repos in temp directories (path remotes)."""

import pytest

from conveyor.adapters.git import GitMirror, GitNotFoundError, Remote
from conveyor.testing.gitserver import git

from .conftest import OtherClient

pytestmark = pytest.mark.anyio


def remote_head(bare) -> str:
    return git("--git-dir", str(bare), "rev-parse", "main").strip()


@pytest.fixture
def mirror(bare_repo, state_dir) -> GitMirror:
    return GitMirror(Remote.parse(str(bare_repo)), branch="main", state_dir=state_dir)


async def test_head_is_none_before_the_first_fetch(mirror):
    assert await mirror.head() is None


async def test_fetch_returns_the_remote_head_and_files_can_be_read(mirror, bare_repo, tmp_path):
    head = await mirror.fetch()
    assert head == remote_head(bare_repo)
    assert await mirror.head() == head
    assert mirror.path.is_relative_to(mirror.state_dir)
    assert await mirror.read_file(head, "apps/web.yaml") == b"image: web:1\n"
    assert await mirror.list_files(head) == ["README", "apps/web.yaml"]
    assert await mirror.list_files(head, under="apps/") == ["apps/web.yaml"]
    await mirror.export_tree(head, tmp_path / "export", under="apps")
    assert (tmp_path / "export" / "apps" / "web.yaml").read_text() == "image: web:1\n"
    assert not (tmp_path / "export" / "README").exists()


async def test_a_missing_file_is_not_found(mirror):
    head = await mirror.fetch()
    with pytest.raises(GitNotFoundError, match=r"read nope\.yaml at"):
        await mirror.read_file(head, "nope.yaml")


async def test_a_missing_branch_is_not_found(bare_repo, state_dir):
    mirror = GitMirror(Remote.parse(str(bare_repo)), branch="nope", state_dir=state_dir)
    with pytest.raises(GitNotFoundError, match="fetch branch nope of") as raised:
        await mirror.fetch()
    assert "check the repository URL, the branch name" in str(raised.value)


async def test_commits_since_a_revision(mirror, bare_repo, tmp_path):
    first = await mirror.fetch()
    other = OtherClient(str(bare_repo), tmp_path / "other")
    other.push_file("a.txt", "a\n", message="Add a")
    other.push_file("b.txt", "b\n", message="Add b\n\nWith a body.")
    second = await mirror.fetch()
    assert second == remote_head(bare_repo)
    commits = await mirror.commits_since(first)
    assert [c.subject for c in commits] == ["Add a", "Add b"]
    assert commits[1].message == "Add b\n\nWith a body."
    assert commits[0].parents == (first,)
    assert commits[1].revision == second
    assert commits[0].author_email == "other@example.invalid"
    assert [c.subject for c in await mirror.commits_since(None)] == ["Seed", "Add a", "Add b"]
    assert await mirror.commits_since(second) == []
    assert await mirror.is_ancestor(first, second)
    assert not await mirror.is_ancestor(second, first)
    assert await mirror.resolve(second[:10]) == second


async def test_two_mirrors_of_different_branches_live_side_by_side(bare_repo, state_dir):
    git("--git-dir", str(bare_repo), "branch", "staging", "main")
    main = GitMirror(Remote.parse(str(bare_repo)), branch="main", state_dir=state_dir)
    staging = GitMirror(Remote.parse(str(bare_repo)), branch="staging", state_dir=state_dir)
    assert main.path != staging.path
    assert await main.fetch() == await staging.fetch()
