"""Writing to a branch: edit a worktree at the remote head, commit, push; redo on a moved remote.

One attempt: fetch the branch (unless the mirror saw its head a moment ago: see
``REUSE_HEAD_SECONDS``), reset the worktree (made from the mirror) to that head, run
the edit function on it, commit what changed (author, committer and signing configurable; no
commit when nothing changed) and push without ``--force``. When the push is rejected because the
remote moved (someone else pushed first) the whole attempt is redone on the new head: the edit is
re-run rather than the old commit rebased, so its decision is made on what is really there. After
``max_attempts``, or on any other refusal, the worktree and mirror are reset to the remote and a
:class:`PushFailedError` says what was tried and what the remote said.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from conveyor.adapters.git.errors import GitError, PushFailedError, command_failure
from conveyor.adapters.git.mirror import GitMirror
from conveyor.adapters.git.porcelain import PushVerdict, parse_push_porcelain, push_verdict
from conveyor.adapters.git.runner import DEFAULT_IDENTITY, GitResult, Identity

log = logging.getLogger("conveyor.adapters.git")

REUSE_HEAD_SECONDS = 5.0
"""A write starts from a head the mirror saw at most this long ago instead of fetching again: a
stale head costs one rejected push and a redo, a fetch costs a round trip on every write."""


@dataclass(frozen=True)
class EditOutcome:
    """What an edit function did to the worktree."""

    changed: bool
    message: str  # the commit message, used only if something changed


EditFunction = Callable[[Path], EditOutcome | Awaitable[EditOutcome]]


@dataclass(frozen=True)
class SshSigningKey:
    """Sign commits with an SSH private key (``gpg.format=ssh``)."""

    private_key: Path


@dataclass(frozen=True)
class GpgSigningKey:
    """Sign commits with a GPG key of the keyring in ``home`` (default: GnuPG's own)."""

    key_id: str
    home: Path | None = None


SigningKey = SshSigningKey | GpgSigningKey


@dataclass(frozen=True)
class CommitSettings:
    """Who commits, and how commits are signed (committer defaults to the author)."""

    author: Identity = DEFAULT_IDENTITY
    committer: Identity | None = None
    signing: SigningKey | None = None


@dataclass(frozen=True)
class WriteResult:
    """The outcome of one write: the remote head afterwards and whether we made it."""

    revision: str  # the remote branch head after the write
    committed: bool  # False: the edit changed nothing, no commit and no push
    attempts: int  # 1 unless the remote moved and the edit was redone
    message: str | None


class RepoWriter:
    """Commits and pushes edits to the mirror's branch, through a worktree of the mirror.

    Not for concurrent use: writes to one branch must be serialized (conveyor's job queue does
    that); a lock here makes misuse wait rather than corrupt the worktree.
    """

    def __init__(
        self,
        mirror: GitMirror,
        *,
        commit: CommitSettings | None = None,
        max_attempts: int = 5,
        reuse_head_seconds: float = REUSE_HEAD_SECONDS,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.mirror = mirror
        self.commit_settings = commit or CommitSettings()
        self.max_attempts = max_attempts
        self.reuse_head_seconds = reuse_head_seconds
        self.path = mirror.state_dir / "worktrees" / mirror.name
        self._lock = asyncio.Lock()

    async def write(self, edit: EditFunction) -> WriteResult:
        """Apply ``edit`` at the remote head, commit and push it; see the module docstring."""
        async with self._lock:
            try:
                return await self._write(edit)
            except BaseException:
                # Whatever went wrong (edit error, refusal, cancellation), leave no local commit.
                await self._discard_local_changes()
                raise

    async def _write(self, edit: EditFunction) -> WriteResult:
        remote_said = ""
        # A head fetched a moment ago (the caller's own fetch, or our last push) saves a round
        # trip; if the remote moved since, the push says so and the edit is redone.
        head = self.mirror.recent_head(max_age=self.reuse_head_seconds)
        for attempt in range(1, self.max_attempts + 1):
            fetched = head is None
            head = head or await self.mirror.fetch()
            outcome = await self._edit_at(head, edit)
            if outcome is None and not fetched:
                # "Nothing to change" pushes nothing, so no push would say the head moved.
                latest = await self.mirror.fetch()
                if latest != head:
                    head = latest
                    outcome = await self._edit_at(head, edit)
            if outcome is None:
                return WriteResult(head, committed=False, attempts=attempt, message=None)
            revision = await self._commit(outcome.message)
            push = await self._push()
            verdict = push_verdict(parse_push_porcelain(push.text), self._destination)
            if verdict in (PushVerdict.ACCEPTED, PushVerdict.UP_TO_DATE):
                await self.mirror.record_push(revision, previous=head)
                return WriteResult(
                    revision, committed=True, attempts=attempt, message=outcome.message
                )
            remote_said = _remote_said(push)
            head = None  # whatever happens next starts from a fresh fetch
            if verdict is PushVerdict.REMOTE_MOVED:
                log.info(
                    "push to %s rejected, the remote moved (attempt %d of %d); redoing the edit",
                    self.mirror.description,
                    attempt,
                    self.max_attempts,
                )
                continue
            if verdict is PushVerdict.UNKNOWN:
                raise command_failure(
                    what=f"push to {self.mirror.description}",
                    argv=push.argv,
                    returncode=push.returncode,
                    stderr=push.stderr,
                    remote=None,
                )
            raise PushFailedError(
                f"push to {self.mirror.description} was refused by the remote (not a race, so not"
                f" retried); the local commit was discarded. The remote said:\n{remote_said}\n"
                "Check branch protection rules, server-side hooks and that the deploy key or"
                " token has write access.",
                attempts=attempt,
                remote_said=remote_said,
            )
        raise PushFailedError(
            f"push to {self.mirror.description} was rejected {self.max_attempts} times because"
            " the remote kept moving (the edit was redone on each new head, never force-pushed);"
            f" the local commit was discarded. The remote said last:\n{remote_said}\n"
            "Check for another writer pushing to this branch in a loop, or raise max_attempts.",
            attempts=self.max_attempts,
            remote_said=remote_said,
        )

    async def _edit_at(self, head: str, edit: EditFunction) -> EditOutcome | None:
        """Run ``edit`` on a worktree reset to ``head``; None when it changed nothing."""
        await self._reset_worktree(head)
        outcome = await self._run_edit(edit)
        if not outcome.changed or not await self._stage_all():
            return None
        return outcome

    @property
    def _destination(self) -> str:
        return f"refs/heads/{self.mirror.branch}"

    async def _reset_worktree(self, revision: str) -> None:
        if not (self.path / ".git").is_file():
            shutil.rmtree(self.path, ignore_errors=True)
            await self.mirror.git("worktree", "prune")
            self.path.parent.mkdir(parents=True, exist_ok=True)
            await self.mirror.git(
                "worktree",
                "add",
                "--quiet",
                "--detach",
                "--force",
                str(self.path),
                revision,
                what="create the worktree",
            )
        await self.mirror.git("reset", "--quiet", "--hard", revision, cwd=self.path)
        await self.mirror.git("clean", "-q", "-d", "-f", "-x", cwd=self.path)

    async def _discard_local_changes(self) -> None:
        """Put worktree and mirror back at the remote head (best effort: never masks an error)."""
        head: str | None
        try:
            head = await self.mirror.fetch()
        except GitError:
            head = await self.mirror.head()
        if head is not None and (self.path / ".git").is_file():
            try:
                await self._reset_worktree(head)
            except GitError as e:
                log.warning("could not reset the worktree %s: %s", self.path, e)

    async def _run_edit(self, edit: EditFunction) -> EditOutcome:
        result: object
        if inspect.iscoroutinefunction(edit):
            result = edit(self.path)
        else:
            # A plain function may read and write many files: keep it off the event loop.
            plain: Callable[[Path], object] = edit
            result = await asyncio.to_thread(plain, self.path)
        if inspect.isawaitable(result):
            result = await result
        if not isinstance(result, EditOutcome):
            raise TypeError(f"the edit function returned {result!r}, not an EditOutcome")
        return result

    async def _stage_all(self) -> bool:
        """Stage every change; True if anything is staged."""
        await self.mirror.git("add", "--all", cwd=self.path)
        staged = await self.mirror.git("diff", "--cached", "--quiet", cwd=self.path, check=False)
        return staged.returncode != 0

    async def _commit(self, message: str) -> str:
        settings = self.commit_settings
        committer = settings.committer or settings.author
        env = {
            "GIT_AUTHOR_NAME": settings.author.name,
            "GIT_AUTHOR_EMAIL": settings.author.email,
            "GIT_COMMITTER_NAME": committer.name,
            "GIT_COMMITTER_EMAIL": committer.email,
        }
        config: list[tuple[str, str]] = []
        args = ["commit", "--quiet", "--no-verify", "--file=-"]
        if isinstance(settings.signing, SshSigningKey):
            config += [
                ("gpg.format", "ssh"),
                ("user.signingKey", str(settings.signing.private_key)),
            ]
            args.append("--gpg-sign")
        elif isinstance(settings.signing, GpgSigningKey):
            config += [("gpg.format", "openpgp"), ("user.signingKey", settings.signing.key_id)]
            if settings.signing.home is not None:
                env["GNUPGHOME"] = str(settings.signing.home)
            args.append("--gpg-sign")
        await self.mirror.git(
            *args,
            cwd=self.path,
            env=env,
            config=config,
            stdin=message.encode(),
            what=f"commit to {self.mirror.description}",
        )
        return (await self.mirror.git("rev-parse", "HEAD", cwd=self.path)).text.strip()

    async def _push(self) -> GitResult:
        return await self.mirror.git(
            "push",
            "--porcelain",
            "--no-verify",
            "--",
            self.mirror.remote.url,
            f"HEAD:{self._destination}",
            cwd=self.path,
            remote_access=True,
            check=False,
            what=f"push to {self.mirror.description}",
        )


def _remote_said(push: GitResult) -> str:
    """The ref line and the server's own messages, without git's local advice."""
    lines = [line for line in push.text.splitlines() if "\t" in line]
    lines += [
        line
        for line in push.stderr.splitlines()
        if line.startswith(("remote:", "error:", "fatal:", " ! "))
    ]
    return "\n".join(lines) or push.stderr.strip() or f"git exit code {push.returncode}"
