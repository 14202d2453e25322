"""The tag policy data model: what a policy keeps, checked once when it is built."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any

import nodesemver


class PolicyError(ValueError):
    """A tag policy that cannot be used; the message names the policy text and the problem."""

    def __init__(self, policy: str, problem: str) -> None:
        super().__init__(f"tag policy {policy!r}: {problem}")
        self.policy = policy
        self.problem = problem


class SortKind(StrEnum):
    """How candidate tags that pass the filters are ranked."""

    SEMVER = "semver"
    NUMERICAL = "numerical"
    ALPHABETICAL = "alphabetical"
    NEWEST = "newest"


class SortOrder(StrEnum):
    """`asc` picks the last tag in ascending order (the highest), `desc` the lowest (Flux v2)."""

    ASC = "asc"
    DESC = "desc"


class PatternKind(StrEnum):
    GLOB = "glob"
    REGEX = "regex"


# Go's RE2 (used by Flux) also spells named groups `(?<name>...)`, which Python 3.11 lacks.
_GO_NAMED_GROUP = re.compile(r"(?<!\\)\(\?<([A-Za-z_][A-Za-z0-9_]*)>")


@dataclass(frozen=True)
class TagPattern:
    """A glob (matched against the whole tag) or a regex (searched in the tag, like Flux)."""

    kind: PatternKind
    text: str
    compiled: re.Pattern[str] = field(compare=False, repr=False)
    origin: str | None = field(default=None, compare=False)
    """Where it was written when explanations should say so, e.g. `conveyor.dev/exclude.app`."""

    @classmethod
    def glob(cls, text: str, *, origin: str | None = None) -> TagPattern:
        return cls(PatternKind.GLOB, text, re.compile(fnmatch.translate(text)), origin)

    @classmethod
    def regex(cls, text: str, *, policy: str | None = None) -> TagPattern:
        try:
            compiled = re.compile(_GO_NAMED_GROUP.sub(r"(?P<\1>", text))
        except re.error as e:
            raise PolicyError(policy or text, f"invalid regex {text!r}: {e}") from e
        return cls(PatternKind.REGEX, text, compiled)

    @classmethod
    def parse(cls, text: str, *, policy: str | None = None) -> TagPattern:
        """`regex:PATTERN` is a regex, `glob:PATTERN` or a bare pattern is a glob."""
        if text.startswith(("regex:", "regexp:")):
            return cls.regex(text.partition(":")[2], policy=policy)
        return cls.glob(text.removeprefix("glob:"))

    def match(self, tag: str) -> re.Match[str] | None:
        if self.kind is PatternKind.GLOB:
            return self.compiled.match(tag)  # fnmatch.translate anchors at both ends
        return self.compiled.search(tag)

    def __str__(self) -> str:
        return f"{self.kind} {self.text}"


@dataclass(frozen=True)
class SemverRange:
    """An npm-style semver range, parsed in strict mode, Masterminds commas accepted."""

    text: str
    """The range as written."""
    normalized: str
    """The comparators it expands to, e.g. `>=1.2.0 <1.3.0` for `~1.2`."""
    names_prerelease: bool
    """A comparator names a prerelease, so prereleases are candidates (like Masterminds)."""
    compiled: Any = field(compare=False, repr=False)

    @classmethod
    def parse(cls, text: str, *, policy: str | None = None) -> SemverRange:
        where = policy or text
        # Loose mode silently drops comma-separated parts; strict mode rejects them. Masterminds
        # (Flux) writes `>=1.0, <2.0` for an AND, which is a space in npm's grammar.
        spaced = text.replace(",", " ").strip()
        if not spaced:
            raise PolicyError(where, "the semver range is empty (write * for any release)")
        if any(not alternative.strip() for alternative in spaced.split("||")):
            raise PolicyError(where, f"semver range {text!r} has an empty '||' alternative")
        try:
            compiled = nodesemver.make_range(spaced, loose=False)
        except ValueError as e:
            raise PolicyError(where, f"invalid semver range {text!r}: {e}") from e
        names_prerelease = any(
            comparator.semver is not nodesemver.ANY and comparator.semver.prerelease
            for comparators in compiled.set
            for comparator in comparators
        )
        return cls(text, compiled.range or "*", names_prerelease, compiled)

    def admits(self, version: Any) -> bool:
        """Whether a parsed `nodesemver.SemVer` is in the range."""
        return bool(self.compiled.test(version, include_prerelease=self.names_prerelease))

    def admits_if_prereleases_were_allowed(self, version: Any) -> bool:
        """Whether a prerelease is kept out only because the range names no prerelease."""
        return bool(self.compiled.test(version, include_prerelease=True))

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class TagPolicy:
    """Which tags are candidates, how they rank, and when a tag is old enough to choose.

    Filters apply in this order: `excludes`, `pattern`, the value to rank (the whole tag, or the
    `extract` group of a regex `pattern`), `semver_range`, then the build time for `min_age`.
    """

    sort: SortKind
    order: SortOrder = SortOrder.ASC
    semver_range: SemverRange | None = None
    pattern: TagPattern | None = None
    extract: str | None = None
    """A group of the regex `pattern` (a name, or a number as text) whose value is ranked."""
    excludes: tuple[TagPattern, ...] = ()
    min_age: timedelta | None = None
    min_age_origin: str | None = field(default=None, compare=False)
    """Where `min_age` was written when explanations should say so (an annotation)."""
    text: str = field(default="", compare=False)
    """The policy as the user wrote it, quoted in explanations; `describe()` when empty."""

    def __post_init__(self) -> None:
        where = self.text or self.describe()
        if (self.sort is SortKind.SEMVER) != (self.semver_range is not None):
            raise PolicyError(where, "a semver range goes with, and only with, semver ranking")
        if self.order is SortOrder.DESC and self.sort in (SortKind.SEMVER, SortKind.NEWEST):
            raise PolicyError(where, f"{self.sort} ranking has no 'desc' order")
        if self.min_age is not None and self.min_age < timedelta(0):
            raise PolicyError(where, "the minimum age is negative")
        if self.extract is not None:
            self._check_extract(where)

    def _check_extract(self, where: str) -> None:
        extract = self.extract
        assert extract is not None
        if self.pattern is None or self.pattern.kind is not PatternKind.REGEX:
            raise PolicyError(where, "extracting a sort key needs a regex pattern")
        if self.sort is SortKind.NEWEST:
            raise PolicyError(where, "an extracted key is not used when ranking by build time")
        compiled = self.pattern.compiled
        known = (
            int(extract) <= compiled.groups if extract.isdigit() else extract in compiled.groupindex
        )
        if not known:
            raise PolicyError(where, f"regex {self.pattern.text!r} has no group {extract!r}")

    @property
    def needs_created_time(self) -> bool:
        """Whether selection needs each tag's build time (so a scanner fetches config blobs)."""
        return self.sort is SortKind.NEWEST or self.min_age is not None

    def describe(self) -> str:
        """A canonical rendering: the filter, then the ranking, e.g. `glob:1.* alphabetical:asc`."""
        parts: list[str] = []
        if self.pattern is not None:
            parts.append(f"{self.pattern.kind}:{self.pattern.text}")
        if self.semver_range is not None:
            parts.append(f"semver:{self.semver_range.text}")
        elif self.sort is SortKind.NEWEST:
            parts.append("newest")
        else:
            parts.append(f"{self.sort}:{self.order}")
        if self.extract is not None and not self._extract_is_implied():
            parts.append(f"extract:{self.extract}")
        parts.extend(f"exclude:{exclude.kind}:{exclude.text}" for exclude in self.excludes)
        if self.min_age is not None:
            parts.append(f"min-age:{int(self.min_age.total_seconds())}s")
        return " ".join(parts)

    def _extract_is_implied(self) -> bool:
        # The string form ranks by a regex's only named group without saying so.
        groups = list(self.pattern.compiled.groupindex) if self.pattern is not None else []
        return groups == [self.extract]

    def __str__(self) -> str:
        return self.text or self.describe()
