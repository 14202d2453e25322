"""What the distribution API answers, as plain data: tag lists, manifests, image configs.

Media types, picking a platform out of an index, reading a config blob: pure functions over
already-fetched JSON (the client fetches, this module interprets). No HTTP here, so the daemon
can use these types without depending on the HTTP client.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from conveyor.adapters.registry.errors import NotFound, ProtocolError
from conveyor.adapters.registry.names import RepositoryName

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
INDEX_MEDIA_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
IMAGE_MEDIA_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
# Sent on every manifest request so the registry never falls back to schema 1.
MANIFEST_ACCEPT = ", ".join([OCI_INDEX, DOCKER_MANIFEST_LIST, OCI_MANIFEST, DOCKER_MANIFEST])


@dataclass(frozen=True)
class Platform:
    os: str = "linux"
    architecture: str = "amd64"
    variant: str = ""

    @classmethod
    def parse(cls, text: str) -> Platform:
        """``linux/arm64/v8`` -> Platform."""
        parts = text.split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise ValueError(f"{text!r} is not a platform like linux/amd64 or linux/arm/v7")
        return cls(os=parts[0], architecture=parts[1], variant=parts[2] if len(parts) == 3 else "")

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


@dataclass(frozen=True)
class TagList:
    repository: RepositoryName
    tags: tuple[str, ...]
    pages: int  # requests it took


@dataclass(frozen=True)
class ManifestInfo:
    """What a manifest HEAD tells: the content digest and the media type."""

    digest: str
    media_type: str

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_MEDIA_TYPES


@dataclass(frozen=True)
class Manifest:
    info: ManifestInfo
    document: Mapping[str, object] = field(repr=False)


@dataclass(frozen=True)
class ImageConfig:
    """What a policy may need from the config blob of one (platform) image."""

    digest: str  # of the config blob
    created: dt.datetime | None
    labels: Mapping[str, str]
    platform: Platform


def media_type_of(document: Mapping[str, object], header: str) -> str:
    """The manifest's own ``mediaType`` field wins over a registry's generic Content-Type."""
    own = document.get("mediaType")
    if isinstance(own, str) and own:
        return own
    if "manifests" in document:
        return OCI_INDEX
    return header.split(";")[0].strip() or OCI_MANIFEST


def _platform_of(entry: Mapping[str, object]) -> Platform | None:
    platform = entry.get("platform")
    if not isinstance(platform, Mapping):
        return None
    return Platform(
        os=str(platform.get("os", "")),
        architecture=str(platform.get("architecture", "")),
        variant=str(platform.get("variant", "")),
    )


def select_platform(index: Mapping[str, object], wanted: Platform, *, where: str) -> str:
    """The digest of the index entry for ``wanted`` (any variant when none is asked for)."""
    entries = index.get("manifests")
    if not isinstance(entries, list):
        raise ProtocolError(f"{where}: an index without a 'manifests' list")
    offered: list[str] = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        platform = _platform_of(entry)
        if platform is None:
            continue
        offered.append(str(platform))
        if (platform.os, platform.architecture) != (wanted.os, wanted.architecture):
            continue
        if wanted.variant and platform.variant != wanted.variant:
            continue
        digest = entry.get("digest")
        if isinstance(digest, str):
            return digest
    raise NotFound(
        f"{where}: no {wanted} image in the index (it has: {', '.join(offered) or 'none'});"
        " configure the platform conveyor should read"
    )


def config_digest(manifest: Mapping[str, object], *, where: str) -> str:
    config = manifest.get("config")
    digest = config.get("digest") if isinstance(config, Mapping) else None
    if not isinstance(digest, str):
        raise ProtocolError(f"{where}: an image manifest without a config digest")
    return digest


_FRACTION = re.compile(r"(\.\d{1,6})\d*")


def parse_created(text: object) -> dt.datetime | None:
    """RFC 3339 with up to nanoseconds (Go's format) -> an aware datetime; None if unreadable."""
    if not isinstance(text, str) or not text:
        return None
    trimmed = _FRACTION.sub(r"\1", text.strip()).replace("Z", "+00:00").replace("z", "+00:00")
    try:
        when = dt.datetime.fromisoformat(trimmed)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def parse_image_config(document: object, *, digest: str, where: str) -> ImageConfig:
    if not isinstance(document, Mapping):
        raise ProtocolError(f"{where}: the config blob {digest} is not a JSON object")
    inner = document.get("config")
    raw_labels = inner.get("Labels") if isinstance(inner, Mapping) else None
    labels = (
        {str(k): str(v) for k, v in raw_labels.items()} if isinstance(raw_labels, Mapping) else {}
    )
    return ImageConfig(
        digest=digest,
        created=parse_created(document.get("created")),
        labels=labels,
        platform=Platform(
            os=str(document.get("os", "")),
            architecture=str(document.get("architecture", "")),
            variant=str(document.get("variant", "")),
        ),
    )
