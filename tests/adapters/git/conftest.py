"""Shared fixtures for the git adapter tests: local bare repos and a second, plain git client."""

import os
import subprocess
from pathlib import Path

import pytest

from conveyor.adapters.git import GitSettings
from conveyor.testing.gitserver import git


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def state_dir(tmp_path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def settings(state_dir) -> GitSettings:
    return GitSettings(home=state_dir / "home")


def make_bare_repo(root: Path, *, files: dict[str, str] | None = None) -> Path:
    """A bare repo at ``root/origin.git`` with one commit holding ``files``, branch main."""
    bare = root / "origin.git"
    git("init", "-q", "--bare", "--initial-branch=main", str(bare))
    # Keep a reflog so tests can prove every ref update was a fast-forward.
    git("config", "core.logAllRefUpdates", "true", cwd=bare)
    seed = root / "seed"
    seed.mkdir()
    for name, text in (files or {"README": "seed\n"}).items():
        (seed / name).parent.mkdir(parents=True, exist_ok=True)
        (seed / name).write_text(text)
    git("init", "-q", "--initial-branch=main", cwd=seed)
    git("add", "-A", cwd=seed)
    git("commit", "-q", "-m", "Seed", cwd=seed)
    git("push", "-q", str(bare), "HEAD:refs/heads/main", cwd=seed)
    return bare


@pytest.fixture
def bare_repo(tmp_path) -> Path:
    return make_bare_repo(tmp_path, files={"README": "seed\n", "apps/web.yaml": "image: web:1\n"})


def plain_git(*args: str, cwd: Path, env: dict[str, str]) -> str:
    """Run git as an ordinary user would, with a deadline so a hang fails loudly, not silently."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    full_env.update(
        GIT_AUTHOR_NAME="other-client",
        GIT_AUTHOR_EMAIL="other@example.invalid",
        GIT_COMMITTER_NAME="other-client",
        GIT_COMMITTER_EMAIL="other@example.invalid",
        GIT_CONFIG_NOSYSTEM="1",
        GIT_TERMINAL_PROMPT="0",
        HOME=str(cwd),
        **env,
    )
    try:
        result = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=full_env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"the other client's git {' '.join(args)} hung: {e.stderr!r}") from e
    if result.returncode != 0:
        raise PlainGitError(f"git {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


class PlainGitError(Exception):
    pass


class OtherClient:
    """Another writer: a plain ``git`` clone that commits and pushes behind conveyor's back."""

    def __init__(self, url: str, work: Path, env: dict[str, str] | None = None) -> None:
        self.work = work
        self.env = env or {}
        work.parent.mkdir(parents=True, exist_ok=True)
        plain_git("clone", "-q", url, str(work), cwd=work.parent, env=self.env)

    def git(self, *args: str) -> str:
        return plain_git(*args, cwd=self.work, env=self.env)

    def push_file(self, name: str, text: str, *, message: str | None = None, retries: int = 50):
        """Commit ``name`` and push, rebasing onto the remote when it moved."""
        path = self.work / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        self.git("add", name)
        self.git("commit", "-q", "-m", message or f"Other client writes {name}")
        for _ in range(retries):
            try:
                self.git("push", "-q", "origin", "HEAD:refs/heads/main")
                return
            except PlainGitError:
                self.git("pull", "-q", "--rebase", "origin", "main")
        raise AssertionError(f"the other client could not push {name} in {retries} tries")


def history(bare: Path) -> list[str]:
    """Subjects of the branch's commits, oldest first (first-parent, linear check separately)."""
    out = git("--git-dir", str(bare), "log", "--reverse", "--format=%s", "main")
    return out.splitlines()


def parent_counts(bare: Path) -> list[int]:
    out = git("--git-dir", str(bare), "log", "--format=%P", "main")
    return [len(line.split()) for line in out.splitlines()]


def assert_fast_forwards_only(bare: Path) -> int:
    """Every update of refs/heads/main in the reflog moved it forward; return how many."""
    lines = (bare / "logs" / "refs" / "heads" / "main").read_text().splitlines()
    for line in lines:
        old, new = line.split()[:2]
        if set(old) != {"0"}:
            git("--git-dir", str(bare), "merge-base", "--is-ancestor", old, new)
    return len(lines)
