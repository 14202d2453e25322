"""The automation plan: for every automated image in a config repo, what to do and why.

:func:`plan_automation` reads the files of a config repo (``{path: text}``), the tags the registry
scan found, and the Flux v2 setter policies from conveyor's config, and decides for every
workload container and every setter marker one :class:`Outcome`, with a sentence saying why and,
when a tag policy was applied, the :class:`~conveyor.core.policy.Selection` whose verdicts explain
every candidate tag. It does no I/O: the caller passes ``now``.

Which images are automated, and under which policy:

- a container of a workload annotated ``conveyor.dev/automated: "true"`` (or Flux v1's
  ``fluxcd.io/automated``) follows its ``conveyor.dev/tag.<container>`` policy (or Flux v1's
  ``fluxcd.io/tag.<container>`` / ``filter.fluxcd.io/<container>``);
- a value marked ``# {"$imagepolicy": "NS:NAME"}`` (or ``:tag``) follows the setter policy
  ``NS:NAME`` from conveyor's config, automated annotation or not (the marker is the opt-in, as in
  Flux v2). A marker on a container's image decides that container;
- an automated container's policy also takes the workload's ``conveyor.dev/exclude[.<container>]``
  globs (tags never chosen) and ``conveyor.dev/min-age[.<container>]`` duration (a tag's image must
  be that old), the per-container form winning over the workload-wide one; a bad value is that
  container's policy error, naming the file, the workload and the annotation;
- an automated container with no policy of its own gets ``default_policy``. With none, conveyor
  reports it "automated but no tag policy" and leaves it alone: it never moves an image along a
  policy nobody wrote down. Flux v1 moved such containers to the most recently built tag; pass
  :data:`FLUX_V1_DEFAULT_POLICY` to get that behaviour;
- a locked workload (``conveyor.dev/locked`` or ``fluxcd.io/locked``) never changes, markers
  inside it included.

The plan is plain data. Run it once with no tags to learn which repositories to scan
(:attr:`AutomationPlan.repositories`, and which of them need build times), then again with the
scan's tags. ``:name`` and ``:digest`` markers get no decision of their own: they follow their
policy's ``:tag`` or image marker when :func:`conveyor.core.plan_apply.apply_plan` edits the file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from conveyor.core.edits import FileProblem, ImageUpdate, canonical_repository, split_image
from conveyor.core.images import ImageRefError, parse_image_ref
from conveyor.core.plan_targets import (
    SetterRepository,
    Target,
    container_targets,
    marker_targets,
    setter_repositories_from_markers,
)
from conveyor.core.policy import (
    PolicyError,
    Selection,
    TagCandidate,
    TagPolicy,
    parse_policy,
    policies_from_annotations,
    rules_for_container,
    select,
)
from conveyor.core.workloads import ManifestScan, scan_manifest
from conveyor.core.yamltext import ManifestSyntaxError

__all__ = [
    "FLUX_V1_DEFAULT_POLICY",
    "AutomationPlan",
    "Decision",
    "Outcome",
    "plan_automation",
]

FLUX_V1_DEFAULT_POLICY = parse_policy("newest")
"""The policy Flux v1 gave automated containers without a tag filter: the newest build."""


class Outcome(StrEnum):
    """What the plan does with one image value; the decision's reason says why."""

    NOT_AUTOMATED = "not_automated"
    LOCKED = "locked"
    NO_POLICY = "no_policy"
    """Automated, but no tag policy applies (and no default policy was given)."""
    POLICY_ERROR = "policy_error"
    INVALID_IMAGE = "invalid_image"
    NO_TAGS = "no_tags"
    """The repository was not scanned yet, or its scan failed."""
    NO_CANDIDATE = "no_candidate"
    """No tag passes the policy; the current image stays."""
    UP_TO_DATE = "up_to_date"
    UPDATE = "update"


@dataclass(frozen=True)
class Decision:
    """The outcome for one container image or one setter-marked value, and why."""

    target: Target
    outcome: Outcome
    reason: str
    """One sentence: the lock, the policy problem, or the selection's summary."""
    repository: str | None = None
    """The canonical repository name (``docker.io/library/app``) when it could be read."""
    image_name: str | None = None
    """The image name as written (or as the setter policy names it), for showing images."""
    policy: TagPolicy | None = None
    current_tag: str | None = None
    new_tag: str | None = None
    new_digest: str | None = None
    """The chosen tag's digest, set only when the written value pins a digest."""
    selection: Selection | None = None

    @property
    def subject(self) -> str:
        return self.target.subject

    @property
    def old_image(self) -> str:
        return self._image(self.current_tag)

    @property
    def new_image(self) -> str:
        return self._image(self.new_tag, digest=self.new_digest)

    def _image(self, tag: str | None, *, digest: str | None = None) -> str:
        name = self.image_name or split_image(self.target.written)[0]
        return name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")


