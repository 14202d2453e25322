"""Image references as written in manifests, and the image metadata policies need.

An `ImageRef` keeps the reference exactly as the manifest wrote it (`nginx:1.2` stays
`nginx:1.2`, it is never rewritten as `docker.io/library/nginx:1.2`), and derives the canonical
forms needed to talk to a registry and to compare two references to the same repository.

The grammar follows Docker's reference rules:

    reference  := name [":" tag] ["@" digest]
    name       := [host [":" port] "/"] path-component ("/" path-component)*
    host       := the first component, when it has a "." or ":", is "localhost",
                  or has an uppercase letter (a repository path never has one)
    component  := [a-z0-9]+ (("." | "_" | "__" | "-"+) [a-z0-9]+)*
    tag        := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
    digest     := algorithm ":" encoded   (sha256 and sha512 checked for length and hex)

Errors: `ImageRefError` (a `ValueError`), whose message names the reference and what is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

DOCKER_HUB = "docker.io"
DOCKER_HUB_API_HOST = "registry-1.docker.io"
# Hosts Docker itself treats as another spelling of Docker Hub.
_DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", DOCKER_HUB_API_HOST})
OCI_CREATED_LABEL = "org.opencontainers.image.created"

_NAME_MAX = 255
_TAG_MAX = 128
_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_DOMAIN_LABEL = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = re.compile(rf"(?:{_DOMAIN_LABEL}(?:\.{_DOMAIN_LABEL})*|\[[0-9A-Fa-f:.]+\])(?::[0-9]+)?")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST = re.compile(r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}")
_DIGEST_HEX_LENGTHS = {"sha256": 64, "sha512": 128}
_HEX64 = re.compile(r"[a-f0-9]{64}")


class ImageRefError(ValueError):
    """An image reference (or a tag or digest for one) that the reference grammar rejects."""


@dataclass(frozen=True)
class ImageRef:
    """An image reference; `registry` and `repository` are exactly as written."""

    registry: str
    """The host (with port) as written, or "" when the reference names none (Docker Hub)."""
    repository: str
    """The repository path as written: `nginx`, `library/nginx`, `org/team/app`."""
    tag: str | None = None
    digest: str | None = None

    @classmethod
    def parse(cls, text: str) -> ImageRef:
        return parse_image_ref(text)

    @property
    def is_docker_hub(self) -> bool:
        return self.canonical_registry == DOCKER_HUB

    @property
    def canonical_registry(self) -> str:
        """The registry name used for comparisons: `docker.io` for Docker Hub, hosts lowercased."""
        host = self.registry.lower()
        if not host or host in _DOCKER_HUB_ALIASES:
            return DOCKER_HUB
        return host

    @property
    def api_host(self) -> str:
        """The host that serves the Distribution API for this repository."""
        return DOCKER_HUB_API_HOST if self.is_docker_hub else self.canonical_registry

    @property
    def canonical_repository(self) -> str:
        """The repository path the registry knows: official Docker Hub images get `library/`."""
        if self.is_docker_hub and "/" not in self.repository:
            return f"library/{self.repository}"
        return self.repository

    @property
    def canonical_name(self) -> str:
        """`registry/repository` in canonical form: equal for two spellings of one repository."""
        return f"{self.canonical_registry}/{self.canonical_repository}"

    @property
    def name(self) -> str:
        """The name as written, without tag or digest."""
        return f"{self.registry}/{self.repository}" if self.registry else self.repository

    def same_repository(self, other: ImageRef) -> bool:
        return self.canonical_name == other.canonical_name

    def with_tag(self, tag: str) -> ImageRef:
        """This reference, written the same way, with `tag` and no digest."""
        _check_tag(tag, reference=f"{self.name}:{tag}")
        return replace(self, tag=tag, digest=None)

    def with_digest(self, digest: str) -> ImageRef:
        """This reference, written the same way, pinned to `digest` (the tag is kept)."""
        _check_digest(digest, reference=f"{self.name}@{digest}")
        return replace(self, digest=digest)

    def __str__(self) -> str:
        text = self.name
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text


def parse_image_ref(text: str) -> ImageRef:
    """Parse a reference as written in a manifest; raise `ImageRefError` saying what is wrong."""
    if not text:
        raise ImageRefError("invalid image reference '': it is empty")
    if text != text.strip():
        raise ImageRefError(f"invalid image reference {text!r}: it has surrounding whitespace")

    remainder, at, digest = text.partition("@")
    if at:
        _check_digest(digest, reference=text)

    tag: str | None = None
    last_slash = remainder.rfind("/")
    colon = remainder.rfind(":")
    if colon > last_slash:
        remainder, tag = remainder[:colon], remainder[colon + 1 :]
        _check_tag(tag, reference=text)

    if not remainder:
        raise ImageRefError(f"invalid image reference {text!r}: the repository name is missing")
    if len(remainder) > _NAME_MAX:
        raise ImageRefError(
            f"invalid image reference {text!r}: the name is longer than {_NAME_MAX} characters"
        )
    registry, repository = _split_registry(remainder)
    if registry and not _HOST.fullmatch(registry):
        raise ImageRefError(f"invalid image reference {text!r}: {registry!r} is not a valid host")
    if not registry and _HEX64.fullmatch(repository):
        raise ImageRefError(
            f"invalid image reference {text!r}: a 64-character hex string is an image ID, "
            "not a repository name"
        )
    _check_repository(repository, reference=text)
    return ImageRef(registry=registry, repository=repository, tag=tag, digest=digest or None)


def _split_registry(name: str) -> tuple[str, str]:
    first, slash, rest = name.partition("/")
    if not slash:
        return "", name
    # Docker's rule: only a first component that cannot be a repository path is a host.
    looks_like_host = "." in first or ":" in first or first == "localhost" or first.lower() != first
    return (first, rest) if looks_like_host else ("", name)


def _check_repository(repository: str, *, reference: str) -> None:
    for component in repository.split("/"):
        if _COMPONENT.fullmatch(component):
            continue
        if component and _COMPONENT.fullmatch(component.lower()):
            raise ImageRefError(
                f"invalid image reference {reference!r}: repository name must be lowercase"
            )
        shown = repr(component) if component else "an empty path component"
        raise ImageRefError(
            f"invalid image reference {reference!r}: {shown} is not a valid repository path "
            "component (lowercase letters and digits, separated by '.', '_', '__' or dashes)"
        )


def _check_tag(tag: str, *, reference: str) -> None:
    if len(tag) > _TAG_MAX:
        raise ImageRefError(
            f"invalid image reference {reference!r}: the tag is longer than {_TAG_MAX} characters"
        )
    if not _TAG.fullmatch(tag):
        raise ImageRefError(
            f"invalid image reference {reference!r}: tag {tag!r} is not valid (a letter, digit "
            "or '_', then letters, digits, '_', '.' or '-')"
        )


def _check_digest(digest: str, *, reference: str) -> None:
    if not _DIGEST.fullmatch(digest):
        raise ImageRefError(
            f"invalid image reference {reference!r}: digest {digest!r} is not 'algorithm:hex'"
        )
    algorithm, _, encoded = digest.partition(":")
    expected_length = _DIGEST_HEX_LENGTHS.get(algorithm)
    if expected_length is not None and not re.fullmatch(f"[a-f0-9]{{{expected_length}}}", encoded):
        raise ImageRefError(
            f"invalid image reference {reference!r}: a {algorithm} digest is "
            f"{expected_length} lowercase hex characters"
        )


def parse_timestamp(text: str) -> datetime | None:
    """An RFC 3339 time as registries write it (nanoseconds allowed), in UTC; None if unreadable.

    A time without an offset is taken as UTC, which is what image builders mean.
    """
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def image_created_time(config: Mapping[str, Any]) -> datetime | None:
    """When an image was built, from its config blob (already decoded from JSON).

    The OCI label `org.opencontainers.image.created` wins over the config's own `created`:
    reproducible builds pin `created` to a fixed date, and the label is what CI sets.
    """
    inner = config.get("config")
    labels = inner.get("Labels") if isinstance(inner, Mapping) else None
    if isinstance(labels, Mapping):
        label = labels.get(OCI_CREATED_LABEL)
        if isinstance(label, str) and (created := parse_timestamp(label)) is not None:
            return created
    created_field = config.get("created")
    if isinstance(created_field, str):
        return parse_timestamp(created_field)
    return None
