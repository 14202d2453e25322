"""A config repo as the source of a sync: a mirror of one branch, exported trees, a signature gate.

One pass is ``fetch`` (the branch head) -> the signature gate -> ``checkout`` (the files of that
revision in a plain directory) -> ``sync_once``; :meth:`GitSource.sync` does all four. When
verification is on and the head is not signed by a trusted key, nothing is applied and the sync
marker records the refusal (``record_refusal``) so ``conveyor status`` shows why.

:meth:`GitSource.run` repeats the fetch on an interval; :meth:`GitSource.trigger` (a webhook, a
CLI request) wakes it early. All git work goes through the git adapter.

Exports live in ``state_dir/exports/<mirror>/<revision>``. An export is written beside its final
place and renamed into it, so a directory under its revision's name is always complete and is
reused as is; only the newest ``keep_exports`` are kept. One process per state directory: the
locks that serialize fetches and exports are in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from conveyor.adapters.git import (
    GitError,
    GitMirror,
    GitSettings,
    Remote,
    SignatureStatus,
    SignatureTrust,
    SignatureVerdict,
)
from conveyor.adapters.kube import KubeClient
from conveyor.core.sync.record import SyncMarker
from conveyor.core.sync.refusal import describe
from conveyor.daemon.sync import SyncSettings, SyncSource, record_refusal, sync_once

log = logging.getLogger("conveyor.daemon.git_source")

_PARTIAL_PREFIX = ".partial-"


class GitSource:
    """One branch of a config repo, the paths in it to sync, and the keys its heads must be
    signed with (``trust``; None turns verification off)."""

    def __init__(
        self,
        remote: Remote,
        *,
        branch: str = "main",
        paths: tuple[str, ...] = (".",),
        state_dir: Path,
        trust: SignatureTrust | None = None,
        git_settings: GitSettings | None = None,
        keep_exports: int = 2,
    ) -> None:
        if keep_exports < 1:
            raise ValueError("keep_exports must be at least 1: the export being synced")
        self.mirror = GitMirror(remote, branch=branch, state_dir=state_dir, settings=git_settings)
        self.paths = paths or (".",)
        self.trust = trust
        self.keep_exports = keep_exports
        self.exports_dir = state_dir / "exports" / self.mirror.name
        self._export_lock = asyncio.Lock()
        self._wake = asyncio.Event()

    def __repr__(self) -> str:
        verify = "on" if self.trust is not None else "off"
        return f"GitSource({self.mirror!r}, paths={self.paths!r}, verify={verify})"

    @property
    def description(self) -> str:
        return self.mirror.description

    async def fetch(self) -> str:
        """Bring the mirror up to date; return the branch's head revision."""
        return await self.mirror.fetch()

    async def verify(self, revision: str) -> SignatureVerdict | None:
        """The signature verdict for ``revision``; None when verification is off."""
        if self.trust is None:
            return None
        return await self.mirror.verify_commit(revision, trust=self.trust)

    async def checkout(self, revision: str) -> SyncSource:
        """The files of ``revision`` in a directory of their own, ready for ``sync_once``.

        The whole tree is exported, not only the synced paths: a kustomize overlay under one
        path commonly refers to a base outside it (``../../base``).
        """
        revision = await self.mirror.resolve(revision)
        async with self._export_lock:
            tree = self.exports_dir / revision
            if tree.is_dir():
                os.utime(tree)  # most recently used: the cleanup below keeps it
            else:
                await self._export(revision, tree)
            await asyncio.to_thread(self._remove_old_exports, keep=tree)
        return SyncSource(tree, revision, self.paths)

    async def sync(
        self, kube: KubeClient, settings: SyncSettings | None = None, *, revision: str = ""
    ) -> SyncMarker:
        """Fetch (unless ``revision`` is given), pass the signature gate, and sync.

        A revision that fails the gate is not applied: its refusal is recorded (not on a dry
        run) and returned as the marker, outcome ``refused``.
        """
        # A given revision is resolved first, so a refusal records the full commit id.
        revision = await self.mirror.resolve(revision) if revision else await self.fetch()
        verdict = await self.verify(revision)
        if verdict is not None and verdict.status is not SignatureStatus.TRUSTED:
            marker = await record_refusal(
                kube,
                revision,
                settings,
                status=verdict.status.value,
                detail=verdict.detail,
                signer=verdict.signer or "",
            )
            log.warning("%s: %s", self.description, describe(marker))
            return marker
        return await sync_once(kube, await self.checkout(revision), settings)

    def trigger(self) -> None:
        """Wake :meth:`run` now instead of at the end of its interval."""
        self._wake.set()

    async def run(
        self,
        interval: float,
        on_revision: Callable[[str], Awaitable[object]],
        *,
        on_fetch_error: Callable[[GitError], object] | None = None,
    ) -> None:
        """Fetch every ``interval`` seconds, or at once after :meth:`trigger`, until cancelled.

        ``on_revision`` gets the head after every successful fetch, changed or not: re-syncing
        an unchanged head is what heals drift in the cluster. A failed fetch is logged, handed
        to ``on_fetch_error`` and tried again at the next tick; a remote that is down for a
        while must not end the loop. Errors raised by ``on_revision`` end it.
        """
        while True:
            # Cleared before the fetch, so a trigger that arrives during the fetch or the
            # sync (a push the fetch may have missed) wakes the very next wait.
            self._wake.clear()
            try:
                head = await self.fetch()
            except GitError as e:
                log.warning(
                    "fetching %s failed; retrying in %ss: %s", self.description, interval, e
                )
                if on_fetch_error is not None:
                    on_fetch_error(e)
            else:
                await on_revision(head)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=interval)

    async def _export(self, revision: str, tree: Path) -> None:
        self.exports_dir.mkdir(parents=True, exist_ok=True)
        partial = Path(
            tempfile.mkdtemp(prefix=f"{_PARTIAL_PREFIX}{revision[:12]}-", dir=self.exports_dir)
        )
        try:
            await self.mirror.export_tree(revision, partial)
            partial.rename(tree)
        except BaseException:
            await asyncio.to_thread(shutil.rmtree, partial, ignore_errors=True)
            raise

    def _remove_old_exports(self, *, keep: Path) -> None:
        """Delete all but the newest exports (always keeping ``keep``) and abandoned partial
        ones (an export cut off by a crash; the lock means none of ours is in progress)."""
        entries = [p for p in self.exports_dir.iterdir() if p.is_dir() and p != keep]
        partial = [p for p in entries if p.name.startswith(_PARTIAL_PREFIX)]
        complete = sorted(
            (p for p in entries if not p.name.startswith(_PARTIAL_PREFIX)),
            key=lambda p: p.stat().st_mtime_ns,
            reverse=True,
        )
        for old in partial + complete[self.keep_exports - 1 :]:
            shutil.rmtree(old, ignore_errors=True)
