"""A seeded config repo and a ReleaseManager on it, for the release manager's integration tests:
the seed (plain, adopting out-of-band changes, or signed), a unique target namespace cleaned up
after the test, the manager, and readers of the bare repo and of the live Deployments."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from conveyor.adapters.git import CommitSettings, Remote, SignatureTrust, SshAuth
from conveyor.adapters.kube import KubeClient
from conveyor.adapters.store import HistoryStore
from conveyor.daemon.git_source import GitSource
from conveyor.daemon.jobs import RepoJobQueues
from conveyor.daemon.releases import ReleaseManager
from conveyor.daemon.sync import SyncSettings
from conveyor.daemon.sync_state import STATE_NAMESPACE, state_object_name
from conveyor.testing.fixtures import unique_name
from conveyor.testing.gitserver import git
from tests.daemon.git_commits import WorkClone

WEB_IMAGE = "registry.invalid/app:1.0.0"
API_IMAGE = "registry.invalid/api:2.0.0"


def deployment_text(name: str, namespace: str, image: str) -> str:
    # Written by hand, with comments and a quoted value, so byte-exact edits can be checked.
    return f"""# {name}: owned by the {name} team
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {namespace}
  labels:
    app: {name}   # used by the Service too
spec:
  replicas: 1
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
    spec:
      containers:
        - name: app
          image: "{image}"
          ports:
            - containerPort: 8080
"""


def write_seed(root: Path, namespace: str) -> Path:
    (root / "apps").mkdir(parents=True)
    (root / "namespace.yaml").write_text(
        f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {namespace}\n"
    )
    (root / "apps" / "web.yaml").write_text(deployment_text("web", namespace, WEB_IMAGE))
    (root / "apps" / "api.yaml").write_text(deployment_text("api", namespace, API_IMAGE))
    (root / "README.md").write_text("# config repo\n")
    return root


def write_adopting_seed(root: Path, namespace: str) -> Path:
    """The seed, with ``web`` annotated to adopt out-of-band changes (``api`` keeps the default,
    revert)."""
    write_seed(root, namespace)
    web = root / "apps" / "web.yaml"
    marker = f"  namespace: {namespace}\n"
    web.write_text(
        web.read_text().replace(
            marker, marker + "  annotations:\n    conveyor.dev/out-of-band: adopt\n", 1
        )
    )
    return root


def signed_config_repo(config_repo, root: Path, namespace: str, *, signing_key: Path):
    """The seed with a commit signed by ``signing_key`` on top, so a sync that verifies
    signatures applies it."""
    repo = config_repo(write_seed(root / "seed", namespace))
    clone = WorkClone(str(repo.path), root / "clone")
    clone.write("README.md", "# config repo, signed\n")
    clone.commit_and_push("Sign the head", signing_key=signing_key)
    return repo


def target_fixture(prefix: str):
    """A ``target`` fixture: a unique name starting with ``prefix``, used as the namespace and
    the sync name; the namespace and the sync's state object are deleted after the test."""

    @pytest.fixture
    def target(kube):
        name = unique_name(prefix)
        yield name
        kube.delete(f"/api/v1/namespaces/{name}")
        kube.delete(f"/api/v1/namespaces/{STATE_NAMESPACE}/configmaps/{state_object_name(name)}")

    return target


@dataclass
class RepoReader:
    """Reads the bare repo on the git server directly (the truth the tests check)."""

    path: Path

    def git(self, *args: str) -> str:
        return git("--git-dir", str(self.path), *args)

    def head(self) -> str:
        return self.git("rev-parse", "main").strip()

    def file(self, relative: str, revision: str = "main") -> str:
        return self.git("show", f"{revision}:{relative}")

    def revisions(self) -> list[str]:
        """Every commit on main, newest first."""
        return self.git("rev-list", "main").split()

    def parents(self, revision: str) -> list[str]:
        return self.git("rev-list", "--parents", "-n", "1", revision).split()[1:]

    def message(self, revision: str) -> str:
        return self.git("log", "-1", "--format=%B", revision)

    def all_yaml_loads(self) -> None:
        for name in self.git("ls-tree", "-r", "--name-only", "main").split():
            if name.endswith(".yaml"):
                list(yaml.safe_load_all(self.file(name)))


@contextlib.asynccontextmanager
async def release_manager(
    testenv,
    repo,
    state_dir: Path,
    *,
    sync_name: str,
    health_timeout: float = 60.0,
    trust: SignatureTrust | None = None,
    commit: CommitSettings | None = None,
) -> AsyncIterator[ReleaseManager]:
    """The manager on ``repo``; ``trust`` turns signature verification on, ``commit`` says how
    conveyor's own commits are made (signed, for one)."""
    auth = SshAuth(testenv.git.deploy_key, testenv.git.known_hosts)
    source = GitSource(Remote.parse(repo.ssh_url, auth=auth), state_dir=state_dir, trust=trust)
    async with (
        await KubeClient.connect(testenv.cluster.kubeconfig) as kube,
        await HistoryStore.open(state_dir / "history.sqlite") as history,
        RepoJobQueues() as queues,
    ):
        yield ReleaseManager(
            source=source,
            queues=queues,
            kube=kube,
            history=history,
            sync_settings=SyncSettings(name=sync_name),
            health_timeout=health_timeout,
            commit=commit,
        )


def live_image(kube, namespace: str, name: str) -> str | None:
    response = kube.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}")
    if response.status_code != 200:
        return None
    return response.json()["spec"]["template"]["spec"]["containers"][0]["image"]


def kubectl_set_image(testenv, namespace: str, name: str, image: str) -> None:
    """Change the ``app`` container's image the way a person at a terminal would."""
    subprocess.run(
        [
            str(testenv.cluster.kubectl),
            "--kubeconfig",
            str(testenv.cluster.kubeconfig),
            "--namespace",
            namespace,
            "set",
            "image",
            f"deployment/{name}",
            f"app={image}",
        ],
        check=True,
        capture_output=True,
    )


def live_annotations(kube, namespace: str, name: str) -> dict[str, str]:
    response = kube.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}")
    response.raise_for_status()
    return response.json()["metadata"].get("annotations") or {}
