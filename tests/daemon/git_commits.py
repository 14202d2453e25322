"""A plain git clone for the git-source tests: write or remove files, commit (signed or not), push.

This is the other side of the config repo, a person or CI pushing to it, so it runs git directly
(through the test environment's helper), not through the adapter under test.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from conveyor.adapters.git import SshAllowedSigners
from conveyor.testing.gitserver import git

SIGNER_EMAIL = "release@example.invalid"


def ssh_signing_key(path: Path) -> Path:
    """A new ed25519 key pair at ``path`` (``.pub`` beside it)."""
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", path.name, "-f", str(path)],
        check=True,
        capture_output=True,
    )
    return path


def allowed_signers(path: Path, *keys: Path, principal: str = SIGNER_EMAIL) -> SshAllowedSigners:
    """An allowed_signers file trusting ``keys`` for git signatures."""
    lines = []
    for key in keys:
        key_type, key_data = key.with_suffix(".pub").read_text().split()[:2]
        lines.append(f'{principal} namespaces="git" {key_type} {key_data}\n')
    path.write_text("".join(lines))
    return SshAllowedSigners(path)


class WorkClone:
    """A working clone of ``url`` (branch main) in ``work``."""

    def __init__(self, url: str, work: Path, *, env: dict[str, str] | None = None) -> None:
        self.work = work
        self.env = env or {}
        work.parent.mkdir(parents=True, exist_ok=True)
        git("clone", "-q", "--branch", "main", url, str(work), cwd=work.parent, env=self.env)

    def git(self, *args: str) -> str:
        return git(*args, cwd=self.work, env=self.env)

    def write(self, relative: str, text: str) -> None:
        path = self.work / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def remove(self, relative: str) -> None:
        self.git("rm", "-q", relative)

    def commit_and_push(self, message: str, *, signing_key: Path | None = None) -> str:
        """Commit everything (signed with the SSH key when given), push; return the revision."""
        self.git("add", "-A")
        signing = (
            ["-c", "gpg.format=ssh", "-c", f"user.signingkey={signing_key}"] if signing_key else []
        )
        self.git(*signing, "commit", "-q", *(["-S"] if signing_key else []), "-m", message)
        self.git("push", "-q", "origin", "HEAD:refs/heads/main")
        return self.git("rev-parse", "HEAD").strip()
