"""The ``--repo`` options of ``conveyor sync`` and ``conveyor diff``: which repo, how to reach it,
which keys its commits must be signed with.

Secrets come only from files (the deploy key) and environment variables (``--http-password-env``,
``--token-env`` name the variable, never the value), so they never sit in the shell history, in
``ps`` or in anything conveyor prints.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import typer

from conveyor.adapters.git import (
    BearerAuth,
    GpgKeyring,
    HttpAuth,
    Remote,
    RemoteConfigError,
    SignatureTrust,
    SshAllowedSigners,
    SshAuth,
)
from conveyor.adapters.store import StateDirLock, StoreError
from conveyor.daemon.git_source import GitSource

RepoOption = Annotated[
    str | None,
    typer.Option(
        "--repo",
        help="Config repo to sync instead of a TREE: ssh://, https://, http://, file:// or a path.",
    ),
]
BranchOption = Annotated[str, typer.Option("--branch", help="Branch of --repo to sync.")]
SshKeyOption = Annotated[
    Path | None, typer.Option("--ssh-key", help="Deploy key (private key file) for an SSH repo.")
]
KnownHostsOption = Annotated[
    Path | None,
    typer.Option("--known-hosts", help="known_hosts pinning the SSH server's host key."),
]
HttpUserOption = Annotated[
    str | None, typer.Option("--http-user", help="User for HTTP basic auth.")
]
HttpPasswordEnvOption = Annotated[
    str | None,
    typer.Option(
        "--http-password-env",
        help="Name of the environment variable holding the HTTP password or token.",
    ),
]
TokenEnvOption = Annotated[
    str | None,
    typer.Option(
        "--token-env", help="Name of the environment variable holding an HTTP bearer token."
    ),
]
VerifyOption = Annotated[
    bool,
    typer.Option(
        "--verify-signatures",
        help="Apply the head only if it is signed by a trusted key (see --allowed-signers,"
        " --gpg-home); otherwise record the refusal and apply nothing.",
    ),
]
AllowedSignersOption = Annotated[
    Path | None,
    typer.Option("--allowed-signers", help="ssh allowed_signers file of trusted signing keys."),
]
GpgHomeOption = Annotated[
    Path | None,
    typer.Option("--gpg-home", help="GnuPG home whose keyring holds the trusted public keys."),
]
StateDirOption = Annotated[
    Path | None,
    typer.Option(
        "--state-dir",
        envvar="CONVEYOR_STATE_DIR",
        help="Where the repo mirror and exported trees are kept (default: ~/.cache/conveyor/sync).",
    ),
]


@dataclass(frozen=True)
class RepoOptions:
    """The ``--repo`` options as given on the command line."""

    repo: str
    branch: str = "main"
    ssh_key: Path | None = None
    known_hosts: Path | None = None
    http_user: str | None = None
    http_password_env: str | None = None
    token_env: str | None = None
    verify_signatures: bool = False
    allowed_signers: Path | None = None
    gpg_home: Path | None = None
    state_dir: Path | None = None

    def remote(self) -> Remote:
        """The remote these options describe; typer.BadParameter when they do not fit."""
        if _has_password(self.repo):
            raise typer.BadParameter(
                "the URL carries a password; put it in an environment variable and pass"
                " --http-user and --http-password-env",
                param_hint="--repo",
            )
        try:
            return Remote.parse(self.repo, auth=self._auth())
        except RemoteConfigError as e:
            raise typer.BadParameter(str(e), param_hint="--repo") from e

    def git_source(self, paths: tuple[str, ...]) -> GitSource:
        """The GitSource these options describe; typer.BadParameter when they do not fit."""
        remote = self.remote()
        state_dir = self.state_dir or Path.home() / ".cache" / "conveyor" / "sync"
        return GitSource(
            remote, branch=self.branch, paths=paths, state_dir=state_dir, trust=self._trust()
        )

    def _auth(self) -> SshAuth | HttpAuth | BearerAuth | None:
        if (self.ssh_key is None) != (self.known_hosts is None):
            raise typer.BadParameter(
                "give both --ssh-key and --known-hosts: the host key is always checked",
                param_hint="--ssh-key/--known-hosts",
            )
        given = [
            what
            for what, value in (
                ("--ssh-key", self.ssh_key),
                ("--http-user", self.http_user),
                ("--token-env", self.token_env),
            )
            if value is not None
        ]
        if len(given) > 1:
            raise typer.BadParameter(
                f"{' and '.join(given)} are different ways to authenticate; give one",
                param_hint=given[0],
            )
        if self.ssh_key is not None and self.known_hosts is not None:
            return SshAuth(self.ssh_key, self.known_hosts)
        if (self.http_user is None) != (self.http_password_env is None):
            raise typer.BadParameter(
                "give both --http-user and --http-password-env",
                param_hint="--http-user/--http-password-env",
            )
        if self.http_user is not None and self.http_password_env is not None:
            return HttpAuth(
                self.http_user, _from_env(self.http_password_env, "--http-password-env")
            )
        if self.token_env is not None:
            return BearerAuth(_from_env(self.token_env, "--token-env"))
        return None

    def _trust(self) -> SignatureTrust | None:
        if self.allowed_signers is not None and self.gpg_home is not None:
            raise typer.BadParameter(
                "trust either SSH signers or a GnuPG keyring, not both",
                param_hint="--allowed-signers/--gpg-home",
            )
        if not self.verify_signatures:
            if self.allowed_signers is not None or self.gpg_home is not None:
                raise typer.BadParameter(
                    "signers were given but verification is off; add --verify-signatures",
                    param_hint="--verify-signatures",
                )
            return None
        if self.allowed_signers is not None:
            _must_exist(self.allowed_signers, "--allowed-signers", directory=False)
            return SshAllowedSigners(self.allowed_signers)
        if self.gpg_home is not None:
            _must_exist(self.gpg_home, "--gpg-home", directory=True)
            return GpgKeyring(self.gpg_home)
        raise typer.BadParameter(
            "say which keys to trust: --allowed-signers FILE or --gpg-home DIR",
            param_hint="--verify-signatures",
        )


def _has_password(url: str) -> bool:
    return "://" in url and urlsplit(url).password is not None


def _from_env(variable: str, option: str) -> str:
    value = os.environ.get(variable, "")
    if not value:
        raise typer.BadParameter(
            f"the environment variable {variable} is not set or empty", param_hint=option
        )
    return value


def _must_exist(path: Path, option: str, *, directory: bool) -> None:
    if not (path.is_dir() if directory else path.is_file()):
        kind = "directory" if directory else "file"
        raise typer.BadParameter(f"no such {kind}: {path}", param_hint=option)


@contextmanager
def hold_state_dir(state_dir: Path) -> Iterator[None]:
    """Hold the lock of ``state_dir`` (exactly the directory the run writes) for a local run;
    exit 2 naming the holder when another conveyor process has it."""
    try:
        lock = StateDirLock.acquire(state_dir)
    except StoreError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from e
    with lock:
        yield
