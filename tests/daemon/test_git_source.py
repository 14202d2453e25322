"""GitSource against real git repos in temp dirs: exports, the interval loop, the signature gate.

No cluster here; syncing from git into the real control plane is in test_sync_from_git.py.
"""

import asyncio

import anyio
import pytest

from conveyor.adapters.git import GitError, GitNotFoundError, Remote, SignatureStatus
from conveyor.daemon.git_source import GitSource
from conveyor.testing.gitserver import git
from tests.daemon.git_commits import WorkClone, allowed_signers, ssh_signing_key

pytestmark = pytest.mark.anyio


@pytest.fixture
def origin(tmp_path):
    """A bare repo with one commit on main: two paths and a README."""
    bare = tmp_path / "origin.git"
    git("init", "-q", "--bare", "--initial-branch=main", str(bare))
    seed = tmp_path / "seed"
    (seed / "apps").mkdir(parents=True)
    (seed / "apps" / "web.yaml").write_text("kind: ConfigMap\n")
    (seed / "base").mkdir()
    (seed / "base" / "common.yaml").write_text("kind: Namespace\n")
    git("init", "-q", "--initial-branch=main", cwd=seed)
    git("add", "-A", cwd=seed)
    git("commit", "-q", "-m", "Seed", cwd=seed)
    git("push", "-q", str(bare), "HEAD:refs/heads/main", cwd=seed)
    return bare


@pytest.fixture
def clone(origin, tmp_path):
    return WorkClone(str(origin), tmp_path / "clone")


def source_for(origin, tmp_path, **kwargs) -> GitSource:
    return GitSource(
        Remote.parse(str(origin)), branch="main", state_dir=tmp_path / "state", **kwargs
    )


def head_of(bare) -> str:
    return git("--git-dir", str(bare), "rev-parse", "main").strip()


async def test_fetch_returns_the_head_and_checkout_exports_the_whole_tree(origin, tmp_path):
    source = source_for(origin, tmp_path, paths=("apps",))
    head = await source.fetch()
    assert head == head_of(origin)
    tree = await source.checkout(head)
    assert (tree.revision, tree.paths) == (head, ("apps",))
    # Everything, not only the synced path: overlays refer to bases outside it.
    assert (tree.directory / "apps" / "web.yaml").read_text() == "kind: ConfigMap\n"
    assert (tree.directory / "base" / "common.yaml").read_text() == "kind: Namespace\n"
    assert not (tree.directory / ".git").exists()


async def test_checking_out_the_same_revision_reuses_its_export(origin, tmp_path):
    source = source_for(origin, tmp_path)
    head = await source.fetch()
    first = await source.checkout(head)
    (first.directory / "left-by-first.txt").write_text("still here\n")
    again = await source.checkout(head[:10])  # abbreviated: resolved to the same commit
    assert again.directory == first.directory
    assert (again.directory / "left-by-first.txt").read_text() == "still here\n"


async def test_old_and_abandoned_exports_are_removed(origin, clone, tmp_path):
    source = source_for(origin, tmp_path, keep_exports=2)
    revisions = [await source.fetch()]
    for i in range(4):
        clone.write(f"apps/extra-{i}.yaml", f"kind: ConfigMap # {i}\n")
        revisions.append(clone.commit_and_push(f"Add extra {i}"))
    await source.fetch()
    abandoned = source.exports_dir / ".partial-deadbeef-x"
    abandoned.mkdir(parents=True)
    trees = [await source.checkout(revision) for revision in revisions]
    left = sorted(p.name for p in source.exports_dir.iterdir())
    assert left == sorted(revisions[-2:])
    newest = trees[-1].directory
    assert sorted(p.name for p in (newest / "apps").iterdir()) == sorted(
        ["web.yaml"] + [f"extra-{i}.yaml" for i in range(4)]
    )


async def test_checking_out_a_revision_the_mirror_lacks_fails_naming_it(origin, tmp_path):
    source = source_for(origin, tmp_path)
    await source.fetch()
    # The adapter reports git's "Needed a single revision" as a plain GitCommandError.
    with pytest.raises(GitError, match=r"0{40}"):
        await source.checkout("0" * 40)
    assert not source.exports_dir.exists() or not any(source.exports_dir.iterdir())


async def test_verification_is_off_without_trust_and_gates_with_it(origin, clone, tmp_path):
    key = ssh_signing_key(tmp_path / "release_key")
    stranger = ssh_signing_key(tmp_path / "stranger_key")
    trust = allowed_signers(tmp_path / "allowed_signers", key)
    unsigned = head_of(origin)
    assert await source_for(origin, tmp_path).verify(unsigned) is None

    source = source_for(origin, tmp_path, trust=trust)
    await source.fetch()
    verdict = await source.verify(unsigned)
    assert verdict is not None and verdict.status is SignatureStatus.UNSIGNED

    clone.write("apps/signed.yaml", "kind: ConfigMap\n")
    signed = clone.commit_and_push("Signed", signing_key=key)
    clone.write("apps/stranger.yaml", "kind: ConfigMap\n")
    by_stranger = clone.commit_and_push("Signed by a stranger", signing_key=stranger)
    await source.fetch()
    trusted = await source.verify(signed)
    assert trusted is not None and trusted.status is SignatureStatus.TRUSTED
    refused = await source.verify(by_stranger)
    assert refused is not None and refused.status is SignatureStatus.BAD


async def test_run_calls_back_after_each_fetch_and_trigger_wakes_it_early(origin, clone, tmp_path):
    source = source_for(origin, tmp_path)
    seen: list[str] = []
    called = asyncio.Event()

    async def on_revision(revision: str) -> None:
        seen.append(revision)
        called.set()

    first = head_of(origin)
    with anyio.fail_after(60):  # a safety net against a hang, not a timing assertion
        async with anyio.create_task_group() as tasks:
            # An interval far longer than the test: only trigger() can bring a second fetch.
            tasks.start_soon(source.run, 3600.0, on_revision)
            await called.wait()
            called.clear()
            clone.write("apps/new.yaml", "kind: ConfigMap\n")
            second = clone.commit_and_push("New")
            source.trigger()
            await called.wait()
            tasks.cancel_scope.cancel()
    assert seen == [first, second]


async def test_run_survives_fetch_errors_and_keeps_trying(tmp_path):
    source = source_for(tmp_path / "no-such-repo.git", tmp_path)
    errors: list[GitError] = []
    failed = asyncio.Event()

    async def on_revision(revision: str) -> None:
        raise AssertionError(f"no fetch can succeed, yet got {revision}")

    def on_fetch_error(error: GitError) -> None:
        errors.append(error)
        failed.set()

    with anyio.fail_after(60):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(lambda: source.run(3600.0, on_revision, on_fetch_error=on_fetch_error))
            await failed.wait()
            failed.clear()
            source.trigger()
            await failed.wait()
            tasks.cancel_scope.cancel()
    assert len(errors) == 2
    assert all(isinstance(e, GitNotFoundError) for e in errors), errors


def test_keep_exports_must_keep_the_one_being_synced(tmp_path):
    with pytest.raises(ValueError, match="at least 1"):
        source_for(tmp_path / "origin.git", tmp_path, keep_exports=0)


def test_the_repr_shows_no_secret(tmp_path):
    from conveyor.adapters.git import HttpAuth

    source = GitSource(
        Remote.parse("https://git.example.invalid/config.git", auth=HttpAuth("u", "s3cr3t-pw")),
        state_dir=tmp_path,
    )
    assert "s3cr3t-pw" not in repr(source)
    assert "git.example.invalid" in repr(source)
