"""The out-of-band pass: run before a sync applies, so the sync never reverts what is adopted.

One pass reads the branch head and the live workloads, finds the containers someone changed
outside the repo (:func:`conveyor.core.out_of_band.find_out_of_band`) and, per workload:

- ``adopt``: one commit through the release manager (on the repo's job queue) writing the live
  image into the repo, marked ``Conveyor-Kind: out_of_band``; the sync that follows applies that
  commit, which the cluster already runs, so nothing restarts;
- ``revert``: nothing is written; the sync that follows reverts the drift (self-heal).

Either way the change goes into the history (kind ``out_of_band``, user: the field manager that
wrote the image) and out as a ``drift`` notification. A change already reported (the workload's
latest history entry says the same) is not reported again, so a change the sync leaves in place
(self-heal disabled) is news once, not at every tick.

Errors (raised; the caller's sync should not go ahead and revert what was to be adopted)::

    conveyor.adapters.git.GitError     the head could not be fetched, or the commit pushed
    conveyor.adapters.kube.KubeError   the live workloads could not be read
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from conveyor.adapters.kube import FIELD_MANAGER, KubeClient
from conveyor.adapters.notify import NotificationEvent
from conveyor.core.commit_message import ReleasedChange
from conveyor.core.out_of_band import (
    OutOfBandChange,
    OutOfBandMode,
    adopt_message,
    adopt_subject,
    apply_adoption,
    find_out_of_band,
)
from conveyor.core.release import LocatedWorkload
from conveyor.core.release_diff import object_ref
from conveyor.core.release_history import HistoryKind, HistoryResult
from conveyor.daemon.releases import ReleaseManager
from conveyor.daemon.releases_io import Decision, RepoView

__all__ = ["OutOfBandOutcome", "check_out_of_band"]

log = logging.getLogger("conveyor.daemon.out_of_band")

_LIVE_READS = 16  # concurrent GETs when reading many workloads


@dataclass(frozen=True)
class OutOfBandOutcome:
    """What the pass did about one workload's out-of-band change."""

    workload_id: str
    mode: OutOfBandMode
    changes: tuple[OutOfBandChange, ...]
    commit: str | None  # the adopting commit; None for a revert or when nothing was written
    reported: bool  # False when the same change was already in the history


async def check_out_of_band(
    manager: ReleaseManager, *, revision: str | None = None
) -> tuple[OutOfBandOutcome, ...]:
    """Find out-of-band image changes, adopt or report them; one outcome per workload.

    ``revision`` is a head the caller just fetched (saves a second fetch); None fetches.
    """
    view = await manager.head(revision)
    live = await _live_objects(
        manager.kube, view.workloads, default_namespace=manager.sync_settings.default_namespace
    )
    found = find_out_of_band(view.workloads, live, own_manager=FIELD_MANAGER)
    outcomes = []
    for workload_id, changes in _by_workload(found).items():
        if await _already_reported(manager, workload_id, changes):
            outcomes.append(OutOfBandOutcome(workload_id, changes[0].mode, changes, None, False))
            continue
        if changes[0].mode is OutOfBandMode.ADOPT:
            outcomes.append(await _adopt(manager, workload_id, changes))
        else:
            outcomes.append(await _report_revert(manager, workload_id, changes, view.revision))
    return tuple(outcomes)