@dataclass(frozen=True)
class AutomationPlan:
    decisions: tuple[Decision, ...]
    """One per workload container and per ``image``/``:tag`` setter marker, in file order."""
    updates: tuple[ImageUpdate, ...]
    """The image changes the plan makes, one per repository and new tag."""
    repositories: frozenset[str]
    """Canonical names of the repositories whose tags the decisions need."""
    repositories_needing_created_times: frozenset[str]
    """Those whose policy ranks by build time or has a minimum age (fetch config blobs)."""
    problems: tuple[FileProblem, ...] = ()
    """Files that are not YAML; their workloads are not in the plan."""

    @property
    def updating(self) -> tuple[Decision, ...]:
        return tuple(d for d in self.decisions if d.outcome is Outcome.UPDATE)

    def for_workload(self, workload_id: str) -> tuple[Decision, ...]:
        return tuple(d for d in self.decisions if d.target.workload_id == workload_id)


def plan_automation(
    files: Mapping[str, str],
    *,
    tags: Mapping[str, Sequence[TagCandidate]],
    setter_policies: Mapping[str, TagPolicy],
    now: datetime,
    default_policy: TagPolicy | None = None,
    setter_repositories: Mapping[str, str] | None = None,
    scan_errors: Mapping[str, str] | None = None,
) -> AutomationPlan:
    """Decide, for every workload container and setter marker in ``files``, what to do.

    ``tags`` and ``scan_errors`` are keyed by canonical repository name (see
    :func:`conveyor.core.edits.canonical_repository`). ``setter_policies`` and
    ``setter_repositories`` are keyed by ``NS:NAME``; a setter policy with no configured
    repository takes it from the ``image`` or ``:name`` markers that use it.
    """
    scans: dict[str, ManifestScan] = {}
    problems: list[FileProblem] = []
    for path in sorted(files):
        text = files[path]
        if "image" not in text:
            continue  # no `image:` key and no `$imagepolicy` marker: nothing to automate
        try:
            scans[path] = scan_manifest(text, source=path)
        except ManifestSyntaxError as e:
            problems.append(FileProblem(path=path, message=str(e)))
    planner = _Planner(
        tags=tags,
        setter_policies=setter_policies,
        setter_repositories=setter_repositories_from_markers(
            scans, configured=setter_repositories or {}
        ),
        default_policy=default_policy,
        scan_errors=scan_errors or {},
        now=now,
    )
    decisions: list[Decision] = []
    for path, scan in scans.items():
        for workload in scan.workloads:
            policies, errors = policies_from_annotations(
                {a.key: a.value for a in workload.annotations}
            )
            for target in container_targets(path, scan, workload):
                decisions.append(planner.decide_container(target, policies, errors))
        for target in marker_targets(path, scan):
            decisions.append(planner.decide_marker(target))
    return AutomationPlan(
        decisions=tuple(decisions),
        updates=_updates(decisions),
        repositories=frozenset(planner.repositories),
        repositories_needing_created_times=frozenset(planner.needing_created_times),
        problems=tuple(problems),
    )


