"""Helpers for the automation tests: seed config repos, run automation, read the history."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from conveyor.adapters.git import Remote, SshAuth
from conveyor.adapters.store import MetadataCache
from conveyor.daemon.automation import AutomationTarget, run_automation
from conveyor.daemon.automation_setup import registry_client
from conveyor.daemon.jobs import RepoJobQueues
from conveyor.testing.gitserver import git

EXAMPLES = Path(__file__).parent / "examples"


def deployment(name: str, image: str, **annotations: str) -> str:
    """A Deployment in namespace shop with one container `app`, written as a person would."""
    written = "".join(f'\n    {key}: "{value}"' for key, value in annotations.items())
    return (
        "apiVersion: apps/v1\n"
        "kind: Deployment\n"
        "metadata:\n"
        f"  name: {name}\n"
        "  namespace: shop\n"
        f"  annotations:{written or ' {}'}\n"
        "spec:\n"
        "  template:\n"
        "    spec:\n"
        "      containers:\n"
        "        - name: app\n"
        f"          image: {image}  # released by conveyor\n"
    )


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode())
    return root


def ssh_target(testenv, repo, *paths: str) -> AutomationTarget:
    remote = Remote.parse(
        repo.ssh_url, auth=SshAuth(testenv.git.deploy_key, testenv.git.known_hosts)
    )
    return AutomationTarget(remote, "main", paths or ("",))


def revisions(bare: Path) -> list[str]:
    """The branch's commits, newest first."""
    return git("--git-dir", str(bare), "rev-list", "main").split()


def file_at(bare: Path, revision: str, path: str) -> bytes:
    """The exact bytes (``git()`` reads text, which would turn CRLF into LF)."""
    return subprocess.run(
        ["git", "--git-dir", str(bare), "cat-file", "blob", f"{revision}:{path}"],
        check=True,
        capture_output=True,
    ).stdout


def message_of(bare: Path, revision: str) -> str:
    return git("--git-dir", str(bare), "log", "-1", "--format=%B", revision)


def changed_lines(bare: Path, old: str, new: str) -> list[str]:
    """The removed and added lines between two revisions (no headers, no context)."""
    diff = git("--git-dir", str(bare), "diff", "--unified=0", old, new)
    return [
        line
        for line in diff.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def is_linear(bare: Path) -> bool:
    parents = git("--git-dir", str(bare), "log", "--format=%P", "main").splitlines()
    return all(len(line.split()) <= 1 for line in parents)


@dataclass
class Automation:
    """Runs automation the way the daemon does: one state dir, one cache, shared job queues."""

    state_dir: Path
    queues: RepoJobQueues

    async def run(
        self, target, config, *, environ=None, dry_run=False, max_attempts=5, **client_options
    ):
        async with (
            registry_client(config, environ=environ, **client_options) as registry,
            await MetadataCache.open(self.state_dir / "metadata.db") as cache,
        ):
            return await run_automation(
                target,
                config=config,
                registry=registry,
                cache=cache,
                state_dir=self.state_dir,
                queues=self.queues,
                dry_run=dry_run,
                max_attempts=max_attempts,
            )
