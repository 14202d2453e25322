"""OCI registries of the test environment: Debian's ``docker-registry`` in three configurations.

- ``anonymous``: no auth at all;
- ``basic``: htpasswd (bcrypt) basic auth;
- ``token``: Bearer tokens from :mod:`conveyor.testing.token_issuer` (Docker Hub's flow).

Each runs on its own loopback port with its own storage directory; deletes are enabled so tests
can remove manifests.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

from conveyor.testing import procs
from conveyor.testing.errors import PrerequisiteError
from conveyor.testing.pki import make_token_signer

TOKEN_SERVICE = "conveyor-test-registry"
USER = "conveyor"


@dataclass(frozen=True)
class RegistryEndpoint:
    """One running registry: where it is and how to log in (empty user = anonymous)."""

    name: str
    host: str  # "127.0.0.1:PORT", the form image references use
    user: str = ""
    password: str = ""
    token_realm: str = ""

    @property
    def url(self) -> str:
        return f"http://{self.host}"


def _config(root: Path, port: int, auth: Mapping[str, object] | None) -> dict[str, object]:
    config: dict[str, object] = {
        "version": 0.1,
        "log": {"level": "info", "formatter": "text", "accesslog": {"disabled": False}},
        "storage": {
            "filesystem": {"rootdirectory": str(root / "data")},
            "delete": {"enabled": True},
            "cache": {"blobdescriptor": "inmemory"},
            "maintenance": {"uploadpurging": {"enabled": False}},
        },
        "http": {"addr": f"127.0.0.1:{port}", "secret": secrets.token_hex(16)},
    }
    if auth:
        config["auth"] = dict(auth)
    return config


def _htpasswd(path: Path, user: str, password: str) -> None:
    try:
        line = subprocess.run(
            ["htpasswd", "-Bbn", user, password], check=True, capture_output=True, text=True
        ).stdout.strip()
    except FileNotFoundError as e:
        raise PrerequisiteError(
            "htpasswd is missing: install Debian's apache2-utils (make deps does it)"
        ) from e
    path.write_text(line + "\n")


def _start_registry(
    name: str, workdir: Path, auth: Mapping[str, object] | None, port: int
) -> procs.Service:
    root = workdir / name
    root.mkdir(parents=True, exist_ok=True)
    config_path = root / "config.yml"
    config_path.write_text(yaml.safe_dump(_config(root, port, auth)))
    return procs.start(
        f"registry-{name}", ["docker-registry", "serve", str(config_path)], workdir=workdir
    )


def _answers(url: str) -> bool:
    return httpx.get(f"{url}/v2/", timeout=1.0).status_code in (200, 401)


def start_registries(workdir: Path) -> tuple[list[procs.Service], dict[str, RegistryEndpoint]]:
    """Start the three registries (and the token issuer); wait until each answers ``/v2/``."""
    services: list[procs.Service] = []
    endpoints: dict[str, RegistryEndpoint] = {}
    password = secrets.token_urlsafe(12)

    port = procs.free_port()
    services.append(_start_registry("anonymous", workdir, None, port))
    endpoints["anonymous"] = RegistryEndpoint(name="anonymous", host=f"127.0.0.1:{port}")

    basic_dir = workdir / "basic"
    basic_dir.mkdir(parents=True, exist_ok=True)
    _htpasswd(basic_dir / "htpasswd", USER, password)
    port = procs.free_port()
    auth = {"htpasswd": {"realm": "conveyor-test", "path": str(basic_dir / "htpasswd")}}
    services.append(_start_registry("basic", workdir, auth, port))
    endpoints["basic"] = RegistryEndpoint(
        name="basic", host=f"127.0.0.1:{port}", user=USER, password=password
    )

    token_dir = workdir / "token"
    key_path, cert_path = make_token_signer(token_dir)
    users_path = token_dir / "users.json"
    users_path.write_text(json.dumps({USER: password}))
    users_path.chmod(0o600)
    issuer_port = procs.free_port()
    issuer = procs.start(
        "token-issuer",
        [
            sys.executable,
            "-m",
            "conveyor.testing.token_issuer",
            "--port",
            str(issuer_port),
            "--key",
            str(key_path),
            "--users",
            str(users_path),
            "--service",
            TOKEN_SERVICE,
        ],
        workdir=workdir,
    )
    services.append(issuer)
    realm = f"http://127.0.0.1:{issuer_port}/token"
    auth = {
        "token": {
            "realm": realm,
            "service": TOKEN_SERVICE,
            "issuer": "conveyor-test-token-issuer",
            "rootcertbundle": str(cert_path),
        }
    }
    port = procs.free_port()
    services.append(_start_registry("token", workdir, auth, port))
    endpoints["token"] = RegistryEndpoint(
        name="token", host=f"127.0.0.1:{port}", user=USER, password=password, token_realm=realm
    )

    by_name = {s.name: s for s in services}
    for name, endpoint in endpoints.items():
        procs.wait_until(
            lambda url=endpoint.url: _answers(url),  # type: ignore[misc]
            service=by_name[f"registry-{name}"],
            what=f"the {name} registry to answer {endpoint.url}/v2/",
        )
    procs.wait_until(
        lambda: procs.tcp_listening(issuer_port), service=issuer, what="the token issuer to listen"
    )
    return services, endpoints
