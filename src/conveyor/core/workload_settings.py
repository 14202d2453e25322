"""Automation settings a workload's annotations carry: conveyor's own and Flux v1's, unchanged.

A workload is automated, locked, or has a tag policy per container when its ``metadata.annotations``
say so. conveyor writes ``conveyor.dev/...`` keys; it reads Flux v1's keys as they are so a
repository managed by Flux v1 moves over with no edits. When both are present, conveyor's own key
wins, then ``fluxcd.io/``, then the newer Flux v1 ``filter.fluxcd.io/<container>`` form, then the
oldest ``flux.weave.works/`` prefix. Tag policies are kept as the raw strings written
(``semver:~1.2``, ``glob:v1.*``, ``regexp:...``): parsing them is the policy module's job.

Two more annotations narrow which tags a container's policy may choose (conveyor's own; Flux v1
had no such keys)::

    conveyor.dev/exclude.<container>: "*-rc*, latest"   # globs of tags never chosen
    conveyor.dev/min-age.<container>: 1h                # a tag's image must be this old
    conveyor.dev/exclude: "*-debug"                     # the same for every container
    conveyor.dev/min-age: 30m                           # of the workload

- ``exclude``: one or more glob patterns, comma-separated, each matched against the whole tag
  (``*``, ``?``, ``[...]``). A tag matching any of them is never chosen; ``--explain`` says which
  pattern and which annotation kept it out.
- ``min-age``: a duration (``90s``, ``30m``, ``2h``, ``1d``, ``1w``, or combined: ``1h30m``). A tag
  whose image was created (its build time) less than that long ago is not chosen yet; the tag
  already running is exempt. Scans fetch image metadata for such repositories.
- The form with ``.<container>`` wins over the workload-wide form for that container (it
  replaces it, it does not add to it). Both add to the container's tag policy, whether that
  policy comes from ``conveyor.dev/tag.<container>``, Flux v1's keys, or the configured default
  policy. Values marked with ``$imagepolicy`` setter comments take theirs from conveyor's config.
- A value that cannot be used (an empty pattern, an unreadable duration) makes that workload's
  containers a policy error naming the file, the workload, the annotation and the reason; every
  other workload is still planned. Like tag policies, values are kept raw here and parsed by
  :mod:`conveyor.core.policy.rules`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

AUTOMATED_ANNOTATION = "conveyor.dev/automated"
LOCKED_ANNOTATION = "conveyor.dev/locked"
LOCK_REASON_ANNOTATION = "conveyor.dev/locked-reason"
LOCKED_BY_ANNOTATION = "conveyor.dev/locked-by"
TAG_POLICY_PREFIX = "conveyor.dev/tag."
EXCLUDE_ANNOTATION = "conveyor.dev/exclude"
MIN_AGE_ANNOTATION = "conveyor.dev/min-age"

CandidateRuleKind = Literal["exclude", "min-age"]
_RULE_ANNOTATIONS: dict[CandidateRuleKind, str] = {
    "exclude": EXCLUDE_ANNOTATION,
    "min-age": MIN_AGE_ANNOTATION,
}

# Highest precedence first.
_AUTOMATED_KEYS = (AUTOMATED_ANNOTATION, "fluxcd.io/automated", "flux.weave.works/automated")
_LOCKED_KEYS = (LOCKED_ANNOTATION, "fluxcd.io/locked", "flux.weave.works/locked")
_LOCK_REASON_KEYS = (LOCK_REASON_ANNOTATION, "fluxcd.io/locked_msg", "flux.weave.works/locked_msg")
_LOCKED_BY_KEYS = (LOCKED_BY_ANNOTATION, "fluxcd.io/locked_user", "flux.weave.works/locked_user")
_TAG_POLICY_PREFIXES = (
    TAG_POLICY_PREFIX,
    "fluxcd.io/tag.",
    "filter.fluxcd.io/",
    "flux.weave.works/tag.",
)


def tag_policy_annotation(container: str) -> str:
    """The annotation conveyor writes to give ``container`` a tag policy."""
    return TAG_POLICY_PREFIX + container


def candidate_rule_annotation(kind: CandidateRuleKind, container: str | None = None) -> str:
    """The annotation that sets ``kind`` for ``container``, or for every container when None."""
    annotation = _RULE_ANNOTATIONS[kind]
    return annotation if container is None else f"{annotation}.{container}"


@dataclass(frozen=True)
class TagPolicySetting:
    container: str
    policy: str  # the raw annotation value, e.g. "semver:~1.2"
    annotation: str  # the key it came from, e.g. "fluxcd.io/tag.app"


@dataclass(frozen=True)
class CandidateRuleSetting:
    """A raw ``conveyor.dev/exclude[.<c>]`` or ``conveyor.dev/min-age[.<c>]`` value."""

    kind: CandidateRuleKind
    container: str | None  # None for the workload-wide form
    value: str  # as written, e.g. "*-rc*, latest" or "30m"
    annotation: str  # the key it came from


@dataclass(frozen=True)
class AutomationSettings:
    automated: bool
    locked: bool
    lock_reason: str | None
    locked_by: str | None
    tag_policies: tuple[TagPolicySetting, ...]  # one per container, sorted by container name
    candidate_rules: tuple[CandidateRuleSetting, ...] = ()
    """Every exclude and min-age annotation, sorted by kind then container (workload-wide first)."""

    def tag_policy(self, container: str) -> TagPolicySetting | None:
        return next((p for p in self.tag_policies if p.container == container), None)

    def candidate_rule(
        self, kind: CandidateRuleKind, container: str
    ) -> CandidateRuleSetting | None:
        """The ``kind`` annotation that applies to ``container``: its own, else the workload's."""
        applying = [r for r in self.candidate_rules if r.kind == kind]
        return next((r for r in applying if r.container == container), None) or next(
            (r for r in applying if r.container is None), None
        )