async def _adopt(
    manager: ReleaseManager, workload_id: str, changes: tuple[OutOfBandChange, ...]
) -> OutOfBandOutcome:
    def decide(view: RepoView) -> Decision:
        texts, adopted = apply_adoption(view.files, view.workloads, changes)
        return Decision(
            changed_files=texts,
            changes=tuple(c.released_change() for c in adopted),
            message=adopt_message(adopted) if adopted else "",
            workloads=tuple(w for w in view.workloads if w.id == workload_id),
        )

    written, decision = await manager.write(decide)
    commit = written.revision if written.committed else None
    subject = adopt_subject(changes)
    changed_by = ", ".join(dict.fromkeys(c.changed_by for c in changes))
    if commit is None:
        log.info("out-of-band change of %s: nothing to adopt any more", workload_id)
    else:
        log.warning("out-of-band change of %s by %s adopted in %s", workload_id, changed_by, commit)
    await manager.record(
        manager.entry(
            HistoryKind.OUT_OF_BAND,
            user=changed_by,
            message=subject,
            workloads=(workload_id,),
            commit=commit,
            result=HistoryResult.SUCCEEDED if commit else HistoryResult.UNCHANGED,
            changes=tuple(c for c in decision.changes if isinstance(c, ReleasedChange))
            or tuple(c.released_change() for c in changes),
            detail=f"adopted into the repo in {commit}" if commit else "already in the repo",
        )
    )
    await manager.notify(
        NotificationEvent.DRIFT,
        subject,
        _news(changes, "adopted: the repo now holds the live image"),
        workload=workload_id,
        commit=commit or "",
        user=changed_by,
    )
    return OutOfBandOutcome(workload_id, OutOfBandMode.ADOPT, changes, commit, True)


async def _report_revert(
    manager: ReleaseManager,
    workload_id: str,
    changes: tuple[OutOfBandChange, ...],
    revision: str,
) -> OutOfBandOutcome:
    changed_by = ", ".join(dict.fromkeys(c.changed_by for c in changes))
    images = ", ".join(f"{c.repo_image} -> {c.live_image}" for c in changes)
    subject = f"Revert out-of-band image change of {workload_id}: {images}"
    log.warning("out-of-band change of %s by %s: reverting to the repo", workload_id, changed_by)
    await manager.record(
        manager.entry(
            HistoryKind.OUT_OF_BAND,
            user=changed_by,
            message=subject,
            workloads=(workload_id,),
            commit=revision,
            result=HistoryResult.SUCCEEDED,
            # Recorded as the repo puts it back: live image -> repo image.
            changes=tuple(c.reverting_change() for c in changes),
            detail=(
                "reverted to the repo by the sync (self-heal) unless the workload disables it;"
                " annotate conveyor.dev/out-of-band: adopt to keep such changes"
            ),
        )
    )
    await manager.notify(
        NotificationEvent.DRIFT,
        subject,
        _news(changes, "reverting: the sync puts the repo's image back"),
        workload=workload_id,
        commit=revision,
        user=changed_by,
    )
    return OutOfBandOutcome(workload_id, OutOfBandMode.REVERT, changes, None, True)


async def _already_reported(
    manager: ReleaseManager, workload_id: str, changes: Sequence[OutOfBandChange]
) -> bool:
    """Whether the workload's latest history entry is this very out-of-band change."""
    latest = await manager.history(workload_id, limit=1)
    if not latest or latest[0].kind is not HistoryKind.OUT_OF_BAND:
        return False
    seen = {(c.container, frozenset((c.old_image, c.new_image))) for c in latest[0].changes}
    return seen == {(c.container, frozenset((c.repo_image, c.live_image))) for c in changes}


def _by_workload(
    changes: Iterable[OutOfBandChange],
) -> dict[str, tuple[OutOfBandChange, ...]]:
    grouped: dict[str, list[OutOfBandChange]] = {}
    for change in changes:
        grouped.setdefault(change.workload_id, []).append(change)
    return {workload_id: tuple(found) for workload_id, found in grouped.items()}


def _news(changes: Sequence[OutOfBandChange], what: str) -> str:
    lines = [
        f"- {c.container}: {c.repo_image} -> {c.live_image} (by {c.changed_by})" for c in changes
    ]
    return "\n".join([what, *lines])


async def _live_objects(
    kube: KubeClient, workloads: Iterable[LocatedWorkload], *, default_namespace: str
) -> dict[str, dict[str, Any] | None]:
    """workload id -> the live object (with its managedFields), None when absent."""
    limit = asyncio.Semaphore(_LIVE_READS)

    async def one(located: LocatedWorkload) -> tuple[str, dict[str, Any] | None]:
        ref = object_ref(located, default_namespace=default_namespace)
        async with limit:
            body = await kube.get_or_none(
                ref.api_version, ref.kind, ref.name, namespace=ref.namespace
            )
        return located.id, body

    return dict(await asyncio.gather(*(one(w) for w in workloads)))