class _Planner:
    """The inputs every decision shares, and the repositories the decisions asked about."""

    def __init__(
        self,
        *,
        tags: Mapping[str, Sequence[TagCandidate]],
        setter_policies: Mapping[str, TagPolicy],
        setter_repositories: Mapping[str, SetterRepository | str],
        default_policy: TagPolicy | None,
        scan_errors: Mapping[str, str],
        now: datetime,
    ) -> None:
        self.tags = tags
        self.setter_policies = setter_policies
        self.setter_repositories = setter_repositories
        self.default_policy = default_policy
        self.scan_errors = scan_errors
        self.now = now
        self.repositories: set[str] = set()
        self.needing_created_times: set[str] = set()

    def decide_container(
        self,
        target: Target,
        policies: Mapping[str, TagPolicy],
        errors: Mapping[str, PolicyError],
    ) -> Decision:
        settings = target.settings
        if target.setter_policy is None and not (settings and settings.automated):
            return Decision(
                target,
                Outcome.NOT_AUTOMATED,
                "not automated: no conveyor.dev/automated (or fluxcd.io/automated) annotation "
                "and no $imagepolicy marker",
            )
        if target.setter_policy is not None:
            return self.decide_marker(target)
        if locked := _lock_decision(target):
            return locked
        try:
            reference = parse_image_ref(target.written)
        except ImageRefError as e:
            return Decision(target, Outcome.INVALID_IMAGE, str(e))
        container = target.container or ""
        repository = canonical_repository(reference.name)
        try:
            if container in errors:
                raise errors[container]
            rules = rules_for_container(settings, container)
        except PolicyError as e:
            # Named in full so the reason alone (a log line, an API field) says where to look.
            why = f"{target.path}: {target.workload_id}: {e}"
            return Decision(target, Outcome.POLICY_ERROR, why, repository=repository)
        policy = policies.get(container, self.default_policy)
        if policy is None:
            return Decision(
                target,
                Outcome.NO_POLICY,
                f"automated, but container {container!r} has no tag policy: annotate the "
                f"workload with conveyor.dev/tag.{container} (e.g. semver:~1.2)",
                repository=repository,
            )
        return self._select(
            target,
            policy=rules.apply(policy),
            repository=repository,
            image_name=reference.name,
            current_tag=reference.tag,
            pinned=reference.digest is not None,
        )

    def decide_marker(self, target: Target) -> Decision:
        """A value a ``$imagepolicy`` marker names (a container image, an image or a tag)."""
        locked = _lock_decision(target)
        if locked is not None:
            return locked
        setter = target.setter_policy or ""
        policy = self.setter_policies.get(setter)
        if policy is None:
            return Decision(
                target,
                Outcome.NO_POLICY,
                f"marked with $imagepolicy {setter!r}, but conveyor's config has no setter "
                "policy by that name",
            )
        repository = self.setter_repositories.get(setter)
        if isinstance(repository, str):
            return Decision(target, Outcome.POLICY_ERROR, repository, policy=policy)
        current_tag: str | None = target.written
        pinned = False
        if target.field == "image":
            try:
                reference = parse_image_ref(target.written)
            except ImageRefError as e:
                return Decision(target, Outcome.INVALID_IMAGE, str(e), policy=policy)
            current_tag, pinned = reference.tag, reference.digest is not None
            written = SetterRepository(canonical_repository(reference.name), reference.name)
            if repository is None or repository.canonical == written.canonical:
                repository = written  # show the image the way this value writes it
        if repository is None:
            return Decision(
                target,
                Outcome.POLICY_ERROR,
                f"setter policy {setter!r} names no image repository: mark the image name with "
                f'# {{"$imagepolicy": "{setter}:name"}} or set the repository in conveyor\'s '
                "config",
                policy=policy,
            )
        return self._select(
            target,
            policy=policy,
            repository=repository.canonical,
            image_name=repository.written,
            current_tag=current_tag,
            pinned=pinned,
        )

    def _select(
        self,
        target: Target,
        *,
        policy: TagPolicy,
        repository: str,
        image_name: str,
        current_tag: str | None,
        pinned: bool,
    ) -> Decision:
        self.repositories.add(repository)
        if policy.needs_created_time:
            self.needing_created_times.add(repository)
        candidates = self.tags.get(repository)
        if candidates is None:
            failure = self.scan_errors.get(repository)
            reason = (
                f"no tags known for {repository}: its scan failed: {failure}"
                if failure
                else f"no tags known for {repository} yet: it has not been scanned"
            )
            return Decision(
                target,
                Outcome.NO_TAGS,
                reason,
                repository=repository,
                image_name=image_name,
                policy=policy,
                current_tag=current_tag,
            )
        selection = select(policy, candidates, current_tag=current_tag, now=self.now)
        if selection.chosen is None:
            outcome = Outcome.NO_CANDIDATE
        elif selection.changed:
            outcome = Outcome.UPDATE
        else:
            outcome = Outcome.UP_TO_DATE
        chosen = selection.chosen_candidate
        return Decision(
            target,
            outcome,
            selection.summary,
            repository=repository,
            image_name=image_name,
            policy=policy,
            current_tag=current_tag,
            new_tag=selection.chosen if outcome is Outcome.UPDATE else None,
            new_digest=chosen.digest if chosen and pinned and outcome is Outcome.UPDATE else None,
            selection=selection,
        )


def _lock_decision(target: Target) -> Decision | None:
    settings = target.settings
    if settings is None or not settings.locked:
        return None
    by = f" by {settings.locked_by}" if settings.locked_by else ""
    why = f": {settings.lock_reason}" if settings.lock_reason else ""
    return Decision(target, Outcome.LOCKED, f"locked{by}{why}; its images do not change")


def _updates(decisions: Sequence[Decision]) -> tuple[ImageUpdate, ...]:
    grouped: dict[tuple[str, str, str | None], ImageUpdate] = {}
    for decision in decisions:
        if decision.outcome is not Outcome.UPDATE:
            continue
        assert decision.repository is not None and decision.new_tag is not None
        key = (decision.repository, decision.new_tag, decision.new_digest)
        known = grouped.get(key)
        setter = decision.target.setter_policy
        policies = known.setter_policies if known else frozenset()
        grouped[key] = ImageUpdate(
            repository=known.repository if known else decision.image_name or decision.repository,
            tag=decision.new_tag,
            digest=decision.new_digest,
            setter_policies=policies | {setter} if setter else policies,
        )
    return tuple(grouped[key] for key in sorted(grouped, key=lambda k: (k[0], k[1], k[2] or "")))
