"""Turning conveyor's automation config into the adapters' objects: registry client, commit.

Credentials are looked up when the client needs them, in this order: a registry's own source
from the config (its docker config file, or its two environment variables), then the config's
``dockerConfigs`` for any host. A registry's own docker config answers only for that registry.
Environment variables are read here, once; their values go straight into the adapter's
:class:`~conveyor.adapters.registry.Credentials` (whose repr hides the password) and are never
logged or put in an error.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from conveyor.adapters.git import (
    DEFAULT_IDENTITY,
    CommitSettings,
    GpgSigningKey,
    Identity,
    SigningKey,
    SshSigningKey,
)
from conveyor.adapters.registry import (
    Credentials,
    CredentialsProvider,
    DockerConfig,
    RegistryClient,
    StaticCredentials,
)
from conveyor.adapters.registry.names import canonical_host
from conveyor.core.config import AutomationConfig, CommitIdentity, SigningConfig

__all__ = [
    "AutomationSetupError",
    "commit_settings",
    "registry_client",
    "registry_credentials",
]


class AutomationSetupError(Exception):
    """The config names something the environment does not have (e.g. an unset variable)."""


class _OneHost:
    """A provider that answers for one registry host only."""

    def __init__(self, host: str, provider: CredentialsProvider) -> None:
        self._host = canonical_host(host)
        self._provider = provider

    def __repr__(self) -> str:
        return f"_OneHost({self._host!r}, {self._provider!r})"

    async def lookup(self, host: str) -> Credentials | None:
        if canonical_host(host) != self._host:
            return None
        return await self._provider.lookup(host)


def registry_credentials(
    config: AutomationConfig, *, environ: Mapping[str, str] | None = None
) -> list[CredentialsProvider]:
    """The credential providers the config describes, in lookup order.

    Raises :class:`AutomationSetupError` for an unset variable and the registry adapter's
    ``CredentialsError`` for a docker config that cannot be read.
    """
    env = os.environ if environ is None else environ
    providers: list[CredentialsProvider] = []
    for registry in config.registries:
        source = registry.credentials
        if source is None:
            continue
        if source.docker_config is not None:
            docker_config = DockerConfig.from_file(Path(source.docker_config).expanduser())
            providers.append(_OneHost(registry.host, docker_config))
            continue
        assert source.username_env is not None and source.password_env is not None
        missing = [name for name in (source.username_env, source.password_env) if name not in env]
        if missing:
            raise AutomationSetupError(
                f"registry {registry.host}: environment variable(s) {', '.join(missing)} "
                "named in the config are not set; set them, or change the registry's credentials"
            )
        credentials = Credentials(
            env[source.username_env],
            env[source.password_env],
            source=f"environment variables {source.username_env}/{source.password_env}",
        )
        providers.append(StaticCredentials({registry.host: credentials}))
    providers.extend(DockerConfig.from_file(Path(p).expanduser()) for p in config.docker_configs)
    return providers


def registry_client(
    config: AutomationConfig,
    *,
    environ: Mapping[str, str] | None = None,
    **options: Any,
) -> RegistryClient:
    """A registry client with the config's credentials and insecure hosts (close it after use).

    ``options`` go to :class:`~conveyor.adapters.registry.RegistryClient` (limits, retry...).
    """
    return RegistryClient(
        credentials=registry_credentials(config, environ=environ),
        insecure_hosts=sorted(config.insecure_hosts),
        **options,
    )


def commit_settings(config: AutomationConfig) -> CommitSettings:
    """Author, committer and signing key for the run's commit."""
    commit = config.commit
    return CommitSettings(
        author=_identity(commit.author) or DEFAULT_IDENTITY,
        committer=_identity(commit.committer),
        signing=_signing_key(commit.signing),
    )


def _identity(identity: CommitIdentity | None) -> Identity | None:
    return Identity(identity.name, identity.email) if identity is not None else None


def _signing_key(signing: SigningConfig | None) -> SigningKey | None:
    if signing is None:
        return None
    if signing.kind == "ssh":
        return SshSigningKey(Path(signing.key).expanduser())
    home = Path(signing.home).expanduser() if signing.home else None
    return GpgSigningKey(signing.key, home=home)
