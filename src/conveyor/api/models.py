"""The API's response bodies, as typed models (they make the OpenAPI spec) and their builders.

Field names are the camelCase of the CLI's ``-o json`` output, so a script reads the same keys
from ``conveyor status -o json`` and ``GET /api/v1/status``. Builders take the daemon's plain
data (a :class:`~conveyor.core.sync.record.SyncMarker`, an
:class:`~conveyor.daemon.automation.AutomationResult`) and never add anything secret: repo URLs
are redacted and no credential is part of those objects.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from conveyor.adapters.git import redact
from conveyor.core.commit_message import ReleasedChange
from conveyor.core.plan import Decision, Outcome
from conveyor.core.sync.record import SyncMarker
from conveyor.daemon.automation import AutomationResult

__all__ = [
    "AutomationModel",
    "HealthModel",
    "IdentityModel",
    "ReadinessModel",
    "SyncMarkerModel",
    "automation_model",
    "marker_model",
]


class HealthModel(BaseModel):
    status: str = Field(description="Always `ok`: the process is alive and serving.")


class ReadinessModel(BaseModel):
    ready: bool
    gitFetched: bool = Field(description="The config repo's branch was fetched at least once.")
    clusterReachable: bool = Field(description="The apiserver answered the last request.")
    problems: list[str] = Field(description="What keeps the daemon from being ready.")
    leader: bool | None = Field(
        default=None, description="This replica holds the Lease (absent without leader election)."
    )
    leaderIdentity: str | None = Field(
        default=None, description="Who holds the Lease, as last read."
    )


class DriftModel(BaseModel):
    path: str
    desired: Any = None
    live: Any = None


class SyncObjectModel(BaseModel):
    apiVersion: str
    kind: str
    namespace: str
    name: str
    action: str = Field(
        description="created, configured, unchanged, drifted, pruned, kept or failed."
    )
    file: str | None = None
    document: int | None = None
    reason: str | None = None
    health: str | None = None
    healthReason: str | None = None
    drift: list[DriftModel] = Field(default_factory=list)


class SyncFailureModel(BaseModel):
    file: str
    document: int
    object: str
    reason: str


class RefusalModel(BaseModel):
    status: str = Field(description="Signature status of the refused head: unsigned or bad.")
    signer: str
    detail: str
    appliedRevision: str = Field(description="The revision the cluster still runs.")


class SyncMarkerModel(BaseModel):
    """The record of one sync, as kept in the cluster."""

    name: str
    revision: str
    time: str
    outcome: str = Field(description="succeeded, partial, failed or refused.")
    dryRun: bool
    counts: dict[str, int]
    failures: list[SyncFailureModel]
    objects: list[SyncObjectModel]
    refusal: RefusalModel | None = None


class CandidateModel(BaseModel):
    tag: str
    reason: str = Field(description="chosen, current, filtered_out, too_young, excluded...")
    message: str
    current: bool


class ImageModel(BaseModel):
    """One container image (or setter-marked value) and what the policy makes of it."""

    workload: str | None
    container: str | None
    init: bool
    setterPolicy: str | None
    path: str
    line: int
    image: str
    repository: str | None
    policy: str | None
    outcome: str
    currentTag: str | None
    chosenTag: str | None
    reason: str
    candidates: list[CandidateModel] = Field(
        default_factory=list, description="Every tag considered, with why it was (not) chosen."
    )


class ChangeModel(BaseModel):
    workload: str | None
    container: str | None
    setterPolicy: str | None
    path: str | None
    oldImage: str
    newImage: str


class ProblemModel(BaseModel):
    path: str
    message: str


class AutomationModel(BaseModel):
    """An automation run (or, for ``GET /api/v1/images``, its dry-run plan)."""

    repo: str
    branch: str
    revision: str
    committed: bool
    commit: str | None
    dryRun: bool
    attempts: int
    message: str | None
    changes: list[ChangeModel]
    images: list[ImageModel]
    scanErrors: dict[str, str]
    problems: list[ProblemModel]


class IdentityModel(BaseModel):
    publicKey: str = Field(description="Add this as a deploy key with write access.")


def marker_model(marker: SyncMarker) -> SyncMarkerModel:
    return SyncMarkerModel.model_validate(marker.to_data())


def automation_model(result: AutomationResult) -> AutomationModel:
    return AutomationModel(
        repo=redact(result.target.remote.url),
        branch=result.target.branch,
        revision=result.revision,
        committed=result.committed,
        commit=result.commit,
        dryRun=result.dry_run,
        attempts=result.attempts,
        message=result.message,
        changes=[change_model(change) for change in result.changes],
        images=[_image(decision) for decision in result.plan.decisions],
        scanErrors=dict(sorted(result.scan_errors.items())),
        problems=[ProblemModel(path=p.path, message=p.message) for p in result.problems],
    )


def change_model(change: ReleasedChange) -> ChangeModel:
    """One released image change, as every route that reports changes shows it."""
    return ChangeModel(
        workload=change.workload_id,
        container=change.container,
        setterPolicy=change.setter_policy,
        path=change.path,
        oldImage=change.old_image,
        newImage=change.new_image,
    )


def _image(decision: Decision) -> ImageModel:
    target = decision.target
    if decision.outcome is Outcome.UPDATE:
        chosen = decision.new_tag
    elif decision.outcome is Outcome.UP_TO_DATE:
        chosen = decision.current_tag
    else:
        chosen = None
    shown = (
        target.written
        if target.field == "image" or decision.image_name is None
        else decision.old_image
    )
    verdicts = decision.selection.verdicts if decision.selection is not None else ()
    return ImageModel(
        workload=target.workload_id,
        container=target.container,
        init=target.init,
        setterPolicy=target.setter_policy,
        path=target.path,
        line=target.line,
        image=shown,
        repository=decision.repository,
        policy=str(decision.policy) if decision.policy is not None else None,
        outcome=decision.outcome.value,
        currentTag=decision.current_tag,
        chosenTag=chosen,
        reason=decision.reason,
        candidates=[
            CandidateModel(
                tag=v.tag, reason=v.reason.value, message=v.message, current=v.is_current
            )
            for v in verdicts
        ],
    )
