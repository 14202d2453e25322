"""After an operation's sync: did it apply the commit? If not, say so instead of waiting for health.

Releases, rollbacks and policy changes (lock, unlock, automate, deautomate, tag policy) all go
through here. The decision is pure (:func:`conveyor.core.release_applied.unapplied_reason`, worded
per kind by :func:`~conveyor.core.release_applied.unapplied_detail`); this module asks git the
one question it needs (does the revision the sync applied contain the commit?) and, for a commit
that was not applied, records the operation as failed with the reason, sends a ``sync_failed``
notification and builds the result the API shows. No health wait and no automatic rollback
follow: reverting a change the cluster never ran would only add a commit.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from conveyor.adapters.git import WriteResult
from conveyor.adapters.notify import NotificationEvent
from conveyor.core.commit_message import ReleasedChange
from conveyor.core.release import (
    LocatedWorkload,
    OperationResult,
    PolicyRequest,
    ReleaseRequest,
    RollbackRequest,
)
from conveyor.core.release_applied import synced_revision, unapplied_detail, unapplied_reason
from conveyor.core.release_history import HistoryKind, HistoryResult
from conveyor.core.sync.record import SyncMarker
from conveyor.daemon.releases_io import Decision, written_result

if TYPE_CHECKING:
    from conveyor.daemon.releases import ReleaseManager

__all__ = ["check_applied", "unapplied_result"]

log = logging.getLogger("conveyor.daemon.releases")


async def check_applied(
    manager: ReleaseManager,
    marker: SyncMarker,
    *,
    commit: str,
    workloads: Sequence[LocatedWorkload],
) -> str | None:
    """Why ``commit`` did not reach ``workloads`` in the sync ``marker`` records; None if it did."""
    synced = synced_revision(marker)
    contains = bool(synced) and (
        synced == commit or await manager.mirror.is_ancestor(commit, synced)
    )
    return unapplied_reason(
        marker,
        commit=commit,
        contains_commit=contains,
        workloads=workloads,
        default_namespace=manager.sync_settings.default_namespace,
    )


async def unapplied_result(
    manager: ReleaseManager,
    kind: HistoryKind,
    request: ReleaseRequest | RollbackRequest | PolicyRequest,
    *,
    written: WriteResult,
    decision: Decision,
    marker: SyncMarker,
) -> OperationResult | None:
    """None when the sync applied ``written`` to ``decision.workloads``; otherwise the
    operation is recorded as failed, ``sync_failed`` is notified, and the result saying why is
    returned."""
    unapplied = await check_applied(
        manager, marker, commit=written.revision, workloads=decision.workloads
    )
    if unapplied is None:
        return None
    reason = unapplied_detail(kind, unapplied, commit=written.revision)
    subject = (written.message or decision.message).splitlines()[0]
    log.warning("%s %s was not applied: %s", kind.value, written.revision, reason)
    await manager.record(
        manager.entry(
            kind,
            user=request.user,
            message=request.message,
            workloads=tuple(w.id for w in decision.workloads),
            commit=written.revision,
            result=HistoryResult.FAILED,
            changes=tuple(c for c in decision.changes if isinstance(c, ReleasedChange)),
            detail=reason,
        )
    )
    await manager.notify(
        NotificationEvent.SYNC_FAILED,
        f'Not applied: "{subject}"',
        reason,
        commit=written.revision,
        revision=marker.revision,
        user=request.user,
    )
    result = written_result(kind, decision, written, marker, None)
    return replace(result, not_applied=reason)
