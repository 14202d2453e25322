"""Repository names and registry hosts, with Docker Hub's special rules.

``nginx`` means ``docker.io/library/nginx``; ``docker.io`` and ``index.docker.io`` are names of
Docker Hub, whose API lives on ``registry-1.docker.io``. Any other first component that looks like
a host (has a ``.`` or a ``:``, or is ``localhost``) names its own registry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from conveyor.adapters.registry.errors import InvalidRepositoryName

DOCKER_HUB = "docker.io"
DOCKER_HUB_API_HOST = "registry-1.docker.io"
# The server URL Docker has always filed Hub credentials under (config.json, credential helpers).
DOCKER_HUB_SERVER_URL = "https://index.docker.io/v1/"
_DOCKER_HUB_ALIASES = frozenset(
    {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}
)

# One path component of the distribution grammar: lowercase alphanumerics joined by separators.
_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_HOST = re.compile(r"[A-Za-z0-9.-]+(?::[0-9]+)?|\[[0-9A-Fa-f:.]+\](?::[0-9]+)?")


def canonical_host(host: str) -> str:
    """The host as conveyor files it: Docker Hub's aliases become ``docker.io``."""
    lowered = host.lower()
    return DOCKER_HUB if lowered in _DOCKER_HUB_ALIASES else lowered


def api_host(host: str) -> str:
    """The host that serves the ``/v2/`` API for a registry host."""
    return DOCKER_HUB_API_HOST if canonical_host(host) == DOCKER_HUB else host.lower()


def host_of_server_url(server: str) -> str:
    """``https://index.docker.io/v1/`` or ``quay.io`` -> the canonical host it names."""
    without_scheme = server.split("://", 1)[-1]
    return canonical_host(without_scheme.split("/", 1)[0])


def _looks_like_host(component: str) -> bool:
    return "." in component or ":" in component or component == "localhost"


@dataclass(frozen=True)
class RepositoryName:
    """A repository on a registry: ``host`` is canonical (``docker.io`` for Docker Hub)."""

    host: str
    path: str

    @classmethod
    def parse(cls, name: str) -> RepositoryName:
        """Parse ``[host/]path`` (no tag, no digest) the way ``docker pull`` reads it."""
        first, sep, rest = name.partition("/")
        if sep and _looks_like_host(first):
            host, path = first, rest
            if not _HOST.fullmatch(host):
                raise InvalidRepositoryName(f"{name!r}: {host!r} is not a registry host")
        else:
            host, path = DOCKER_HUB, name
        host = canonical_host(host)
        if host == DOCKER_HUB and "/" not in path:
            path = f"library/{path}"
        components = path.split("/")
        bad = [c for c in components if not _COMPONENT.fullmatch(c)]
        if bad:
            raise InvalidRepositoryName(
                f"{name!r} is not a repository name ({bad[0]!r} is not a valid path component:"
                " lowercase letters, digits and . _ - only; no tag or digest here)"
            )
        return cls(host=host, path=path)

    @property
    def api_host(self) -> str:
        return api_host(self.host)

    @property
    def pull_scope(self) -> str:
        """The token scope that allows reading this repository."""
        return f"repository:{self.path}:pull"

    def __str__(self) -> str:
        return f"{self.host}/{self.path}"


def as_repository(name: RepositoryName | str) -> RepositoryName:
    return name if isinstance(name, RepositoryName) else RepositoryName.parse(name)
