"""Git servers of the test environment: one directory of bare repos served three ways.

- SSH: Debian's ``sshd`` on a loopback port with its own host key; one deploy key in
  ``authorized_keys``, restricted to ``git-shell``;
- smart HTTP: :mod:`conveyor.testing.git_http` runs ``git http-backend`` behind basic auth;
- plain paths (``file://`` or the directory itself).
"""

from __future__ import annotations

import getpass
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from conveyor.testing import procs
from conveyor.testing.errors import PrerequisiteError, ServiceError

HTTP_USER = "conveyor"


@dataclass(frozen=True)
class GitEndpoint:
    """Where the git servers are and the credentials that reach them."""

    repos_dir: Path
    ssh_port: int
    ssh_user: str
    deploy_key: Path  # private key; ``.pub`` beside it
    known_hosts: Path  # the server's real host key
    http_port: int
    http_user: str
    http_password: str

    def ssh_url(self, name: str) -> str:
        return f"ssh://{self.ssh_user}@127.0.0.1:{self.ssh_port}{self.repos_dir / name}.git"

    def http_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.http_port}/{name}.git"

    def path(self, name: str) -> Path:
        return self.repos_dir / f"{name}.git"

    def ssh_command(self, *, known_hosts: Path | None = None, key: Path | None = None) -> str:
        """A ``GIT_SSH_COMMAND`` that uses only the deploy key and checks the host key strictly."""
        return (
            f"ssh -i {key or self.deploy_key} -o IdentitiesOnly=yes -o BatchMode=yes"
            f" -o StrictHostKeyChecking=yes -o UserKnownHostsFile={known_hosts or self.known_hosts}"
            " -o GlobalKnownHostsFile=/dev/null -o LogLevel=ERROR"
        )


def _keygen(path: Path, comment: str) -> str:
    """Make an ed25519 key pair at ``path``; return the public key line."""
    try:
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
            check=True,
            capture_output=True,
        )
    except FileNotFoundError as e:
        raise PrerequisiteError("ssh-keygen is missing: install Debian's openssh-client") from e
    return path.with_suffix(".pub").read_text().strip()


def _sshd_config(ssh_dir: Path, port: int, user: str) -> str:
    return "\n".join(
        [
            f"Port {port}",
            "ListenAddress 127.0.0.1",
            f"HostKey {ssh_dir / 'host_key'}",
            f"PidFile {ssh_dir / 'sshd.pid'}",
            f"AuthorizedKeysFile {ssh_dir / 'authorized_keys'}",
            f"AllowUsers {user}",
            "StrictModes no",
            "UsePAM no",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PubkeyAuthentication yes",
            "PermitRootLogin prohibit-password",
            "PrintMotd no",
            "LogLevel VERBOSE",
            "",
        ]
    )


def _start_sshd(workdir: Path, repos_dir: Path) -> tuple[procs.Service, dict[str, object]]:
    sshd = shutil.which("sshd") or "/usr/sbin/sshd"
    if not Path(sshd).exists():
        raise PrerequisiteError(
            "sshd is missing: install Debian's openssh-server (make deps does it)"
        )
    if shutil.which("git-shell") is None:
        raise PrerequisiteError("git-shell is missing: install Debian's git")
    ssh_dir = workdir / "ssh"
    ssh_dir.mkdir(parents=True, exist_ok=True)
    host_pub = _keygen(ssh_dir / "host_key", "conveyor-test-host")
    deploy_pub = _keygen(ssh_dir / "deploy_key", "conveyor-test-deploy-key")
    (ssh_dir / "authorized_keys").write_text(
        f'restrict,command="git-shell -c \\"$SSH_ORIGINAL_COMMAND\\"" {deploy_pub}\n'
    )
    port = procs.free_port()
    known_hosts = ssh_dir / "known_hosts"
    key_type, key_data = host_pub.split()[:2]
    known_hosts.write_text(f"[127.0.0.1]:{port} {key_type} {key_data}\n")
    user = getpass.getuser()
    (ssh_dir / "sshd_config").write_text(_sshd_config(ssh_dir, port, user))
    if os.geteuid() == 0:
        # sshd refuses to start without its privilege-separation directory.
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    service = procs.start(
        "sshd", [sshd, "-D", "-e", "-f", str(ssh_dir / "sshd_config")], workdir=workdir
    )
    procs.wait_until(
        lambda: procs.tcp_listening(port), service=service, what=f"sshd on port {port}"
    )
    return service, {
        "ssh_port": port,
        "ssh_user": user,
        "deploy_key": ssh_dir / "deploy_key",
        "known_hosts": known_hosts,
    }


def start_git_servers(workdir: Path) -> tuple[list[procs.Service], GitEndpoint]:
    """Start sshd and the smart-HTTP server over ``workdir/git``."""
    repos_dir = workdir / "git"
    repos_dir.mkdir(parents=True, exist_ok=True)
    sshd, ssh = _start_sshd(workdir, repos_dir)
    password = secrets.token_urlsafe(12)
    secret_file = workdir / "git-http.password"
    secret_file.write_text(password)
    secret_file.chmod(0o600)
    http_port = procs.free_port()
    http = procs.start(
        "git-http",
        [
            sys.executable,
            "-m",
            "conveyor.testing.git_http",
            "--port",
            str(http_port),
            "--root",
            str(repos_dir),
            "--user",
            HTTP_USER,
            "--password-file",
            str(secret_file),
        ],
        workdir=workdir,
    )
    procs.wait_until(
        lambda: procs.tcp_listening(http_port), service=http, what=f"git-http on port {http_port}"
    )
    endpoint = GitEndpoint(
        repos_dir=repos_dir,
        http_port=http_port,
        http_user=HTTP_USER,
        http_password=password,
        **ssh,  # type: ignore[arg-type]
    )
    return [sshd, http], endpoint


def git(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    """Run git for test setup with a clean, predictable environment; return its stdout."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    full_env.update(
        {
            "GIT_AUTHOR_NAME": "conveyor-test",
            "GIT_AUTHOR_EMAIL": "test@conveyor.invalid",
            "GIT_COMMITTER_NAME": "conveyor-test",
            "GIT_COMMITTER_EMAIL": "test@conveyor.invalid",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_TERMINAL_PROMPT": "0",
            "HOME": str(cwd or Path.cwd()),
        }
    )
    full_env.update(env or {})
    result = subprocess.run(["git", *args], cwd=cwd, env=full_env, capture_output=True, text=True)
    if result.returncode != 0:
        raise ServiceError(
            f"git {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}"
        )
    return result.stdout


def create_repo(
    endpoint: GitEndpoint, name: str, *, seed: Path | None = None, branch: str = "main"
) -> Path:
    """Create bare repo ``name``, optionally with one commit holding the files of ``seed``."""
    bare = endpoint.path(name)
    if bare.exists():
        raise ServiceError(f"git repo {bare} already exists")
    git("init", "-q", "--bare", f"--initial-branch={branch}", str(bare))
    if seed is not None:
        with tempfile.TemporaryDirectory(prefix="conveyor-seed-") as tmp:
            work = Path(tmp) / "work"
            shutil.copytree(seed, work)
            git("init", "-q", f"--initial-branch={branch}", cwd=work)
            git("add", "-A", cwd=work)
            git("commit", "-q", "-m", f"Seed {name} from {seed.name}", cwd=work)
            git("push", "-q", str(bare), f"HEAD:refs/heads/{branch}", cwd=work)
    return bare