def read_automation_settings(annotations: Mapping[str, str]) -> AutomationSettings:
    """The settings a workload's annotations (key -> value as written) carry."""
    policies: dict[str, TagPolicySetting] = {}
    # Walk from lowest precedence to highest so the winner is written last.
    for prefix in reversed(_TAG_POLICY_PREFIXES):
        for key, value in annotations.items():
            container = key[len(prefix) :] if key.startswith(prefix) else ""
            if container:
                policies[container] = TagPolicySetting(
                    container=container, policy=value, annotation=key
                )
    return AutomationSettings(
        automated=_is_true(_first(annotations, _AUTOMATED_KEYS)),
        locked=_is_true(_first(annotations, _LOCKED_KEYS)),
        lock_reason=_first(annotations, _LOCK_REASON_KEYS),
        locked_by=_first(annotations, _LOCKED_BY_KEYS),
        tag_policies=tuple(policies[name] for name in sorted(policies)),
        candidate_rules=_candidate_rules(annotations),
    )


def _candidate_rules(annotations: Mapping[str, str]) -> tuple[CandidateRuleSetting, ...]:
    found: list[CandidateRuleSetting] = []
    for kind, annotation in _RULE_ANNOTATIONS.items():
        for key, value in annotations.items():
            if key == annotation:
                container = None
            elif key.startswith(annotation + ".") and len(key) > len(annotation) + 1:
                container = key[len(annotation) + 1 :]
            else:
                continue
            found.append(CandidateRuleSetting(kind, container, value, key))
    return tuple(sorted(found, key=lambda r: (r.kind, r.container is not None, r.container or "")))


def _first(annotations: Mapping[str, str], keys: tuple[str, ...]) -> str | None:
    return next((annotations[k] for k in keys if k in annotations), None)


def _is_true(value: str | None) -> bool:
    return value is not None and value.strip().lower() == "true"
