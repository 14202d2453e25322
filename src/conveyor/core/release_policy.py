"""The annotation edits of lock, unlock, automate, deautomate and tag policy changes.

Each action is a few annotation keys on each selected workload, nothing else:

- ``lock``: ``conveyor.dev/locked: "true"``, ``conveyor.dev/locked-by`` (the user) and, when a
  message is given, ``conveyor.dev/locked-reason``;
- ``unlock``: removes every lock key, conveyor's and Flux v1's (``fluxcd.io/locked``...), since
  leaving a Flux key behind would keep the workload locked;
- ``automate``: ``conveyor.dev/automated: "true"``; ``deautomate`` removes every automated key;
- ``policy``: ``conveyor.dev/tag.<container>: PATTERN`` (checked with the policy parser first);
  without a pattern, removes every tag policy key of that container.

Edits are made by :mod:`conveyor.core.annotation_edits`, so the rest of the file is byte-exact.
A workload already in the asked state is skipped with the reason, and gets no edit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from conveyor.core.annotation_edits import remove_annotation, set_annotation
from conveyor.core.policy import PolicyDialect, PolicyError, parse_policy
from conveyor.core.release import (
    AnnotationChange,
    LocatedWorkload,
    PolicyAction,
    ReleaseError,
    SkippedWorkload,
    WorkloadSelector,
)
from conveyor.core.release_message import clean_user
from conveyor.core.workload_settings import (
    AUTOMATED_ANNOTATION,
    LOCK_REASON_ANNOTATION,
    LOCKED_ANNOTATION,
    LOCKED_BY_ANNOTATION,
    tag_policy_annotation,
)

__all__ = ["PolicyEdit", "annotation_changes", "apply_annotation_changes", "plan_policy_change"]

# Every key that can lock or automate a workload, conveyor's and Flux v1's (see workload_settings).
_LOCK_KEYS = (
    LOCKED_ANNOTATION,
    LOCK_REASON_ANNOTATION,
    LOCKED_BY_ANNOTATION,
    "fluxcd.io/locked",
    "fluxcd.io/locked_msg",
    "fluxcd.io/locked_user",
    "flux.weave.works/locked",
    "flux.weave.works/locked_msg",
    "flux.weave.works/locked_user",
)
_AUTOMATED_KEYS = (AUTOMATED_ANNOTATION, "fluxcd.io/automated", "flux.weave.works/automated")
_TAG_POLICY_PREFIXES = (
    "conveyor.dev/tag.",
    "fluxcd.io/tag.",
    "filter.fluxcd.io/",
    "flux.weave.works/tag.",
)
_ALREADY = {
    "lock": "already locked",
    "unlock": "not locked",
    "automate": "already automated",
    "deautomate": "not automated",
    "policy": "the tag policy is already so",
}


@dataclass(frozen=True)
class PolicyEdit:
    """The new texts of the changed files, the annotation changes, and the workloads skipped."""

    changed_files: Mapping[str, str]
    changes: tuple[AnnotationChange, ...]
    skipped: tuple[SkippedWorkload, ...]


def annotation_changes(
    located: LocatedWorkload,
    action: PolicyAction,
    *,
    container: str | None = None,
    pattern: str | None = None,
    user: str = "anonymous",
    message: str = "",
) -> tuple[AnnotationChange, ...]:
    """The annotation changes ``action`` makes on one workload (empty: already so)."""
    current = {a.key: a.value for a in located.workload.annotations}
    wanted: dict[str, str | None] = {}
    if action == "lock":
        wanted[LOCKED_ANNOTATION] = "true"
        wanted[LOCKED_BY_ANNOTATION] = clean_user(user)
        if message.strip():
            wanted[LOCK_REASON_ANNOTATION] = " ".join(message.split())
    elif action == "unlock":
        wanted.update(dict.fromkeys(_LOCK_KEYS))
    elif action == "automate":
        wanted[AUTOMATED_ANNOTATION] = "true"
    elif action == "deautomate":
        wanted.update(dict.fromkeys(_AUTOMATED_KEYS))
    else:
        wanted.update(_policy_keys(located, container or "", pattern))
    return tuple(
        AnnotationChange(located.id, key, current.get(key), value)
        for key, value in wanted.items()
        if current.get(key) != value
    )


def _policy_keys(
    located: LocatedWorkload, container: str, pattern: str | None
) -> dict[str, str | None]:
    if located.workload.container(container) is None:
        return {}
    if pattern:
        try:
            parse_policy(pattern, dialect=PolicyDialect.CONVEYOR)
        except PolicyError as e:
            raise ReleaseError(f"tag policy {pattern!r} cannot be used: {e}") from e
        return {tag_policy_annotation(container): pattern}
    return {prefix + container: None for prefix in _TAG_POLICY_PREFIXES}


def apply_annotation_changes(text: str, changes: Sequence[AnnotationChange]) -> str:
    """``text`` with ``changes`` made (each one annotation key of one object)."""
    for change in changes:
        if change.new_value is None:
            text = remove_annotation(text, change.workload_id, key=change.key)
        else:
            text = set_annotation(text, change.workload_id, key=change.key, value=change.new_value)
    return text


def plan_policy_change(
    files: Mapping[str, str],
    workloads: Sequence[LocatedWorkload],
    selector: WorkloadSelector,
    action: PolicyAction,
    *,
    container: str | None = None,
    pattern: str | None = None,
    user: str = "anonymous",
    message: str = "",
) -> PolicyEdit:
    """The edits of one policy request across ``files`` (the texts ``workloads`` came from)."""
    skipped = [
        SkippedWorkload(i, "no such workload in the repo")
        for i in selector.missing(w.id for w in workloads)
    ]
    texts = dict(files)
    changes: list[AnnotationChange] = []
    for located in workloads:
        if not selector.matches(located.id):
            continue
        if action == "policy" and located.workload.container(container or "") is None:
            skipped.append(SkippedWorkload(located.id, f"has no container {container!r}"))
            continue
        found = annotation_changes(
            located, action, container=container, pattern=pattern, user=user, message=message
        )
        if not found:
            why = f"nothing to change: {_ALREADY[action]}"
            skipped.append(SkippedWorkload(located.id, why))
            continue
        texts[located.path] = apply_annotation_changes(texts[located.path], found)
        changes.extend(found)
    return PolicyEdit(
        changed_files={p: t for p, t in texts.items() if t != files[p]},
        changes=tuple(changes),
        skipped=tuple(skipped),
    )
