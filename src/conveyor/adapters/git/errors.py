"""Errors of the git adapter, and the reading of git's stderr that picks one.

Every message is already redacted (no password, token or ``user:password@`` URL) and says what to
check next. The tree is drawn in the package docstring.
"""

from __future__ import annotations

import re
from collections.abc import Sequence


class GitError(Exception):
    """Something the git adapter was asked to do did not happen."""


class GitNotInstalledError(GitError):
    """The ``git`` program (or a program it needs, like ssh) is not installed."""


class RemoteConfigError(GitError):
    """A remote is described wrongly: unknown URL form, auth that does not fit it, missing key."""


class GitTimeoutError(GitError):
    """A git command ran past its deadline and was killed."""


class GitCommandError(GitError):
    """A git command exited non-zero. ``argv`` and ``stderr`` are redacted."""

    def __init__(self, message: str, *, argv: Sequence[str], returncode: int, stderr: str) -> None:
        super().__init__(message)
        self.argv = tuple(argv)
        self.returncode = returncode
        self.stderr = stderr


class GitAuthError(GitCommandError):
    """The remote refused our credentials (deploy key, password, token)."""


class GitHostKeyError(GitAuthError):
    """The SSH server's host key is not the one in known_hosts."""


class GitNotFoundError(GitCommandError):
    """The repository, branch, revision or path does not exist."""


class PushFailedError(GitError):
    """A push did not land after the allowed attempts; the local copy was reset to the remote."""

    def __init__(self, message: str, *, attempts: int, remote_said: str) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.remote_said = remote_said


_HOST_KEY = re.compile(
    r"Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED"
    r"|No \S+ host key is known for"
)
_SSH_AUTH = re.compile(
    r"Permission denied \(publickey|UNPROTECTED PRIVATE KEY FILE|Load key .*: (error|invalid)"
    r"|invalid format",
    re.IGNORECASE,
)
_HTTP_AUTH = re.compile(
    r"Authentication failed|could not read (Username|Password)|HTTP 40[13]"
    r"|returned error: 40[13]|Permission denied",
    re.IGNORECASE,
)
_NOT_FOUND = re.compile(
    r"couldn't find remote ref|does not appear to be a git repository|Repository not found"
    r"|not found|unknown revision|bad revision|does not exist|Not a valid object name"
    r"|exists on disk, but not in|ambiguous argument|Needed a single revision",
    re.IGNORECASE,
)


def _stderr_excerpt(stderr: str, limit: int = 12) -> str:
    """The lines of stderr worth showing: git's hints are advice for humans at a terminal."""
    lines = [line for line in stderr.strip().splitlines() if not line.startswith("hint:")]
    return "\n".join(lines[-limit:])


# (pattern in stderr, error type, what to check next), first match wins.
_DIAGNOSES: tuple[tuple[re.Pattern[str], type[GitCommandError], str], ...] = (
    (
        _HOST_KEY,
        GitHostKeyError,
        "the SSH server's host key does not match known_hosts; check that the known_hosts file"
        " has the server's current key (from ssh-keyscan, compared out of band)",
    ),
    (
        _SSH_AUTH,
        GitAuthError,
        "the SSH server refused the deploy key; check that the key is registered on the server"
        " (with write access for pushes) and that its file is readable only by its owner (0600)",
    ),
    (
        _HTTP_AUTH,
        GitAuthError,
        "the remote refused the credentials; check the username and password/token, that the"
        " token has not expired, and that it may read (and, for pushes, write) the repository",
    ),
    (
        _NOT_FOUND,
        GitNotFoundError,
        "not found; check the repository URL, the branch name and that the revision or path exists",
    ),
)


def command_failure(
    *, what: str, argv: Sequence[str], returncode: int, stderr: str, remote: str | None
) -> GitCommandError:
    """Pick the error type for a failed git command from its (redacted) stderr."""
    excerpt = _stderr_excerpt(stderr)
    where = f" ({remote})" if remote and remote not in what else ""
    said = f"; git said:\n{excerpt}" if excerpt else ""
    for pattern, kind, advice in _DIAGNOSES:
        if pattern.search(stderr):
            message = f"{what}{where}: {advice}{said}"
            return kind(message, argv=argv, returncode=returncode, stderr=stderr)
    message = f"{what}{where} failed (git exit code {returncode}){said}"
    return GitCommandError(message, argv=argv, returncode=returncode, stderr=stderr)
