"""The git adapter: the only place in conveyor that runs the ``git`` program.

- :mod:`.runner`: ``run_git``, the one choke point (clean environment, deadline, redaction);
- :mod:`.remote`: URLs and credentials (SSH deploy key + known_hosts, HTTP basic/bearer, paths);
- :mod:`.mirror`: a local mirror of one branch (fetch, read files, list commits, verify signatures);
- :mod:`.worktree`: edit, commit and push, redoing the edit when the remote moved; never forced;
- :mod:`.porcelain`, :mod:`.signatures`: reading git's push and signature output.

Errors (messages are redacted and say what to check next)::

    GitError
    ├── GitNotInstalledError     git (or ssh/gpg) is not installed
    ├── RemoteConfigError        a URL or credential is malformed, or a key file is missing
    ├── GitTimeoutError          a command passed its deadline and was killed
    ├── GitCommandError          a command exited non-zero (argv, returncode, stderr: redacted)
    │   ├── GitAuthError         the remote refused the deploy key, password or token
    │   │   └── GitHostKeyError  the SSH host key does not match known_hosts
    │   └── GitNotFoundError     no such repository, branch, revision or path
    └── PushFailedError          a push did not land; the local copy was reset to the remote
"""

from conveyor.adapters.git.errors import (
    GitAuthError,
    GitCommandError,
    GitError,
    GitHostKeyError,
    GitNotFoundError,
    GitNotInstalledError,
    GitTimeoutError,
    PushFailedError,
    RemoteConfigError,
)
from conveyor.adapters.git.mirror import CommitInfo, GitMirror
from conveyor.adapters.git.remote import (
    BearerAuth,
    HttpAuth,
    Remote,
    RemoteKind,
    SshAuth,
    redact,
)
from conveyor.adapters.git.runner import (
    DEFAULT_IDENTITY,
    GitResult,
    GitSettings,
    Identity,
    run_git,
)
from conveyor.adapters.git.signatures import (
    GpgKeyring,
    SignatureStatus,
    SignatureTrust,
    SignatureVerdict,
    SshAllowedSigners,
)
from conveyor.adapters.git.worktree import (
    REUSE_HEAD_SECONDS,
    CommitSettings,
    EditFunction,
    EditOutcome,
    GpgSigningKey,
    RepoWriter,
    SigningKey,
    SshSigningKey,
    WriteResult,
)

__all__ = [
    "DEFAULT_IDENTITY",
    "REUSE_HEAD_SECONDS",
    "BearerAuth",
    "CommitInfo",
    "CommitSettings",
    "EditFunction",
    "EditOutcome",
    "GitAuthError",
    "GitCommandError",
    "GitError",
    "GitHostKeyError",
    "GitMirror",
    "GitNotFoundError",
    "GitNotInstalledError",
    "GitResult",
    "GitSettings",
    "GitTimeoutError",
    "GpgKeyring",
    "GpgSigningKey",
    "HttpAuth",
    "Identity",
    "PushFailedError",
    "Remote",
    "RemoteConfigError",
    "RemoteKind",
    "RepoWriter",
    "SignatureStatus",
    "SignatureTrust",
    "SignatureVerdict",
    "SigningKey",
    "SshAllowedSigners",
    "SshAuth",
    "SshSigningKey",
    "WriteResult",
    "redact",
    "run_git",
]
