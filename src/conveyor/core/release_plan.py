"""Planning a release: which containers of the selected workloads move to which image, and why not.

Two kinds of release:

- an explicit image (``REPO:TAG``): every container of a selected workload whose image is of
  that repository (compared canonically, ``nginx`` = ``docker.io/library/nginx``) gets the tag;
  the name stays as the manifest writes it. A container whose tag policy does not admit the tag
  is left alone unless ``force``;
- every image per policy (``image`` None): each container of a selected workload moves to the
  best tag its policy picks among the scanned ``tags`` (its ``conveyor.dev/tag.<c>`` or Flux v1
  annotation, else ``default_policy``; with ``force``, always ``default_policy``). Plan once with
  no tags to learn which repositories to scan (:attr:`ReleasePlan.repositories`), then again.

Locked workloads are skipped unless ``force``. Every skip says why. :func:`apply_release` makes
the planned edits byte-exact (only the image values change).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from conveyor.core.commit_message import ReleasedChange
from conveyor.core.edits import canonical_repository, set_container_image, split_image
from conveyor.core.images import ImageRefError, parse_image_ref
from conveyor.core.policy import (
    CandidateRules,
    PolicyError,
    Reason,
    TagCandidate,
    TagPolicy,
    parse_policy,
    policies_from_annotations,
    rules_for_container,
    select,
)
from conveyor.core.release import (
    LocatedWorkload,
    ReleaseError,
    SkippedWorkload,
    WorkloadSelector,
)
from conveyor.core.workloads import Container

__all__ = [
    "DEFAULT_RELEASE_POLICY",
    "PlannedEdit",
    "ReleasePlan",
    "apply_release",
    "plan_release",
]

DEFAULT_RELEASE_POLICY = parse_policy("newest")
"""The policy of containers without one, as Flux v1's ``--update-all-images``: newest build."""

# Verdicts that mean "the policy does not admit this tag" (not merely "not the best one").
_NOT_ADMITTED = frozenset(
    {Reason.FILTERED_OUT, Reason.PRERELEASE, Reason.EXCLUDED, Reason.UNREADABLE}
)


@dataclass(frozen=True)
class PlannedEdit:
    """One container image to change, in the file that defines its workload."""

    path: str
    workload_id: str
    container: str
    old_image: str
    new_image: str

    def released(self) -> ReleasedChange:
        return ReleasedChange(
            workload_id=self.workload_id,
            container=self.container,
            setter_policy=None,
            path=None,
            old_image=self.old_image,
            new_image=self.new_image,
        )


@dataclass(frozen=True)
class ReleasePlan:
    edits: tuple[PlannedEdit, ...]
    skipped: tuple[SkippedWorkload, ...]
    repositories: frozenset[str] = frozenset()
    """Canonical repositories whose tags an every-image release needs."""
    repositories_needing_created_times: frozenset[str] = frozenset()

    @property
    def changes(self) -> tuple[ReleasedChange, ...]:
        return tuple(edit.released() for edit in self.edits)

    @property
    def workload_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(edit.workload_id for edit in self.edits))


def check_release_image(image: str) -> tuple[str, str]:
    """(canonical repository, tag) of an explicit release image; ReleaseError when unusable."""
    try:
        reference = parse_image_ref(image)
    except ImageRefError as e:
        raise ReleaseError(str(e)) from e
    if reference.tag is None:
        raise ReleaseError(f"release image {image!r} has no tag; give it as REPO:TAG")
    return canonical_repository(image), reference.tag


def plan_release(
    workloads: Sequence[LocatedWorkload],
    selector: WorkloadSelector,
    *,
    image: str | None,
    force: bool = False,
    tags: Mapping[str, Sequence[TagCandidate]] | None = None,
    default_policy: TagPolicy = DEFAULT_RELEASE_POLICY,
    now: datetime,
) -> ReleasePlan:
    """The edits a release makes, and the selected workloads (or containers) it leaves alone."""
    skipped = [
        SkippedWorkload(i, "no such workload in the repo")
        for i in selector.missing(w.id for w in workloads)
    ]
    edits: list[PlannedEdit] = []
    repositories: set[str] = set()
    needing_times: set[str] = set()
    explicit = check_release_image(image) if image is not None else None
    for located in workloads:
        if not selector.matches(located.id):
            continue
        settings = located.workload.automation
        if settings.locked and not force:
            why = f"locked ({settings.lock_reason})" if settings.lock_reason else "locked"
            skipped.append(SkippedWorkload(located.id, f"{why}; release with force to override"))
            continue
        policies, policy_errors, rules = _container_policies(located)
        explicitly_listed = located.id in selector.ids
        if explicit is not None:
            found = _explicit(located, explicit, image or "", policies, policy_errors, force, now)
            if not found[0] and not found[1] and explicitly_listed:
                found[1].append(
                    SkippedWorkload(located.id, f"no container runs an image of {explicit[0]}")
                )
        else:
            found = ([], [])
            for container in located.workload.containers:
                repository = canonical_repository(container.image)
                error = None if force else policy_errors.get(container.name)
                if error is not None:
                    found[1].append(SkippedWorkload(located.id, str(error), container.name))
                    continue
                policy = (
                    default_policy
                    if force
                    else rules[container.name].apply(policies.get(container.name, default_policy))
                )
                repositories.add(repository)
                if policy.needs_created_time:
                    needing_times.add(repository)
                candidates = (tags or {}).get(repository)
                if candidates is None:
                    why = f"no tags of {repository} were scanned"
                    found[1].append(SkippedWorkload(located.id, why, container.name))
                    continue
                _by_policy(located, container, policy, candidates, now, found)
        edits.extend(found[0])
        skipped.extend(found[1])
    return ReleasePlan(
        edits=tuple(edits),
        skipped=tuple(skipped),
        repositories=frozenset(repositories),
        repositories_needing_created_times=frozenset(needing_times),
    )


