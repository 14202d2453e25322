"""A local mirror of one branch of a remote repository, kept under conveyor's state directory.

The mirror is a bare repository; the remote branch is fetched into ``refs/remotes/origin/<branch>``
(never into ``refs/heads``, so worktrees made from the mirror can never be in the way of a fetch).
Readers ask for files and commits at a revision; nothing here changes the remote.

Every fetch costs a round trip to the remote (over SSH, most of it the connection), so the mirror
remembers when it last saw the remote's head (:meth:`GitMirror.recent_head`: a fetch, or a push
of ours) and can take a commit from another mirror of the same branch on this machine
(:meth:`GitMirror.advance_from`) instead of asking the remote again.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
import tarfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from conveyor.adapters.git.errors import GitError
from conveyor.adapters.git.remote import Remote, redact
from conveyor.adapters.git.runner import GitResult, GitSettings, run_git
from conveyor.adapters.git.signatures import SignatureTrust, SignatureVerdict, verify_commit

_FIELD = "\x1f"
_LOG_FORMAT = _FIELD.join(["%H", "%P", "%an", "%ae", "%aI", "%cn", "%ce", "%cI", "%B"])


@dataclass(frozen=True)
class CommitInfo:
    """One commit, as read from the mirror."""

    revision: str
    parents: tuple[str, ...]
    author_name: str
    author_email: str
    authored_at: datetime
    committer_name: str
    committer_email: str
    committed_at: datetime
    message: str

    @property
    def subject(self) -> str:
        return self.message.split("\n", 1)[0]


def _parse_log(text: str) -> list[CommitInfo]:
    commits = []
    for record in text.split("\x00"):
        record = record.strip("\n")
        if not record:
            continue
        rev, parents, an, ae, at, cn, ce, ct, message = record.split(_FIELD, 8)
        commits.append(
            CommitInfo(
                revision=rev,
                parents=tuple(parents.split()),
                author_name=an,
                author_email=ae,
                authored_at=datetime.fromisoformat(at),
                committer_name=cn,
                committer_email=ce,
                committed_at=datetime.fromisoformat(ct),
                message=message.rstrip("\n"),
            )
        )
    return commits


def mirror_name(remote: Remote, branch: str) -> str:
    """A directory name for (remote, branch): readable, unique, safe on any filesystem."""
    digest = hashlib.sha256(f"{remote.url}\n{branch}".encode()).hexdigest()[:16]
    tail = re.sub(r"[^A-Za-z0-9._-]+", "-", remote.url.rstrip("/").rsplit("/", 1)[-1])
    return f"{tail.removesuffix('.git')[:40]}-{re.sub(r'[^A-Za-z0-9]+', '-', branch)[:30]}-{digest}"


class GitMirror:
    """One branch of one remote, mirrored in ``state_dir/mirrors/<name>.git``.

    ``fetch()`` brings it up to date and returns the remote head; the read methods take any
    revision the mirror has. Fetches of one mirror are serialized within the process.
    """

    def __init__(
        self, remote: Remote, *, branch: str, state_dir: Path, settings: GitSettings | None = None
    ) -> None:
        self.remote = remote
        self.branch = branch
        self.state_dir = state_dir
        self.settings = settings or GitSettings(home=state_dir / "home")
        self.name = mirror_name(remote, branch)
        self.path = state_dir / "mirrors" / f"{self.name}.git"
        self.tracking_ref = f"refs/remotes/origin/{branch}"
        self._lock = asyncio.Lock()
        self._seen: tuple[float, str] | None = None  # (monotonic time, remote head) last seen

    def __repr__(self) -> str:
        return f"GitMirror({redact(self.remote.url)!r}, branch={self.branch!r}, path={self.path})"

    @property
    def description(self) -> str:
        return f"branch {self.branch} of {redact(self.remote.url)}"

    async def git(
        self,
        *args: str,
        cwd: Path | None = None,
        remote_access: bool = False,
        stdin: bytes | None = None,
        check: bool = True,
        what: str | None = None,
        env: dict[str, str] | None = None,
        config: Sequence[tuple[str, str]] = (),
    ) -> GitResult:
        """Run git in the mirror (or in ``cwd``); with the remote's credentials if it uses it."""
        prefix = [] if cwd is not None else ["--git-dir", str(self.path)]
        all_env = dict(env or {})
        all_config = list(config)
        if remote_access:
            self.remote.check_files()
            all_env.update(self.remote.git_env())
            all_config.extend(self.remote.git_config())
        return await run_git(
            self.settings,
            [*prefix, *args],
            cwd=cwd,
            env=all_env,
            config=all_config,
            stdin=stdin,
            check=check,
            secrets=self.remote.secrets(),
            what=what,
            remote=redact(self.remote.url),
        )

    async def ensure(self) -> None:
        """Create the bare mirror repository if it does not exist yet."""
        if (self.path / "HEAD").exists():
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        await run_git(
            self.settings, ["init", "--quiet", "--bare", str(self.path)], what="create the mirror"
        )

    async def fetch(self) -> str:
        """Fetch the branch from the remote; return its head revision."""
        async with self._lock:
            await self.ensure()
            await self.git(
                "fetch",
                "--quiet",
                "--no-tags",
                "--no-write-fetch-head",
                "--",
                self.remote.url,
                f"+refs/heads/{self.branch}:{self.tracking_ref}",
                remote_access=True,
                what=f"fetch {self.description}",
            )
            head = await self.head()
        if head is None:  # the fetch succeeded, so only a concurrent deletion gets here
            raise GitError(f"{self.description} has no head after fetching; fetch again")
        self._seen = (time.monotonic(), head)
        return head

    def recent_head(self, *, max_age: float) -> str | None:
        """The remote head as this mirror last saw it (a fetch, or a push recorded with
        :meth:`record_push`), if that was at most ``max_age`` seconds ago; else None.

        For callers that can tell a stale head from the remote's answer anyway, such as a
        writer whose push, never forced, is rejected when the remote moved.
        """
        if self._seen is None or time.monotonic() - self._seen[0] > max_age:
            return None
        return self._seen[1]

    async def record_push(self, revision: str, *, previous: str) -> None:
        """Our push moved the remote branch from ``previous`` to ``revision``: record it as the
        head without another fetch. Only if the tracking ref is still at ``previous``: a
        concurrent fetch may already know a newer head."""
        moved = await self.git("update-ref", self.tracking_ref, revision, previous, check=False)
        if moved.returncode == 0:
            self._seen = (time.monotonic(), revision)

    async def advance_from(self, other: GitMirror) -> str | None:
        """Take the head ``other`` (a mirror of the same branch on this machine) last saw, when
        it is ahead of this mirror's: copy its commits locally, move the tracking ref there and
        return it. None when ``other`` knows nothing newer (or has diverged): then fetch.

        No network: what ``other`` saw (its fetch, or a push of ours through it) was the
        remote's head a moment ago. A caller that must not miss a later remote commit still
        fetches, but can do it after using this one.
        """
        theirs = await other.head()
        if theirs is None or theirs == await self.head():
            return None
        async with self._lock:
            await self.ensure()
            if not await self._has_commit(theirs):
                await self.git(
                    "fetch",
                    "--quiet",
                    "--no-tags",
                    "--no-write-fetch-head",
                    "--",
                    str(other.path),
                    f"+{other.tracking_ref}:refs/conveyor/local/{self.branch}",
                    check=False,
                    what=f"copy {theirs} from {other.path}",
                )
                if not await self._has_commit(theirs):
                    return None
            ours = await self.head()
            if ours is not None and (ours == theirs or not await self.is_ancestor(ours, theirs)):
                return None  # ours is as new or newer, or the branch was rewritten: ask the remote
            moved = await self.git("update-ref", self.tracking_ref, theirs, ours or "", check=False)
        return theirs if moved.returncode == 0 else None

    async def _has_commit(self, revision: str) -> bool:
        found = await self.git("cat-file", "-e", f"{revision}^{{commit}}", check=False)
        return found.returncode == 0

    async def head(self) -> str | None:
        """The last fetched head revision, or None before the first fetch."""
        if not (self.path / "HEAD").exists():
            return None
        result = await self.git("rev-parse", "--verify", "--quiet", self.tracking_ref, check=False)
        return result.text.strip() or None

    async def resolve(self, revision: str) -> str:
        """The full commit id of ``revision``."""
        result = await self.git(
            "rev-parse", "--verify", f"{revision}^{{commit}}", what=f"resolve {revision}"
        )
        return result.text.strip()

    async def read_file(self, revision: str, path: str) -> bytes:
        """The bytes of ``path`` at ``revision``; GitNotFoundError if it is not there."""
        result = await self.git(
            "cat-file", "blob", f"{revision}:{path}", what=f"read {path} at {revision}"
        )
        return result.stdout

    async def list_files(self, revision: str, *, under: str = "") -> list[str]:
        """Paths of the files at ``revision`` (below ``under`` if given), sorted."""
        args = ["ls-tree", "-r", "-z", "--name-only", "--full-tree", revision]
        if under:
            args += ["--", under.rstrip("/")]
        result = await self.git(*args, what=f"list files at {revision}")
        return sorted(name for name in result.text.split("\x00") if name)

    async def export_tree(self, revision: str, destination: Path, *, under: str = "") -> None:
        """Write the files of ``revision`` (below ``under`` if given) into ``destination``."""
        args = ["archive", "--format=tar", revision]
        if under:
            args += ["--", under.rstrip("/")]
        result = await self.git(*args, what=f"export the files at {revision}")
        destination.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(result.stdout), mode="r:") as archive:
            # git archive output is trusted, but the data filter still refuses links out of tree.
            archive.extractall(destination, filter="data")

    async def commits_since(
        self, since: str | None, *, until: str | None = None
    ) -> list[CommitInfo]:
        """Commits in ``until`` (default: the head) and not in ``since``, oldest first."""
        target = until or self.tracking_ref
        selection = f"{since}..{target}" if since else target
        result = await self.git(
            "log",
            "-z",
            "--reverse",
            f"--format={_LOG_FORMAT}",
            selection,
            "--",
            what=f"list commits {selection}",
        )
        return _parse_log(result.text)

    async def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """True when ``ancestor`` is ``descendant`` or one of its ancestors."""
        result = await self.git("merge-base", "--is-ancestor", ancestor, descendant, check=False)
        return result.returncode == 0

    async def verify_commit(self, revision: str, *, trust: SignatureTrust) -> SignatureVerdict:
        """Whether ``revision`` is signed by a key ``trust`` accepts."""
        return await verify_commit(self.settings, self.path, revision, trust=trust)
