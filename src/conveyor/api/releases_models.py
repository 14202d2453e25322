"""Bodies of the release routes: what a client sends (requests) and what it gets back (results).

Request fields are the names of ``ReleaseRequest``/``RollbackRequest``/``PolicyRequest``
(``dry_run``, ``update_all``); answers use the camelCase keys of the rest of the API and of the
CLI's ``-o json``. Each ``*_model`` builder turns the release manager's plain data into its model;
nothing secret is in that data (no credentials, and sync markers carry no repo URL).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from conveyor.api.models import (
    ChangeModel,
    ProblemModel,
    SyncMarkerModel,
    change_model,
    marker_model,
)
from conveyor.core.commit_message import ReleasedChange
from conveyor.core.release import (
    AnnotationChange,
    OperationResult,
    WorkloadHealth,
    WorkloadView,
)
from conveyor.core.release_history import HistoryEntry

__all__ = [
    "HistoryEntryModel",
    "OperationModel",
    "PolicyBody",
    "ReleaseBody",
    "RollbackBody",
    "WorkloadHealthModel",
    "WorkloadModel",
    "health_model",
    "history_model",
    "operation_model",
    "workload_model",
]


# -- requests -------------------------------------------------------------------------------


class _Selection(BaseModel):
    workloads: list[str] = Field(
        default_factory=list, description="Workload ids, `namespace:kind/name`."
    )
    all: bool = Field(False, description="Every workload in the repo (less `exclude`).")
    exclude: list[str] = Field(default_factory=list, description="Workload ids to leave alone.")
    user: str = Field("anonymous", description="Who asks; recorded in the commit and history.")
    message: str = Field("", description="Why; recorded in the commit and history.")


class ReleaseBody(_Selection):
    """Release one image to the selected workloads, or every image their policies choose."""

    image: str | None = Field(None, description="`REPO:TAG` to release; or set `update_all`.")
    update_all: bool = Field(False, description="Release what each container's policy chooses.")
    force: bool = Field(False, description="Release past locks and tag filters.")
    dry_run: bool = Field(False, description="Plan and diff against the cluster; write nothing.")


class RollbackBody(BaseModel):
    """Roll one workload back to an image, to its images at a revision, or to the one before."""

    workload: str
    to: str | None = Field(
        None, description="`REPO:TAG`, or a git revision; none: the image before the last release."
    )
    user: str = "anonymous"
    message: str = ""


class PolicyBody(_Selection):
    """Lock/unlock, automate/deautomate, or set (or clear) a container's tag policy."""

    action: Literal["lock", "unlock", "automate", "deautomate", "policy"]
    container: str | None = Field(None, description="For `policy`: the container.")
    pattern: str | None = Field(
        None, description="For `policy`: e.g. `semver:~1.2`, `glob:v*`; none clears it."
    )


# -- answers --------------------------------------------------------------------------------


class ContainerModel(BaseModel):
    name: str
    image: str = Field(description="The image the repo sets.")
    liveImage: str | None = Field(description="What the cluster runs; null when not deployed.")
    init: bool
    policy: str | None = Field(description="The container's tag policy annotation, if any.")
    exclude: str | None = Field(
        default=None, description="Globs of tags never chosen (conveyor.dev/exclude), if any."
    )
    minAge: str | None = Field(
        default=None, description="Minimum image age to choose a tag (conveyor.dev/min-age)."
    )


class WorkloadModel(BaseModel):
    id: str
    path: str = Field(description="The file in the config repo that defines it.")
    containers: list[ContainerModel]
    automated: bool
    locked: bool
    lockReason: str | None
    lockedBy: str | None
    inCluster: bool


class AnnotationChangeModel(BaseModel):
    workload: str
    key: str
    oldValue: str | None
    newValue: str | None


class LiveDiffModel(BaseModel):
    """One container a dry run would change: the repo, the cluster, and the plan."""

    workload: str
    container: str
    repoImage: str
    liveImage: str | None = Field(description="null: not in the cluster.")
    plannedImage: str
    liveDiffers: bool = Field(description="The cluster does not run the planned image yet.")


