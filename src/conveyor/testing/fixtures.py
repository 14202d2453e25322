"""pytest fixtures over the real test environment (load with ``pytest_plugins``).

- ``testenv`` (session): the running environment named by ``CONVEYOR_TESTENV_DIR`` (as
  ``make test`` sets it), or one started for this session and stopped after it;
- ``kube`` (function): an HTTP client for the apiserver as the admin user;
- ``namespace`` (function): a fresh namespace, deleted after the test;
- ``registry_repo`` (function): a fresh repository name; ``pusher``: a pusher per registry;
- ``config_repo`` (function): a factory for fresh bare git repos seeded from a directory.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from conveyor.testing import env as testenv_module
from conveyor.testing.env import TestEnv
from conveyor.testing.gitserver import create_repo
from conveyor.testing.images import ImagePusher


@pytest.fixture(scope="session")
def testenv() -> Iterator[TestEnv]:
    configured = os.environ.get("CONVEYOR_TESTENV_DIR")
    if configured and (Path(configured) / testenv_module.STATE_FILE).exists():
        yield testenv_module.load(Path(configured))
        return
    workdir = Path(tempfile.mkdtemp(prefix="conveyor-testenv-")) / "env"
    env = testenv_module.up(workdir)
    try:
        yield env
    finally:
        testenv_module.down(workdir)


@pytest.fixture
def kube(testenv: TestEnv) -> Iterator[httpx.Client]:
    with testenv.cluster.client() as client:
        yield client


def unique_name(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


@pytest.fixture
def namespace(kube: httpx.Client) -> Iterator[str]:
    name = unique_name("t")
    response = kube.post(
        "/api/v1/namespaces",
        json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
    )
    response.raise_for_status()
    yield name
    kube.delete(f"/api/v1/namespaces/{name}")


@pytest.fixture
def registry_repo() -> str:
    return f"conveyor-test/{unique_name('app')}"


@pytest.fixture
def pusher(testenv: TestEnv) -> Iterator[Callable[[str], ImagePusher]]:
    made: list[ImagePusher] = []

    def make(registry: str = "anonymous") -> ImagePusher:
        p = ImagePusher(testenv.registries[registry])
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()


@dataclass(frozen=True)
class ConfigRepo:
    """A fresh bare repo on the test git server, reachable three ways."""

    name: str
    path: Path
    ssh_url: str
    http_url: str


@pytest.fixture
def config_repo(testenv: TestEnv) -> Callable[..., ConfigRepo]:
    def make(seed: Path | None = None, *, branch: str = "main") -> ConfigRepo:
        name = unique_name("config")
        path = create_repo(testenv.git, name, seed=seed, branch=branch)
        return ConfigRepo(
            name=name,
            path=path,
            ssh_url=testenv.git.ssh_url(name),
            http_url=testenv.git.http_url(name),
        )

    return make
