"""Reading a tag (or a value extracted from it) once into a key that ranks with plain `<`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import nodesemver

# A leading `v` and missing minor/patch numbers are accepted, as Masterminds (Flux) does:
# `v1.2` ranks as 1.2.0, so `nginx:1.25` is a version next to `nginx:1.25.3`.
_VERSION = re.compile(
    r"v?(?P<major>0|[1-9][0-9]*)(?:\.(?P<minor>0|[1-9][0-9]*))?(?:\.(?P<patch>0|[1-9][0-9]*))?"
    r"(?P<suffix>(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)"
)
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")

PrereleaseKey = tuple[tuple[int, int, str], ...]
SemverKey = tuple[int, int, int, int, PrereleaseKey]


@dataclass(frozen=True)
class ParsedVersion:
    """A tag read as a semantic version, with a key that orders by semver precedence."""

    semver: Any
    """The `nodesemver.SemVer`, for range tests."""
    key: SemverKey

    @property
    def is_prerelease(self) -> bool:
        return bool(self.semver.prerelease)


def parse_version(text: str) -> ParsedVersion | None:
    """The version a tag names, or None when it is not a semantic version."""
    match = _VERSION.fullmatch(text)
    if match is None:
        return None
    normalized = f"{match['major']}.{match['minor'] or 0}.{match['patch'] or 0}{match['suffix']}"
    try:
        semver = nodesemver.make_semver(normalized, loose=False)
    except ValueError:
        return None  # e.g. a prerelease identifier with a leading zero
    return ParsedVersion(semver, _semver_key(semver))


def _semver_key(semver: Any) -> SemverKey:
    # Precedence per semver 2.0: a release ranks above its prereleases; numeric identifiers
    # rank below alphanumeric ones and compare as numbers; a longer identifier list wins a tie.
    identifiers: PrereleaseKey = tuple(
        (0, part, "") if isinstance(part, int) else (1, 0, str(part)) for part in semver.prerelease
    )
    release_rank = 0 if identifiers else 1
    return (int(semver.major), int(semver.minor), int(semver.patch), release_rank, identifiers)


def parse_number(text: str) -> Decimal | None:
    """A decimal number (`42`, `0012`, `-3`, `1.5`); exact, so long timestamps never round."""
    if _NUMBER.fullmatch(text) is None:
        return None
    return Decimal(text)
