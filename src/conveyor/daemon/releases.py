"""The release manager: releases, rollbacks and policy changes as commits to the config repo.

Every write is one small commit made through the git adapter's
:class:`~conveyor.adapters.git.RepoWriter`, as a job on the branch's queue (so automation runs
and requests never race), decided on the files at the head it is made on. Then a sync applies the
repo (syncs are serialized here and skipped when a later one already applied the commit), then,
for releases and rollbacks, a wait with a deadline for the changed workloads' health, then a
history entry and a notification. A dry run writes nothing anywhere: no commit, no sync, no
history; it returns the plan and the diff against the live cluster.

When the sync did not apply the commit to the changed workloads (it refused the head, failed,
or ran on a revision without the commit), there is nothing to wait for and nothing to revert:
:mod:`.releases_applied` records the operation as failed with the reason and returns at once.
When a release's workloads are not healthy by the deadline, :mod:`.releases_revert` reverts it
(a new commit restoring the old images and locking the failed workloads, never a force push).

Errors a caller sees (everything else goes into the :class:`OperationResult`)::

    conveyor.core.release.ReleaseError      the request cannot be carried out as given (400)
    conveyor.adapters.git.GitError          fetch, commit or push failed
    conveyor.adapters.kube.KubeError        the cluster could not be read or synced
    conveyor.daemon.jobs.QueueClosedError   the daemon is shutting down
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from conveyor.adapters.git import REUSE_HEAD_SECONDS, CommitSettings, RepoWriter, WriteResult
from conveyor.adapters.kube import KubeClient
from conveyor.adapters.notify import Notification, NotificationEvent, Notifier
from conveyor.adapters.store import HistoryStore, MetadataCache, StoreError
from conveyor.core.commit_message import ReleasedChange
from conveyor.core.policy import TagCandidate, TagPolicy
from conveyor.core.release import (
    OperationResult,
    PolicyRequest,
    ReleaseError,
    ReleaseRequest,
    RollbackRequest,
    WorkloadHealth,
    WorkloadView,
    normalize_workload_id,
)
from conveyor.core.release_diff import live_diff
from conveyor.core.release_history import HistoryEntry, HistoryKind, HistoryResult
from conveyor.core.release_message import policy_message, release_message
from conveyor.core.release_plan import (
    DEFAULT_RELEASE_POLICY,
    apply_release,
    check_release_image,
    plan_release,
)
from conveyor.core.release_policy import plan_policy_change
from conveyor.core.sync.record import SyncMarker
from conveyor.daemon.automation_files import normalize_paths
from conveyor.daemon.git_source import GitSource
from conveyor.daemon.jobs import QueueKey, RepoJobQueues
from conveyor.daemon.releases_applied import unapplied_result
from conveyor.daemon.releases_io import (
    Decide,
    Decision,
    PlannedWrite,
    RepoView,
    health_detail,
    live_images,
    operation_news,
    read_repo,
    scan_tags,
    unwritten_result,
    wait_for_workloads,
    written_result,
)
from conveyor.daemon.releases_revert import Reverter, plan_rollback
from conveyor.daemon.scan import RegistryReader
from conveyor.daemon.sync import SyncSettings

__all__ = ["ReleaseManager"]

log = logging.getLogger("conveyor.daemon.releases")


def _utcnow() -> datetime:
    return datetime.now(UTC)


class ReleaseManager:
    """Carries out release, rollback and policy requests on one config repo branch."""

    def __init__(
        self,
        *,
        source: GitSource,
        queues: RepoJobQueues,
        kube: KubeClient,
        history: HistoryStore,
        notifier: Notifier | None = None,
        sync_settings: SyncSettings,
        health_timeout: float,
        commit: CommitSettings | None = None,
        registry: RegistryReader | None = None,
        cache: MetadataCache | None = None,
        default_policy: TagPolicy = DEFAULT_RELEASE_POLICY,
        auto_rollback: bool = True,
        max_attempts: int = 5,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.source = source
        self.queues = queues
        self.kube = kube
        self.history_store = history
        self.notifier = notifier
        # Health is waited for here, per operation, only for the workloads it changed.
        self.sync_settings = replace(sync_settings, health_timeout=0.0)
        self.health_timeout = health_timeout
        self.registry = registry
        self.cache = cache
        self.default_policy = default_policy
        self.auto_rollback = auto_rollback
        self.clock = clock
        self.mirror = source.mirror
        self.paths = normalize_paths(source.paths)
        self.queue_key = QueueKey(self.mirror.remote.url, self.mirror.branch)
        self.writer = RepoWriter(self.mirror, commit=commit, max_attempts=max_attempts)
        self._sync_lock = asyncio.Lock()
        self._last_sync: SyncMarker | None = None
        self._reverter = Reverter(self)

    def __repr__(self) -> str:
        return f"ReleaseManager({self.mirror.description})"

    # -- reading ----------------------------------------------------------------------------

    async def head(self, revision: str | None = None) -> RepoView:
        """The workloads at ``revision``, or at the branch head freshly fetched."""
        return await read_repo(self.mirror, revision or await self.mirror.fetch(), self.paths)

    async def list_workloads(self) -> list[WorkloadView]:
        view = await self.head()
        live = await live_images(
            self.kube, view.workloads, default_namespace=self.sync_settings.default_namespace
        )
        return [WorkloadView.of(w, live.get(w.id)) for w in view.workloads]

    async def history(self, workload: str | None = None, limit: int = 50) -> list[HistoryEntry]:
        wanted = normalize_workload_id(workload) if workload else None
        return await self.history_store.query(wanted, limit=limit)

    # -- writing ----------------------------------------------------------------------------

    async def write(self, decide: Decide) -> tuple[WriteResult, Decision]:
        """One commit decided by ``decide`` on the head, as a job on the branch's queue."""
        edit = PlannedWrite(self.paths, decide)

        async def job() -> WriteResult:
            return await self.writer.write(edit)

        written = await self.queues.run(self.queue_key, job)
        assert edit.decision is not None  # the writer ran the edit at least once
        return written, edit.decision

    async def sync(self, revision: str | None = None) -> SyncMarker:
        """Apply the branch head; skipped when a sync since ``revision`` already applied it.
        After a write, the head its push recorded is applied without asking the remote again
        (later commits are the sync loop's to apply)."""
        async with self._sync_lock:
            last = self._last_sync
            if (
                revision is not None
                and last is not None
                and last.revision
                and await self.mirror.is_ancestor(revision, last.revision)
            ):
                return last
            recent = self.mirror.recent_head(max_age=REUSE_HEAD_SECONDS) if revision else None
            if recent and revision and not await self.mirror.is_ancestor(revision, recent):
                recent = None  # a head seen before the write: fetch
            marker = await self.source.sync(self.kube, self.sync_settings, revision=recent or "")
            self._last_sync = marker
            return marker

    async def wait_for(self, decision: Decision) -> tuple[WorkloadHealth, ...]:
        return await wait_for_workloads(
            self.kube,
            decision.workloads,
            sync_name=self.sync_settings.name,
            default_namespace=self.sync_settings.default_namespace,
            timeout=self.health_timeout,
        )

    async def record(self, entry: HistoryEntry) -> None:
        try:
            await self.history_store.record(entry)
        except StoreError as e:  # the commit is the record that counts; never lose the result
            log.error("could not record %s in the history: %s", entry.kind, e)

    async def notify(self, event: NotificationEvent, title: str, body: str, **fields: str) -> None:
        if self.notifier is None:
            return
        report = await self.notifier.send(Notification(event, title, body, fields))
        for failure in report.failures:
            log.warning("notification %s to %s failed: %s", event, failure.target, failure.error)

    def entry(
        self,
        kind: HistoryKind,
        *,
        user: str,
        message: str,
        workloads: tuple[str, ...],
        commit: str | None,
        result: HistoryResult,
        changes: tuple[ReleasedChange, ...] = (),
        detail: str = "",
    ) -> HistoryEntry:
        return HistoryEntry(
            kind=kind,
            user=user,
            message=message,
            time=self.clock(),
            workloads=workloads,
            commit=commit,
            result=result,
            changes=changes,
            detail=detail,
        )

    # -- operations -------------------------------------------------------------------------

    async def release(self, request: ReleaseRequest) -> OperationResult:
        if request.image is not None:
            check_release_image(request.image)
        tags = await self._tags_for(request) if request.image is None else None

        def decide(view: RepoView) -> Decision:
            plan = plan_release(
                view.workloads,
                request.selector,
                image=request.image,
                force=request.force,
                tags=tags,
                default_policy=self.default_policy,
                now=self.clock(),
            )
            touched = set(plan.workload_ids)
            return Decision(
                changed_files=apply_release(view.files, plan.edits),
                changes=plan.changes,
                message=release_message(plan.changes, user=request.user, message=request.message),
                skipped=plan.skipped,
                edits=plan.edits,
                workloads=tuple(w for w in view.workloads if w.id in touched),
            )

        if request.dry_run:
            view = await self.head()
            planned = decide(view)
            live = await live_images(
                self.kube, planned.workloads, default_namespace=self.sync_settings.default_namespace
            )
            return unwritten_result(
                HistoryKind.RELEASE, planned, dry_run=True, diff=live_diff(planned.edits, live)
            )
        written, decision = await self.write(decide)
        if not written.committed:
            return unwritten_result(HistoryKind.RELEASE, decision, dry_run=False)
        marker = await self.sync(written.revision)
        not_applied = await unapplied_result(
            self, HistoryKind.RELEASE, request, written=written, decision=decision, marker=marker
        )
        if not_applied is not None:
            return not_applied
        health = await self.wait_for(decision)
        if self.auto_rollback and not all(h.healthy for h in health):
            return await self._reverter.revert(request, written, decision, marker, health)
        released = tuple(c for c in decision.changes if isinstance(c, ReleasedChange))
        ok = all(h.healthy for h in health)
        await self.record(
            self.entry(
                HistoryKind.RELEASE,
                user=request.user,
                message=request.message,
                workloads=tuple(w.id for w in decision.workloads),
                commit=written.revision,
                result=HistoryResult.SUCCEEDED if ok else HistoryResult.FAILED,
                changes=released,
                detail=health_detail(health),
            )
        )
        await self.notify(
            NotificationEvent.RELEASE,
            decision.message.splitlines()[0],
            operation_news(request.user, request.message, health),
            commit=written.revision,
            user=request.user,
        )
        return written_result(HistoryKind.RELEASE, decision, written, marker, health)

    async def rollback(self, request: RollbackRequest) -> OperationResult:
        workload_id = normalize_workload_id(request.workload)
        decide = await plan_rollback(self, workload_id, request)
        written, decision = await self.write(decide)
        if not written.committed:
            return unwritten_result(HistoryKind.ROLLBACK, decision, dry_run=False)
        marker = await self.sync(written.revision)
        not_applied = await unapplied_result(
            self, HistoryKind.ROLLBACK, request, written=written, decision=decision, marker=marker
        )
        if not_applied is not None:
            return not_applied
        health = await self.wait_for(decision)
        ok = all(h.healthy for h in health)
        await self.record(
            self.entry(
                HistoryKind.ROLLBACK,
                user=request.user,
                message=request.message,
                workloads=(workload_id,),
                commit=written.revision,
                result=HistoryResult.SUCCEEDED if ok else HistoryResult.FAILED,
                changes=tuple(c for c in decision.changes if isinstance(c, ReleasedChange)),
                detail=health_detail(health),
            )
        )
        await self.notify(
            NotificationEvent.ROLLBACK,
            decision.message.splitlines()[0],
            operation_news(request.user, request.message, health),
            commit=written.revision,
            user=request.user,
        )
        return written_result(HistoryKind.ROLLBACK, decision, written, marker, health)

    async def change_policy(self, request: PolicyRequest) -> OperationResult:
        def decide(view: RepoView) -> Decision:
            edit = plan_policy_change(
                view.files,
                view.workloads,
                request.selector,
                request.action,
                container=request.container,
                pattern=request.pattern,
                user=request.user,
                message=request.message,
            )
            message = policy_message(
                request.action,
                edit.changes,
                user=request.user,
                message=request.message,
                container=request.container,
            )
            touched = {c.workload_id for c in edit.changes}
            workloads = tuple(w for w in view.workloads if w.id in touched)
            # edits=(): those are image edits; a policy change touches annotations only.
            return Decision(edit.changed_files, edit.changes, message, edit.skipped, (), workloads)

        kind = HistoryKind(request.action)
        written, decision = await self.write(decide)
        if not written.committed:
            return unwritten_result(kind, decision, dry_run=False)
        marker = await self.sync(written.revision)
        not_applied = await unapplied_result(
            self, kind, request, written=written, decision=decision, marker=marker
        )
        if not_applied is not None:
            return not_applied
        await self.record(
            self.entry(
                kind,
                user=request.user,
                message=request.message,
                workloads=tuple(w.id for w in decision.workloads),
                commit=written.revision,
                result=HistoryResult.SUCCEEDED,
            )
        )
        return written_result(kind, decision, written, marker, None)

    async def _tags_for(self, request: ReleaseRequest) -> dict[str, list[TagCandidate]]:
        """Scan the repositories an every-image release of ``request`` needs."""
        if self.registry is None or self.cache is None:
            raise ReleaseError(
                "releasing every image per policy needs the registry scanner; give an image"
                " (REPO:TAG) or run the daemon with registry access"
            )
        view = await self.head()
        plan = plan_release(
            view.workloads,
            request.selector,
            image=None,
            force=request.force,
            default_policy=self.default_policy,
            now=self.clock(),
        )
        return await scan_tags(plan, registry=self.registry, cache=self.cache)
