"""Automation settings a workload's annotations carry: conveyor's own and Flux v1's, unchanged.

A workload is automated, locked, or has a tag policy per container when its ``metadata.annotations``
say so. conveyor writes ``conveyor.dev/...`` keys; it reads Flux v1's keys as they are so a
repository managed by Flux v1 moves over with no edits. When both are present, conveyor's own key
wins, then ``fluxcd.io/``, then the newer Flux v1 ``filter.fluxcd.io/<container>`` form, then the
oldest ``flux.weave.works/`` prefix. Tag policies are kept as the raw strings written
(``semver:~1.2``, ``glob:v1.*``, ``regexp:...``): parsing them is the policy module's job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

AUTOMATED_ANNOTATION = "conveyor.dev/automated"
LOCKED_ANNOTATION = "conveyor.dev/locked"
LOCK_REASON_ANNOTATION = "conveyor.dev/locked-reason"
LOCKED_BY_ANNOTATION = "conveyor.dev/locked-by"
TAG_POLICY_PREFIX = "conveyor.dev/tag."

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


@dataclass(frozen=True)
class TagPolicySetting:
    container: str
    policy: str  # the raw annotation value, e.g. "semver:~1.2"
    annotation: str  # the key it came from, e.g. "fluxcd.io/tag.app"


@dataclass(frozen=True)
class AutomationSettings:
    automated: bool
    locked: bool
    lock_reason: str | None
    locked_by: str | None
    tag_policies: tuple[TagPolicySetting, ...]  # one per container, sorted by container name

    def tag_policy(self, container: str) -> TagPolicySetting | None:
        return next((p for p in self.tag_policies if p.container == container), None)


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
    )


def _first(annotations: Mapping[str, str], keys: tuple[str, ...]) -> str | None:
    return next((annotations[k] for k in keys if k in annotations), None)


def _is_true(value: str | None) -> bool:
    return value is not None and value.strip().lower() == "true"
