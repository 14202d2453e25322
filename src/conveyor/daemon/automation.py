"""One automation run: registry -> plan -> one commit on one branch of one config repo.

:func:`run_automation` does, as one job on the branch's queue (so never two writers at once):

1. fetch the branch into the mirror and read the manifests at its head (``.yaml``/``.yml``
   under the configured paths);
2. plan with no tags, to learn which image repositories the automated values use (and which
   need build times: ``newest`` policies, minimum ages, digest-pinned values);
3. scan those repositories (tag lists, and image metadata when needed, cached in SQLite); a
   repository whose registry fails gets its error in the result, the others go on. A
   :class:`~conveyor.daemon.scan.ScanScope` narrows which repositories are listed again (a
   webhook's): the others are read from the cache when it knows them;
4. plan again with the tags found;
5. unless it is a dry run or nothing moves, write through the git adapter's
   :class:`~conveyor.adapters.git.RepoWriter`, whose edit function reads the files again in the
   worktree and plans and applies again there: when the remote moved since step 1, the commit
   is decided on what the new head holds. One commit lists every change; none when nothing
   changed.

Errors that end a run (everything else is reported in the :class:`AutomationResult`)::

    conveyor.adapters.git.GitError              fetch, commit or push failed (PushFailedError:
                                                the remote kept moving or refused the push)
    conveyor.adapters.store.StoreError          the metadata cache cannot be opened (by callers)
    conveyor.daemon.jobs.QueueClosedError       the job queues are shutting down
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from conveyor.adapters.git import (
    CommitSettings,
    EditOutcome,
    GitMirror,
    GitSettings,
    Remote,
    RepoWriter,
)
from conveyor.adapters.store import MetadataCache
from conveyor.core.commit_message import ReleasedChange, render_commit_message
from conveyor.core.config import AutomationConfig
from conveyor.core.edits import FileProblem, ImageUpdateResult
from conveyor.core.plan import AutomationPlan, plan_automation
from conveyor.core.plan_apply import apply_plan, released_changes
from conveyor.core.policy import TagCandidate
from conveyor.daemon.automation_files import (
    ManifestFiles,
    normalize_paths,
    read_manifest_files,
    write_manifest_files,
)
from conveyor.daemon.automation_setup import commit_settings
from conveyor.daemon.jobs import QueueKey, RepoJobQueues
from conveyor.daemon.scan import (
    RegistryReader,
    RepositoryScan,
    ScanFailure,
    ScanResult,
    ScanScope,
    scan_repositories,
)

__all__ = [
    "AutomationResult",
    "AutomationTarget",
    "automation_mirror",
    "run_automation",
]

log = logging.getLogger("conveyor.daemon.automation")


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class AutomationTarget:
    """A branch of a config repo and the paths in it that automation reads and edits."""

    remote: Remote
    branch: str = "main"
    paths: tuple[str, ...] = ("",)
    """Relative to the repo root; ``""`` (or ``"."``) is the whole repo."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "paths", normalize_paths(self.paths))

    @property
    def queue_key(self) -> QueueKey:
        return QueueKey(self.remote.url, self.branch)


@dataclass(frozen=True)
class AutomationResult:
    """What a run decided and did; plain data for the CLI, the API and the history."""

    target: AutomationTarget
    plan: AutomationPlan
    """The decisions (with reasons and candidate verdicts) of the plan that was carried out."""
    changes: tuple[ReleasedChange, ...]
    """What the commit changed, or, for a dry run, what it would change."""
    revision: str
    """The branch head after the run (the new commit when one was made)."""
    committed: bool
    scan_errors: Mapping[str, str] = field(default_factory=dict)
    """Canonical repository -> why its scan failed; its values stayed as they were."""
    problems: tuple[FileProblem, ...] = ()
    """Files not read, and planned edits not made (see ``apply_plan``)."""
    dry_run: bool = False
    message: str | None = None
    """The commit message (also for a dry run with changes)."""
    attempts: int = 0
    """Pushes tried (more than 1 when the remote moved); 0 when nothing was written."""
    listed: frozenset[str] = frozenset()
    """Repositories whose tags were listed from the registry (the others came from the cache)."""

    @property
    def commit(self) -> str | None:
        return self.revision if self.committed else None

    @property
    def complete(self) -> bool:
        """Every registry answered and every file was read and edited as planned."""
        return not self.scan_errors and not self.problems


@dataclass
class _Inputs:
    """What every planning of one run shares."""

    config: AutomationConfig
    now: datetime
    tags: dict[str, list[TagCandidate]] = field(default_factory=dict)
    scan_errors: dict[str, str] = field(default_factory=dict)
    listed: frozenset[str] = frozenset()

    def plan(self, files: Mapping[str, str]) -> AutomationPlan:
        return plan_automation(
            files,
            tags=self.tags,
            setter_policies=self.config.setter_policies,
            setter_repositories=self.config.setter_repositories,
            default_policy=self.config.default_policy,
            scan_errors=self.scan_errors,
            now=self.now,
        )


@dataclass
class _Edit:
    """The edit function given to the writer; it keeps what its last attempt decided."""

    inputs: _Inputs
    paths: tuple[str, ...]
    template: str
    plan: AutomationPlan | None = None
    applied: ImageUpdateResult | None = None
    changes: tuple[ReleasedChange, ...] = ()
    read_problems: tuple[FileProblem, ...] = ()

    def __call__(self, worktree: Path) -> EditOutcome:
        files = read_manifest_files(worktree, self.paths)
        self.plan = self.inputs.plan(files.texts)
        self.applied = apply_plan(files.texts, self.plan)
        self.changes = released_changes(self.plan, self.applied)
        self.read_problems = files.problems
        write_manifest_files(worktree, self.applied.changed_files)
        message = render_commit_message(self.changes, template=self.template)
        return EditOutcome(changed=bool(self.applied.changed_files), message=message)


