"""Release operations as plain data: what is asked (requests) and what happened (results).

The HTTP API and the CLI build these requests; :class:`conveyor.daemon.releases.ReleaseManager`
carries them out. Planning lives beside this module, pure like it:

- :mod:`.release_plan`: which containers of which workloads move to which image;
- :mod:`.release_rollback`: which image a rollback goes back to;
- :mod:`.release_policy`: the annotation edits of lock/unlock/automate/deautomate/policy;
- :mod:`.release_message`: commit messages with ``Conveyor-Change``/``-Kind``/``-User`` trailers;
- :mod:`.release_history`: the history entries.

Errors: :class:`ReleaseError` (a ``ValueError``) for a request that cannot be carried out as
given (a malformed workload id or image, an unknown action); its message says what to fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from conveyor.core.commit_message import ReleasedChange
from conveyor.core.edits import FileProblem
from conveyor.core.sync.record import SyncMarker
from conveyor.core.workload_settings import AutomationSettings
from conveyor.core.workloads import Workload, scan_manifest, workload_id
from conveyor.core.yamltext import ManifestSyntaxError

__all__ = [
    "AnnotationChange",
    "LiveDiff",
    "LocatedWorkload",
    "OperationResult",
    "PolicyAction",
    "PolicyRequest",
    "ReleaseError",
    "ReleaseRequest",
    "RollbackRequest",
    "SkippedWorkload",
    "WorkloadHealth",
    "WorkloadSelector",
    "WorkloadView",
    "normalize_workload_id",
    "read_workloads",
]

PolicyAction = Literal["lock", "unlock", "automate", "deautomate", "policy"]
POLICY_ACTIONS: tuple[PolicyAction, ...] = ("lock", "unlock", "automate", "deautomate", "policy")
_ID = re.compile(r"^(?:(?P<ns>[^:/\s]+):)?(?P<kind>[A-Za-z]+)/(?P<name>[^:/\s]+)$")


class ReleaseError(ValueError):
    """A request that cannot be carried out as given; the message says what to fix."""


def normalize_workload_id(text: str) -> str:
    """``NS:KIND/NAME`` as conveyor writes ids: kind lowercased, ``default`` without a namespace."""
    match = _ID.match(text.strip())
    if match is None:
        raise ReleaseError(
            f"workload {text!r} is not an id like 'shop:deployment/web' (namespace:kind/name)"
        )
    return workload_id(match["ns"], match["kind"], match["name"])


@dataclass(frozen=True)
class WorkloadSelector:
    """Which workloads: the listed ids, or all of them, less the excluded ones."""

    ids: tuple[str, ...] = ()
    all: bool = False
    exclude: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.ids and not self.all:
            raise ReleaseError("select workloads by id, or all of them; none were selected")
        object.__setattr__(self, "ids", tuple(normalize_workload_id(i) for i in self.ids))
        object.__setattr__(self, "exclude", tuple(normalize_workload_id(i) for i in self.exclude))

    def matches(self, workload_id: str) -> bool:
        if workload_id in self.exclude:
            return False
        return self.all or workload_id in self.ids

    def missing(self, known: Iterable[str]) -> tuple[str, ...]:
        """Listed ids that are not among ``known`` (typos, or workloads not in the repo)."""
        present = set(known)
        return tuple(i for i in self.ids if i not in present and i not in self.exclude)


@dataclass(frozen=True)
class ReleaseRequest:
    """Release ``image`` (REPO:TAG) to the selected workloads; None: every image per policy."""

    selector: WorkloadSelector
    image: str | None = None
    force: bool = False  # past locks and tag filters
    dry_run: bool = False
    user: str = "anonymous"
    message: str = ""


@dataclass(frozen=True)
class RollbackRequest:
    """Go back to ``to`` (an image REPO:TAG, or a git revision: the workload's images there);
    None: the image before the current release."""

    workload: str
    to: str | None = None
    user: str = "anonymous"
    message: str = ""


@dataclass(frozen=True)
class PolicyRequest:
    """Lock/unlock, automate/deautomate, or set (``pattern``) or clear (None) a container's
    tag policy on the selected workloads."""

    selector: WorkloadSelector
    action: PolicyAction
    container: str | None = None
    pattern: str | None = None
    user: str = "anonymous"
    message: str = ""

    def __post_init__(self) -> None:
        if self.action not in POLICY_ACTIONS:
            raise ReleaseError(f"unknown action {self.action!r}; use one of {POLICY_ACTIONS}")
        if self.action == "policy" and not self.container:
            raise ReleaseError("a tag policy change names the container it is for")


@dataclass(frozen=True)
class LocatedWorkload:
    """A workload and the file (relative path) that defines it."""

    path: str
    workload: Workload

    @property
    def id(self) -> str:
        return self.workload.id


def read_workloads(
    files: Mapping[str, str],
) -> tuple[tuple[LocatedWorkload, ...], tuple[FileProblem, ...]]:
    """Every workload in ``files`` (path -> text), and the files that are not YAML."""
    found: list[LocatedWorkload] = []
    problems: list[FileProblem] = []
    for path in sorted(files):
        try:
            scan = scan_manifest(files[path], source=path)
        except ManifestSyntaxError as e:
            problems.append(FileProblem(path, str(e)))
            continue
        found.extend(LocatedWorkload(path, w) for w in scan.workloads)
    return tuple(found), tuple(problems)


@dataclass(frozen=True)
class SkippedWorkload:
    """A selected workload (or one container of it) left alone, and why."""

    workload_id: str
    reason: str
    container: str | None = None


@dataclass(frozen=True)
class AnnotationChange:
    """One annotation a policy change set (``new_value``) or removed (None)."""

    workload_id: str
    key: str
    old_value: str | None
    new_value: str | None


@dataclass(frozen=True)
class LiveDiff:
    """One container: what the repo says, what the cluster runs, and what the plan would set."""

    workload_id: str
    container: str
    repo_image: str
    live_image: str | None  # None: the workload (or container) is not in the cluster
    planned_image: str

    @property
    def live_differs(self) -> bool:
        return self.live_image != self.planned_image


@dataclass(frozen=True)
class WorkloadHealth:
    workload_id: str
    status: str  # a HealthStatus value: Healthy, Progressing, Failed, Missing
    reason: str

    @property
    def healthy(self) -> bool:
        return self.status == "Healthy"


@dataclass(frozen=True)
class OperationResult:
    """What a release, rollback or policy change did (or, on a dry run, would do)."""

    kind: str  # a HistoryKind value
    dry_run: bool
    changes: tuple[ReleasedChange | AnnotationChange, ...]
    commit: str | None  # the commit made; None on a dry run or when nothing changed
    diff: tuple[LiveDiff, ...]
    sync: SyncMarker | None
    health: tuple[WorkloadHealth, ...] | None
    rolled_back: bool
    message: str  # the commit message (or, without a commit, what happened)
    skipped: tuple[SkippedWorkload, ...] = ()
    revert_commit: str | None = None  # the automatic rollback's commit
    problems: tuple[FileProblem, ...] = field(default=())
    not_applied: str = ""
    """Why the commit made did not reach the cluster (the sync refused or failed it), and what
    to check; empty when it was applied or nothing was written."""


@dataclass(frozen=True)
class ContainerView:
    name: str
    image: str  # as the repo writes it
    live_image: str | None  # what the cluster runs; None when not deployed
    init: bool = False
    policy: str | None = None  # the raw tag policy annotation value
    exclude: str | None = None  # the conveyor.dev/exclude value that applies, as written
    min_age: str | None = None  # the conveyor.dev/min-age value that applies, as written


@dataclass(frozen=True)
class WorkloadView:
    """A workload as ``list-workloads`` shows it."""

    id: str
    path: str
    containers: tuple[ContainerView, ...]
    automated: bool
    locked: bool
    lock_reason: str | None
    locked_by: str | None
    in_cluster: bool

    @classmethod
    def of(
        cls,
        located: LocatedWorkload,
        live_images: Mapping[str, str] | None,
    ) -> WorkloadView:
        settings: AutomationSettings = located.workload.automation
        containers = tuple(
            ContainerView(
                name=c.name,
                image=c.image,
                live_image=(live_images or {}).get(c.name),
                init=c.init,
                policy=p.policy if (p := settings.tag_policy(c.name)) else None,
                exclude=e.value if (e := settings.candidate_rule("exclude", c.name)) else None,
                min_age=m.value if (m := settings.candidate_rule("min-age", c.name)) else None,
            )
            for c in located.workload.containers
        )
        return cls(
            id=located.id,
            path=located.path,
            containers=containers,
            automated=settings.automated,
            locked=settings.locked,
            lock_reason=settings.lock_reason,
            locked_by=settings.locked_by,
            in_cluster=live_images is not None,
        )
