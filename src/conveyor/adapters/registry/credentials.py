"""Where registry credentials come from: docker ``config.json`` and Kubernetes pull secrets.

A provider answers "which username and password for this host?" and says where they came from
(``Credentials.source``) so an :class:`~conveyor.adapters.registry.errors.AuthError` can point at
the right file or secret without ever showing the secret. A docker config is read the way
``docker`` reads it: ``credHelpers`` for the host first, then ``credsStore``, then ``auths``; a
helper is the program ``docker-credential-<name>``, run with ``get`` and the server URL on stdin.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from conveyor.adapters.registry.errors import CredentialsError
from conveyor.adapters.registry.names import (
    DOCKER_HUB,
    DOCKER_HUB_SERVER_URL,
    canonical_host,
    host_of_server_url,
)

HELPER_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Credentials:
    """A username and password for one registry; ``source`` says where they were found."""

    username: str
    password: str = field(repr=False)
    source: str = "explicit credentials"


class CredentialsProvider(Protocol):
    async def lookup(self, host: str) -> Credentials | None:
        """Credentials for the canonical registry ``host``, or None to go anonymous."""
        ...


class StaticCredentials:
    """Credentials given directly, per canonical host (e.g. from conveyor's own config)."""

    def __init__(self, by_host: Mapping[str, Credentials]) -> None:
        self._by_host = {canonical_host(h): c for h, c in by_host.items()}

    def __repr__(self) -> str:
        return f"StaticCredentials(hosts={sorted(self._by_host)})"

    async def lookup(self, host: str) -> Credentials | None:
        return self._by_host.get(canonical_host(host))


async def first_credentials(
    providers: Sequence[CredentialsProvider], host: str
) -> Credentials | None:
    """The first provider that knows ``host`` wins."""
    for provider in providers:
        found = await provider.lookup(host)
        if found is not None:
            return found
    return None


def _decode_auth_field(value: str, *, where: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as e:
        raise CredentialsError(f"{where}: the 'auth' field is not base64 of user:password") from e
    username, sep, password = decoded.partition(":")
    if not sep:
        raise CredentialsError(f"{where}: the 'auth' field has no ':' between user and password")
    return username, password


class DockerConfig:
    """Credentials from a docker ``config.json`` document (a file, or a pull secret's data)."""

    def __init__(
        self,
        document: Mapping[str, Any],
        *,
        origin: str,
        helper_timeout: float = HELPER_TIMEOUT_SECONDS,
    ) -> None:
        if not isinstance(document, Mapping):
            raise CredentialsError(f"{origin}: expected a JSON object")
        self.origin = origin
        self._helper_timeout = helper_timeout
        self._auths = self._index_auths(document.get("auths") or {})
        self._helpers = {
            canonical_host(h): str(name) for h, name in (document.get("credHelpers") or {}).items()
        }
        self._store = str(document.get("credsStore") or "")

    def __repr__(self) -> str:
        return f"DockerConfig(origin={self.origin!r})"

    @classmethod
    def from_file(cls, path: Path) -> DockerConfig:
        origin = f"docker config {path}"
        try:
            document = json.loads(path.read_text())
        except OSError as e:
            raise CredentialsError(f"{origin}: cannot read it ({e.strerror})") from e
        except json.JSONDecodeError as e:
            raise CredentialsError(f"{origin}: not valid JSON (line {e.lineno})") from e
        return cls(document, origin=origin)

    @classmethod
    def from_pull_secret(cls, secret: Mapping[str, Any]) -> DockerConfig:
        """From a Kubernetes Secret object of type dockerconfigjson or (legacy) dockercfg."""
        metadata = secret.get("metadata") or {}
        origin = f"pull secret {metadata.get('namespace', '?')}/{metadata.get('name', '?')}"
        encoded: Mapping[str, str] = secret.get("data") or {}
        plain: Mapping[str, str] = secret.get("stringData") or {}
        for key, legacy in ((".dockerconfigjson", False), (".dockercfg", True)):
            if key in plain:
                text = plain[key]
            elif key in encoded:
                try:
                    text = base64.b64decode(encoded[key], validate=True).decode()
                except (binascii.Error, UnicodeDecodeError) as e:
                    raise CredentialsError(f"{origin}: data[{key!r}] is not base64") from e
            else:
                continue
            try:
                document = json.loads(text)
            except json.JSONDecodeError as e:
                raise CredentialsError(f"{origin}: {key} is not valid JSON") from e
            # A .dockercfg is just the "auths" object of a config.json.
            return cls({"auths": document} if legacy else document, origin=origin)
        raise CredentialsError(f"{origin}: has neither .dockerconfigjson nor .dockercfg data")

    def _index_auths(self, auths: Mapping[str, Any]) -> dict[str, Credentials]:
        found: dict[str, Credentials] = {}
        for server, entry in auths.items():
            where = f"{self.origin} (auths entry {server!r})"
            if not isinstance(entry, Mapping):
                raise CredentialsError(f"{where}: expected an object")
            if entry.get("auth"):
                username, password = _decode_auth_field(str(entry["auth"]), where=where)
            elif entry.get("username"):
                username, password = str(entry["username"]), str(entry.get("password", ""))
            else:
                continue  # a marker entry for a credsStore, or an identity token we don't use
            found[host_of_server_url(server)] = Credentials(username, password, source=where)
        return found

    async def lookup(self, host: str) -> Credentials | None:
        host = canonical_host(host)
        helper = self._helpers.get(host) or self._store
        if helper:
            from_helper = await self._ask_helper(helper, host)
            if from_helper is not None:
                return from_helper
        return self._auths.get(host)

    async def _ask_helper(self, helper: str, host: str) -> Credentials | None:
        program = f"docker-credential-{helper}"
        server_url = DOCKER_HUB_SERVER_URL if host == DOCKER_HUB else host
        where = f"{self.origin} (credential helper {program} for {host})"
        try:
            process = await asyncio.create_subprocess_exec(
                program,
                "get",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as e:
            raise CredentialsError(f"{where}: cannot run it ({e.strerror}); is it on PATH?") from e
        try:
            out, err = await asyncio.wait_for(
                process.communicate(server_url.encode()), self._helper_timeout
            )
        except TimeoutError as e:
            process.kill()
            await process.wait()
            raise CredentialsError(f"{where}: no answer in {self._helper_timeout:g}s") from e
        if process.returncode != 0:
            if b"credentials not found" in (out + err).lower():
                return None
            # stderr of a helper never echoes the secret it failed to give us.
            reason = err.decode(errors="replace").strip()[:200] or f"exit {process.returncode}"
            raise CredentialsError(f"{where}: failed: {reason}")
        try:
            answer = json.loads(out)
            username, secret = str(answer["Username"]), str(answer["Secret"])
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise CredentialsError(f"{where}: answered something other than its JSON") from e
        return Credentials(username, secret, source=where)
