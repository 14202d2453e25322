"""The one place that runs the ``git`` program.

Every git command of conveyor goes through :func:`run_git`, which gives git a clean, predictable
environment: nothing inherited from the caller's ``GIT_*`` variables or git/ssh configuration, no
system config, ``HOME`` inside conveyor's state directory, no terminal prompts, the C locale (so
messages can be recognised), a fixed identity unless one is configured, and a deadline after which
git and its children (ssh, gpg) are killed. Config that carries secrets goes in through
``GIT_CONFIG_COUNT``/``GIT_CONFIG_KEY_n``/``GIT_CONFIG_VALUE_n``; what is logged or raised is
redacted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from conveyor.adapters.git.errors import GitNotInstalledError, GitTimeoutError, command_failure
from conveyor.adapters.git.remote import redact

log = logging.getLogger("conveyor.adapters.git")

# Inherited variables git may keep: how to find programs, temp space, and the way out to the
# network. Everything else (GIT_*, SSH_AUTH_SOCK, GNUPGHOME, LANG...) is dropped.
_INHERITED = (
    "PATH",
    "TMPDIR",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
)

# Config for every command: no hooks from anywhere, no pager, no auto-gc racing our writes.
_BASE_CONFIG: tuple[tuple[str, str], ...] = (
    ("core.hooksPath", os.devnull),
    ("core.pager", "cat"),
    ("gc.auto", "0"),
    ("credential.helper", ""),
    ("advice.detachedHead", "false"),
)


@dataclass(frozen=True)
class Identity:
    """A name and email for commits."""

    name: str
    email: str


DEFAULT_IDENTITY = Identity("conveyor", "conveyor@conveyor.invalid")


@dataclass(frozen=True)
class GitSettings:
    """How git is run: where its HOME is, the default identity, the default deadline."""

    home: Path
    identity: Identity = DEFAULT_IDENTITY
    timeout: float = 120.0
    program: str = "git"


@dataclass(frozen=True)
class GitResult:
    """A finished git command. ``argv`` is redacted; ``stdout`` is raw bytes."""

    argv: tuple[str, ...]
    returncode: int
    stdout: bytes = field(repr=False)
    stderr: str

    @property
    def text(self) -> str:
        return self.stdout.decode("utf-8", errors="replace")


def git_environment(
    settings: GitSettings,
    *,
    env: Mapping[str, str] | None = None,
    config: Sequence[tuple[str, str]] = (),
) -> dict[str, str]:
    """The full environment for one git command (exposed for tests of its cleanliness)."""
    settings.home.mkdir(parents=True, exist_ok=True)
    result = {name: os.environ[name] for name in _INHERITED if name in os.environ}
    result.update(
        {
            "HOME": str(settings.home),
            "XDG_CONFIG_HOME": str(settings.home / ".config"),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_ASKPASS": "true",  # answers empty: a missing credential fails, never waits
            "SSH_ASKPASS": "true",
            "LC_ALL": "C",
            "GIT_AUTHOR_NAME": settings.identity.name,
            "GIT_AUTHOR_EMAIL": settings.identity.email,
            "GIT_COMMITTER_NAME": settings.identity.name,
            "GIT_COMMITTER_EMAIL": settings.identity.email,
        }
    )
    result.update(env or {})
    entries = [*_BASE_CONFIG, *config]
    result["GIT_CONFIG_COUNT"] = str(len(entries))
    for index, (key, value) in enumerate(entries):
        result[f"GIT_CONFIG_KEY_{index}"] = key
        result[f"GIT_CONFIG_VALUE_{index}"] = value
    return result


def _kill_group(process: asyncio.subprocess.Process) -> None:
    # git was started in its own session, so this also reaches ssh, gpg and remote helpers.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


async def run_git(
    settings: GitSettings,
    args: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    config: Sequence[tuple[str, str]] = (),
    stdin: bytes | None = None,
    timeout: float | None = None,
    check: bool = True,
    secrets: tuple[str, ...] = (),
    what: str | None = None,
    remote: str | None = None,
) -> GitResult:
    """Run ``git ARGS`` and return its result; raise a GitError if it fails and ``check``.

    ``secrets`` are scrubbed from what is logged and raised; ``what`` ("fetch main from ...") and
    ``remote`` (a credential-free URL) make the error message say what was being done.
    """
    argv = (settings.program, *args)
    shown = tuple(redact(arg, secrets=secrets) for arg in argv)
    deadline = settings.timeout if timeout is None else timeout
    log.debug("running %s", " ".join(shown), extra={"cwd": str(cwd) if cwd else None})
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env=git_environment(settings, env=env, config=config),
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
    except FileNotFoundError as e:
        raise GitNotInstalledError(
            f"cannot run {settings.program!r}: install git (Debian: apt-get install git)"
        ) from e
    try:
        stdout, stderr_bytes = await asyncio.wait_for(process.communicate(stdin), deadline)
    except TimeoutError as e:
        _kill_group(process)
        await process.wait()
        raise GitTimeoutError(
            f"{what or ' '.join(shown[:2])}: git did not finish within {deadline:g}s and was"
            f" stopped; check that {remote or 'the remote'} is reachable and responsive, or raise"
            " the timeout for large repositories"
        ) from e
    except asyncio.CancelledError:
        _kill_group(process)
        await process.wait()
        raise
    stderr = redact(stderr_bytes.decode("utf-8", errors="replace"), secrets=secrets)
    returncode = process.returncode if process.returncode is not None else -1
    result = GitResult(argv=shown, returncode=returncode, stdout=stdout, stderr=stderr)
    if check and returncode != 0:
        raise command_failure(
            what=what or " ".join(shown[:2]),
            argv=shown,
            returncode=returncode,
            stderr=stderr,
            remote=remote,
        )
    return result