class WorkloadHealthModel(BaseModel):
    workload: str
    status: str = Field(description="Healthy, Progressing, Failed or Missing.")
    reason: str
    healthy: bool


class SkippedModel(BaseModel):
    workload: str
    container: str | None
    reason: str


class OperationModel(BaseModel):
    """What a release, rollback or policy change did (on a dry run: would do)."""

    kind: str = Field(description="release, rollback, lock, unlock, automate, deautomate, policy.")
    dryRun: bool
    commit: str | None = Field(description="The commit made; null on a dry run or no change.")
    message: str = Field(description="The commit message, or what happened without a commit.")
    changes: list[ChangeModel] = Field(description="Image values changed (or planned).")
    annotationChanges: list[AnnotationChangeModel]
    diff: list[LiveDiffModel] = Field(description="Dry runs: the plan against the live cluster.")
    skipped: list[SkippedModel]
    sync: SyncMarkerModel | None
    health: list[WorkloadHealthModel] | None = Field(description="Null: not waited for.")
    rolledBack: bool = Field(description="It failed its health check and was reverted.")
    revertCommit: str | None
    notApplied: str | None = Field(
        description="Why the commit made did not reach the cluster (the sync refused it, failed,"
        " or ran without it) and what to check; the commit stays in the repo. Null when it was"
        " applied or no commit was made."
    )
    problems: list[ProblemModel]


class HistoryEntryModel(BaseModel):
    id: int | None
    kind: str
    user: str
    message: str
    time: str = Field(description="ISO 8601, UTC.")
    workloads: list[str]
    commit: str | None
    result: str = Field(description="succeeded, failed, rolled_back or unchanged.")
    changes: list[ChangeModel]
    detail: str


# -- builders -------------------------------------------------------------------------------


def workload_model(view: WorkloadView) -> WorkloadModel:
    return WorkloadModel(
        id=view.id,
        path=view.path,
        containers=[
            ContainerModel(
                name=c.name,
                image=c.image,
                liveImage=c.live_image,
                init=c.init,
                policy=c.policy,
                exclude=c.exclude,
                minAge=c.min_age,
            )
            for c in view.containers
        ],
        automated=view.automated,
        locked=view.locked,
        lockReason=view.lock_reason,
        lockedBy=view.locked_by,
        inCluster=view.in_cluster,
    )


def health_model(health: WorkloadHealth) -> WorkloadHealthModel:
    return WorkloadHealthModel(
        workload=health.workload_id,
        status=health.status,
        reason=health.reason,
        healthy=health.healthy,
    )


def operation_model(result: OperationResult) -> OperationModel:
    return OperationModel(
        kind=result.kind,
        dryRun=result.dry_run,
        commit=result.commit,
        message=result.message,
        changes=[change_model(c) for c in result.changes if isinstance(c, ReleasedChange)],
        annotationChanges=[
            AnnotationChangeModel(
                workload=c.workload_id, key=c.key, oldValue=c.old_value, newValue=c.new_value
            )
            for c in result.changes
            if isinstance(c, AnnotationChange)
        ],
        diff=[
            LiveDiffModel(
                workload=d.workload_id,
                container=d.container,
                repoImage=d.repo_image,
                liveImage=d.live_image,
                plannedImage=d.planned_image,
                liveDiffers=d.live_differs,
            )
            for d in result.diff
        ],
        skipped=[
            SkippedModel(workload=s.workload_id, container=s.container, reason=s.reason)
            for s in result.skipped
        ],
        sync=marker_model(result.sync) if result.sync is not None else None,
        health=[health_model(h) for h in result.health] if result.health is not None else None,
        rolledBack=result.rolled_back,
        revertCommit=result.revert_commit,
        notApplied=result.not_applied or None,
        problems=[ProblemModel(path=p.path, message=p.message) for p in result.problems],
    )


def history_model(entry: HistoryEntry) -> HistoryEntryModel:
    return HistoryEntryModel(
        id=entry.id,
        kind=entry.kind.value,
        user=entry.user,
        message=entry.message,
        time=entry.time.isoformat(),
        workloads=list(entry.workloads),
        commit=entry.commit,
        result=entry.result.value,
        changes=[change_model(c) for c in entry.changes],
        detail=entry.detail,
    )
