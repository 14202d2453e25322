"""Tag policies in conveyor's config, shaped like Flux v2's ImagePolicy and ImageRepository.

An entry of ``imagePolicies`` is keyed by the ``NS:NAME`` its setter markers name and holds the
fields of both Flux objects that matter for choosing a tag: ``image`` and ``exclusionList`` (the
ImageRepository's), ``policy`` and ``filterTags`` (the ImagePolicy's), plus conveyor's ``minAge``.
``policy`` is Flux's one-of (``semver: {range}``, ``numerical: {order}``, ``alphabetical:
{order}``) or conveyor's ``newest: {}``, or a string in the annotation syntax (``semver:~1.2``).
Flux's exclusionList entries are regexes; ``glob:...`` entries are globs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from conveyor.core.config_reader import Reader, kind_of
from conveyor.core.images import ImageRefError, parse_image_ref
from conveyor.core.policy import PolicyError, TagPolicy, parse_duration, parse_policy
from conveyor.core.policy import policy_from_config as build_policy

__all__ = ["FLUX_DEFAULT_EXCLUSIONS", "read_image_policy", "read_policy"]

FLUX_DEFAULT_EXCLUSIONS = (r"^.*\.sig$",)
"""What Flux v2's ImageRepository excludes when its exclusionList is not set: cosign signatures."""

_SETTER_NAME = re.compile(r"[^:\s]+:[^:\s]+")
_KINDS = ("semver", "numerical", "alphabetical", "newest")


def read_image_policy(
    reader: Reader, name: str, node: object, path: str
) -> tuple[TagPolicy, str | None] | None:
    """``(policy, image repository or None)`` for one ``imagePolicies`` entry."""
    if not _SETTER_NAME.fullmatch(name):
        reader.problem(
            path, "is not NS:NAME, the value a $imagepolicy marker names (e.g. flux-system:app)"
        )
    entry = reader.mapping(node, path)
    if entry is None:
        return None
    reader.known_keys(entry, path, {"image", "policy", "filterTags", "exclusionList", "minAge"})
    image = _image(reader, entry.get("image"), f"{path}.image")
    excludes = (
        reader.strings(entry["exclusionList"], f"{path}.exclusionList")
        if "exclusionList" in entry
        else list(FLUX_DEFAULT_EXCLUSIONS)
    )
    min_age = _duration(reader, entry.get("minAge"), f"{path}.minAge")
    pattern: str | None = None
    extract: str | None = None
    if entry.get("filterTags") is not None:
        tags = reader.mapping(entry["filterTags"], f"{path}.filterTags") or {}
        reader.known_keys(tags, f"{path}.filterTags", {"pattern", "extract"})
        pattern = reader.string(tags.get("pattern"), f"{path}.filterTags.pattern")
        extract = reader.string(tags.get("extract"), f"{path}.filterTags.extract")
    if entry.get("policy") is None:
        reader.problem(f"{path}.policy", "is required (e.g. semver: {range: ~1.2})")
        return None
    policy = read_policy(
        reader,
        entry["policy"],
        f"{path}.policy",
        pattern=pattern,
        extract=extract,
        excludes=tuple(_as_pattern(exclude) for exclude in excludes),
        min_age=min_age,
    )
    return (policy, image) if policy is not None else None


def read_policy(
    reader: Reader,
    node: object,
    path: str,
    *,
    pattern: str | None = None,
    extract: str | None = None,
    excludes: tuple[str, ...] = (),
    min_age: timedelta | None = None,
) -> TagPolicy | None:
    """A policy from its string form or Flux v2's one-of mapping; None (and a problem) if bad."""
    try:
        if isinstance(node, str):
            if pattern is not None or extract is not None:
                reader.problem(
                    path,
                    "filterTags goes with a structured policy (semver:, numerical:, "
                    "alphabetical: or newest:); a string policy carries its own filter",
                )
                return None
            return parse_policy(node, excludes=excludes, min_age=min_age)
        return _structured(
            reader,
            node,
            path,
            pattern=pattern,
            extract=extract,
            excludes=excludes,
            min_age=min_age,
        )
    except PolicyError as e:
        reader.problem(path, str(e))
        return None


def _structured(
    reader: Reader,
    node: object,
    path: str,
    *,
    pattern: str | None,
    extract: str | None,
    excludes: tuple[str, ...],
    min_age: timedelta | None,
) -> TagPolicy | None:
    if not isinstance(node, Mapping):
        reader.problem(path, f"expected a policy string or a mapping, got {kind_of(node)}")
        return None
    entry: dict[str, Any] = {str(key): value for key, value in node.items()}
    reader.known_keys(entry, path, set(_KINDS))
    kinds = [kind for kind in _KINDS if kind in entry]
    if len(kinds) != 1:
        reader.problem(path, f"give exactly one of {', '.join(_KINDS)}")
        return None
    (kind,) = kinds
    body = entry[kind] if entry[kind] is not None else {}
    fields = reader.mapping(body, f"{path}.{kind}")
    if fields is None:
        return None
    semver_range: str | None = None
    order: str | None = None
    if kind == "semver":
        reader.known_keys(fields, f"{path}.semver", {"range"})
        semver_range = reader.string(fields.get("range"), f"{path}.semver.range", required=True)
        if semver_range is None:
            return None
    elif kind in ("numerical", "alphabetical"):
        reader.known_keys(fields, f"{path}.{kind}", {"order"})
        order = reader.string(fields.get("order"), f"{path}.{kind}.order")
        if order is not None and order not in ("asc", "desc"):
            reader.problem(f"{path}.{kind}.order", "is asc (the highest wins) or desc")
            return None
    else:
        reader.known_keys(fields, f"{path}.newest", set())
    return build_policy(
        kind,
        semver_range=semver_range,
        pattern=pattern,
        order=order,
        extract=extract,
        excludes=excludes,
        min_age=min_age,
    )


def _image(reader: Reader, node: object, path: str) -> str | None:
    text = reader.string(node, path)
    if text is None:
        return None
    try:
        reference = parse_image_ref(text)
    except ImageRefError as e:
        reader.problem(path, f"is not an image repository: {e}")
        return None
    if reference.tag is not None or reference.digest is not None:
        reader.problem(path, "names an image repository, without a tag or digest")
        return None
    return text


def _duration(reader: Reader, node: object, path: str) -> timedelta | None:
    text = reader.string(node, path)
    if text is None:
        return None
    try:
        return parse_duration(text)
    except PolicyError as e:
        reader.problem(path, e.problem)
        return None


def _as_pattern(exclude: str) -> str:
    """Flux's exclusions are regexes; the policy module reads a bare pattern as a glob."""
    return exclude if exclude.startswith(("glob:", "regex:", "regexp:")) else f"regex:{exclude}"
