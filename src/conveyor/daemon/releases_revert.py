"""Going back: the automatic rollback of a release that failed its health check, and the
decision of a rollback a person asked for.

The automatic rollback is a new commit (never a rewrite of history, never a force push) that
sets every container the release changed back to its old image, where it still runs the
release's image (a later commit may have moved it on; that is left alone), and locks the
workloads that failed, with the reason, so automation does not release the same image again.
Then a sync, a wait for the restored workloads, two history entries (the release, result
``rolled_back``; the ``auto_rollback`` itself) and an ``auto_rollback`` notification.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from conveyor.adapters.git import GitNotFoundError, WriteResult
from conveyor.adapters.notify import NotificationEvent
from conveyor.core.commit_message import ReleasedChange
from conveyor.core.release import (
    AnnotationChange,
    LocatedWorkload,
    OperationResult,
    ReleaseError,
    ReleaseRequest,
    RollbackRequest,
    WorkloadHealth,
)
from conveyor.core.release_history import HistoryKind, HistoryResult
from conveyor.core.release_message import revert_message, rollback_message
from conveyor.core.release_plan import PlannedEdit, apply_release
from conveyor.core.release_policy import annotation_changes, apply_annotation_changes
from conveyor.core.release_rollback import (
    is_image_target,
    rollback_from_history,
    rollback_from_trailers,
    rollback_to_image,
    rollback_to_images,
)
from conveyor.core.sync.record import SyncMarker
from conveyor.daemon.releases_applied import check_applied
from conveyor.daemon.releases_io import Decide, Decision, RepoView, commit_messages, read_repo

if TYPE_CHECKING:
    from conveyor.daemon.releases import ReleaseManager

__all__ = ["AUTO_ROLLBACK_USER", "Reverter", "plan_rollback"]

log = logging.getLogger("conveyor.daemon.releases")

AUTO_ROLLBACK_USER = "conveyor"
_HISTORY_DEPTH = 200  # entries searched for the image before the current release


class Reverter:
    """The automatic rollback of one manager's releases."""

    def __init__(self, manager: ReleaseManager) -> None:
        self.manager = manager

    async def revert(
        self,
        request: ReleaseRequest,
        release: WriteResult,
        decision: Decision,
        release_sync: SyncMarker,
        health: tuple[WorkloadHealth, ...],
    ) -> OperationResult:
        manager = self.manager
        failed = tuple(h for h in health if not h.healthy)
        reason = "; ".join(f"{h.workload_id} {h.status.lower()}: {h.reason}" for h in failed)
        why = f"release {release.revision[:12]} failed its health check: {reason}"
        subject = (release.message or decision.message).splitlines()[0]
        log.warning("%s: rolling back automatically (%s)", manager.mirror.description, why)

        def decide(view: RepoView) -> Decision:
            undo = _undo(view, decision.edits)
            changed = apply_release(view.files, undo)
            texts = {**view.files, **changed}
            locks: list[AnnotationChange] = []
            for located in view.workloads:
                if located.id in {h.workload_id for h in failed}:
                    found = annotation_changes(
                        located,
                        "lock",
                        user=AUTO_ROLLBACK_USER,
                        message=f"automatic rollback: {why}",
                    )
                    texts[located.path] = apply_annotation_changes(texts[located.path], found)
                    locks.extend(found)
            reverted = tuple(edit.released() for edit in undo)
            message = revert_message(
                release_subject=subject,
                release_commit=release.revision,
                changes=reverted,
                reason=reason,
                locked=tuple(dict.fromkeys(c.workload_id for c in locks)),
            )
            return Decision(
                changed_files={p: t for p, t in texts.items() if t != view.files[p]},
                changes=(*reverted, *locks),
                message=message,
                edits=undo,
                workloads=decision.workloads,
            )

        written, reverted = await manager.write(decide)
        sync, restored, unapplied = release_sync, health, None
        if written.committed:
            sync = await manager.sync(written.revision)
            # A revert the sync refused restores nothing: waiting for it would only use the
            # whole deadline again.
            unapplied = await check_applied(
                manager, sync, commit=written.revision, workloads=reverted.workloads
            )
            restored = health if unapplied else await manager.wait_for(reverted)
        released = tuple(c for c in decision.changes if isinstance(c, ReleasedChange))
        undone = tuple(c for c in reverted.changes if isinstance(c, ReleasedChange))
        workloads = tuple(w.id for w in decision.workloads)
        await manager.record(
            manager.entry(
                HistoryKind.RELEASE,
                user=request.user,
                message=request.message,
                workloads=workloads,
                commit=release.revision,
                result=HistoryResult.ROLLED_BACK,
                changes=released,
                detail=why,
            )
        )
        await manager.record(
            manager.entry(
                HistoryKind.AUTO_ROLLBACK,
                user=AUTO_ROLLBACK_USER,
                message=why,
                workloads=workloads,
                commit=written.revision if written.committed else None,
                result=_revert_result(committed=written.committed, applied=unapplied is None),
                changes=undone,
                detail=unapplied or "; ".join(f"{h.workload_id}: {h.status}" for h in restored),
            )
        )
        await manager.notify(
            NotificationEvent.AUTO_ROLLBACK,
            f'Rolled back "{subject}"',
            why,
            commit=release.revision,
            revert_commit=written.revision,
            user=request.user,
        )
        return OperationResult(
            kind=HistoryKind.RELEASE.value,
            dry_run=False,
            changes=decision.changes,
            commit=release.revision,
            diff=(),
            sync=sync,
            health=health,
            rolled_back=True,
            message=reverted.message,
            skipped=decision.skipped,
            revert_commit=written.revision if written.committed else None,
            not_applied=unapplied or "",
        )