_Found = tuple[list[PlannedEdit], list[SkippedWorkload]]


def _container_policies(
    located: LocatedWorkload,
) -> tuple[dict[str, TagPolicy], dict[str, PolicyError], dict[str, CandidateRules]]:
    """Per container: the tag policy its annotations set (with the exclude and min-age
    annotations applied), a bad annotation's error, and the candidate rules on their own (for
    containers that fall back to the default policy)."""
    found, errors = policies_from_annotations(
        {a.key: a.value for a in located.workload.annotations}
    )
    policies, policy_errors = dict(found), dict(errors)
    rules: dict[str, CandidateRules] = {}
    for container in located.workload.containers:
        try:
            rules[container.name] = rules_for_container(located.workload.automation, container.name)
        except PolicyError as e:
            policy_errors.setdefault(container.name, e)
            continue
        if container.name in policies:
            policies[container.name] = rules[container.name].apply(policies[container.name])
    return policies, policy_errors, rules


def _explicit(
    located: LocatedWorkload,
    explicit: tuple[str, str],
    image: str,
    policies: Mapping[str, TagPolicy],
    policy_errors: Mapping[str, PolicyError],
    force: bool,
    now: datetime,
) -> _Found:
    repository, tag = explicit
    found: _Found = ([], [])
    for container in located.workload.containers:
        if canonical_repository(container.image) != repository:
            continue
        new_image = _retagged(container.image, image)
        if new_image == container.image:
            found[1].append(SkippedWorkload(located.id, f"already runs {image}", container.name))
            continue
        if not force:
            refusal = _policy_refusal(container, tag, policies, policy_errors, now)
            if refusal is not None:
                found[1].append(SkippedWorkload(located.id, refusal, container.name))
                continue
        found[0].append(_edit(located, container, new_image))
    return found


def _policy_refusal(
    container: Container,
    tag: str,
    policies: Mapping[str, TagPolicy],
    policy_errors: Mapping[str, PolicyError],
    now: datetime,
) -> str | None:
    """Why the container's tag policy keeps it off ``tag`` (None: admitted, or no policy)."""
    if container.name in policy_errors:
        return f"{policy_errors[container.name]}; release with force to override"
    policy = policies.get(container.name)
    if policy is None:
        return None
    verdict = select(policy, [TagCandidate(tag)], current_tag=None, now=now).verdict(tag)
    if verdict is not None and verdict.reason in _NOT_ADMITTED:
        return (
            f"tag policy {policy} does not admit it ({verdict.message});"
            " release with force to override"
        )
    return None


def _by_policy(
    located: LocatedWorkload,
    container: Container,
    policy: TagPolicy,
    candidates: Sequence[TagCandidate],
    now: datetime,
    found: _Found,
) -> None:
    current_tag = split_image(container.image)[1]
    selection = select(policy, candidates, current_tag=current_tag, now=now)
    if not selection.changed or selection.chosen is None:
        found[1].append(SkippedWorkload(located.id, selection.summary, container.name))
        return
    name = split_image(container.image)[0]
    found[0].append(_edit(located, container, f"{name}:{selection.chosen}"))


def _retagged(written: str, image: str) -> str:
    """``image``'s tag (and digest) on the name as the manifest writes it."""
    _, tag, digest = split_image(image)
    name = split_image(written)[0]
    return f"{name}:{tag}" + (f"@{digest}" if digest else "")


def _edit(located: LocatedWorkload, container: Container, new_image: str) -> PlannedEdit:
    return PlannedEdit(
        path=located.path,
        workload_id=located.id,
        container=container.name,
        old_image=container.image,
        new_image=new_image,
    )


def apply_release(files: Mapping[str, str], edits: Sequence[PlannedEdit]) -> dict[str, str]:
    """The new texts of the files ``edits`` change (only the image values differ).

    Raises :class:`~conveyor.core.yamltext.EditError` when a container is no longer there.
    """
    changed: dict[str, str] = {}
    for edit in edits:
        text = changed.get(edit.path, files[edit.path])
        changed[edit.path] = set_container_image(
            text, workload_id=edit.workload_id, container=edit.container, image=edit.new_image
        )
    return {path: text for path, text in changed.items() if text != files[path]}
