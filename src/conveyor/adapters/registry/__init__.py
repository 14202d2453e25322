"""The registry adapter: the OCI distribution API over HTTP, for any number of registries.

Docker Hub (``docker.io`` names, ``library/`` images), Quay, GHCR and private registries; https
always, plain http only for hosts configured as insecure. Credentials come from a docker
``config.json`` (``auths``, ``credHelpers``, ``credsStore``), Kubernetes pull secrets or explicit
values; Basic and Bearer-token auth (anonymous tokens when there are no credentials). Each host
has its own rate limit, concurrency cap and ``Retry-After`` pause; requests are counted per host.

Errors::

    RegistryError
    ├── InvalidRepositoryName   not a repository name (also a ValueError)
    ├── CredentialsError        a docker config, pull secret or credential helper is unusable
    ├── AuthError               the registry or its token service refused us (.source says
    │                           which credentials were used, never the secret)
    ├── NotFound                repository, tag, digest or platform missing (or hidden)
    ├── RateLimited             429 beyond our retries (.retry_after, seconds)
    ├── RegistryUnavailable     unreachable, timing out, or 5xx beyond our retries
    └── ProtocolError           an answer the distribution API does not allow
"""

from conveyor.adapters.registry.client import RegistryClient
from conveyor.adapters.registry.credentials import (
    Credentials,
    CredentialsProvider,
    DockerConfig,
    StaticCredentials,
)
from conveyor.adapters.registry.errors import (
    AuthError,
    CredentialsError,
    InvalidRepositoryName,
    NotFound,
    ProtocolError,
    RateLimited,
    RegistryError,
    RegistryUnavailable,
)
from conveyor.adapters.registry.limits import HostLimits, RequestCounter, RequestKey, RetryPolicy
from conveyor.adapters.registry.manifests import (
    ImageConfig,
    Manifest,
    ManifestInfo,
    Platform,
    TagList,
)
from conveyor.adapters.registry.names import RepositoryName

__all__ = [
    "AuthError",
    "Credentials",
    "CredentialsError",
    "CredentialsProvider",
    "DockerConfig",
    "HostLimits",
    "ImageConfig",
    "InvalidRepositoryName",
    "Manifest",
    "ManifestInfo",
    "NotFound",
    "Platform",
    "ProtocolError",
    "RateLimited",
    "RegistryClient",
    "RegistryError",
    "RegistryUnavailable",
    "RepositoryName",
    "RequestCounter",
    "RequestKey",
    "RetryPolicy",
    "StaticCredentials",
    "TagList",
]