def _revert_result(*, committed: bool, applied: bool) -> HistoryResult:
    if not committed:
        return HistoryResult.UNCHANGED
    return HistoryResult.SUCCEEDED if applied else HistoryResult.FAILED


def _undo(view: RepoView, edits: tuple[PlannedEdit, ...]) -> tuple[PlannedEdit, ...]:
    """Edits back to each old image, where the container still runs the release's image."""
    undo: list[PlannedEdit] = []
    for edit in edits:
        located = view.workload(edit.workload_id)
        container = located.workload.container(edit.container) if located else None
        if located is None or container is None or container.image != edit.new_image:
            continue  # gone, or moved on since the release: not ours to undo
        undo.append(
            PlannedEdit(
                located.path, edit.workload_id, edit.container, edit.new_image, edit.old_image
            )
        )
    return tuple(undo)


async def plan_rollback(
    manager: ReleaseManager, workload_id: str, request: RollbackRequest
) -> Decide:
    """The decide function of a rollback: its target is found first (history, commits, or the
    given image or revision), then applied to whatever the head holds when the write runs."""
    head = await manager.head()
    located = head.workload(workload_id)
    if located is None:
        raise ReleaseError(f"no workload {workload_id} in the repo; check `list-workloads`")
    target_images: dict[str, str] | None = None
    image: str | None = None
    if request.to is not None and is_image_target(request.to):
        image = request.to
    elif request.to is not None:
        revision = await _resolve(manager, request.to)
        past = (await read_repo(manager.mirror, revision, manager.paths)).workload(workload_id)
        if past is None:
            raise ReleaseError(f"{workload_id} is not in the repo at {request.to}")
        target_images = {c.name: c.image for c in past.workload.containers}
    else:
        entries = await manager.history_store.query(workload_id, limit=_HISTORY_DEPTH)
        edits = rollback_from_history(located, entries)
        if not edits:
            messages = await commit_messages(manager.mirror, until=head.revision)
            edits = rollback_from_trailers(located, messages)
        if not edits:
            raise ReleaseError(
                f"found no earlier release of {workload_id} in the history or in the commits;"
                " name the image or revision to go back to (--to)"
            )
        target_images = {e.container: e.new_image for e in edits}

    def decide(view: RepoView) -> Decision:
        current = view.workload(workload_id)
        if current is None:
            raise ReleaseError(f"{workload_id} left the repo while the rollback waited its turn")
        if image is not None:
            edits = rollback_to_image(current, image)
        else:
            edits = rollback_to_images(current, target_images or {})
        changes = tuple(edit.released() for edit in edits)
        changed = dict(apply_release(view.files, edits))
        locks = _lock_if_automated(current, user=request.user)
        if locks:
            text = changed.get(current.path, view.files[current.path])
            changed[current.path] = apply_annotation_changes(text, locks)
        return Decision(
            changed_files=changed,
            changes=(*changes, *locks),
            message=rollback_message(
                workload_id,
                changes,
                user=request.user,
                message=request.message,
                locked=bool(locks),
            ),
            edits=edits,
            workloads=(current,),
        )

    return decide


async def _resolve(manager: ReleaseManager, revision: str) -> str:
    try:
        return await manager.mirror.resolve(revision)
    except GitNotFoundError as e:
        raise ReleaseError(
            f"{revision!r} is neither an image (REPO:TAG) nor a revision of the config repo"
        ) from e


def _lock_if_automated(current: LocatedWorkload, *, user: str) -> tuple[AnnotationChange, ...]:
    """The lock a rollback of an automated workload makes in its own commit: without it, the
    next automation pass would release the newer image again and undo the rollback."""
    settings = current.workload.automation
    if not settings.automated or settings.locked:
        return ()
    return annotation_changes(
        current,
        "lock",
        user=user,
        message="rolled back; unlock to let image automation release newer images again",
    )
