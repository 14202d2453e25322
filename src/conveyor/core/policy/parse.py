"""Building tag policies from what users already write: annotations and structured config.

String forms (the value of `conveyor.dev/tag.<container>`):

    semver:RANGE              npm range (`~1.2`, `^1`, `>=1.0 <2.0`, `1.x`, `||`, `1.2 - 1.4`),
                              Masterminds commas accepted, ranked by version
    glob:PATTERN              tags matching the glob, ranked by build time (as Flux v1 did)
    regex:PATTERN             tags the regex finds a match in, ranked by build time; when the
                              regex has one named group, ranked by that group as a number
    numerical:ORDER           the tag as a number; ORDER is asc (highest wins) or desc
    alphabetical:ORDER        the tag as text
    newest                    the most recently built tag
    glob:P SORT, regex:P SORT a filter then an explicit ranking, e.g.
                              `regex:^main-(?P<ts>\\d+)-[0-9a-f]+$ alphabetical:asc`

Tags never contain whitespace, so the ranking after the last space cannot be part of a glob or
regex that could match. Flux v1 values (`fluxcd.io/tag.<c>`, `filter.fluxcd.io/<c>`) take
only `semver:`, `glob:`, `regex:`/`regexp:` or a bare glob, with Flux v1's meaning.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import timedelta
from enum import StrEnum

from conveyor.core.policy.model import (
    PatternKind,
    PolicyError,
    SemverRange,
    SortKind,
    SortOrder,
    TagPattern,
    TagPolicy,
)

CONVEYOR_TAG_PREFIX = "conveyor.dev/tag."
# In order of precedence when a workload carries several spellings for one container.
FLUX_V1_TAG_PREFIXES = ("fluxcd.io/tag.", "filter.fluxcd.io/", "flux.weave.works/tag.")

_RANKING = re.compile(r"(?P<kind>numerical|alphabetical)(?::(?P<order>asc|desc))?|newest")
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d|w)")
_DURATION_UNITS = {
    "ms": timedelta(milliseconds=1),
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}
_GROUP_REFERENCE = re.compile(r"\$\{(?P<braced>\w+)\}|\$?(?P<bare>\w+)", re.ASCII)


class PolicyDialect(StrEnum):
    CONVEYOR = "conveyor"
    FLUX_V1 = "flux-v1"


def parse_policy(
    text: str,
    *,
    dialect: PolicyDialect = PolicyDialect.CONVEYOR,
    excludes: Iterable[str] = (),
    min_age: timedelta | str | None = None,
) -> TagPolicy:
    """A policy from its string form (see the module docstring); raises `PolicyError`."""
    written = text.strip()
    if not written:
        raise PolicyError(text, "it is empty")
    exclude_patterns = tuple(TagPattern.parse(exclude, policy=written) for exclude in excludes)
    age = parse_duration(min_age, policy=written) if isinstance(min_age, str) else min_age

    if dialect is PolicyDialect.FLUX_V1:
        return _parse_flux_v1(written, excludes=exclude_patterns, min_age=age)

    ranking: re.Match[str] | None = _RANKING.fullmatch(written)
    filter_text = ""
    if ranking is None:
        head, _, last = written.rpartition(" ")
        ranking = _RANKING.fullmatch(last) if head else None
        filter_text = head.strip() if ranking is not None else written
    if ranking is not None and not filter_text:
        return TagPolicy(
            sort=SortKind(ranking["kind"] or "newest"),
            order=SortOrder(ranking["order"] or "asc"),
            excludes=exclude_patterns,
            min_age=age,
            text=written,
        )

    kind, colon, body = filter_text.partition(":")
    if not colon or kind not in ("semver", "glob", "regex", "regexp"):
        raise PolicyError(
            written,
            "unknown policy; write semver:RANGE, glob:PATTERN, regex:PATTERN, "
            "numerical:asc|desc, alphabetical:asc|desc or newest",
        )
    if kind == "semver":
        if ranking is not None:
            raise PolicyError(written, f"semver ranks by version; drop {ranking[0]!r}")
        return TagPolicy(
            sort=SortKind.SEMVER,
            semver_range=SemverRange.parse(body, policy=written),
            excludes=exclude_patterns,
            min_age=age,
            text=written,
        )
    pattern = TagPattern.regex(body, policy=written) if kind != "glob" else TagPattern.glob(body)
    extract = _sole_named_group(pattern, policy=written)
    if ranking is None:
        # A named group is a sort key (numbers are the common case: build ids, timestamps);
        # without one, the tags are ranked by build time, as Flux v1 did.
        sort = SortKind.NUMERICAL if extract is not None else SortKind.NEWEST
        order = SortOrder.ASC
    else:
        sort = SortKind(ranking["kind"] or "newest")
        order = SortOrder(ranking["order"] or "asc")
    return TagPolicy(
        sort=sort,
        order=order,
        pattern=pattern,
        extract=extract if sort is not SortKind.NEWEST else None,
        excludes=exclude_patterns,
        min_age=age,
        text=written,
    )


def _sole_named_group(pattern: TagPattern, *, policy: str) -> str | None:
    if pattern.kind is not PatternKind.REGEX or not pattern.compiled.groupindex:
        return None
    names = sorted(pattern.compiled.groupindex)
    if len(names) > 1:
        raise PolicyError(
            policy,
            f"the regex has several named groups ({', '.join(names)}); name only the one to "
            "sort by and write (?:...) for the others",
        )
    return names[0]


def _parse_flux_v1(
    written: str, *, excludes: tuple[TagPattern, ...], min_age: timedelta | None
) -> TagPolicy:
    if written.startswith("semver:"):
        return TagPolicy(
            sort=SortKind.SEMVER,
            semver_range=SemverRange.parse(written.removeprefix("semver:"), policy=written),
            excludes=excludes,
            min_age=min_age,
            text=written,
        )
    # Flux v1 ranks glob and regex matches by build time; named groups meant nothing to it.
    return TagPolicy(
        sort=SortKind.NEWEST,
        pattern=TagPattern.parse(written, policy=written),
        excludes=excludes,
        min_age=min_age,
        text=written,
    )


def policy_from_annotation(key: str, value: str) -> tuple[str, TagPolicy] | None:
    """`(container, policy)` for a tag-policy annotation, None for any other annotation."""
    if key.startswith(CONVEYOR_TAG_PREFIX):
        container = key.removeprefix(CONVEYOR_TAG_PREFIX)
        dialect = PolicyDialect.CONVEYOR
    else:
        prefix = next((p for p in FLUX_V1_TAG_PREFIXES if key.startswith(p)), None)
        if prefix is None:
            return None
        container = key.removeprefix(prefix)
        dialect = PolicyDialect.FLUX_V1
    if not container:
        raise PolicyError(value, f"annotation {key!r} names no container")
    try:
        return container, parse_policy(value, dialect=dialect)
    except PolicyError as e:
        raise PolicyError(value, f"{e.problem} (annotation {key})") from e


def policies_from_annotations(
    annotations: Mapping[str, str],
) -> tuple[dict[str, TagPolicy], dict[str, PolicyError]]:
    """Every container's policy, and the containers whose policy could not be read.

    conveyor's own annotation wins over Flux v1's for the same container; a container whose
    winning annotation is bad is reported in the errors, never silently left to a loser.
    """
    ranked_prefixes = (CONVEYOR_TAG_PREFIX, *FLUX_V1_TAG_PREFIXES)
    winners: dict[str, tuple[int, str]] = {}
    for key in annotations:
        rank = next((i for i, p in enumerate(ranked_prefixes) if key.startswith(p)), None)
        if rank is None:
            continue
        container = key.removeprefix(ranked_prefixes[rank])
        if container not in winners or rank < winners[container][0]:
            winners[container] = (rank, key)
    policies: dict[str, TagPolicy] = {}
    errors: dict[str, PolicyError] = {}
    for container, (_, key) in sorted(winners.items()):
        try:
            parsed = policy_from_annotation(key, annotations[key])
        except PolicyError as e:
            errors[container] = e
            continue
        if parsed is not None:
            policies[container] = parsed[1]
    return policies, errors


def policy_from_config(
    kind: str,
    *,
    semver_range: str | None = None,
    pattern: str | None = None,
    order: str | None = None,
    extract: str | None = None,
    excludes: Iterable[str] = (),
    min_age: timedelta | str | None = None,
) -> TagPolicy:
    """A policy from structured config, e.g. a Flux v2 ImagePolicy's `policy` and `filterTags`.

    `kind` is semver, numerical, alphabetical, newest, glob or regex. `pattern` is a regex
    (Flux v2's filterTags.pattern) unless written `glob:...`; for kind glob it is a glob.
    `extract` names the group to rank by: `ts`, `$ts`, `${ts}` or `$1`.
    """
    where = f"kind={kind}" + (f" pattern={pattern}" if pattern else "")
    tag_pattern: TagPattern | None = None
    if pattern is not None:
        tag_pattern = (
            TagPattern.glob(pattern)
            if kind == "glob"
            else TagPattern.parse(pattern if pattern.startswith("glob:") else f"regex:{pattern}")
        )
    group = _group_reference(extract, policy=where) if extract is not None else None
    if kind in ("glob", "regex"):
        if tag_pattern is None:
            raise PolicyError(where, f"a {kind} policy needs a pattern")
        group = group or _sole_named_group(tag_pattern, policy=where)
        kind = SortKind.NUMERICAL if group is not None else SortKind.NEWEST
    try:
        sort = SortKind(kind)
        sort_order = SortOrder(order or "asc")
    except ValueError as e:
        raise PolicyError(where, f"{e}; kinds: {', '.join(SortKind)}, glob, regex") from e
    if (sort is SortKind.SEMVER) and semver_range is None:
        raise PolicyError(where, "a semver policy needs a range")
    return TagPolicy(
        sort=sort,
        order=sort_order,
        semver_range=SemverRange.parse(semver_range, policy=where) if semver_range else None,
        pattern=tag_pattern,
        extract=group,
        excludes=tuple(TagPattern.parse(exclude, policy=where) for exclude in excludes),
        min_age=parse_duration(min_age, policy=where) if isinstance(min_age, str) else min_age,
    )


def _group_reference(extract: str, *, policy: str) -> str:
    match = _GROUP_REFERENCE.fullmatch(extract.strip())
    if match is None:
        raise PolicyError(policy, f"extract {extract!r} is not one group reference like $ts")
    group = match["braced"] or match["bare"]
    if not group.isdigit() and group[0].isdigit():
        raise PolicyError(policy, f"extract {extract!r} names no valid group")
    return group


def parse_duration(text: str, *, policy: str | None = None) -> timedelta:
    """`90s`, `10m`, `1h30m`, `2d`, `1w` (Go-style, plus days and weeks); raises `PolicyError`."""
    compact = text.strip().replace(" ", "")
    parts = _DURATION_PART.findall(compact)
    if not compact or "".join(number + unit for number, unit in parts) != compact:
        raise PolicyError(policy or text, f"duration {text!r} is not like 90s, 10m, 1h30m or 2d")
    try:
        return sum(
            (_DURATION_UNITS[unit] * float(number) for number, unit in parts), start=timedelta(0)
        )
    except OverflowError as e:  # timedelta stops at 999999999 days
        raise PolicyError(policy or text, f"duration {text!r} is too long") from e
