"""What the release manager reads: the repo's workloads at a revision, commit messages, the live
images and the health of workloads in the cluster, and the edit function given to the writer.

The edit function (:class:`PlannedWrite`) reads the manifests in the writer's worktree and hands
them to a pure ``decide`` function, so when the remote moved and the writer redoes the edit, the
decision is made again on what the new head really holds.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from conveyor.adapters.git import EditOutcome, GitMirror, WriteResult
from conveyor.adapters.kube import KubeClient
from conveyor.adapters.store import MetadataCache
from conveyor.core.commit_message import ReleasedChange
from conveyor.core.edits import FileProblem
from conveyor.core.policy import TagCandidate
from conveyor.core.release import (
    AnnotationChange,
    LiveDiff,
    LocatedWorkload,
    OperationResult,
    SkippedWorkload,
    WorkloadHealth,
    read_workloads,
)
from conveyor.core.release_diff import live_container_images, object_ref, workload_health
from conveyor.core.release_history import HistoryKind
from conveyor.core.release_plan import PlannedEdit, ReleasePlan
from conveyor.core.sync.objects import ObjectRef
from conveyor.core.sync.record import SyncMarker
from conveyor.daemon.automation_files import read_manifest_files, write_manifest_files
from conveyor.daemon.scan import RegistryReader, ScanFailure, ScanTarget, scan_repositories
from conveyor.daemon.sync_health import needs_waiting, wait_for_health

__all__ = [
    "Decision",
    "PlannedWrite",
    "RepoView",
    "commit_messages",
    "health_detail",
    "live_images",
    "operation_news",
    "read_repo",
    "scan_tags",
    "unwritten_result",
    "wait_for_workloads",
    "written_result",
]

log = logging.getLogger("conveyor.daemon.releases")

_LIVE_READS = 16  # concurrent GETs when reading many workloads from the apiserver


@dataclass(frozen=True)
class RepoView:
    """The manifests of one revision and the workloads in them."""

    revision: str
    files: Mapping[str, str]
    workloads: tuple[LocatedWorkload, ...]
    problems: tuple[FileProblem, ...]

    def workload(self, workload_id: str) -> LocatedWorkload | None:
        return next((w for w in self.workloads if w.id == workload_id), None)


async def read_repo(mirror: GitMirror, revision: str, paths: tuple[str, ...]) -> RepoView:
    """The manifests under ``paths`` at ``revision`` (exported once, then read like a worktree)."""
    scratch = mirror.state_dir / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    tree = Path(tempfile.mkdtemp(prefix="release-", dir=scratch))
    try:
        await mirror.export_tree(revision, tree)
        files = await asyncio.to_thread(read_manifest_files, tree, paths)
    finally:
        await asyncio.to_thread(shutil.rmtree, tree, True)
    workloads, problems = read_workloads(files.texts)
    return RepoView(revision, files.texts, workloads, (*files.problems, *problems))


async def commit_messages(mirror: GitMirror, *, until: str) -> list[str]:
    """The messages of every commit up to ``until``, newest first (for rollback trailers)."""
    return [commit.message for commit in reversed(await mirror.commits_since(None, until=until))]


async def live_images(
    kube: KubeClient, workloads: Iterable[LocatedWorkload], *, default_namespace: str
) -> dict[str, dict[str, str] | None]:
    """workload id -> container -> live image (None: the workload is not in the cluster)."""
    limit = asyncio.Semaphore(_LIVE_READS)

    async def one(located: LocatedWorkload) -> tuple[str, dict[str, str] | None]:
        ref = object_ref(located, default_namespace=default_namespace)
        async with limit:
            live = await kube.get_or_none(
                ref.api_version, ref.kind, ref.name, namespace=ref.namespace
            )
        return located.id, live_container_images(live)

    return dict(await asyncio.gather(*(one(w) for w in workloads)))


async def wait_for_workloads(
    kube: KubeClient,
    workloads: Iterable[LocatedWorkload],
    *,
    sync_name: str,
    default_namespace: str,
    timeout: float,
) -> tuple[WorkloadHealth, ...]:
    """Each workload's health once all are settled or ``timeout`` seconds passed. Kinds with
    no rollout to watch (a CronJob, a bare Pod) are left out: they are done once applied."""
    refs: dict[str, ObjectRef] = {
        w.id: ref
        for w in workloads
        if needs_waiting(ref := object_ref(w, default_namespace=default_namespace))
    }
    verdicts = await wait_for_health(
        kube, refs.values(), sync_name=sync_name, timeout=max(timeout, 0.0)
    )
    return workload_health(refs, verdicts)


async def scan_tags(
    plan: ReleasePlan, *, registry: RegistryReader, cache: MetadataCache
) -> dict[str, list[TagCandidate]]:
    """Tag candidates (with build times where needed) of each repository an every-image
    release ``plan`` reads; a repository whose scan failed is left out, so the plan says its
    tags are unknown."""
    wanted = plan.repositories_needing_created_times
    targets = [ScanTarget(r, needs_metadata=r in wanted) for r in sorted(plan.repositories)]
    tags: dict[str, list[TagCandidate]] = {}
    for result in await scan_repositories(targets, registry=registry, cache=cache):
        if isinstance(result, ScanFailure):
            log.warning("scan of %s failed: %s", result.target.repository, result.error)
            continue
        tags[result.target.repository] = [
            TagCandidate(
                tag,
                created=image.created if (image := result.images.get(tag)) else None,
                digest=image.digest if image else None,
            )
            for tag in result.tags
        ]
    return tags


@dataclass(frozen=True)
class Decision:
    """What one write decided on the files it found: new texts, the changes and the message."""

    changed_files: Mapping[str, str]
    changes: tuple[ReleasedChange | AnnotationChange, ...]
    message: str
    skipped: tuple[SkippedWorkload, ...] = ()
    edits: tuple[PlannedEdit, ...] = ()
    workloads: tuple[LocatedWorkload, ...] = ()
    """The workloads the edits touch, as they were read (for health checks)."""


Decide = Callable[[RepoView], Decision]


class PlannedWrite:
    """An edit function for :class:`~conveyor.adapters.git.RepoWriter`; keeps its last decision."""

    def __init__(self, paths: tuple[str, ...], decide: Decide) -> None:
        self.paths = paths
        self.decide = decide
        self.decision: Decision | None = None

    def __call__(self, worktree: Path) -> EditOutcome:
        files = read_manifest_files(worktree, self.paths)
        workloads, problems = read_workloads(files.texts)
        view = RepoView("", files.texts, workloads, (*files.problems, *problems))
        self.decision = self.decide(view)
        write_manifest_files(worktree, self.decision.changed_files)
        return EditOutcome(changed=bool(self.decision.changed_files), message=self.decision.message)


def health_detail(health: tuple[WorkloadHealth, ...]) -> str:
    return "; ".join(f"{h.workload_id}: {h.status} ({h.reason})" for h in health)


def operation_news(user: str, message: str, health: tuple[WorkloadHealth, ...]) -> str:
    """A notification's body: who asked, why, and how the workloads came out."""
    asked = f"{user}: {message}" if message else f"requested by {user}"
    return f"{asked}\n{health_detail(health)}"


def unwritten_result(
    kind: HistoryKind, decision: Decision, *, dry_run: bool, diff: tuple[LiveDiff, ...] = ()
) -> OperationResult:
    return OperationResult(
        kind=kind.value,
        dry_run=dry_run,
        changes=decision.changes,
        commit=None,
        diff=diff,
        sync=None,
        health=None,
        rolled_back=False,
        message=decision.message if decision.changes else "nothing to change",
        skipped=decision.skipped,
    )


def written_result(
    kind: HistoryKind,
    decision: Decision,
    written: WriteResult,
    marker: SyncMarker,
    health: tuple[WorkloadHealth, ...] | None,
) -> OperationResult:
    return OperationResult(
        kind=kind.value,
        dry_run=False,
        changes=decision.changes,
        commit=written.revision,
        diff=(),
        sync=marker,
        health=health,
        rolled_back=False,
        message=written.message or decision.message,
        skipped=decision.skipped,
    )