def automation_mirror(
    target: AutomationTarget, *, state_dir: Path, git_settings: GitSettings | None = None
) -> GitMirror:
    """The mirror of ``target``'s branch that :func:`run_automation` fetches and pushes through
    (the daemon's sync also reads new heads from it, to skip a fetch of its own)."""
    return GitMirror(
        target.remote, branch=target.branch, state_dir=state_dir, settings=git_settings
    )


async def run_automation(
    target: AutomationTarget,
    *,
    config: AutomationConfig,
    registry: RegistryReader,
    cache: MetadataCache,
    state_dir: Path,
    queues: RepoJobQueues,
    dry_run: bool = False,
    scope: ScanScope | None = None,
    now: Callable[[], datetime] = _utcnow,
    git_settings: GitSettings | None = None,
    commit: CommitSettings | None = None,
    max_attempts: int = 5,
) -> AutomationResult:
    """One automation run for ``target``, queued behind the other jobs of its branch.

    ``scope`` says which repositories to list from the registry (default: all of them);
    ``commit`` overrides the author, committer and signing from ``config``; ``max_attempts``
    bounds the pushes redone because the remote moved.
    """
    scope = scope or ScanScope.full()
    mirror = automation_mirror(target, state_dir=state_dir, git_settings=git_settings)

    async def job() -> AutomationResult:
        head = await mirror.fetch()
        files = await _files_at(mirror, head, target.paths)
        inputs = _Inputs(config, now())
        inputs.tags, inputs.scan_errors, inputs.listed = await _scan(
            inputs.plan(files.texts), scope=scope, registry=registry, cache=cache
        )
        plan = inputs.plan(files.texts)
        if dry_run or not plan.updates:
            return _unwritten(target, plan, files, head, inputs, dry_run=dry_run)
        edit = _Edit(inputs, target.paths, config.commit.template)
        writer = RepoWriter(
            mirror, commit=commit or commit_settings(config), max_attempts=max_attempts
        )
        written = await writer.write(edit)
        assert edit.plan is not None and edit.applied is not None
        log.info(
            "automation of %s: %s",
            mirror.description,
            f"committed {written.revision} with {len(edit.changes)} change(s)"
            if written.committed
            else "nothing to commit on the current head",
        )
        return AutomationResult(
            target=target,
            plan=edit.plan,
            changes=edit.changes if written.committed else (),
            revision=written.revision,
            committed=written.committed,
            scan_errors=inputs.scan_errors,
            problems=(*edit.read_problems, *edit.plan.problems, *edit.applied.problems),
            message=written.message,
            attempts=written.attempts,
            listed=inputs.listed,
        )

    return await queues.run(target.queue_key, job)


def _unwritten(
    target: AutomationTarget,
    plan: AutomationPlan,
    files: ManifestFiles,
    head: str,
    inputs: _Inputs,
    *,
    dry_run: bool,
) -> AutomationResult:
    """The result of a run that writes nothing: a dry run, or nothing to move."""
    applied = apply_plan(files.texts, plan)
    changes = released_changes(plan, applied)
    return AutomationResult(
        target=target,
        plan=plan,
        changes=changes,
        revision=head,
        committed=False,
        scan_errors=inputs.scan_errors,
        problems=(*files.problems, *plan.problems, *applied.problems),
        dry_run=dry_run,
        message=render_commit_message(changes, template=inputs.config.commit.template)
        if changes
        else None,
        listed=inputs.listed,
    )


async def _files_at(mirror: GitMirror, revision: str, paths: tuple[str, ...]) -> ManifestFiles:
    """The manifests at ``revision``: the tree exported once, then read like a worktree."""
    scratch = mirror.state_dir / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    tree = Path(tempfile.mkdtemp(prefix="automation-", dir=scratch))
    try:
        await mirror.export_tree(revision, tree)
        return await asyncio.to_thread(read_manifest_files, tree, paths)
    finally:
        await asyncio.to_thread(shutil.rmtree, tree, True)


async def _scan(
    plan: AutomationPlan, *, scope: ScanScope, registry: RegistryReader, cache: MetadataCache
) -> tuple[dict[str, list[TagCandidate]], dict[str, str], frozenset[str]]:
    """Tag candidates, scan errors and the repositories listed, for those ``plan`` asked about."""
    pinned = {
        decision.repository
        for decision in plan.decisions
        if decision.repository is not None and "@" in decision.target.written
    }
    needing_metadata = plan.repositories_needing_created_times | pinned
    targets = [
        scope.target(repository, needs_metadata=repository in needing_metadata)
        for repository in sorted(plan.repositories)
    ]
    results = await scan_repositories(targets, registry=registry, cache=cache) if targets else []
    listed = frozenset(
        r.target.repository for r in results if isinstance(r, RepositoryScan) and r.listed
    )
    return (*_candidates(results), listed)


def _candidates(
    results: Sequence[ScanResult],
) -> tuple[dict[str, list[TagCandidate]], dict[str, str]]:
    tags: dict[str, list[TagCandidate]] = {}
    errors: dict[str, str] = {}
    for result in results:
        # Keyed by the name the plan asked for (its canonical form), not the scanner's spelling.
        repository = result.target.repository
        if isinstance(result, ScanFailure):
            errors[repository] = str(result.error)
            log.warning("scan of %s failed: %s", repository, result.error)
            continue
        candidates = []
        for tag in result.tags:
            image = result.images.get(tag)
            candidates.append(
                TagCandidate(
                    tag,
                    created=image.created if image else None,
                    digest=image.digest if image else None,
                )
            )
        tags[repository] = candidates
    return tags, errors
