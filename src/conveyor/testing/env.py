"""The whole test environment: bring it up, describe it, take it down.

``up`` starts the cluster, the registries and the git servers side by side and writes a JSON state
file (endpoints, credentials, pids) into the work directory; ``load`` reads it back in another
process (pytest, the demo); ``down`` stops every service and removes the directory.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conveyor.testing import procs
from conveyor.testing.cluster import ClusterEndpoint, start_cluster
from conveyor.testing.errors import PrerequisiteError, TestEnvError
from conveyor.testing.gitserver import GitEndpoint, start_git_servers
from conveyor.testing.registry import RegistryEndpoint, start_registries

STATE_FILE = "testenv.json"

# Debian packages that provide the programs the services need, for the message that names the fix.
PROGRAMS = {
    "docker-registry": "docker-registry",
    "htpasswd": "apache2-utils",
    "ssh-keygen": "openssh-client",
    "ssh": "openssh-client",
    "git": "git",
}


@dataclass(frozen=True)
class TestEnv:
    """A running environment, as recorded in its state file."""

    __test__ = False  # not a pytest test class

    workdir: Path
    cluster: ClusterEndpoint
    registries: dict[str, RegistryEndpoint]
    git: GitEndpoint
    services: tuple[procs.Service, ...]
    startup_seconds: float

    @property
    def state_file(self) -> Path:
        return self.workdir / STATE_FILE


def preflight() -> None:
    """Fail with the fix when a program the services need is missing."""
    missing = sorted({pkg for prog, pkg in PROGRAMS.items() if shutil.which(prog) is None})
    if not Path("/usr/sbin/sshd").exists() and shutil.which("sshd") is None:
        missing.append("openssh-server")
    if missing:
        raise PrerequisiteError(
            f"missing Debian packages: {' '.join(missing)}; run `make deps` "
            f"(or `apt-get update && apt-get install -y {' '.join(missing)}`)"
        )


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    return value


def save(env: TestEnv) -> None:
    env.state_file.write_text(json.dumps(_encode(env), indent=2) + "\n")
    env.state_file.chmod(0o600)


def load(workdir: Path) -> TestEnv:
    """Read the environment recorded in ``workdir``."""
    path = workdir / STATE_FILE
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as e:
        raise TestEnvError(f"no test environment at {workdir}: run `scripts/testenv up`") from e
    cluster = data["cluster"]
    git = data["git"]
    return TestEnv(
        workdir=Path(data["workdir"]),
        cluster=ClusterEndpoint(
            **{k: Path(v) if k not in ("server", "nodes") else v for k, v in cluster.items()}
            | {"nodes": tuple(cluster["nodes"])}
        ),
        registries={k: RegistryEndpoint(**v) for k, v in data["registries"].items()},
        git=GitEndpoint(
            **git | {k: Path(git[k]) for k in ("repos_dir", "deploy_key", "known_hosts")}
        ),
        services=tuple(
            procs.Service(name=s["name"], pid=s["pid"], log=Path(s["log"]))
            for s in data["services"]
        ),
        startup_seconds=data["startup_seconds"],
    )


def up(workdir: Path, *, nodes: int = 2) -> TestEnv:
    """Start every service in ``workdir`` (which must not hold a running environment)."""
    if (workdir / STATE_FILE).exists():
        raise TestEnvError(
            f"{workdir} already holds a test environment: `scripts/testenv down` first"
        )
    preflight()
    workdir.mkdir(parents=True, exist_ok=True)
    started_before = len(procs.STARTED)
    began = time.monotonic()
    try:
        with ThreadPoolExecutor(max_workers=3) as pool:
            cluster_job = pool.submit(start_cluster, workdir, nodes=nodes)
            registry_job = pool.submit(start_registries, workdir)
            git_job = pool.submit(start_git_servers, workdir)
            cluster_services, cluster = cluster_job.result()
            registry_services, registries = registry_job.result()
            git_services, git = git_job.result()
    except BaseException:
        for proc in reversed(procs.STARTED[started_before:]):
            procs.stop(proc.pid)
        raise
    env = TestEnv(
        workdir=workdir,
        cluster=cluster,
        registries=registries,
        git=git,
        services=tuple(cluster_services + registry_services + git_services),
        startup_seconds=round(time.monotonic() - began, 1),
    )
    save(env)
    return env


def down(workdir: Path) -> list[str]:
    """Stop every service recorded in ``workdir`` and remove it; return the names stopped."""
    stopped: list[str] = []
    with contextlib.suppress(TestEnvError):
        env = load(workdir)
        for service in reversed(env.services):
            procs.stop(service.pid)
            stopped.append(service.name)
    shutil.rmtree(workdir, ignore_errors=True)
    return stopped


def describe(env: TestEnv) -> list[str]:
    """Human-readable lines: endpoints and how to use them."""
    lines = [
        f"kubernetes   {env.cluster.server}  (nodes: {', '.join(env.cluster.nodes)})",
        f"kubectl      {env.cluster.kubectl}",
    ]
    for name, reg in env.registries.items():
        auth = f"  user {reg.user} password {reg.password}" if reg.user else "  (anonymous)"
        lines.append(f"registry     {name:<9} {reg.url}{auth}")
    lines += [
        f"git ssh      ssh://{env.git.ssh_user}@127.0.0.1:{env.git.ssh_port}{env.git.repos_dir}/NAME.git",
        f"             GIT_SSH_COMMAND='{env.git.ssh_command()}'",
        f"git http     http://127.0.0.1:{env.git.http_port}/NAME.git  user {env.git.http_user}"
        f" password {env.git.http_password}",
        f"git path     {env.git.repos_dir}/NAME.git",
        f"logs         {env.workdir / 'logs'}",
        f"export KUBECONFIG={env.cluster.kubeconfig}",
    ]
    return lines
