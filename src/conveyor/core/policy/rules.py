"""Excludes and a minimum tag age from workload annotations, added to a container's tag policy.

``conveyor.dev/exclude[.<container>]`` lists glob patterns (comma-separated) of tags never chosen;
``conveyor.dev/min-age[.<container>]`` is how long ago a tag's image must have been built before it
is chosen (see :mod:`conveyor.core.workload_settings` for the full wording and precedence).
:func:`rules_for_container` reads the annotations that apply to one container into
:class:`CandidateRules`, whose :meth:`~CandidateRules.apply` returns the policy with them added, so
selection explains an excluded or too-young tag like any other refusal.

Errors: :class:`AnnotationValueError` (a :class:`~conveyor.core.policy.model.PolicyError`) names
the annotation and what is wrong with its value; the caller adds the file and the workload.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import timedelta

from conveyor.core.policy.model import PolicyError, TagPattern, TagPolicy
from conveyor.core.policy.parse import parse_duration
from conveyor.core.workload_settings import AutomationSettings, CandidateRuleSetting

__all__ = [
    "AnnotationValueError",
    "CandidateRules",
    "parse_exclude_patterns",
    "parse_min_age",
    "rules_for_container",
]


class AnnotationValueError(PolicyError):
    """An exclude or min-age annotation whose value cannot be used."""

    def __init__(self, annotation: str, value: str, problem: str) -> None:
        super().__init__(value, problem)
        self.annotation = annotation

    def __str__(self) -> str:
        return f"annotation {self.annotation}: {self.problem}"


@dataclass(frozen=True)
class CandidateRules:
    """What a workload's annotations add to one container's tag policy; empty adds nothing."""

    excludes: tuple[TagPattern, ...] = ()
    min_age: timedelta | None = None
    min_age_origin: str | None = None
    """The annotation `min_age` came from, named when a tag is too young."""
    min_age_text: str | None = None
    """The duration as written (``1h``), shown in the policy's text."""

    @property
    def empty(self) -> bool:
        return not self.excludes and self.min_age is None

    def apply(self, policy: TagPolicy) -> TagPolicy:
        """``policy`` with these excludes added and this minimum age in place of its own.

        The policy's text grows a note (``semver:~1.2 (exclude *-rc*; min-age 1h)``) so every
        place that quotes the policy shows what actually filters the tags.
        """
        if self.empty:
            return policy
        notes: list[str] = []
        if self.excludes:
            notes.append("exclude " + ", ".join(pattern.text for pattern in self.excludes))
        if self.min_age is not None:
            notes.append(f"min-age {self.min_age_text or int(self.min_age.total_seconds())}")
        replaced_age = self.min_age is not None
        return dataclasses.replace(
            policy,
            excludes=(*policy.excludes, *self.excludes),
            min_age=self.min_age if replaced_age else policy.min_age,
            min_age_origin=self.min_age_origin if replaced_age else policy.min_age_origin,
            text=f"{policy} ({'; '.join(notes)})",
        )


def rules_for_container(settings: AutomationSettings | None, container: str) -> CandidateRules:
    """The rules the annotations in ``settings`` set for ``container``; raises on a bad value."""
    if settings is None:
        return CandidateRules()
    exclude = settings.candidate_rule("exclude", container)
    min_age = settings.candidate_rule("min-age", container)
    return CandidateRules(
        excludes=_excludes(exclude) if exclude is not None else (),
        min_age=parse_min_age(min_age.value, annotation=min_age.annotation) if min_age else None,
        min_age_origin=min_age.annotation if min_age else None,
        min_age_text=min_age.value.strip() if min_age else None,
    )


def _excludes(setting: CandidateRuleSetting) -> tuple[TagPattern, ...]:
    return parse_exclude_patterns(setting.value, annotation=setting.annotation)


def parse_exclude_patterns(value: str, *, annotation: str) -> tuple[TagPattern, ...]:
    """Comma-separated globs, each matched against the whole tag; raises on an empty one."""
    texts = [part.strip() for part in value.split(",")]
    if not any(texts):
        raise AnnotationValueError(
            annotation, value, "lists no pattern; write globs of tags to skip, e.g. *-rc*, latest"
        )
    patterns: list[TagPattern] = []
    for position, text in enumerate(texts, start=1):
        if not text:
            raise AnnotationValueError(
                annotation,
                value,
                f"pattern {position} of {value.strip()!r} is empty (a stray comma?)",
            )
        if any(character.isspace() for character in text):
            raise AnnotationValueError(
                annotation,
                value,
                f"pattern {text!r} holds whitespace, which no tag does; separate patterns "
                "with commas",
            )
        patterns.append(TagPattern.glob(text, origin=annotation))
    return tuple(patterns)


def parse_min_age(value: str, *, annotation: str) -> timedelta:
    """A duration such as ``30m``, ``2h``, ``1d`` or ``1h30m``; raises when it is not one."""
    try:
        return parse_duration(value)
    except PolicyError as e:
        raise AnnotationValueError(annotation, value, e.problem) from e
