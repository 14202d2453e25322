"""Tag policies: which image tags a workload may move to, and why each candidate was or wasn't.

    model    TagPolicy and its parts (SemverRange, TagPattern, SortKind, SortOrder), PolicyError
    parse    policies from annotation values, `conveyor.dev/tag.<c>` and Flux v1's, and from
             structured config (Flux v2 ImagePolicy style)
    keys     a tag read once into a rank key (semver precedence, exact numbers)
    select   select(policy, candidates, current_tag=, now=) -> Selection, a verdict per tag
    explain  the sentences of those verdicts
    rules    excludes and a minimum age from `conveyor.dev/exclude[.<c>]` and
             `conveyor.dev/min-age[.<c>]`, added to a container's policy

Errors::

    ValueError
    └── PolicyError               a policy that cannot be used (names the policy text)
        └── AnnotationValueError  a bad exclude or min-age annotation (names the annotation)

Selection never raises for a bad tag: the tag gets a verdict saying why it was not read.
"""

from conveyor.core.policy.explain import format_duration
from conveyor.core.policy.keys import ParsedVersion, parse_number, parse_version
from conveyor.core.policy.model import (
    PatternKind,
    PolicyError,
    SemverRange,
    SortKind,
    SortOrder,
    TagPattern,
    TagPolicy,
)
from conveyor.core.policy.parse import (
    CONVEYOR_TAG_PREFIX,
    FLUX_V1_TAG_PREFIXES,
    PolicyDialect,
    parse_duration,
    parse_policy,
    policies_from_annotations,
    policy_from_annotation,
    policy_from_config,
)
from conveyor.core.policy.rules import (
    AnnotationValueError,
    CandidateRules,
    parse_exclude_patterns,
    parse_min_age,
    rules_for_container,
)
from conveyor.core.policy.select import Reason, Selection, TagCandidate, TagVerdict, select

__all__ = [
    "CONVEYOR_TAG_PREFIX",
    "FLUX_V1_TAG_PREFIXES",
    "AnnotationValueError",
    "CandidateRules",
    "ParsedVersion",
    "PatternKind",
    "PolicyDialect",
    "PolicyError",
    "Reason",
    "Selection",
    "SemverRange",
    "SortKind",
    "SortOrder",
    "TagCandidate",
    "TagPattern",
    "TagPolicy",
    "TagVerdict",
    "format_duration",
    "parse_duration",
    "parse_exclude_patterns",
    "parse_min_age",
    "parse_number",
    "parse_policy",
    "parse_version",
    "policies_from_annotations",
    "policy_from_annotation",
    "policy_from_config",
    "rules_for_container",
    "select",
]
