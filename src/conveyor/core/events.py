"""Events that come in from outside: a branch moved in a git host, an image was pushed.

Webhooks from many providers all reduce to two plain events. The daemon reacts to a
`GitPushEvent` by fetching just that repository, and to an `ImagePushEvent` by scanning just
that image repository; everything provider-specific stays in the `webhooks_*` modules:

- `conveyor.core.webhooks_verify`: is this request really from the provider (HMAC signatures,
  shared tokens)? Always checked before the body is parsed.
- `conveyor.core.webhooks_git` and `conveyor.core.webhooks_image`: the provider's payload turned
  into events, or `Ignored` with the reason (a ping, a deleted branch, a pull).

Errors::

    WebhookError
    ├── WebhookProviderError       a provider we do not know, or one with no secret configured
    ├── WebhookVerificationError   the signature or token is missing or wrong (never echoes it)
    └── WebhookPayloadError        the verified body is not the payload the provider documents

No message ever contains a secret, a signature or the request body.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class GitProvider(StrEnum):
    """Git hosts whose push webhooks we understand (the value is the URL path segment)."""

    GITHUB = "github"
    GITLAB = "gitlab"
    BITBUCKET = "bitbucket"
    GITEA = "gitea"
    GENERIC = "generic"


class ImageProvider(StrEnum):
    """Registries whose push notifications we understand (the value is the URL path segment)."""

    DOCKERHUB = "dockerhub"
    QUAY = "quay"
    HARBOR = "harbor"
    GHCR = "ghcr"
    DISTRIBUTION = "distribution"
    GENERIC = "generic"
    """CloudEvents, structured or binary mode."""


class WebhookError(Exception):
    """Anything wrong with an incoming webhook."""


class WebhookProviderError(WebhookError):
    """The provider is unknown, or no secret is configured for it (so it is switched off)."""


class WebhookVerificationError(WebhookError):
    """The request does not prove it comes from the provider: missing or wrong signature/token."""


class WebhookPayloadError(WebhookError):
    """The body passed verification but is not a payload the provider documents."""


@dataclass(frozen=True)
class WebhookRequest:
    """The parts of an HTTP request that verification and parsing look at.

    Header names are matched case-insensitively, as HTTP requires.
    """

    headers: Mapping[str, str]
    body: bytes = field(repr=False)

    def __post_init__(self) -> None:
        lowered = {name.lower(): value for name, value in self.headers.items()}
        object.__setattr__(self, "headers", lowered)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def media_type(self) -> str:
        """The Content-Type without parameters, lowercased ("" when absent)."""
        content_type = self.header("content-type") or ""
        return content_type.split(";", 1)[0].strip().lower()


@dataclass(frozen=True)
class GitPushEvent:
    """A branch of a repository moved to `revision` (None when the sender did not say)."""

    repo_urls: tuple[str, ...]
    """Every URL the payload gives for the repository (ssh, https clone, web), deduplicated."""
    branch: str
    revision: str | None
    provider: GitProvider

    def matches_repo(self, url: str) -> bool:
        """Whether `url` (any of its spellings) names the repository that was pushed to."""
        wanted = normalize_git_url(url)
        return any(normalize_git_url(candidate) == wanted for candidate in self.repo_urls)


@dataclass(frozen=True)
class ImagePushEvent:
    """A tag of an image repository was pushed (`digest` when the provider says which)."""

    repository: str
    """Canonical `registry/path`, as `ImageRef.canonical_name`: `docker.io/library/nginx`."""
    tag: str
    digest: str | None
    provider: ImageProvider


@dataclass(frozen=True)
class Ignored:
    """A genuine, verified delivery that is not a push we act on (a ping, a branch delete)."""

    reason: str


GitParseResult = tuple[GitPushEvent, ...] | Ignored
"""One event per branch that moved (Bitbucket can report several), or why there is none."""
ImageParseResult = tuple[ImagePushEvent, ...] | Ignored
"""One event per pushed tag (Quay and distribution can report several), or why there is none."""


_SCP_LIKE = re.compile(r"^(?:[^@/:]+@)?(?P<host>[^/:]+):(?P<path>(?!/).*)$")
_WITH_SCHEME = re.compile(
    r"^[a-z][a-z0-9+.-]*://(?:[^@/]*@)?(?P<host>[^/:]+)(?::\d+)?(?P<path>/.*)?$"
)


def normalize_git_url(url: str) -> str:
    """`host/path` for comparing two spellings of one repository.

    `git@github.com:Org/App.git`, `ssh://git@github.com:22/org/app` and
    `https://github.com/org/app/` all give `github.com/org/app`. The result is casefolded: the
    big hosts treat paths case-insensitively, and a false match only costs one extra fetch.
    """
    text = url.strip()
    match = _WITH_SCHEME.match(text.lower()) or _SCP_LIKE.match(text.lower())
    if match is None:
        return text.casefold()
    path = (match.group("path") or "").strip("/")
    path = path.removesuffix(".git").rstrip("/")
    return f"{match.group('host')}/{path}".casefold()


def unique(values: Iterable[str | None]) -> tuple[str, ...]:
    """The non-empty values in first-seen order."""
    seen: dict[str, None] = {}
    for value in values:
        if value:
            seen.setdefault(value, None)
    return tuple(seen)
